/**
 * Start-up cost: a run loads the SDK of a cloud provider only when it creates that provider.
 * Every provider block is still checked in every run, by the type's options reader
 * (providers/<type>/options.ts), which imports no SDK.
 *
 * The built CLI runs as a child process with bench/import-hook.ts preloaded, which records
 * every module file the process loaded (ESM resolutions and CommonJS files), so the assertions
 * are about what really happened in the process, not about what the code is meant to do.
 */
import { execFile } from "node:child_process";
import { promises as fs, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCloudflareFake, type CloudflareFake } from "./fakes/cloudflare/server.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(root, "bin", "dkimsync.js");
const HOOK = path.join(root, "dist", "bench", "import-hook.js");

/** The SDK packages of the cloud providers (package.json dependencies) and what they pull in. */
const SDKS: Record<string, RegExp> = {
  cloudflare: /\/node_modules\/cloudflare\//,
  route53: /\/node_modules\/@(aws-sdk|smithy)\//,
  azure: /\/node_modules\/@azure\//,
  gcloud: /\/node_modules\/(google-auth-library|gaxios|gtoken)\//,
};

/** The build must be at least as new as every source file, or this would test old code. */
async function assertBuildFresh(): Promise<void> {
  const stale: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) await walk(rel);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) {
        const built = path.join(root, "dist", rel.replace(/\.ts$/, ".js"));
        let builtAt = 0;
        try {
          builtAt = statSync(built).mtimeMs;
        } catch {
          // missing: stale
        }
        if (builtAt < statSync(path.join(root, rel)).mtimeMs) stale.push(rel);
      }
    }
  };
  for (const dir of ["src", "providers"]) await walk(dir);
  await walk("bench");
  if (stale.length > 0)
    throw new Error(
      `the build in dist/ is older than ${stale.slice(0, 3).join(", ")}${stale.length > 3 ? ", ..." : ""}: run \`npm run build\` first (npm test does)`,
    );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** Every module file the process loaded, as `file:` URLs. */
  loaded: string[];
}

let dir: string;
let cf: CloudflareFake;

