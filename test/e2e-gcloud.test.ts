/**
 * The built CLI against the loopback Cloud DNS server, as an administrator runs it: plan, apply
 * --wait, a second plan with nothing to do, a saved plan refused once the zone changed; and each
 * failure a person can meet (bad credentials, a missing project, a missing zone, a 403,
 * throttling beyond the retries, a stalled server) as one message naming provider and zone, exit
 * 1, no stack trace, and never a private key or an access token in stdout, stderr or a plan file.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startGcloudFake, type GcloudFake, type ServiceAccountKeyFile } from "./fakes/gcloud/server.js";
import { type CliRun as Run, root, runCli as run } from "./helpers/cli.js";

const PROJECT = "e2e-project";
const DOMAINS = ["fabrikam.test", "marketing.fabrikam.test", "tailspin.test"];

describe("gcloud through the built CLI (loopback Cloud DNS)", () => {
  let fake: GcloudFake;
  let key: ServiceAccountKeyFile;
  let dir: string;
  const outputs: string[] = [];

  async function config(extra: string[] = [], domains = DOMAINS): Promise<void> {
    await fs.writeFile(
      path.join(dir, "dkim.zones.yaml"),
      [
        "tenant: contoso",
        "providers:",
        "  gdns:",
        "    type: gcloud",
        `    endpoint: ${fake.endpoint}`,
        `    token_url: ${fake.tokenUrl}`,
        "    credentials: env/E2E_GCLOUD_KEY",
        ...extra.map((l) => `    ${l}`),
        "domains:",
        ...domains.flatMap((d) => [`  ${d}:`, "    provider: gdns"]),
        "",
      ].join("\n"),
    );
  }

  async function cli(args: string[], k: ServiceAccountKeyFile = key): Promise<Run> {
    const r = await run(dir, args, { E2E_GCLOUD_KEY: JSON.stringify(k) });
    outputs.push(r.stdout, r.stderr);
    return r;
  }

  beforeAll(async () => {
    await fs.access(path.join(root, "dist", "src", "cli.js")).catch(() => {
      throw new Error("dist/src/cli.js is missing: run `npm run build` first (npm test does)");
    });
    fake = await startGcloudFake();
    key = fake.createServiceAccount(`dkimsync@${PROJECT}.iam.gserviceaccount.com`, { projects: [PROJECT] });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-e2e-gcloud-"));
  });
  beforeEach(() => {
    fake.faults.clear();
    fake.state.projects.clear();
    fake.state.createZone(PROJECT, "fabrikam.test", {
      rrsets: [
        { name: "fabrikam.test.", type: "MX", ttl: 3600, rrdatas: ["0 fabrikam-test.mail.protection.outlook.com."] },
      ],
    });
    fake.state.createZone(PROJECT, "tailspin.test");
  });
  afterAll(async () => {
    // Nothing any run printed or saved holds key material or a token the server issued.
    const plans = await Promise.all(
      (await fs.readdir(dir)).filter((f) => f.endsWith(".json")).map((f) => fs.readFile(path.join(dir, f), "utf8")),
    );
    const everything = [...outputs, ...plans].join("\n");
    expect(everything).not.toMatch(/PRIVATE KEY|MII[A-Za-z0-9+/]{20}/);
    // Nor a signed JWT grant (`eyJ...`), which could be exchanged for a token for an hour.
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}\./);
    expect(everything).not.toContain(key.private_key.split("\n")[1] as string);
    for (const t of fake.issuedTokens()) expect(everything).not.toContain(t);
    expect(fake.issuedTokens().length).toBeGreaterThan(0);
    await fake?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("plans, applies with --wait, plans nothing more, and refuses a saved plan once the zone changed", async () => {
    await config(["max_attempts: 3"]);
    const plan = await cli(["plan", "--detailed-exitcode"]);
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain("Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged, 0 conflicts.");

    fake.resetCounts();
    const apply = await cli(["apply", "--wait"]);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("Apply: 6 change(s) written in 2 zone(s).");
    // One change per zone, polled until done.
    expect(fake.counts["createChange"]).toBe(2);
    expect(fake.counts["getChange"]).toBeGreaterThanOrEqual(2);
    const zone = fake.state.zoneByDns("fabrikam.test");
    expect(zone.rrsets.get("selector2._domainkey.marketing.fabrikam.test. CNAME")?.rrdatas).toEqual([
      "selector2-marketing-fabrikam-test._domainkey.contoso.onmicrosoft.com.",
    ]);
    expect(zone.rrsets.get("fabrikam.test. MX")?.rrdatas).toEqual(["0 fabrikam-test.mail.protection.outlook.com."]);

    expect((await cli(["plan", "--detailed-exitcode"])).code).toBe(0);

    // A saved plan for a retarget, then someone edits the zone: apply --plan refuses it.
    await config(["max_attempts: 3"], ["fabrikam.test"]);
    fake.state.put(zone, {
      name: "selector1._domainkey.fabrikam.test.",
      type: "CNAME",
      ttl: 3600,
      rrdatas: ["old.example.net."],
    });
    const planFile = path.join(dir, "saved-plan.json");
    expect((await cli(["plan", "--out", planFile])).code).toBe(0);
    fake.state.put(zone, {
      name: "selector1._domainkey.fabrikam.test.",
      type: "CNAME",
      ttl: 60,
      rrdatas: ["someone-else.example.net."],
    });
    const stale = await cli(["apply", "--plan", planFile]);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/fabrikam\.test: REFUSED \(stale plan\)/);
    expect(zone.rrsets.get("selector1._domainkey.fabrikam.test. CNAME")?.rrdatas).toEqual([
      "someone-else.example.net.",
    ]);
  });

  it("apply whose change was committed but whose answer was lost reads back, reports the zone applied, exit 0", async () => {
    await config(["max_attempts: 3", "timeout_ms: 5000"], ["tailspin.test"]);
    fake.faults.loseAnswerNext(1, "createChange");
    const r = await cli(["apply"]);
    expect(r.code).toBe(0);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/reading back shows every change in place/);
    expect(fake.state.zoneByDns("tailspin.test").changes).toHaveLength(1);
    expect(
      fake.state.zoneByDns("tailspin.test").rrsets.get("selector1._domainkey.tailspin.test. CNAME")?.rrdatas,
    ).toEqual(["selector1-tailspin-test._domainkey.contoso.onmicrosoft.com."]);
  });

  const failures: {
    name: string;
    setup: () => Promise<ServiceAccountKeyFile | void>;
    extra?: string[];
    domains?: string[];
    message: RegExp;
  }[] = [
    {
      name: "bad credentials (a key the token endpoint refuses)",
      setup: async () => ({
        ...key,
        private_key: fake.createServiceAccount("x@e2e-project.iam.gserviceaccount.com").private_key,
      }),
      message:
        /\[gdns\] fabrikam\.test: cannot list zones: listing managed zones \(managedZones\.list\): Google refused the credentials \(invalid_grant: Invalid JWT Signature\.\)/,
    },
    {
      name: "a missing project",
      setup: async () => undefined,
      extra: ["project: no-such-project"],
      message:
        /\[gdns\] fabrikam\.test: cannot list zones: listing managed zones \(managedZones\.list\): .*(not found|access denied)/,
    },
    {
      name: "a missing zone",
      setup: async () => undefined,
      domains: ["missingzone.test"],
      message: /no zone at provider "gdns" contains missingzone\.test/,
    },
    {
      name: "a 403 on the zone's records",
      setup: async () => {
        fake.faults.failNext(10, 403, "listRrsets");
      },
      message:
        /\[gdns\] fabrikam\.test \(zone fabrikam\.test\): reading selector[12]\._domainkey\.fabrikam\.test \(resourceRecordSets\.list\): access denied/,
    },
    {
      name: "throttling beyond the retries",
      setup: async () => {
        fake.faults.throttleNext(100, { retryAfterSeconds: 0, op: "listRrsets" });
      },
      extra: ["max_attempts: 2"],
      message:
        /\[gdns\] fabrikam\.test \(zone fabrikam\.test\): reading .* \(resourceRecordSets\.list\): still rate limited by Cloud DNS after 2 attempts/,
    },
    {
      name: "a stalled server (accepts, never answers)",
      setup: async () => {
        fake.faults.stallNext(100, "listRrsets");
      },
      extra: ["max_attempts: 2", "timeout_ms: 1500"],
      message:
        /\[gdns\] fabrikam\.test \(zone fabrikam\.test\): reading .* \(resourceRecordSets\.list\): no answer within 1500 ms from http:\/\/127\.0\.0\.1:\d+ \(2 attempts, timeout_ms 1500\)/,
    },
  ];

  for (const f of failures) {
    it(`plan with ${f.name}: one clear message, exit 1, no stack trace`, async () => {
      const k = await f.setup();
      await config(f.extra ?? [], f.domains ?? ["fabrikam.test"]);
      const r = await cli(["plan", "--out", path.join(dir, `failed-${f.name.replace(/\W+/g, "-")}.json`)], k || key);
      expect(r.code).toBe(1);
      expect(`${r.stdout}\n${r.stderr}`).toMatch(f.message);
      expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
      // With DKIMSYNC_DEBUG the stack and cause chain are printed too: still no key or token
      // (afterAll checks every output collected here).
      await f.setup();
      const debug = await run(dir, ["plan"], { E2E_GCLOUD_KEY: JSON.stringify(k || key), DKIMSYNC_DEBUG: "1" });
      outputs.push(debug.stdout, debug.stderr);
      expect(debug.code).toBe(1);
    });
  }
});
