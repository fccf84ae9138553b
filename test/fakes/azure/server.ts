/**
 * A loopback HTTPS server speaking what `@azure/arm-dns` and `@azure/identity` send:
 *
 * - Microsoft Entra ID's v2.0 endpoints for one tenant: the OpenID configuration MSAL reads
 *   first, and the token endpoint for the client-credentials grant with a client secret or a
 *   federated client assertion (workload identity federation, as GitHub Actions OIDC uses);
 * - Azure Resource Manager for `Microsoft.Network/dnsZones` at api-version 2018-05-01: zone
 *   listings per subscription and per resource group, record set listings (all types, by type,
 *   `$recordsetnamesuffix`, `$top`, `nextLink` paging), and GET / PUT / DELETE of one record set
 *   with `If-Match` / `If-None-Match`, answering `CloudError` bodies `{ error: { code, message } }`;
 * - bearer tokens checked on every ARM request (401 without a valid one), role checks per action
 *   (403 AuthorizationFailed), per-subscription read and write budgets (429 with Retry-After,
 *   ARM's `SubscriptionRequestsThrottled`, once spent), and faults on demand: throttling, 5xx, lost answers (the request is carried out, the
 *   connection then dropped), slow answers and stalls (the request is accepted, never answered).
 *
 * HTTPS because the SDK refuses to send a bearer token over plain HTTP; the certificate is made
 * at start (tls.ts) and handed to the client as a CA file, never by disabling verification.
 * The rules themselves are in state.ts. Where Azure's behaviour is not documented, the comment
 * there says the fake guesses.
 */
import { randomBytes, randomUUID } from "node:crypto";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ArmError, AzureState, DATA_PROPERTY, type FakeRecordSet, type FakeZone } from "./state.js";
import { testCertificate } from "./tls.js";

export const API_VERSION = "2018-05-01";

export type AzureOperation =
  | "openidConfiguration"
  | "token"
  | "listZones"
  | "getZone"
  | "listRecordSets"
  | "getRecordSet"
  | "putRecordSet"
  | "deleteRecordSet"
  | "unknown";

export interface AzureFakeOptions {
  port?: number;
  tenantId?: string;
  subscriptionId?: string;
  /** Client id -> secret. Default: one random pair, returned as clientId / clientSecret. */
  clients?: Record<string, string>;
  /** Access token lifetime in seconds. Default 3600. */
  tokenLifetime?: number;
  /**
   * Per-subscription request budgets, refilled every `windowMs`: beyond them ARM answers 429
   * SubscriptionRequestsThrottled with Retry-After until the window ends. Defaults: 12000 reads
   * and 1200 writes an hour, the figures ARM's `x-ms-ratelimit-remaining-subscription-*`
   * headers count down from (Azure Resource Manager docs, "Understand how Azure Resource
   * Manager throttles requests"; the real limits are a token bucket per region, a guess here).
   */
  budget?: { reads?: number; writes?: number; windowMs?: number };
}

export interface LoggedRequest {
  method: string;
  operation: AzureOperation;
  path: string;
  query: Record<string, string>;
  ifMatch?: string;
  ifNoneMatch?: string;
  status: number;
}

type Fault =
  | { kind: "throttle"; n: number; retryAfter: number; operation?: AzureOperation }
  | { kind: "fail"; n: number; status: number; operation?: AzureOperation }
  | { kind: "drop"; n: number; afterApply: boolean; operation?: AzureOperation }
  | { kind: "stall"; n: number; operation?: AzureOperation }
  | { kind: "delay"; n: number; ms: number; operation?: AzureOperation };

export interface AzureFaults {
  /** Answer the next n requests (of `operation`) with 429 SubscriptionRequestsThrottled and Retry-After. */
  throttleNext(n: number, retryAfterSeconds?: number, operation?: AzureOperation): void;
  /** Answer the next n requests with `status` (default 500) without carrying them out. */
  failNext(n: number, status?: number, operation?: AzureOperation): void;
  /** Close the connection of the next n requests; `afterApply`: carry the request out first (a lost answer). */
  dropNext(n: number, operation?: AzureOperation, opts?: { afterApply?: boolean }): void;
  /** Accept the next n requests and never answer them. */
  stallNext(n: number, operation?: AzureOperation): void;
  /** Hold the next n answers for ms milliseconds. */
  delayNext(n: number, ms: number, operation?: AzureOperation): void;
  /** Refuse ARM actions matching the pattern (e.g. /CNAME\/write$/) with 403 AuthorizationFailed. */
  forbid(action: RegExp): void;
  clear(): void;
}

