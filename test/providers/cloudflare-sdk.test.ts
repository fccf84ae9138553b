/**
 * providers/cloudflare/sdk.ts: the provider loads only the SDK modules it uses, and falls back
 * to the whole SDK when the SDK's layout no longer fits the light load.
 *
 * The fallback cases run against a copy of the installed SDK in a temporary node_modules whose
 * top-level files are copied and changed the way an SDK update could change them (its
 * directories are symlinks to the real ones), resolved through a require rooted there: the
 * same code path as the provider's, only another package folder. Every client, light or
 * whole, then talks to the loopback Cloudflare server, so "it still works" is a request that
 * was answered, and the SDK's errors are still recognised.
 */
import { promises as fs, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCloudflareSdk, type CloudflareSdk } from "../../providers/cloudflare/sdk.js";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const REAL_SDK = path.join(root, "node_modules", "cloudflare");

let fake: CloudflareFake;
let tmp: string;

beforeAll(async () => {
  fake = await startCloudflareFake({ seed: { zones: [{ name: "example.com" }] } });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-cf-sdk-"));
});

afterAll(async () => {
  await fake?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/**
 * Loads the SDK through `req` and names the module files that load added to the (process-wide)
 * require cache, relative to the package folder (the copy's own files, or the real SDK's that
 * its symlinked folders resolve to).
 */
function load(req: NodeJS.Require): { sdk: CloudflareSdk; added: string[] } {
  const before = new Set(Object.keys(req.cache));
  const sdk = loadCloudflareSdk(req);
  const pkg = path.dirname(req.resolve("cloudflare/tree-shakable"));
  const added = Object.keys(req.cache)
    .filter((f) => !before.has(f))
    .map((f) => path.relative(f.startsWith(`${pkg}${path.sep}`) ? pkg : REAL_SDK, f));
  return { sdk, added };
}

/** A copy of the installed SDK with `edit` applied to its top-level files; a require rooted there. */
async function changedSdk(name: string, edit: Record<string, (text: string) => string>): Promise<NodeJS.Require> {
  const pkg = path.join(tmp, name, "node_modules", "cloudflare");
  await fs.mkdir(pkg, { recursive: true });
  for (const entry of readdirSync(REAL_SDK, { withFileTypes: true })) {
    const from = path.join(REAL_SDK, entry.name);
    const to = path.join(pkg, entry.name);
    if (entry.isDirectory()) await fs.symlink(from, to, "dir");
    else {
      const text = await fs.readFile(from, "utf8");
      const change = edit[entry.name];
      const changed = change ? change(text) : text;
      if (change) expect(changed, `the edit of ${entry.name} changed nothing`).not.toBe(text);
      await fs.writeFile(to, changed);
    }
  }
  return createRequire(path.join(tmp, name, "index.js"));
}

/** The client answers a real request, and a refused token ends in the SDK's APIError. */
async function works(sdk: CloudflareSdk): Promise<void> {
  const options = {
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: fake.baseURL,
    maxRetries: 0,
    logLevel: "off" as const,
  };
  const client = sdk.createClient({ ...options, apiToken: fake.token });
  const zones = await client.zones.list({ name: "example.com" });
  expect(zones.result.map((z) => z.name)).toEqual(["example.com"]);
  const zoneId = zones.result[0]!.id;
  const records = await client.dns.records.list({ zone_id: zoneId, per_page: 100 });
  expect(Array.isArray(records.result)).toBe(true);
  const settings = await client.dns.settings.zone.get({ zone_id: zoneId });
  expect(settings.flatten_all_cnames).toBe(false);
  const refused = await sdk
    .createClient({ ...options, apiToken: "not-the-token" })
    .zones.list({ name: "example.com" })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(refused).toBeInstanceOf(sdk.APIError);
  expect((refused as { status?: number }).status).toBe(403);
}

describe("cloudflare SDK: the light load", () => {
  it("loads the base client and the three resources, not the SDK's other 1,100 modules, and works", async () => {
    const req = await changedSdk("as-installed", {});
    // First in this file, so the cache holds no SDK module yet and `added` is all it loaded.
    const { sdk, added: loaded } = load(req);
    expect(sdk.fallbackReason).toBeUndefined();
    expect(sdk.loaded).toBe("subset");
    expect(sdk.lateLoads).toEqual([]);
    // client.js and tree-shakable.js were evaluated, then taken out of the cache (below).
    expect(loaded).toContain(path.join("resources", "dns", "records.js"));
    expect(loaded).toContain(path.join("resources", "dns", "settings", "zone.js"));
    expect(loaded).toContain(path.join("resources", "zones", "zones.js"));
    // None of the resources client.js asks for at its top (the full Cloudflare class's).
    expect(loaded.filter((f) => /^resources[\\/](accounts|workers|ai|r2|dns[\\/]dns\.js|index\.js)/.test(f))).toEqual(
      [],
    );
    // The whole SDK is 1,166 files; the light load about 50.
    expect(loaded.length).toBeLessThan(100);
    expect(loaded).not.toContain("index.js");
    // Nobody else gets the stand-in client.js from the cache afterwards.
    expect(Object.keys(req.cache).some((f) => f.endsWith(`${path.sep}cloudflare${path.sep}client.js`))).toBe(false);
    await works(sdk);
  });

  it("a require('cloudflare') after the light load gets the whole, working SDK", async () => {
    const req = await changedSdk("then-whole", {});
    loadCloudflareSdk(req);
    const whole = req("cloudflare") as { default: new (o: object) => { accounts?: unknown; zones?: unknown } };
    const client = new whole.default({ apiToken: "x", apiKey: null, apiEmail: null, baseURL: fake.baseURL });
    expect(client.accounts).toBeDefined();
    expect(client.zones).toBeDefined();
  });
});

describe("cloudflare SDK: the fallback to the whole SDK", () => {
  it("a stubbed module needed while client.js is evaluated: whole SDK, works", async () => {
    const line = 'const accounts_1 = require("./resources/accounts/accounts.js");';
    const req = await changedSdk("needs-a-stub", {
      "client.js": (t) => t.replace(line, `${line}\nclass NeedsAccounts extends accounts_1.Accounts {}`),
    });
    const { sdk, added } = load(req);
    expect(sdk.loaded).toBe("whole");
    expect(sdk.fallbackReason).toMatch(/extends value undefined/);
    // The whole SDK's entry point, which loads every resource.
    expect(added).toContain("index.js");
    await works(sdk);
  });

  it("BaseCloudflare missing from client.js: whole SDK, works", async () => {
    const req = await changedSdk("no-base", {
      "client.js": (t) => t.replace("exports.BaseCloudflare = BaseCloudflare;", ""),
    });
    const sdk = loadCloudflareSdk(req);
    expect(sdk.loaded).toBe("whole");
    expect(sdk.fallbackReason).toBe("BaseCloudflare is missing from cloudflare/client");
    await works(sdk);
  });

  it("createClient missing from tree-shakable.js: whole SDK, works", async () => {
    const req = await changedSdk("no-create-client", {
      "tree-shakable.js": (t) => t.replace("exports.createClient = createClient;", ""),
    });
    const sdk = loadCloudflareSdk(req);
    expect(sdk.loaded).toBe("whole");
    expect(sdk.fallbackReason).toBe("createClient is missing from cloudflare/tree-shakable");
    await works(sdk);
  });

  it("a stubbed module BaseCloudflare reads only at run time is loaded then: still light, works", async () => {
    const req = await changedSdk("late-read", {
      "client.js": (t) =>
        t.replace(
          "_BaseCloudflare_instances.add(this);",
          "_BaseCloudflare_instances.add(this);\n            this.accountsClass = accounts_1.Accounts;",
        ),
    });
    const sdk = loadCloudflareSdk(req);
    expect(sdk.loaded).toBe("subset");
    expect(sdk.lateLoads).toEqual(["./resources/accounts/accounts.js"]);
    const client = sdk.createClient({ apiToken: "x", apiKey: null, apiEmail: null, baseURL: fake.baseURL });
    // The real class, read through the stand-in.
    expect(typeof (client as unknown as { accountsClass: unknown }).accountsClass).toBe("function");
    await works(sdk);
  });
});
