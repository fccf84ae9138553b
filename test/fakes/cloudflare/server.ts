/**
 * A loopback server speaking the Cloudflare API v4 for DNS, enough for the official `cloudflare`
 * SDK (v7): the `{success, errors, messages, result, result_info}` envelope with
 * `Content-Type: application/json` (without it the SDK hands back a string), Bearer tokens,
 * page/per_page paging that answers pages past the end with an empty result (the SDK's
 * auto-pagination asks page+1 until a page is empty), the batch endpoint, rate limiting with
 * `retry-after`, and faults on demand.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { CfApiError, CloudflareState, type FakeRecord, type FakeZone, type SeedZone } from "./state.js";

export interface CloudflareFakeOptions {
  /** The API tokens the server accepts. Default: one random token, returned as `token`. */
  tokens?: string[];
  /** 0 picks a free port. */
  port?: number;
  /** Requests allowed per token in `rateLimitWindowMs`. Cloudflare: 1200 per 5 minutes. */
  rateLimit?: number;
  rateLimitWindowMs?: number;
  seed?: { zones?: SeedZone[] };
}

/** Operation names used by `counts` and by `faults.failNext(n, status, operation)`. */
export type CfOperation =
  | "listZones"
  | "getZone"
  | "getDnsSettings"
  | "getZoneSetting"
  | "listRecords"
  | "getRecord"
  | "createRecord"
  | "patchRecord"
  | "putRecord"
  | "deleteRecord"
  | "batch"
  | "unknown";

export interface LoggedRequest {
  method: string;
  operation: CfOperation;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface CloudflareFaults {
  /** Answer the next n requests with 429 code 971 and `retry-after: retryAfterSeconds`. */
  rateLimitNext(n: number, retryAfterSeconds?: number): void;
  /**
   * Fail the next n requests (of `operation` only, when given) with `status` after they were
   * received, changing nothing. `retryAfterSeconds` adds a `retry-after` header (0 makes the
   * SDK retry at once instead of backing off 0.5 s, 1 s, 2 s...).
   */
  failNext(
    n: number,
    status?: number,
    operation?: CfOperation,
    opts?: { retryAfterSeconds?: number; errors?: unknown[] },
  ): void;
  /** Hold the next response for ms milliseconds. */
  delayNext(ms: number): void;
  /** Close the connection of the next n requests without answering. */
  dropNext(n: number): void;
  /**
   * From now on every request is read and never answered (the connection stays open): a
   * stalled endpoint; only requests of `operation`, when given. clear() or stop() ends it.
   */
  stall(operation?: CfOperation): void;
  /** From now on requests (of `operation`, when given) get status and headers, then half a body, never the rest. */
  stallBody(operation?: CfOperation): void;
  clear(): void;
}

export interface CloudflareFake {
  /** Ends in `/client/v4`, as the SDK's `baseURL`. */
  baseURL: string;
  port: number;
  /** The first accepted token. */
  token: string;
  state: CloudflareState;
  faults: CloudflareFaults;
  /** Requests received per operation (faulted and rate-limited ones included). */
  counts: Record<string, number>;
  /** Every request received, in order. */
  log: LoggedRequest[];
  resetCounts(): void;
  stop(): Promise<void>;
}

const PREFIX = "/client/v4";
const WINDOW_MS = 5 * 60 * 1000;

interface Fail {
  n: number;
  status: number;
  operation?: CfOperation;
  retryAfterSeconds?: number;
  errors?: unknown[];
}

/**
 * The arrival times of one token's requests inside the sliding window, oldest first. Arrivals
 * only ever grow, so the ones that left the window are always at the front: a queue, where each
 * request is pushed once and dropped once (linear in the number of requests, where filtering the
 * whole list on every request was quadratic). Rejected requests are not counted, as before.
 */
export class RequestWindow {
  private readonly times: number[] = [];
  private head = 0;
  get size(): number {
    return this.times.length - this.head;
  }
  get oldest(): number | undefined {
    return this.times[this.head];
  }
  /** Drops every arrival at or before `cutoff` (they left the window). */
  expire(cutoff: number): void {
    while (this.head < this.times.length && (this.times[this.head] as number) <= cutoff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
  }
  push(at: number): void {
    this.times.push(at);
  }
}

export async function startCloudflareFake(opts: CloudflareFakeOptions = {}): Promise<CloudflareFake> {
  const state = new CloudflareState();
  if (opts.seed) state.seed(opts.seed);
  const tokens = opts.tokens ?? [`cf-fake-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`];
  const limit = opts.rateLimit ?? 1200;
  const windowMs = opts.rateLimitWindowMs ?? WINDOW_MS;
  const seen = new Map<string, RequestWindow>();
  const counts: Record<string, number> = {};
  const log: LoggedRequest[] = [];

  let rateLimited: { n: number; retryAfter: number } = { n: 0, retryAfter: 1 };
  const fails: Fail[] = [];
  let delays: number[] = [];
  let drops = 0;
  let stalled: CfOperation | boolean = false;
  let stalledBody: CfOperation | boolean = false;

  const faults: CloudflareFaults = {
    rateLimitNext(n, retryAfterSeconds = 1) {
      rateLimited = { n, retryAfter: retryAfterSeconds };
    },
    failNext(n, status = 500, operation, o = {}) {
      fails.push({
        n,
        status,
        ...(operation ? { operation } : {}),
        ...(o.retryAfterSeconds !== undefined ? { retryAfterSeconds: o.retryAfterSeconds } : {}),
        ...(o.errors ? { errors: o.errors } : {}),
      });
    },
    delayNext(ms) {
      delays.push(ms);
    },
    dropNext(n) {
      drops += n;
    },
    stall(operation) {
      stalled = operation ?? true;
    },
    stallBody(operation) {
      stalledBody = operation ?? true;
    },
    clear() {
      rateLimited = { n: 0, retryAfter: 1 };
      fails.length = 0;
      delays = [];
      drops = 0;
      stalled = false;
      stalledBody = false;
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, envelopeError(1000, `fake server error: ${String(err)}`));
      });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    const query = Object.fromEntries(url.searchParams.entries());
    const route = routeOf(method, url.pathname);
    counts[route.operation] = (counts[route.operation] ?? 0) + 1;
    const entry: LoggedRequest = { method, operation: route.operation, path: url.pathname, query, status: 0 };
    log.push(entry);
    // Rate limit headers on every answer (Cloudflare API docs, "Rate limits": `Ratelimit:
    // "default";r=50;t=30` and `Ratelimit-Policy: "burst";q=100;w=60`). The policy name the
    // real API uses for the 1200/5 min limit is a guess ("default").
    let remaining = limit;
    let resetSeconds = Math.ceil(windowMs / 1000);
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      send(res, status, payload, {
        ratelimit: `"default";r=${Math.max(0, remaining)};t=${resetSeconds}`,
        "ratelimit-policy": `"default";q=${limit};w=${Math.ceil(windowMs / 1000)}`,
        ...headers,
      });
    };