async function run(args: string[]): Promise<Run> {
  const list = path.join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", pathToFileURL(HOOK).href, BIN, ...args],
      {
        cwd: dir,
        timeout: 60_000,
        env: { ...process.env, DKIMSYNC_BENCH_IMPORTS: list, CF_TOKEN: cf.token, NO_COLOR: "1" },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
  const loaded = (await fs.readFile(list, "utf8").catch(() => "")).split("\n").filter((l) => l !== "");
  return { code, stdout, stderr, loaded };
}

function sdksLoaded(loaded: readonly string[]): string[] {
  return Object.entries(SDKS)
    .filter(([, re]) => loaded.some((u) => re.test(u)))
    .map(([t]) => t);
}

const CONFIG = (azureSubscription: string) => `tenant: contoso
providers:
  zones:
    type: yaml
    directory: ./zones
  cf:
    type: cloudflare
    token: env/CF_TOKEN
    base_url: ${cf.baseURL}
    max_attempts: 1
    timeout_ms: 5000
  r53:
    type: route53
    endpoint: http://127.0.0.1:9
    max_attempts: 1
  az:
    type: azure
    subscription_id: ${azureSubscription}
  gc:
    type: gcloud
    project: dkimsync-test
domains:
  local.example:
    provider: zones
  cf.example:
    provider: cf
  r53.example:
    provider: r53
  az.example:
    provider: az
  gc.example:
    provider: gc
`;

beforeAll(async () => {
  await fs.access(HOOK).catch(() => {
    throw new Error(`${HOOK} is missing: run \`npm run build\` first (npm test does)`);
  });
  await assertBuildFresh();
  cf = await startCloudflareFake({ seed: { zones: [{ name: "cf.example" }] } });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-startup-"));
  await fs.mkdir(path.join(dir, "zones"));
  await fs.writeFile(path.join(dir, "zones", "local.example.yaml"), "--- {}\n");
  await fs.writeFile(path.join(dir, "dkim.zones.yaml"), CONFIG("00000000-0000-0000-0000-000000000000"));
});

afterAll(async () => {
  await cf?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("start-up: only the providers a run uses are loaded", () => {
  it("plan --provider zones loads no cloud SDK, yet checks every provider block", async () => {
    const r = await run(["plan", "--provider", "zones"]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("local.example");
    // The hook saw the run: the yaml provider and the CLI's own dependencies were recorded.
    expect(r.loaded.some((u) => u.endsWith("/dist/providers/yaml/index.js"))).toBe(true);
    expect(r.loaded.some((u) => u.includes("/node_modules/commander/"))).toBe(true);
    // Every block's options were read, by the light readers only.
    for (const t of ["cloudflare", "route53", "azure", "gcloud"]) {
      expect(r.loaded.some((u) => u.endsWith(`/dist/providers/${t}/options.js`))).toBe(true);
      expect(r.loaded.filter((u) => u.endsWith(`/dist/providers/${t}/index.js`))).toEqual([]);
    }
    expect(sdksLoaded(r.loaded)).toEqual([]);
    expect(cf.log).toEqual([]);
  });

  it("plan --domain of a zone-file domain loads no cloud SDK either", async () => {
    const r = await run(["plan", "--domain", "local.example"]);
    expect(r.code).toBe(0);
    expect(sdksLoaded(r.loaded)).toEqual([]);
  });

  it("plan --provider cf loads the Cloudflare SDK, and no other", async () => {
    const r = await run(["plan", "--provider", "cf"]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cf.example");
    expect(sdksLoaded(r.loaded)).toEqual(["cloudflare"]);
    expect(cf.log.length).toBeGreaterThan(0);
    // Only the part of that SDK the provider uses (providers/cloudflare/sdk.ts): about 50 of
    // its 1,166 files, none of the resources the full client class would load.
    const cfFiles = r.loaded.filter((u) => SDKS.cloudflare!.test(u));
    expect(cfFiles.some((u) => u.endsWith("/cloudflare/resources/dns/records.js"))).toBe(true);
    expect(cfFiles.filter((u) => /\/cloudflare\/resources\/(accounts\/|workers\/|index\.js)/.test(u))).toEqual([]);
    expect(cfFiles.length).toBeLessThan(100);
  });

  it("a problem in a provider block the run does not use is still reported, without its SDK", async () => {
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(file, CONFIG("not-a-guid"));
    try {
      const r = await run(["plan", "--provider", "zones"]);
      expect(r.code).toBe(1);
      // The line of subscription_id in CONFIG, and the reader's own words.
      const line =
        CONFIG("x")
          .split("\n")
          .findIndex((l) => l.includes("subscription_id")) + 1;
      expect(r.stderr).toContain(
        `dkim.zones.yaml:${line}: provider "az" (azure): option "subscription_id" must be a subscription id`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(sdksLoaded(r.loaded)).toEqual([]);
    } finally {
      await fs.writeFile(file, CONFIG("00000000-0000-0000-0000-000000000000"));
    }
  });
});

describe("start-up: a command loads the modules it runs, not the others'", () => {
  /** dkimsync's own module files a run loaded, relative to dist/ (src/cli.js, plan/build.js, ...). */
  const own = (loaded: readonly string[]): string[] =>
    [...new Set(loaded.filter((u) => u.includes("/dist/src/")).map((u) => u.replace(/^.*\/dist\/src\//, "")))].sort();

  it("--version loads neither the config loader nor the planner", async () => {
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const mine = own(r.loaded);
    // The hook saw the run: the CLI itself was recorded.
    expect(mine).toContain("cli.js");
    for (const m of ["config/load.js", "plan/build.js", "plan/apply.js", "render/text.js", "core/desired.js"])
      expect(mine).not.toContain(m);
  });

  it("a text plan loads no apply path, saved-plan, JSON or apply-result module", async () => {
    const r = await run(["plan", "--provider", "zones"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("local.example");
    const mine = own(r.loaded);
    expect(mine).toEqual(expect.arrayContaining(["config/load.js", "plan/build.js", "render/text.js"]));
    for (const m of ["plan/apply.js", "plan/saved.js", "plan/safety.js", "render/json.js", "render/apply.js"])
      expect(mine).not.toContain(m);
  });

  it("plan --format json --out loads the JSON renderer and saved plans, still no apply path", async () => {
    const out = path.join(dir, "saved-plan.json");
    const r = await run(["plan", "--provider", "zones", "--format", "json", "--out", out]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toBeTypeOf("object");
    const mine = own(r.loaded);
    expect(mine).toEqual(expect.arrayContaining(["render/json.js", "plan/saved.js"]));
    expect(mine).not.toContain("render/text.js");
    expect(mine).not.toContain("plan/apply.js");
    await fs.rm(out, { force: true });
  });
});
