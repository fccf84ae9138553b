/**
 * Secrets are never printed (docs/safety.md "Secrets"): known secret values -- the PowerDNS API
 * key, the Cloudflare token, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN --
 * pushed through every error path we can reach: a real PowerDNS, the loopback Route 53 and
 * Cloudflare servers, each behind a proxy that reflects all request headers into the error body
 * (in the provider's own error field, and as a raw page) for listing zones, reading records and
 * writing, with each HTTP status dkimsync treats differently. For every case `plan` in all three
 * formats with `--out`, and `apply`, run through the real CLI; no secret, nor its URL-encoded
 * or Base64 form, may appear in stdout, stderr or the saved plan file.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordSet } from "../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../conformance/backend.js";
import { cloudflareTarget } from "../conformance/backends/cloudflare.js";
import { powerdnsTarget } from "../conformance/backends/powerdns.js";
import { route53Unthrottled, run, tempDir, writeConfig } from "./harness.js";
import { startReflectProxy, type Flavour, type ReflectProxy, type Style } from "./reflect-proxy.js";

interface Setup {
  target: ConformanceTarget;
  flavour: Flavour;
  /** The option holding the API URL, and what to append to the proxy's origin. */
  urlKey: string;
  /** No retries: each error path is reached once, quickly. */
  noRetry: Record<string, unknown>;
  paths: { zones: [string, RegExp]; records: [string, RegExp]; write: [string, RegExp] };
}

const SETUPS: Setup[] = [
  {
    target: powerdnsTarget,
    flavour: "powerdns",
    urlKey: "url",
    noRetry: { max_attempts: 1 },
    paths: {
      zones: ["GET", /\/api\/v1\/servers\/[^/]+\/zones$/],
      records: ["GET", /\/api\/v1\/servers\/[^/]+\/zones\/[^/]+$/],
      write: ["PATCH", /\/api\/v1\/servers\/[^/]+\/zones\/[^/]+$/],
    },
  },
  {
    target: cloudflareTarget,
    flavour: "cloudflare",
    urlKey: "base_url",
    noRetry: { max_retries: 0 },
    paths: {
      zones: ["GET", /\/zones$/],
      records: ["GET", /\/zones\/[^/]+\/dns_records$/],
      write: ["POST", /\/zones\/[^/]+\/dns_records\/batch$/],
    },
  },
  {
    target: route53Unthrottled,
    flavour: "route53",
    urlKey: "endpoint",
    noRetry: { max_attempts: 1 },
    paths: {
      zones: ["GET", /\/2013-04-01\/hostedzonesbyname$/],
      records: ["GET", /\/2013-04-01\/hostedzone\/[^/]+\/rrset$/],
      write: ["POST", /\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/],
    },
  },
];

const STATUSES = [400, 401, 403, 404, 409, 422, 500, 503];
const STYLES: Style[] = ["field", "raw"];

/** Every form a secret can take in a reflected request. */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), Buffer.from(secret).toString("base64").replace(/=+$/, "")];
}

for (const setup of SETUPS) {
  describe(`secrets through every error path: provider ${setup.flavour}`, () => {
    let backend: ConformanceBackend;
    let proxy: ReflectProxy;
    let dir: string;
    let options: Record<string, unknown>;
    let n = 0;
    const secrets: string[] = [];
    const restore = new Map<string, string | undefined>();
    let redactedSeen = 0;
    let reflections = 0;

    const setEnv = (k: string, v: string) => {
      if (!restore.has(k)) restore.set(k, process.env[k]);
      process.env[k] = v;
    };

    beforeAll(async () => {
      backend = await setup.target.start();
      const upstream = new URL(String(backend.providerOptions[setup.urlKey]));
      proxy = await startReflectProxy(upstream.origin, setup.flavour);
      for (const [k, v] of Object.entries(backend.env ?? {})) {
        setEnv(k, v);
        secrets.push(v);
      }
      if (setup.flavour === "route53") {
        // The Route 53 backend put test credentials into process.env; add a session token, as
        // temporary (STS) credentials have one, sent as X-Amz-Security-Token.
        setEnv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLEsessionTOKENvalue0123456789abcdef");
        secrets.push(
          process.env.AWS_ACCESS_KEY_ID as string,
          process.env.AWS_SECRET_ACCESS_KEY as string,
          process.env.AWS_SESSION_TOKEN as string,
        );
      }
      dir = await tempDir(`secrets-${setup.flavour}`);
      options = {
        ...backend.providerOptions,
        ...setup.noRetry,
        [setup.urlKey]: `${proxy.url}${upstream.pathname.replace(/\/$/, "")}`,
      };
    }, 60_000);

    afterAll(async () => {
      await proxy?.close();
      await backend?.close();
      for (const [k, v] of restore) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      if (dir) await fs.rm(dir, { recursive: true, force: true });
      process.stderr.write(
        `secrets ${setup.flavour}: ${reflections} reflected error answers, [redacted] shown in ${redactedSeen} outputs\n`,
      );
    });

    const cases = (Object.keys(SETUPS[0]?.paths ?? {}) as (keyof Setup["paths"])[]).flatMap((op) =>
      STATUSES.flatMap((status) => STYLES.map((style) => ({ op, status, style }))),
    );

    it.each(cases)(
      "$op answers $status ($style): no secret in any output or file",
      async ({ op, status, style }) => {
        const [method, re] = setup.paths[op];
        // A zone of its own, so every case has changes to write.
        const zone = `s${++n}-secrets.example`;
        const seed: RecordSet[] = [{ name: `www.${zone}`, type: "A", ttl: 3600, values: ["192.0.2.1"] }];
        await backend.createZone(zone, seed);
        const caseDir = path.join(dir, `case${n}`);
        await fs.mkdir(caseDir);
        const config = await writeConfig(caseDir, setup.target.type, options, [zone]);
        const outputs: string[] = [];
        const planFile = path.join(dir, `plan-${op}-${status}-${style}.json`);
        for (const args of [
          ["plan", "-c", config, "--format", "json", "--out", planFile],
          ["plan", "-c", config, "--format", "markdown"],
          ["apply", "-c", config, "--format", "json"],
          ["apply", "-c", config],
        ]) {
          proxy.arm({ method, path: re, status, style });
          const r = await run(args);
          reflections += proxy.reflected;
          proxy.arm(undefined);
          outputs.push(r.stdout, r.stderr);
          expect(r.stdout + r.stderr).not.toMatch(/internal error/);
        }
        outputs.push(await fs.readFile(planFile, "utf8").catch(() => ""));
        const all = outputs.join("\n");
        if (all.includes("[redacted]")) redactedSeen++;
        for (const s of secrets)
          for (const f of forms(s)) expect(all, `secret form ${f.slice(0, 4)}... leaked`).not.toContain(f);
      },
      60_000,
    );

    it("the reflection reached dkimsync's output somewhere (the checks above are not vacuous)", () => {
      expect(reflections).toBeGreaterThan(cases.length);
      expect(redactedSeen).toBeGreaterThan(0);
    });
  });
}