    if (stalled === true || stalled === route.operation) {
      entry.status = -1;
      return;
    }
    if (stalledBody === true || stalledBody === route.operation) {
      entry.status = 200;
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"success":true,"errors":[],"messages":[],"result":[');
      return;
    }
    if (drops > 0) {
      drops--;
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    const delay = delays.shift();
    if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));

    // Authentication comes first on the real API: a bad token never reaches a rate limit.
    const auth = req.headers.authorization;
    if (auth === undefined || !/^Bearer\s+\S+$/i.test(auth)) {
      return reply(403, envelopeError(10000, "Authentication error"));
    }
    const token = auth.replace(/^Bearer\s+/i, "");
    if (!tokens.includes(token)) return reply(403, envelopeError(9109, "Invalid access token"));

    if (rateLimited.n > 0) {
      rateLimited.n--;
      return reply(429, envelopeError(971, "Please wait and consider throttling your request speed"), {
        "retry-after": String(rateLimited.retryAfter),
      });
    }
    const now = Date.now();
    let window = seen.get(token);
    if (window === undefined) seen.set(token, (window = new RequestWindow()));
    window.expire(now - windowMs);
    if (window.size >= limit) {
      remaining = 0;
      const wait = Math.max(1, Math.ceil(((window.oldest ?? now) + windowMs - now) / 1000));
      return reply(429, envelopeError(971, "Please wait and consider throttling your request speed"), {
        "retry-after": String(wait),
      });
    }
    window.push(now);
    remaining = limit - window.size;
    resetSeconds = Math.max(1, Math.ceil(((window.oldest ?? now) + windowMs - now) / 1000));

    const fail = fails.find((f) => f.operation === undefined || f.operation === route.operation);
    if (fail) {
      fail.n--;
      if (fail.n <= 0) fails.splice(fails.indexOf(fail), 1);
      const headers: Record<string, string> =
        fail.retryAfterSeconds !== undefined ? { "retry-after": String(fail.retryAfterSeconds) } : {};
      if (fail.errors)
        return reply(fail.status, { success: false, errors: fail.errors, messages: [], result: null }, headers);
      return reply(
        fail.status,
        envelopeError(fail.status >= 500 ? 1000 : 1004, `injected failure (HTTP ${fail.status})`),
        headers,
      );
    }