export interface AzureFake {
  /** The ARM endpoint, e.g. `https://127.0.0.1:43210` (the provider's `endpoint`). */
  endpoint: string;
  /** The Entra authority host (the provider's `authority_host`); the same server. */
  authorityHost: string;
  port: number;
  tenantId: string;
  subscriptionId: string;
  clientId: string;
  clientSecret: string;
  /** PEM of the server's self-signed certificate: the CA a client must trust. */
  ca: string;
  state: AzureState;
  faults: AzureFaults;
  /** Requests per operation, faulted ones included. */
  counts: Record<string, number>;
  log: LoggedRequest[];
  /** Every access token issued so far (tests check none of them is ever printed). */
  issuedTokens: string[];
  /** Stalled requests the client gave up on (closed the connection). */
  abandoned: number;
  /** A federated token (a signed JWT in real life) the token endpoint accepts as client assertion for clientId. */
  federatedToken: string;
  resetCounts(): void;
  stop(): Promise<void>;
}

export async function startAzureFake(opts: AzureFakeOptions = {}): Promise<AzureFake> {
  const { cert, key } = testCertificate();
  const state = new AzureState();
  const tenantId = opts.tenantId ?? randomUUID();
  const subscriptionId = opts.subscriptionId ?? randomUUID();
  state.addSubscription(subscriptionId);
  const clients = opts.clients ?? { [randomUUID()]: `fake-secret-${randomBytes(12).toString("base64url")}` };
  const [clientId, clientSecret] = Object.entries(clients)[0] as [string, string];
  const federatedToken = `eyJ.fake-federated.${randomBytes(12).toString("base64url")}`;
  const tokens = new Map<string, { expires: number }>();
  const counts: Record<string, number> = {};
  const log: LoggedRequest[] = [];
  const faults: Fault[] = [];
  const forbidden: RegExp[] = [];
  const stalled = new Set<IncomingMessage>();
  const sockets = new Set<Socket>();
  const budget = {
    reads: opts.budget?.reads ?? 12000,
    writes: opts.budget?.writes ?? 1200,
    windowMs: opts.budget?.windowMs ?? 3_600_000,
  };
  let reads = budget.reads;
  let writes = budget.writes;
  let windowStart = Date.now();

  const fake: AzureFake = {
    endpoint: "",
    authorityHost: "",
    port: 0,
    tenantId,
    subscriptionId,
    clientId,
    clientSecret,
    ca: cert,
    state,
    counts,
    log,
    issuedTokens: [],
    abandoned: 0,
    federatedToken,
    faults: {
      throttleNext(n, retryAfter = 1, operation) {
        faults.push({ kind: "throttle", n, retryAfter, ...(operation ? { operation } : {}) });
      },
      failNext(n, status = 500, operation) {
        faults.push({ kind: "fail", n, status, ...(operation ? { operation } : {}) });
      },
      dropNext(n, operation, o = {}) {
        faults.push({ kind: "drop", n, afterApply: o.afterApply ?? false, ...(operation ? { operation } : {}) });
      },
      stallNext(n, operation) {
        faults.push({ kind: "stall", n, ...(operation ? { operation } : {}) });
      },
      delayNext(n, ms, operation) {
        faults.push({ kind: "delay", n, ms, ...(operation ? { operation } : {}) });
      },
      forbid(action) {
        forbidden.push(action);
      },
      clear() {
        faults.length = 0;
        forbidden.length = 0;
      },
    },
    resetCounts() {
      for (const k of Object.keys(counts)) delete counts[k];
      log.length = 0;
    },
    async stop() {
      for (const req of stalled) req.socket.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  /** The first fault that applies to this operation, consumed. */
  function takeFault(operation: AzureOperation): Fault | undefined {
    const f = faults.find((x) => x.n > 0 && (x.operation === undefined || x.operation === operation));
    if (!f) return undefined;
    f.n--;
    if (f.n === 0) faults.splice(faults.indexOf(f), 1);
    return f;
  }

  const server = https.createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void handle(req, res, Buffer.concat(chunks).toString("utf8")).catch((err: unknown) => {
        if (!res.headersSent)
          send(res, 500, { error: { code: "InternalServerError", message: `fake server error: ${String(err)}` } });
      });
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? "/", fake.endpoint);
    const method = (req.method ?? "GET").toUpperCase();
    const query = Object.fromEntries(url.searchParams.entries());
    const route = routeOf(method, url.pathname);
    counts[route.operation] = (counts[route.operation] ?? 0) + 1;
    const entry: LoggedRequest = {
      method,
      operation: route.operation,
      path: url.pathname,
      query,
      status: 0,
      ...(typeof req.headers["if-match"] === "string" ? { ifMatch: req.headers["if-match"] } : {}),
      ...(typeof req.headers["if-none-match"] === "string" ? { ifNoneMatch: req.headers["if-none-match"] } : {}),
    };
    log.push(entry);

    const fault = takeFault(route.operation);
    if (fault?.kind === "stall") {
      entry.status = -2;
      stalled.add(req);
      req.socket.on("close", () => {
        if (stalled.delete(req)) fake.abandoned++;
      });
      return;
    }
    if (fault?.kind === "drop" && !fault.afterApply) {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));

    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      if (fault?.kind === "drop" && fault.afterApply) {
        entry.status = -1;
        req.socket.destroy();
        return;
      }
      send(res, status, payload, headers);
    };
    const armError = (e: ArmError, headers: Record<string, string> = {}) =>
      reply(
        e.status,
        { error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } },
        headers,
      );

    // Microsoft Entra ID.
    if (route.operation === "openidConfiguration" || route.operation === "token") {
      if (fault?.kind === "fail")
        return reply(fault.status, {
          error: "temporarily_unavailable",
          error_description: "AADSTS50196: fake server fault",
        });
      return identity(route, body, reply);
    }
    if (route.operation === "unknown") {
      return armError(new ArmError(404, "NotFound", `The resource path '${url.pathname}' is not known to this fake.`));
    }

    // ARM: authentication first, as the real front door does.
    const auth = req.headers.authorization;
    const token = typeof auth === "string" && /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, "") : undefined;
    const challenge = {
      "WWW-Authenticate": `Bearer authorization_uri="${fake.authorityHost}/${tenantId}", error="invalid_token", error_description="The authentication failed"`,
    };
    if (token === undefined)
      return armError(
        new ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."),
        challenge,
      );
    const known = tokens.get(token);
    if (!known)
      return armError(new ArmError(401, "InvalidAuthenticationToken", "The access token is invalid."), challenge);
    if (known.expires < Date.now())
      return armError(
        new ArmError(
          401,
          "ExpiredAuthenticationToken",
          "The access token expiry UTC time is earlier than current UTC time.",
        ),
        challenge,
      );

    if (query["api-version"] !== API_VERSION) {
      // Code and wording are a guess; ARM refuses api-versions a resource provider does not offer.
      return armError(
        new ArmError(
          400,
          "InvalidApiVersionParameter",
          `The api-version '${query["api-version"] ?? ""}' is invalid. The supported versions are '${API_VERSION}'.`,
        ),
      );
    }
    const isWrite = method === "PUT" || method === "DELETE";
    if (Date.now() - windowStart >= budget.windowMs) {
      windowStart = Date.now();
      reads = budget.reads;
      writes = budget.writes;
    }
    const left = isWrite ? writes : reads;
    if (left <= 0) {
      const retryAfter = Math.max(1, Math.ceil((windowStart + budget.windowMs - Date.now()) / 1000));
      return armError(
        new ArmError(
          429,
          "SubscriptionRequestsThrottled",
          `Number of '${isWrite ? "write" : "read"}' requests for subscription '${route.sub}' actor '${clientId}' exceeded. Please try again after '${retryAfter}' seconds after additional tokens are available.`,
        ),
        { "Retry-After": String(retryAfter) },
      );
    }
    if (isWrite) writes--;
    else reads--;
    const remaining = {
      [isWrite ? "x-ms-ratelimit-remaining-subscription-writes" : "x-ms-ratelimit-remaining-subscription-reads"]:
        String(isWrite ? writes : reads),
    };
    if (fault?.kind === "throttle") {
      // ARM throttling: 429, code SubscriptionRequestsThrottled, Retry-After in seconds
      // (Azure Resource Manager docs, "Understand how Azure Resource Manager throttles requests").
      return armError(
        new ArmError(
          429,
          "SubscriptionRequestsThrottled",
          `Number of '${isWrite ? "write" : "read"}' requests for subscription '${route.sub}' actor '${clientId}' exceeded. Please try again after '${fault.retryAfter}' seconds after additional tokens are available.`,
        ),
        { "Retry-After": String(fault.retryAfter), ...remaining },
      );
    }
    if (fault?.kind === "fail") {
      return armError(
        new ArmError(
          fault.status,
          fault.status === 503 ? "ServiceUnavailable" : "InternalServerError",
          "The server encountered an internal error (injected fault).",
        ),
        remaining,
      );
    }
    const action = actionOf(route, method);
    if (forbidden.some((re) => re.test(action))) {
      return armError(
        new ArmError(
          403,
          "AuthorizationFailed",
          `The client '${clientId}' with object id '${clientId}' does not have authorization to perform action '${action}' over scope '${url.pathname}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        ),
        remaining,
      );
    }
    try {
      const [status, payload] = arm(route, method, url, body, req);
      return reply(status, payload, remaining);
    } catch (err) {
      if (err instanceof ArmError) return armError(err, remaining);
      throw err;
    }
  }

  function identity(route: Route, body: string, reply: (status: number, payload: unknown) => void): void {
    const base = `${fake.authorityHost}/${route.tenant}`;
    if (route.tenant !== tenantId) {
      return reply(400, {
        error: "invalid_request",
        error_description: `AADSTS90002: Tenant '${route.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        error_codes: [90002],
      });
    }
    if (route.operation === "openidConfiguration") {
      return reply(200, {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        issuer: `${base}/v2.0`,
        response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
        scopes_supported: ["openid", "profile", "email", "offline_access"],
        token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      });
    }
    const form = new URLSearchParams(body);
    const id = form.get("client_id") ?? "";
    if (form.get("grant_type") !== "client_credentials") {
      return reply(400, {
        error: "unsupported_grant_type",
        error_description: "AADSTS70003: The app requested an unsupported grant type.",
        error_codes: [70003],
      });
    }
    if (!(id in clients)) {
      return reply(400, {
        error: "unauthorized_client",
        error_description: `AADSTS700016: Application with identifier '${id}' was not found in the directory '${tenantId}'.`,
        error_codes: [700016],
      });
    }
    const assertion = form.get("client_assertion");
    const ok = assertion !== null ? assertion === federatedToken : form.get("client_secret") === clients[id];
    if (!ok) {
      return reply(401, {
        error: "invalid_client",
        error_description:
          assertion !== null
            ? "AADSTS700213: No matching federated identity record found for presented assertion subject."
            : `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${id}'.`,
        error_codes: [assertion !== null ? 700213 : 7000215],
      });
    }
    const scope = form.get("scope") ?? "";
    if (!scope.endsWith("/.default")) {
      return reply(400, {
        error: "invalid_scope",
        error_description: `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
      });
    }
    const lifetime = opts.tokenLifetime ?? 3600;
    const accessToken = `fake-access-${randomBytes(24).toString("base64url")}`;
    tokens.set(accessToken, { expires: Date.now() + lifetime * 1000 });
    fake.issuedTokens.push(accessToken);
    return reply(200, {
      token_type: "Bearer",
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
    });
  }

  function arm(route: Route, method: string, url: URL, body: string, req: IncomingMessage): [number, unknown] {
    const sub = route.sub as string;
    switch (route.operation) {
      case "listZones": {
        const zones = state.listZones(sub, route.rg);
        return [200, page(zones.map(zoneJson), url)];
      }
      case "getZone":
        return [200, zoneJson(state.zone(sub, route.rg as string, route.zone as string))];
      case "listRecordSets": {
        const zone = state.zone(sub, route.rg as string, route.zone as string);
        const suffix = url.searchParams.get("$recordsetnamesuffix") ?? undefined;
        const sets = state.list(zone, { ...(suffix ? { suffix } : {}), ...(route.type ? { type: route.type } : {}) });
        // Page size: $top, default 100 (REST reference).
        return [
          200,
          page(
            sets.map((s) => setJson(zone, s)),
            url,
          ),
        ];
      }
      case "getRecordSet": {
        const zone = state.zone(sub, route.rg as string, route.zone as string);
        const set = state.find(zone, route.name as string, route.type as string);
        // Code and wording are a guess.
        if (!set)
          throw new ArmError(
            404,
            "NotFound",
            `The resource record '${route.name}' does not exist in resource group '${route.rg}' of subscription '${sub}'.`,
          );
        return [200, setJson(zone, set)];
      }
      case "putRecordSet": {
        const zone = state.zone(sub, route.rg as string, route.zone as string);
        const type = (route.type as string).toUpperCase();
        let parsed: { properties?: Record<string, unknown> };
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          throw new ArmError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
          );
        }
        const props = parsed.properties ?? {};
        const ttl = props["TTL"];
        if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) {
          throw new ArmError(
            400,
            "BadRequest",
            "The value for the record set TTL must be an integer between 0 and 2147483647.",
          );
        }
        const prop = DATA_PROPERTY[type];
        if (!prop || props[prop] === undefined) {
          // Wording is a guess.
          throw new ArmError(
            400,
            "BadRequest",
            `A record set of type '${type}' must contain the property '${prop ?? type}'.`,
          );
        }
        const metadata = props["metadata"] as Record<string, string> | undefined;
        const cond = {
          ...(typeof req.headers["if-match"] === "string" ? { ifMatch: req.headers["if-match"] } : {}),
          ...(typeof req.headers["if-none-match"] === "string" ? { ifNoneMatch: req.headers["if-none-match"] } : {}),
        };
        const { set, created } = state.put(
          zone,
          route.name as string,
          type,
          { ttl, data: { [prop]: props[prop] }, ...(metadata ? { metadata } : {}) },
          cond,
        );
        return [created ? 201 : 200, setJson(zone, set)];
      }
      case "deleteRecordSet": {
        const zone = state.zone(sub, route.rg as string, route.zone as string);
        const cond = typeof req.headers["if-match"] === "string" ? { ifMatch: req.headers["if-match"] } : {};
        // 204 for a record set that was not there (a guess following ARM's DELETE convention).
        return state.delete(zone, route.name as string, route.type as string, cond)
          ? [200, undefined]
          : [204, undefined];
      }
      default:
        throw new ArmError(405, "MethodNotAllowed", `The method '${method}' is not supported here.`);
    }
  }

  /** `{ value, nextLink }` with `$top` and a `$skipToken` offset, as ARM list operations page. */
  function page(items: unknown[], url: URL): { value: unknown[]; nextLink?: string } {
    const raw = url.searchParams.get("$top");
    const top = raw === null ? 100 : Number(raw);
    if (!Number.isInteger(top) || top < 1 || top > 1000) {
      // Azure DNS's answer to Zones - List with $top=1001 (MicrosoftDocs/feedback issue 1111);
      // that record set listings share the bound is a guess.
      throw new ArmError(
        400,
        "BadRequest",
        `Invalid $top value: '${raw}'. It must be a number between '1' and '1000'.`,
      );
    }
    const skip = Number(url.searchParams.get("$skipToken") ?? 0) || 0;
    const value = items.slice(skip, skip + top);
    if (skip + top >= items.length) return { value };
    const next = new URL(url.pathname, fake.endpoint);
    for (const [k, v] of url.searchParams)
      if (k !== "$skipToken" && !next.searchParams.has(k)) next.searchParams.set(k, v);
    next.searchParams.set("$skipToken", String(skip + top));
    return { value, nextLink: next.toString() };
  }

  function zoneId(z: FakeZone): string {
    return `/subscriptions/${z.subscription}/resourceGroups/${z.resourceGroup}/providers/Microsoft.Network/dnszones/${z.name}`;
  }

  function zoneJson(z: FakeZone): unknown {
    return {
      id: zoneId(z),
      name: z.name,
      type: "Microsoft.Network/dnszones",
      etag: z.etag,
      location: "global",
      tags: {},
      properties: {
        maxNumberOfRecordSets: 10000,
        maxNumberOfRecordsPerRecordSet: null,
        numberOfRecordSets: z.sets.length,
        nameServers: ["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net."],
        zoneType: z.zoneType,
      },
    };
  }

  function setJson(z: FakeZone, s: FakeRecordSet): unknown {
    const fqdn = s.name === "@" ? `${z.name}.` : `${s.name}.${z.name}.`;
    return {
      id: `${zoneId(z)}/${s.type}/${s.name}`,
      name: s.name,
      type: `Microsoft.Network/dnszones/${s.type}`,
      etag: s.etag,
      properties: {
        metadata: s.metadata ?? {},
        TTL: s.ttl,
        fqdn,
        provisioningState: "Succeeded",
        targetResource: {},
        ...s.data,
      },
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  fake.port = port;
  fake.endpoint = `https://127.0.0.1:${port}`;
  fake.authorityHost = fake.endpoint;
  return fake;
}

interface Route {
  operation: AzureOperation;
  tenant?: string;
  sub?: string;
  rg?: string;
  zone?: string;
  type?: string;
  name?: string;
  /** Listings across types: `all` (ListAllByDnsZone) or `recordsets` (ListByDnsZone). */
  across?: "all" | "recordsets";
}

const ZONES = String.raw`/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?/providers/Microsoft\.Network/dnszones`;

function routeOf(method: string, path: string): Route {
  let m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
  if (m && method === "GET") return { operation: "openidConfiguration", tenant: m[1] as string };
  m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
  if (m && method === "POST") return { operation: "token", tenant: m[1] as string };
  const dec = (s: string | undefined) => (s === undefined ? undefined : decodeURIComponent(s));
  m = new RegExp(`^${ZONES}$`, "i").exec(path);
  if (m && method === "GET")
    return { operation: "listZones", sub: m[1] as string, ...(m[2] ? { rg: dec(m[2]) as string } : {}) };
  m = new RegExp(`^${ZONES}/([^/]+)$`, "i").exec(path);
  if (m && m[2] && method === "GET")
    return { operation: "getZone", sub: m[1] as string, rg: dec(m[2]) as string, zone: dec(m[3]) as string };
  m = new RegExp(`^${ZONES}/([^/]+)/([A-Za-z]+)$`, "i").exec(path);
  if (m && m[2] && method === "GET") {
    const what = (m[4] as string).toLowerCase();
    return {
      operation: "listRecordSets",
      sub: m[1] as string,
      rg: dec(m[2]) as string,
      zone: dec(m[3]) as string,
      ...(what === "all" || what === "recordsets"
        ? { across: what as "all" | "recordsets" }
        : { type: what.toUpperCase() }),
    };
  }
  m = new RegExp(`^${ZONES}/([^/]+)/([A-Za-z]+)/([^/]+)$`, "i").exec(path);
  if (m && m[2]) {
    const base = {
      sub: m[1] as string,
      rg: dec(m[2]) as string,
      zone: dec(m[3]) as string,
      type: (m[4] as string).toUpperCase(),
      name: dec(m[5]) as string,
    };
    if (method === "GET") return { operation: "getRecordSet", ...base };
    if (method === "PUT") return { operation: "putRecordSet", ...base };
    if (method === "DELETE") return { operation: "deleteRecordSet", ...base };
  }
  return { operation: "unknown" };
}

/** The ARM action an operation needs (Azure RBAC resource provider operations, Microsoft.Network). */
function actionOf(route: Route, method: string): string {
  switch (route.operation) {
    case "listZones":
    case "getZone":
      return "Microsoft.Network/dnszones/read";
    case "listRecordSets":
      // "Microsoft.Network/dnszones/all/read: Gets DNS record sets across types" (Azure resource
      // provider operations, Microsoft.Network), and the same under recordsets/read.
      return route.type
        ? `Microsoft.Network/dnszones/${route.type}/read`
        : `Microsoft.Network/dnszones/${route.across}/read`;
    case "getRecordSet":
      return `Microsoft.Network/dnszones/${route.type}/read`;
    case "putRecordSet":
      return `Microsoft.Network/dnszones/${route.type}/write`;
    case "deleteRecordSet":
      return `Microsoft.Network/dnszones/${route.type}/delete`;
    default:
      return `unknown/${method}`;
  }
}

function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const body = payload === undefined ? "" : JSON.stringify(payload);
  res.writeHead(status, {
    ...(payload === undefined ? {} : { "Content-Type": "application/json; charset=utf-8" }),
    "Content-Length": Buffer.byteLength(body),
    "x-ms-request-id": randomUUID(),
    ...headers,
  });
  res.end(body);
}
