/**
 * Loads the part of the official `cloudflare` SDK (v7) the provider uses: the base client, the
 * three API resources it calls (List Zones; DNS records list and batch; the zone's DNS settings)
 * and the error classes. Loading the whole SDK costs a process about 33 MB of RSS and half a
 * second of CPU before the first request (its `client.js` loads all 126 top-level resource
 * modules, 1,141 files), against about 10 MB and a few tens of milliseconds for this subset.
 *
 * The SDK's own documented way to build a client with some resources is `createClient` from
 * `cloudflare/tree-shakable` with the resource classes from `cloudflare/resources/*` (its
 * README, "Tree shaking", and the doc comment of createClient). It goes only part of the way
 * without a bundler: `tree-shakable.js` needs `BaseCloudflare` from `client.js`, and `client.js`
 * loads every resource module at its top for the full `Cloudflare` class, which is never built
 * here. So, while `client.js` itself is evaluated (and only then), each `./resources/...` module
 * it asks for is answered with a stand-in instead of being loaded (the one interception). The
 * classes the client is then built from are loaded normally from `cloudflare/resources/...`.
 *
 * Fail-safe:
 * - A stand-in answers `undefined` while `client.js` is evaluated (its top level only copies
 *   the classes onto `Cloudflare` as static fields). If anything asks a stand-in for a value
 *   later (code in `BaseCloudflare` that needs a resource at run time, after an SDK update),
 *   the stand-in loads the real module then and answers from it: it costs memory, never
 *   correctness.
 * - If the light load fails in any way (a stubbed module turns out to be needed while
 *   `client.js` is evaluated, `BaseCloudflare` or `createClient` is missing, a resource class is
 *   missing or has moved (`_key`), the built client lacks a method the provider calls), every
 *   module the attempt loaded is dropped from the require cache and the whole SDK is loaded as
 *   before (`require("cloudflare")`). `loaded` and `fallbackReason` say which happened.
 *
 * The CommonJS build, not the ES module build: the package ships both with the same generated
 * code, and Node 20 keeps much more per ES module than per CommonJS module; CommonJS is also
 * what lets the interception see `client.js`'s own requires (Module._load; an ES `import` in
 * `client.mjs` would need a loader hook on another thread).
 */
import Module, { createRequire } from "node:module";
import type { ClientOptions } from "cloudflare";
import type { APIConnectionError, APIConnectionTimeoutError, APIError } from "cloudflare/core/error";
import type { BaseZone } from "cloudflare/resources/dns/settings/zone";
import type { BaseRecords } from "cloudflare/resources/dns/records";
import type { BaseZones } from "cloudflare/resources/zones/zones";

/** The client the provider calls: the methods of the three resources it uses, nothing else. */
export interface CloudflareClient {
  zones: Pick<BaseZones, "list">;
  dns: {
    records: Pick<BaseRecords, "list" | "batch">;
    settings: { zone: Pick<BaseZone, "get"> };
  };
}

export interface CloudflareSdk {
  /** `subset`: the light load; `whole`: the fallback, `require("cloudflare")`. */
  loaded: "subset" | "whole";
  /** Why the light load was given up, when it was. */
  fallbackReason?: string;
  createClient(options: ClientOptions): CloudflareClient;
  APIError: typeof APIError;
  APIConnectionError: typeof APIConnectionError;
  APIConnectionTimeoutError: typeof APIConnectionTimeoutError;
  /** Stand-ins that had to load their real module after all (none with SDK 7.3). */
  lateLoads: string[];
}

/**
 * The resource classes the provider uses: module, class, and where createClient mounts it
 * (the class's `_key`). The Base variants are the SDK's resources without their subresources
 * (createClient's doc comment: "Use the BaseResource variants if you do not need to use
 * subresources"); `zones/zones.js` still loads its own subresource modules, a few dozen.
 */
const RESOURCES = [
  { module: "cloudflare/resources/zones/zones", name: "BaseZones", key: ["zones"], methods: ["list"] },
  {
    module: "cloudflare/resources/dns/records",
    name: "BaseRecords",
    key: ["dns", "records"],
    methods: ["list", "batch"],
  },
  {
    module: "cloudflare/resources/dns/settings/zone",
    name: "BaseZone",
    key: ["dns", "settings", "zone"],
    methods: ["get"],
  },
] as const;

type Require = NodeJS.Require;
type LoadFn = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;
const moduleInternals = Module as unknown as { _load: LoadFn };

class LightLoadFailed extends Error {}

function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new LightLoadFailed(what);
}

function errorClasses(
  errors: Record<string, unknown>,
): Pick<CloudflareSdk, "APIError" | "APIConnectionError" | "APIConnectionTimeoutError"> {
  const { APIError, APIConnectionError, APIConnectionTimeoutError } = errors as Pick<
    CloudflareSdk,
    "APIError" | "APIConnectionError" | "APIConnectionTimeoutError"
  >;
  check(typeof APIError === "function", "APIError is missing");
  check(typeof APIConnectionError === "function", "APIConnectionError is missing");
  check(typeof APIConnectionTimeoutError === "function", "APIConnectionTimeoutError is missing");
  return { APIError, APIConnectionError, APIConnectionTimeoutError };
}