    try {
      const { status, payload } = dispatch(route, method, query, body, url.pathname);
      reply(status, payload);
    } catch (err) {
      if (err instanceof CfApiError) return reply(err.status, envelopeError(err.code, err.message, err.chain));
      throw err;
    }
  }

  function zoneOr404(id: string, path: string): FakeZone {
    const z = state.zoneById(id);
    if (!z) throw new CfApiError(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
    return z;
  }

  function dispatch(
    route: Route,
    method: string,
    query: Record<string, string>,
    body: string,
    path: string,
  ): { status: number; payload: unknown } {
    const p = route.params;
    switch (route.operation) {
      case "listZones": {
        let zones = state.zones.slice().sort((a, b) => a.name.localeCompare(b.name));
        if (query["name"] !== undefined)
          zones = zones.filter((z) => z.name === query["name"]!.toLowerCase().replace(/\.$/, ""));
        if (query["account.id"] !== undefined) zones = zones.filter((z) => z.account.id === query["account.id"]);
        // List Zones: per_page 5..50, default 20 (Cloudflare API reference).
        return paged(zones.map(zoneView), query, { def: 20, min: 5, max: 50 });
      }
      case "getZone":
        return ok(zoneView(zoneOr404(p.zone!, path)));
      case "getDnsSettings": {
        const z = zoneOr404(p.zone!, path);
        return ok({
          flatten_all_cnames: z.flatten_all_cnames,
          foundation_dns: false,
          multi_provider: false,
          ns_ttl: 86400,
          secondary_overrides: false,
          zone_mode: "standard",
          nameservers: { type: "cloudflare.standard" },
        });
      }
      case "getZoneSetting": {
        const z = zoneOr404(p.zone!, path);
        if (p.setting !== "cname_flattening")
          throw new CfApiError(404, 1003, `Invalid or missing zone setting: ${p.setting}`);
        // Deprecated zone setting (2025-03-21), still served: the same switch as dns_settings.
        return ok({
          id: "cname_flattening",
          value: z.flatten_all_cnames ? "flatten_all" : "flatten_at_root",
          editable: true,
          modified_on: null,
        });
      }
      case "listRecords": {
        const z = zoneOr404(p.zone!, path);
        const records = z.records
          .filter((r) => matches(r, query))
          .sort(byNameTypeContent)
          .map(recordView);
        // List DNS Records: per_page 1..5000000, default 100 (Cloudflare OpenAPI schema
        // `dns-records_per_page`; the retired reference said a minimum of 5).
        return paged(records, query, { def: 100, min: 1, max: 5_000_000 });
      }
      case "getRecord":
        return ok(recordView(state.recordById(zoneOr404(p.zone!, path), p.record!)));
      case "createRecord":
        return ok(recordView(state.createRecord(zoneOr404(p.zone!, path), parseBody(body))));
      case "patchRecord":
        return ok(recordView(state.updateRecord(zoneOr404(p.zone!, path), p.record!, parseBody(body), "patch")));
      case "putRecord":
        return ok(recordView(state.updateRecord(zoneOr404(p.zone!, path), p.record!, parseBody(body), "put")));
      case "deleteRecord": {
        const r = state.deleteRecord(zoneOr404(p.zone!, path), p.record!);
        return ok({ id: r.id });
      }
      case "batch": {
        const result = state.batch(zoneOr404(p.zone!, path), parseBody(body));
        return ok({
          deletes: result.deletes.map(recordView),
          patches: result.patches.map(recordView),
          puts: result.puts.map(recordView),
          posts: result.posts.map(recordView),
        });
      }
      default:
        throw new CfApiError(400, 7000, `No route for that URI (${method} ${path})`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    baseURL: `http://127.0.0.1:${port}${PREFIX}`,
    port,
    token: tokens[0]!,
    state,
    faults,
    counts,
    log,
    resetCounts() {
      for (const k of Object.keys(counts)) delete counts[k];
      log.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Route {
  operation: CfOperation;
  params: { zone?: string; record?: string; setting?: string };
}

function routeOf(method: string, pathname: string): Route {
  if (!pathname.startsWith(`${PREFIX}/`)) return { operation: "unknown", params: {} };
  const parts = pathname
    .slice(PREFIX.length + 1)
    .split("/")
    .filter((s) => s !== "")
    .map(decodeURIComponent);
  const [a, zone, b, c, d] = parts;
  const n = parts.length;
  if (a !== "zones") return { operation: "unknown", params: {} };
  if (n === 1 && method === "GET") return { operation: "listZones", params: {} };
  if (n === 2 && method === "GET") return { operation: "getZone", params: { zone: zone! } };
  if (n === 3 && b === "dns_settings" && method === "GET")
    return { operation: "getDnsSettings", params: { zone: zone! } };
  if (n === 4 && b === "settings" && method === "GET")
    return { operation: "getZoneSetting", params: { zone: zone!, setting: c! } };
  if (b !== "dns_records" || d !== undefined) return { operation: "unknown", params: {} };
  if (n === 3 && method === "GET") return { operation: "listRecords", params: { zone: zone! } };
  if (n === 3 && method === "POST") return { operation: "createRecord", params: { zone: zone! } };
  if (n === 4 && c === "batch" && method === "POST") return { operation: "batch", params: { zone: zone! } };
  if (n === 4) {
    const op: Record<string, CfOperation> = {
      GET: "getRecord",
      PATCH: "patchRecord",
      PUT: "putRecord",
      DELETE: "deleteRecord",
    };
    const operation = op[method];
    if (operation) return { operation, params: { zone: zone!, record: c! } };
  }
  return { operation: "unknown", params: {} };
}

/**
 * The list filters the records endpoint documents: `type`, `name` (exact, the older form),
 * `name.exact|contains|startswith|endswith`, `content[.exact|...]`, `proxied`, combined by
 * `match=all` (default, a logical AND) or `match=any` (OR). Name and content filters are
 * case-insensitive and apply to the full record name (SDK RecordListParams.Name/Content and
 * `match`, generated from Cloudflare's OpenAPI schema). Every filter present counts, so
 * `name.startswith` and `name.endswith` together narrow to names with both affixes.
 */
function matches(r: FakeRecord, q: Record<string, string>): boolean {
  const tests: boolean[] = [];
  const text = (field: "name" | "content", value: string) => {
    const v = value.toLowerCase();
    for (const [k, f] of Object.entries(q)) {
      const want = f.toLowerCase();
      if (k === field || k === `${field}.exact`) tests.push(v === (field === "name" ? want.replace(/\.$/, "") : want));
      else if (k === `${field}.contains`) tests.push(v.includes(want));
      else if (k === `${field}.startswith`) tests.push(v.startsWith(want));
      else if (k === `${field}.endswith`) tests.push(v.endsWith(want));
    }
  };
  text("name", r.name);
  text("content", r.content);
  if (q["type"] !== undefined) tests.push(r.type === q["type"].toUpperCase());
  if (q["proxied"] !== undefined) tests.push(String(r.proxied) === q["proxied"]);
  if (tests.length === 0) return true;
  return q["match"] === "any" ? tests.some(Boolean) : tests.every(Boolean);
}

function byNameTypeContent(a: FakeRecord, b: FakeRecord): number {
  return a.name.localeCompare(b.name) || a.type.localeCompare(b.type) || a.content.localeCompare(b.content);
}

function paged(items: unknown[], q: Record<string, string>, limits: { def: number; min: number; max: number }) {
  const page = intParam(q["page"], 1, 1, Number.MAX_SAFE_INTEGER, "page");
  const perPage = intParam(q["per_page"], limits.def, limits.min, limits.max, "per_page");
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    status: 200,
    payload: {
      success: true,
      errors: [],
      messages: [],
      result: slice,
      result_info: {
        page,
        per_page: perPage,
        count: slice.length,
        total_count: items.length,
        total_pages: Math.max(1, Math.ceil(items.length / perPage)),
      },
    },
  };
}

function intParam(raw: string | undefined, def: number, min: number, max: number, name: string): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CfApiError(400, 1001, `Invalid ${name}: must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function ok(result: unknown) {
  return { status: 200, payload: { success: true, errors: [], messages: [], result } };
}

function envelopeError(code: number, message: string, chain: { code: number; message: string }[] = []) {
  return {
    success: false,
    errors: [{ code, message, ...(chain.length > 0 ? { error_chain: chain } : {}) }],
    messages: [],
    result: null,
  };
}

function parseBody(body: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(body === "" ? "{}" : body);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new CfApiError(400, 9207, "Request body is invalid.");
}

function zoneView(z: FakeZone) {
  return {
    id: z.id,
    name: z.name,
    status: z.status,
    paused: false,
    type: "full",
    account: z.account,
    name_servers: ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
    plan: { name: "Free Website" },
  };
}

function recordView(r: FakeRecord) {
  return { ...r, settings: { ...r.settings }, tags: [...r.tags] };
}

function send(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
