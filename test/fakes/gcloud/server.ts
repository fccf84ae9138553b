/**
 * A loopback server speaking the Cloud DNS v1 REST JSON API (the resources dkimsync uses:
 * managedZones list/get, resourceRecordSets list, changes create/get) and the OAuth 2.0 token
 * endpoint of the service-account JWT grant (RFC 7523, as Google's token endpoint takes it), for
 * the real `google-auth-library` to talk to.
 *
 * - Auth: POST /token takes `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an RS256
 *   assertion, checks its signature against the public key of the service account named in
 *   `iss`, `aud`, `exp` and `scope`, and issues a Bearer token; API calls without a token the
 *   server issued get 401 UNAUTHENTICATED. A service account can be limited to some projects
 *   (others answer 403 forbidden).
 * - Paging: `maxResults` and an opaque `nextPageToken` on every list (default page 100, at most
 *   1000: a guess, the API says only that the server decides).
 * - Errors: Google's `{error: {code, message, errors: [{message, domain, reason}], status}}`.
 * - Faults: throttling (429 or 403 rateLimitExceeded, with Retry-After), any status, answers
 *   lost after the work was done, connections dropped before it, slow answers and requests that
 *   are accepted and never answered.
 */
import { createPublicKey, createVerify, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { GcApiError, GcloudState, pageToken, readPageToken, type FakeZone } from "./state.js";

export type GcOperation = "token" | "listZones" | "getZone" | "listRrsets" | "createChange" | "getChange" | "unknown";

export interface LoggedRequest {
  method: string;
  operation: GcOperation;
  path: string;
  query: Record<string, string>;
  status: number;
}

/** What `createServiceAccount` hands out: a key file as `gcloud iam service-accounts keys create` writes it. */
export interface ServiceAccountKeyFile {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

export interface GcloudFaults {
  /** Throttle the next n requests (of `op` only, when given): 429 RESOURCE_EXHAUSTED, or 403 rateLimitExceeded. */
  throttleNext(n: number, opts?: { status?: 429 | 403; retryAfterSeconds?: number; op?: GcOperation }): void;
  /** Answer the next n requests (of `op`) with `status`, doing nothing. */
  failNext(n: number, status?: number, op?: GcOperation): void;
  /** Do the next n requests (of `op`), then close the connection without answering. */
  loseAnswerNext(n: number, op?: GcOperation): void;
  /** Close the connection of the next n requests without doing anything. */
  dropNext(n: number, op?: GcOperation): void;
  /** Hold the next answer for ms milliseconds. */
  delayNext(ms: number, op?: GcOperation): void;
  /** Accept the next n requests (of `op`) and never answer them. */
  stallNext(n: number, op?: GcOperation): void;
  clear(): void;
}

export interface GcloudFake {
  /** The API root, as the provider's `endpoint`. */
  endpoint: string;
  /** The OAuth 2.0 token endpoint, as the provider's `token_url`. */
  tokenUrl: string;
  port: number;
  state: GcloudState;
  faults: GcloudFaults;
  /** Requests per operation (faulted ones included). */
  counts: Record<string, number>;
  log: LoggedRequest[];
  resetCounts(): void;
  /** A new service account with a fresh RSA key; `projects` limits what it may touch (default: all). */
  createServiceAccount(email: string, opts?: { project?: string; projects?: string[] }): ServiceAccountKeyFile;
  /** Every access token the server has issued (tests check none of them is ever printed). */
  issuedTokens(): string[];
  stop(): Promise<void>;
}

interface Fault {
  kind: "throttle" | "fail" | "lose" | "drop" | "delay" | "stall";
  n: number;
  op?: GcOperation;
  status?: number;
  retryAfterSeconds?: number;
  ms?: number;
}

const PREFIX = "/dns/v1/projects/";
const GOOGLE_TOKEN_AUD = "https://oauth2.googleapis.com/token";

export async function startGcloudFake(opts: { port?: number } = {}): Promise<GcloudFake> {
  const state = new GcloudState();
  const counts: Record<string, number> = {};
  const log: LoggedRequest[] = [];
  const faults: Fault[] = [];
  const accounts = new Map<string, { publicKey: KeyObject; projects?: Set<string> }>();
  const tokens = new Map<string, { email: string; expires: number }>();
  const stalled = new Set<http.ServerResponse>();

  const take = (op: GcOperation, kinds: Fault["kind"][]): Fault | undefined => {
    const f = faults.find((x) => kinds.includes(x.kind) && (x.op === undefined || x.op === op));
    if (!f) return undefined;
    f.n--;
    if (f.n <= 0) faults.splice(faults.indexOf(f), 1);
    return f;
  };

  const faultApi: GcloudFaults = {
    throttleNext(n, o = {}) {
      faults.push({
        kind: "throttle",
        n,
        status: o.status ?? 429,
        ...(o.retryAfterSeconds !== undefined ? { retryAfterSeconds: o.retryAfterSeconds } : {}),
        ...(o.op ? { op: o.op } : {}),
      });
    },
    failNext(n, status = 500, op) {
      faults.push({ kind: "fail", n, status, ...(op ? { op } : {}) });
    },
    loseAnswerNext(n, op) {
      faults.push({ kind: "lose", n, ...(op ? { op } : {}) });
    },
    dropNext(n, op) {
      faults.push({ kind: "drop", n, ...(op ? { op } : {}) });
    },
    delayNext(ms, op) {
      faults.push({ kind: "delay", n: 1, ms, ...(op ? { op } : {}) });
    },
    stallNext(n, op) {
      faults.push({ kind: "stall", n, ...(op ? { op } : {}) });
    },
    clear() {
      faults.length = 0;
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed)
          send(res, 500, new GcApiError(500, "backendError", `fake server error: ${String(err)}`).body());
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
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      send(res, status, payload, headers);
    };

    if (take(route.operation, ["stall"])) {
      entry.status = -2;
      stalled.add(res);
      return;
    }
    if (take(route.operation, ["drop"])) {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    const delay = take(route.operation, ["delay"]);
    if (delay?.ms) await new Promise((r) => setTimeout(r, delay.ms));

    if (route.operation === "token") {
      const out = tokenGrant(body);
      return reply(out.status, out.payload);
    }

    // Authentication first, as on the real API: a bad token never reaches a quota.
    const auth = req.headers.authorization ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    const t = token === undefined ? undefined : tokens.get(token);
    if (!t || t.expires < Date.now()) {
      return reply(401, {
        error: {
          code: 401,
          message:
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
          errors: [
            {
              message: "Invalid Credentials",
              domain: "global",
              reason: "authError",
              locationType: "header",
              location: "Authorization",
            },
          ],
          status: "UNAUTHENTICATED",
        },
      });
    }

    const throttle = take(route.operation, ["throttle"]);
    if (throttle) {
      const headers: Record<string, string> =
        throttle.retryAfterSeconds !== undefined ? { "retry-after": String(throttle.retryAfterSeconds) } : {};
      const e =
        throttle.status === 403
          ? new GcApiError(403, "rateLimitExceeded", "Rate Limit Exceeded", "PERMISSION_DENIED")
          : new GcApiError(
              429,
              "rateLimitExceeded",
              "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'dns.googleapis.com'.",
              "RESOURCE_EXHAUSTED",
            );
      return reply(e.status, e.body(), headers);
    }
    const fail = take(route.operation, ["fail"]);
    if (fail) {
      const status = fail.status ?? 500;
      const e = new GcApiError(status, status >= 500 ? "backendError" : "invalid", `injected failure (HTTP ${status})`);
      return reply(status, e.body());
    }

    let status = 200;
    let payload: unknown;
    try {
      payload = dispatch(route, query, body, t.email);
    } catch (err) {
      if (!(err instanceof GcApiError)) throw err;
      status = err.status;
      payload = err.body();
    }
    if (take(route.operation, ["lose"])) {
      // The work is done (a change committed), but the answer never arrives.
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    reply(status, payload);
  }

  function tokenGrant(body: string): { status: number; payload: unknown } {
    const form = new URLSearchParams(body);
    const bad = (description: string, error = "invalid_grant") => ({
      status: 400,
      payload: { error, error_description: description },
    });
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer")
      return bad("Invalid grant_type", "unsupported_grant_type");
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3) return bad("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe");
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: string };
    let claims: { iss?: string; aud?: string; exp?: number; iat?: number; scope?: string };
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    } catch {
      return bad("Invalid JWT");
    }
    if (header.alg !== "RS256") return bad("Invalid JWT: alg must be RS256");
    const account = claims.iss === undefined ? undefined : accounts.get(claims.iss);
    if (!account) return bad("Invalid grant: account not found");
    const verify = createVerify("RSA-SHA256");
    verify.update(`${h}.${p}`);
    if (!verify.verify(account.publicKey, Buffer.from(s, "base64url"))) return bad("Invalid JWT Signature.");
    const now = Math.floor(Date.now() / 1000);
    if (claims.aud !== GOOGLE_TOKEN_AUD) return bad("Invalid JWT: aud must be the token endpoint");
    if (typeof claims.exp !== "number" || claims.exp < now || (claims.iat ?? now) > now + 300) {
      return bad(
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
      );
    }
    if (!claims.scope) return bad("Invalid JWT: no scope", "invalid_scope");
    const token = `ya29.fake-${randomBytes(24).toString("base64url")}`;
    tokens.set(token, { email: claims.iss as string, expires: Date.now() + 3600_000 });
    return { status: 200, payload: { access_token: token, expires_in: 3599, token_type: "Bearer" } };
  }

  function projectFor(project: string, email: string) {
    const account = accounts.get(email);
    if (account?.projects && !account.projects.has(project)) {
      throw new GcApiError(403, "forbidden", `Forbidden: the caller does not have permission on project '${project}'`);
    }
    const p = state.projects.get(project);
    // Guess: the status of an unknown project id (a 403 would also be plausible).
    if (!p)
      throw new GcApiError(404, "notFound", `The 'parameters.project' resource named '${project}' does not exist.`);
    return p;
  }

  function zoneOr404(project: string, zone: string): FakeZone {
    const z = state.zone(project, zone);
    if (!z)
      throw new GcApiError(404, "notFound", `The 'parameters.managedZone' resource named '${zone}' does not exist.`);
    return z;
  }

  function dispatch(route: Route, q: Record<string, string>, body: string, email: string): unknown {
    const { project, zone, change } = route.params;
    if (route.operation === "unknown") throw new GcApiError(404, "notFound", "Not Found");
    const p = projectFor(project!, email);
    switch (route.operation) {
      case "listZones": {
        let zones = [...p.zones.values()].sort((a, b) => a.name.localeCompare(b.name));
        if (q["dnsName"] !== undefined) {
          const want = q["dnsName"].toLowerCase();
          zones = zones.filter((z) => z.dnsName === (want.endsWith(".") ? want : `${want}.`));
        }
        const page = paged(zones.map(zoneView), q, "listZones");
        return {
          kind: "dns#managedZonesListResponse",
          managedZones: page.items,
          ...(page.next ? { nextPageToken: page.next } : {}),
        };
      }
      case "getZone":
        return zoneView(zoneOr404(p.id, zone!));
      case "listRrsets": {
        const z = zoneOr404(p.id, zone!);
        if (q["type"] !== undefined && q["name"] === undefined) {
          throw new GcApiError(400, "invalid", "Invalid value for 'type': the name parameter must be set when type is");
        }
        let rrsets = state.sorted(z);
        if (q["name"] !== undefined) {
          const want = q["name"].toLowerCase();
          rrsets = rrsets.filter((r) => r.name === (want.endsWith(".") ? want : `${want}.`));
        }
        if (q["type"] !== undefined) rrsets = rrsets.filter((r) => r.type === q["type"]!.toUpperCase());
        const page = paged(
          rrsets.map((r) => ({ ...r, rrdatas: [...r.rrdatas] })),
          q,
          "listRrsets",
        );
        return {
          kind: "dns#resourceRecordSetsListResponse",
          rrsets: page.items,
          ...(page.next ? { nextPageToken: page.next } : {}),
        };
      }
      case "createChange":
        return changeView(state.applyChange(zoneOr404(p.id, zone!), parseBody(body)));
      case "getChange":
        return changeView(state.getChange(zoneOr404(p.id, zone!), change!));
      default:
        throw new GcApiError(404, "notFound", "Not Found");
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint,
    tokenUrl: `${endpoint}/token`,
    port,
    state,
    faults: faultApi,
    counts,
    log,
    resetCounts() {
      for (const k of Object.keys(counts)) delete counts[k];
      log.length = 0;
    },
    createServiceAccount(email, o = {}) {
      const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      accounts.set(email, {
        publicKey: createPublicKey(publicKey.export({ type: "spki", format: "pem" })),
        ...(o.projects ? { projects: new Set(o.projects) } : {}),
      });
      return {
        type: "service_account",
        project_id: o.project ?? o.projects?.[0] ?? "fake-project",
        private_key_id: randomBytes(20).toString("hex"),
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        client_email: email,
        client_id: String(100000000000000000000n + BigInt(accounts.size)),
        token_uri: GOOGLE_TOKEN_AUD,
      };
    },
    issuedTokens: () => [...tokens.keys()],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const r of stalled) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Route {
  operation: GcOperation;
  params: { project?: string; zone?: string; change?: string };
}

function routeOf(method: string, pathname: string): Route {
  if (pathname === "/token" && method === "POST") return { operation: "token", params: {} };
  if (!pathname.startsWith(PREFIX)) return { operation: "unknown", params: {} };
  const parts = pathname
    .slice(PREFIX.length)
    .split("/")
    .filter((s) => s !== "")
    .map(decodeURIComponent);
  const [project, a, zone, b, change] = parts;
  const n = parts.length;
  if (a !== "managedZones") return { operation: "unknown", params: {} };
  if (n === 2 && method === "GET") return { operation: "listZones", params: { project: project! } };
  if (n === 3 && method === "GET") return { operation: "getZone", params: { project: project!, zone: zone! } };
  if (n === 4 && b === "rrsets" && method === "GET")
    return { operation: "listRrsets", params: { project: project!, zone: zone! } };
  if (n === 4 && b === "changes" && method === "POST")
    return { operation: "createChange", params: { project: project!, zone: zone! } };
  if (n === 5 && b === "changes" && method === "GET")
    return { operation: "getChange", params: { project: project!, zone: zone!, change: change! } };
  return { operation: "unknown", params: {} };
}

function paged<T>(items: T[], q: Record<string, string>, what: string): { items: T[]; next?: string } {
  let size = 100;
  if (q["maxResults"] !== undefined) {
    const n = Number(q["maxResults"]);
    if (!Number.isInteger(n) || n < 1)
      throw new GcApiError(400, "invalid", `Invalid value for 'maxResults': ${q["maxResults"]}`);
    size = Math.min(n, 1000);
  }
  const shape = JSON.stringify({ what, name: q["name"] ?? "", type: q["type"] ?? "", dnsName: q["dnsName"] ?? "" });
  const offset = q["pageToken"] ? readPageToken(q["pageToken"], shape) : 0;
  const slice = items.slice(offset, offset + size);
  const end = offset + slice.length;
  return { items: slice, ...(end < items.length ? { next: pageToken(end, shape) } : {}) };
}

function zoneView(z: FakeZone) {
  return {
    kind: z.kind,
    name: z.name,
    dnsName: z.dnsName,
    id: z.id,
    description: z.description,
    visibility: z.visibility,
    creationTime: z.creationTime,
    nameServers: z.nameServers,
  };
}

function changeView(c: {
  kind: string;
  id: string;
  startTime: string;
  status: string;
  additions: unknown[];
  deletions: unknown[];
}) {
  return {
    kind: c.kind,
    id: c.id,
    startTime: c.startTime,
    status: c.status,
    additions: c.additions,
    deletions: c.deletions,
  };
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body === "" ? "{}" : body);
  } catch {
    throw new GcApiError(400, "parseError", "Parse Error");
  }
}

function send(res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