/** The built client has every method the provider calls. */
function checkClient(client: unknown): CloudflareClient {
  for (const r of RESOURCES) {
    let at: unknown = client;
    for (const part of r.key) at = (at as Record<string, unknown> | undefined)?.[part];
    for (const m of r.methods)
      check(
        typeof (at as Record<string, unknown> | undefined)?.[m] === "function",
        `client.${r.key.join(".")}.${m} is missing`,
      );
  }
  return client as CloudflareClient;
}

/** Options for a client that is built once at load time, never used: proves construction works. */
const PROBE: ClientOptions = {
  apiToken: "probe",
  apiKey: null,
  apiEmail: null,
  userServiceKey: null,
  baseURL: "http://127.0.0.1:9",
  logLevel: "off",
  fetch: () => Promise.reject(new Error("the load-time probe client sends nothing")),
};

function loadSubset(req: Require, lateLoads: string[]): CloudflareSdk {
  const clientFile = req.resolve("cloudflare/client");
  const treeFile = req.resolve("cloudflare/tree-shakable");
  const original = moduleInternals._load;
  let evaluating = true;
  // The interception: only requests `client.js` itself makes, and only for `./resources/...`.
  moduleInternals._load = function (this: unknown, request, parent, isMain) {
    if (parent?.filename === clientFile && typeof request === "string" && request.startsWith("./resources/")) {
      let real: Record<string | symbol, unknown> | undefined;
      return new Proxy(Object.create(null) as object, {
        get(_target, prop) {
          // tslib's __importStar returns a module marked __esModule as it is, so the stand-in
          // stays the object client.js holds, and a late read can still reach the real module.
          if (prop === "__esModule") return true;
          if (evaluating) return undefined;
          if (!real) {
            lateLoads.push(request);
            real = original.call(moduleInternals, request, parent, false) as Record<string | symbol, unknown>;
          }
          return real[prop];
        },
      });
    }
    return original.call(this, request, parent, isMain);
  };
  let tree: { createClient?: unknown };
  let client: { BaseCloudflare?: unknown };
  try {
    tree = req("cloudflare/tree-shakable") as typeof tree;
    client = req("cloudflare/client") as typeof client;
  } finally {
    moduleInternals._load = original;
    evaluating = false;
  }
  // Nothing else in the process may get this client.js (whose Cloudflare class has no
  // resources): a later require("cloudflare") loads its own. Classes built from it stay valid.
  delete req.cache[clientFile];
  delete req.cache[treeFile];

  const BaseCloudflare = client.BaseCloudflare;
  check(typeof BaseCloudflare === "function", "BaseCloudflare is missing from cloudflare/client");
  const createClient = tree.createClient;
  check(typeof createClient === "function", "createClient is missing from cloudflare/tree-shakable");
  const resources = RESOURCES.map((r) => {
    const cls = (req(r.module) as Record<string, unknown>)[r.name] as ((...a: unknown[]) => unknown) | undefined;
    check(typeof cls === "function", `${r.name} is missing from ${r.module}`);
    const key = (cls as { _key?: unknown })._key;
    check(
      Array.isArray(key) && key.join(".") === r.key.join("."),
      `${r.name} is no longer mounted at ${r.key.join(".")}`,
    );
    return cls;
  });
  const errors = errorClasses(req("cloudflare/core/error") as Record<string, unknown>);
  const build = (options: ClientOptions): CloudflareClient => {
    const c = (createClient as (o: unknown) => unknown)({ ...options, resources });
    check(
      c instanceof (BaseCloudflare as new (...a: unknown[]) => unknown),
      "createClient did not build a BaseCloudflare",
    );
    return checkClient(c);
  };
  build(PROBE);
  return { loaded: "subset", createClient: build, ...errors, lateLoads };
}

function loadWhole(req: Require, fallbackReason: string): CloudflareSdk {
  const mod = req("cloudflare") as { default?: unknown; Cloudflare?: unknown };
  const Cloudflare = (mod.default ?? mod.Cloudflare) as new (o: ClientOptions) => unknown;
  return {
    loaded: "whole",
    fallbackReason,
    createClient: (options) => checkClient(new Cloudflare(options)),
    ...errorClasses(Cloudflare as unknown as Record<string, unknown>),
    lateLoads: [],
  };
}

/**
 * The SDK, light if it can be, whole if not. `req` resolves the package (tests pass one rooted
 * in a changed copy of the SDK to prove the fallback).
 */
export function loadCloudflareSdk(req: Require = createRequire(import.meta.url)): CloudflareSdk {
  const before = new Set(Object.keys(req.cache));
  try {
    return loadSubset(req, []);
  } catch (err) {
    // Drop what the attempt loaded, so the whole SDK starts clean and no module of it was
    // evaluated against a stand-in.
    for (const k of Object.keys(req.cache)) if (!before.has(k)) delete req.cache[k];
    return loadWhole(req, err instanceof Error ? err.message : String(err));
  }
}

let sdk: CloudflareSdk | undefined;

/** The process's one copy (every provider block shares it, so `instanceof` holds throughout). */
export function cloudflareSdk(): CloudflareSdk {
  sdk ??= loadCloudflareSdk();
  return sdk;
}
