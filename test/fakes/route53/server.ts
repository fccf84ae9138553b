/**
 * A loopback server speaking the Route 53 REST-XML API (2013-04-01) well enough for the real
 * `@aws-sdk/client-route-53` to list zones and record sets, submit change batches and poll
 * changes: same paths, bodies, pagination, error bodies and codes, a token-bucket rate limit,
 * and faults injected on demand. It never checks signatures: any credentials pass.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import {
  FakeApiError,
  Route53State,
  compareWire,
  wireName,
  type ChangeAction,
  type FakeChange,
  type FakeChangeRequest,
  type FakeRecordSet,
  type FakeZone,
  type Seed,
} from "./state.js";
import { NS, child, childText, escapeXml, parseXml, xmlDocument, type XmlNode } from "./xml.js";

export type Route53Operation =
  | "ListHostedZones"
  | "ListHostedZonesByName"
  | "GetHostedZone"
  | "ListResourceRecordSets"
  | "ChangeResourceRecordSets"
  | "GetChange"
  | "Unknown";

export interface Route53FakeOptions {
  /** Default 0: a free port. Always on 127.0.0.1. */
  port?: number;
  seed?: Seed;
  /**
   * Token bucket per server; `false` turns it off. Default 5 requests/s, burst 5. `jitterMs`
   * (default 0) lets a request through that arrives up to that long before its token: this
   * fake stamps a request when its event loop gets to it, which on a loaded machine can be late
   * for one request and on time for the next, so a client that keeps its gaps looks a few ms
   * early. A sustained excess still empties the bucket within a few requests.
   */
  rateLimit?: { rps: number; burst: number; jitterMs?: number } | false;
  /** GetChange answers PENDING this many times per change before INSYNC. Default 1. */
  insyncAfterPolls?: number;
  /** Or: INSYNC once this many ms have passed since the change was submitted. */
  insyncAfterMs?: number;
  /**
   * Hold every response this long, like a remote API's round trip (benchmarks of concurrency).
   * Default 0.
   */
  latencyMs?: number;
}

interface FailFault {
  remaining: number;
  status: number;
  code?: string;
  message?: string;
  op?: Route53Operation;
}

export class Route53Faults {
  throttle = 0;
  fails: FailFault[] = [];
  delayMs = 0;
  drop = 0;
  failAfterApply = 0;
  stalled = false;
  stalledBody = false;

  /** From now on every request gets status and headers, then half a body, never the rest. */
  stallBody(): void {
    this.stalledBody = true;
  }

  /**
   * From now on every request is read and never answered (the connection stays open): a
   * stalled endpoint, as when a proxy or the service hangs. clear() or stop() ends it.
   */
  stall(): void {
    this.stalled = true;
  }
  /** The next n requests answer Throttling "Rate exceeded" (400). */
  throttleNext(n: number): void {
    this.throttle += n;
  }
  /** The next n requests (of one operation, if given) fail with this status (default 500). */
  failNext(n: number, status = 500, opts: { op?: Route53Operation; code?: string; message?: string } = {}): void {
    this.fails.push({ remaining: n, status, ...opts });
  }
  /** The next request waits this long before it is handled. */
  delayNext(ms: number): void {
    this.delayMs = ms;
  }
  /** The next n requests get their socket destroyed without an answer. */
  dropNext(n: number): void {
    this.drop += n;
  }
  /** The next change batch is applied, then answered with 500 (the SDK will retry it). */
  failAfterApplyNext(): void {
    this.failAfterApply += 1;
  }
  clear(): void {
    this.throttle = 0;
    this.fails = [];
    this.delayMs = 0;
    this.drop = 0;
    this.failAfterApply = 0;
    this.stalled = false;
    this.stalledBody = false;
  }

  takeFail(op: Route53Operation): FailFault | undefined {
    const f = this.fails.find((x) => x.remaining > 0 && (x.op === undefined || x.op === op));
    if (!f) return undefined;
    f.remaining -= 1;
    this.fails = this.fails.filter((x) => x.remaining > 0);
    return f;
  }
}

/** Requests received, per operation name. */
export type Route53Counts = Record<Route53Operation, number> & { reset(): void };

function newCounts(): Route53Counts {
  const ops: Route53Operation[] = [
    "ListHostedZones",
    "ListHostedZonesByName",
    "GetHostedZone",
    "ListResourceRecordSets",
    "ChangeResourceRecordSets",
    "GetChange",
    "Unknown",
  ];
  const counts = Object.fromEntries(ops.map((o) => [o, 0])) as unknown as Route53Counts;
  Object.defineProperty(counts, "reset", {
    enumerable: false,
    value: () => {
      for (const o of ops) counts[o] = 0;
    },
  });
  return counts;
}

export interface Route53Fake {
  endpoint: string;
  port: number;
  state: Route53State;
  faults: Route53Faults;
  counts: Route53Counts;
  /** Requests answered Throttling by the rate limit (benchmarks count failed requests). */
  throttled: { count: number };
  stop(): Promise<void>;
}

class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private readonly slack: number;
  constructor(
    private readonly rps: number,
    private readonly burst: number,
    jitterMs = 0,
  ) {
    this.tokens = burst;
    this.slack = (jitterMs / 1000) * rps;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rps);
    this.last = now;
    if (this.tokens < 1 - this.slack) return false;
    this.tokens -= 1;
    return true;
  }
}

const PREFIX = "/2013-04-01";

function route(method: string, path: string): { op: Route53Operation; id?: string } {
  if (!path.startsWith(`${PREFIX}/`)) return { op: "Unknown" };
  // botocore sends `.../rrset/` (its service model's requestUri ends in a slash), the JS SDK
  // `.../rrset`; Route 53 answers both.
  const parts = path
    .slice(PREFIX.length + 1)
    .replace(/\/+$/, "")
    .split("/")
    .map(decodeURIComponent);
  if (method === "GET" && parts.length === 1 && parts[0] === "hostedzone") return { op: "ListHostedZones" };
  if (method === "GET" && parts.length === 1 && parts[0] === "hostedzonesbyname")
    return { op: "ListHostedZonesByName" };
  if (parts[0] === "hostedzone" && parts.length === 2 && method === "GET")
    return { op: "GetHostedZone", id: parts[1] as string };
  if (parts[0] === "hostedzone" && parts.length === 3 && parts[2] === "rrset") {
    if (method === "GET") return { op: "ListResourceRecordSets", id: parts[1] as string };
    if (method === "POST") return { op: "ChangeResourceRecordSets", id: parts[1] as string };
  }
  if (method === "GET" && parts[0] === "change" && parts.length === 2)
    return { op: "GetChange", id: parts[1] as string };
  return { op: "Unknown" };
}

function maxItems(q: URLSearchParams, cap: number): number {
  const raw = q.get("maxitems");
  if (raw === null) return cap;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new FakeApiError(400, "InvalidInput", `Invalid value for maxitems: ${raw}`);
  // Route 53 API reference: a larger maxitems returns only the first 100 zones / 300 records.
  return Math.min(n, cap);
}

function zoneXml(z: FakeZone): XmlNode {
  return {
    Id: `/hostedzone/${z.id}`,
    Name: z.name,
    CallerReference: z.callerReference,
    Config: { PrivateZone: z.private },
    ResourceRecordSetCount: z.records.size,
  };
}

/** Element order of the API reference's ResourceRecordSet; alias sets carry no TTL or ResourceRecords. */
function rrsetXml(r: FakeRecordSet): XmlNode {
  return {
    Name: r.name,
    Type: r.type,
    SetIdentifier: r.setIdentifier,
    Weight: r.weight,
    ...(r.alias
      ? {}
      : { TTL: r.ttl, ResourceRecords: { item: "ResourceRecord", values: r.values.map((v) => ({ Value: v })) } }),
    ...(r.alias
      ? {
          AliasTarget: {
            HostedZoneId: r.alias.hostedZoneId,
            DNSName: r.alias.dnsName,
            EvaluateTargetHealth: r.alias.evaluateTargetHealth,
          },
        }
      : {}),
  };
}

function changeInfoXml(c: FakeChange, status: "PENDING" | "INSYNC"): XmlNode {
  return { Id: `/change/${c.id}`, Status: status, SubmittedAt: c.submittedAt.toISOString(), Comment: c.comment };
}

const RECORD_TYPES = new Set([
  "SOA",
  "A",
  "TXT",
  "NS",
  "CNAME",
  "MX",
  "NAPTR",
  "PTR",
  "SRV",
  "SPF",
  "AAAA",
  "CAA",
  "DS",
  "TLSA",
  "SSHFP",
  "SVCB",
  "HTTPS",
]);

function parseChangeBatch(body: string): { changes: FakeChangeRequest[]; comment?: string } {
  let root;
  try {
    root = parseXml(body);
  } catch (err) {
    throw new FakeApiError(400, "InvalidInput", `Could not parse the request body: ${(err as Error).message}`);
  }
  const batch = root.name === "ChangeResourceRecordSetsRequest" ? child(root, "ChangeBatch") : undefined;
  const list = batch ? child(batch, "Changes") : undefined;
  if (!batch || !list)
    throw new FakeApiError(400, "InvalidInput", "The request must contain a ChangeBatch with Changes");
  const changes = list.children
    .filter((c) => c.name === "Change")
    .map((c, i): FakeChangeRequest => {
      const action = childText(c, "Action");
      const rr = child(c, "ResourceRecordSet");
      if (action !== "CREATE" && action !== "DELETE" && action !== "UPSERT") {
        throw new FakeApiError(
          400,
          "InvalidInput",
          `Invalid XML ; Action of change ${i + 1} must be CREATE, DELETE or UPSERT, not '${action ?? ""}'`,
        );
      }
      if (!rr) throw new FakeApiError(400, "InvalidInput", `Invalid XML ; change ${i + 1} has no ResourceRecordSet`);
      const name = childText(rr, "Name");
      const type = childText(rr, "Type");
      const ttlText = childText(rr, "TTL");
      const values = (child(rr, "ResourceRecords")?.children ?? []).map((r) => childText(r, "Value") ?? "");
      if (!name || !type || !RECORD_TYPES.has(type))
        throw new FakeApiError(400, "InvalidInput", `Invalid request: change ${i + 1} needs a Name and a valid Type`);
      const setIdentifier = childText(rr, "SetIdentifier");
      const weightText = childText(rr, "Weight");
      // API reference, ResourceRecordSet: SetIdentifier is required with a routing policy (Weight
      // here) and allowed only with one. The fake knows weighted routing only (a guess is not needed:
      // other policies are simply refused as unsupported).
      if ((setIdentifier === undefined) !== (weightText === undefined)) {
        throw new FakeApiError(
          400,
          "InvalidInput",
          `Invalid request: change ${i + 1}: SetIdentifier and Weight go together (the fake supports weighted routing only)`,
        );
      }
      const routing = setIdentifier === undefined ? {} : { setIdentifier, weight: Number(weightText) };
      const aliasNode = child(rr, "AliasTarget");
      const setId = `SetIdentifier=${setIdentifier ?? "null"}`;
      if (aliasNode) {
        if (ttlText !== undefined || values.length > 0) {
          throw new FakeApiError(
            400,
            "InvalidInput",
            `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with [Action=${action}, Name=${name}, Type=${type}, ${setId}]`,
          );
        }
        const alias = {
          hostedZoneId: childText(aliasNode, "HostedZoneId") ?? "",
          dnsName: childText(aliasNode, "DNSName") ?? "",
          evaluateTargetHealth: childText(aliasNode, "EvaluateTargetHealth") === "true",
        };
        if (!alias.hostedZoneId || !alias.dnsName)
          throw new FakeApiError(
            400,
            "InvalidInput",
            `Invalid request: change ${i + 1}: AliasTarget needs HostedZoneId and DNSName`,
          );
        return { action, rrset: { name, type, ttl: 0, values: [], alias, ...routing } };
      }
      if (ttlText === undefined || !/^\d+$/.test(ttlText))
        throw new FakeApiError(
          400,
          "InvalidInput",
          `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=${action}, Name=${name}, Type=${type}, ${setId}]`,
        );
      if (values.length === 0)
        throw new FakeApiError(400, "InvalidInput", `Invalid request: change ${i + 1} has no ResourceRecords`);
      if (type === "CNAME" && values.length > 1) {
        throw new FakeApiError(
          400,
          "InvalidChangeBatch",
          `[RRSet of type CNAME with DNS name ${wireName(name)} has more than one value]`,
        );
      }
      return { action, rrset: { name, type, ttl: Number(ttlText), values, ...routing } };
    });
  if (changes.length === 0) throw new FakeApiError(400, "InvalidInput", "The request must contain at least one Change");
  const comment = childText(batch, "Comment");
  return { changes, ...(comment ? { comment } : {}) };
}

function send(res: http.ServerResponse, status: number, body: string): void {
  const requestId = randomUUID();
  res.writeHead(status, {
    "content-type": "text/xml",
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": requestId,
  });
  res.end(body);
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const type = status >= 500 ? "Receiver" : "Sender";
  const body =
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  send(res, status, body);
}

export async function startRoute53Fake(opts: Route53FakeOptions = {}): Promise<Route53Fake> {
  const state = new Route53State();
  if (opts.seed) state.seed(opts.seed);
  const faults = new Route53Faults();
  const counts = newCounts();
  const throttled = { count: 0 };
  const rate =
    opts.rateLimit === false
      ? undefined
      : new TokenBucket(opts.rateLimit?.rps ?? 5, opts.rateLimit?.burst ?? 5, opts.rateLimit?.jitterMs ?? 0);
  const insyncAfterPolls = opts.insyncAfterPolls ?? 1;

  function handle(op: Route53Operation, id: string | undefined, q: URLSearchParams, body: string): string {
    switch (op) {
      case "ListHostedZones": {
        const max = maxItems(q, 100);
        const all = [...state.zones.values()];
        const marker = q.get("marker");
        const start = marker === null ? 0 : all.findIndex((z) => z.id === marker);
        if (start < 0) throw new FakeApiError(400, "InvalidInput", `Invalid marker: ${marker}`);
        const page = all.slice(start, start + max);
        const next = all[start + max];
        return xmlDocument("ListHostedZonesResponse", {
          HostedZones: { item: "HostedZone", values: page.map(zoneXml) },
          ...(marker === null ? {} : { Marker: marker }),
          IsTruncated: next !== undefined,
          ...(next ? { NextMarker: next.id } : {}),
          MaxItems: max,
        });
      }
      case "ListHostedZonesByName": {
        const max = maxItems(q, 100);
        const dnsName = q.get("dnsname");
        const zoneId = q.get("hostedzoneid");
        if (zoneId !== null && dnsName === null) {
          throw new FakeApiError(400, "InvalidInput", "Invalid input: hostedzoneid requires dnsname");
        }
        const all = state.sortedZones();
        // dnsname only positions the listing (Route 53 API reference, ListHostedZonesByName).
        const from = dnsName === null ? undefined : { name: wireName(dnsName) };
        const start =
          from === undefined
            ? 0
            : all.findIndex((z) => {
                const c = compareWire(z, from);
                return c > 0 || (c === 0 && (zoneId === null || z.id >= zoneId));
              });
        const begin = start < 0 ? all.length : start;
        const page = all.slice(begin, begin + max);
        const next = all[begin + max];
        return xmlDocument("ListHostedZonesByNameResponse", {
          HostedZones: { item: "HostedZone", values: page.map(zoneXml) },
          ...(dnsName === null ? {} : { DNSName: dnsName }),
          ...(zoneId === null ? {} : { HostedZoneId: zoneId }),
          IsTruncated: next !== undefined,
          ...(next ? { NextDNSName: next.name, NextHostedZoneId: next.id } : {}),
          MaxItems: max,
        });
      }
      case "GetHostedZone": {
        const z = state.zone(id as string);
        return xmlDocument("GetHostedZoneResponse", {
          HostedZone: zoneXml(z),
          DelegationSet: { NameServers: { item: "NameServer", values: state.get(z.id, z.name, "NS")?.values ?? [] } },
        });
      }
      case "ListResourceRecordSets": {
        const z = state.zone(id as string);
        const max = maxItems(q, 300);
        const name = q.get("name");
        const type = q.get("type");
        if (type !== null && name === null)
          throw new FakeApiError(400, "InvalidInput", "Invalid input: type requires name");
        if (type !== null && !RECORD_TYPES.has(type))
          throw new FakeApiError(400, "InvalidInput", `Invalid type: ${type}`);
        const all = state.sorted(z.id);
        const from = name === null ? undefined : { name: wireName(name), ...(type === null ? {} : { type }) };
        const start = from === undefined ? 0 : all.findIndex((r) => compareWire(r, from) >= 0);
        const begin = start < 0 ? all.length : start;
        const page = all.slice(begin, begin + max);
        const next = all[begin + max];
        return xmlDocument("ListResourceRecordSetsResponse", {
          ResourceRecordSets: { item: "ResourceRecordSet", values: page.map(rrsetXml) },
          IsTruncated: next !== undefined,
          ...(next ? { NextRecordName: next.name, NextRecordType: next.type } : {}),
          MaxItems: max,
        });
      }
      case "ChangeResourceRecordSets": {
        const z = state.zone(id as string);
        const { changes, comment } = parseChangeBatch(body);
        const change = state.applyBatch(z.id, changes, comment);
        return xmlDocument("ChangeResourceRecordSetsResponse", { ChangeInfo: changeInfoXml(change, "PENDING") });
      }
      case "GetChange": {
        const c = state.changes.get(id as string);
        if (!c)
          throw new FakeApiError(404, "NoSuchChange", `A change with the specified change ID does not exist: ${id}`);
        c.polls += 1;
        const insync =
          opts.insyncAfterMs !== undefined
            ? Date.now() - c.submittedAt.getTime() >= opts.insyncAfterMs
            : c.polls > insyncAfterPolls;
        return xmlDocument("GetChangeResponse", { ChangeInfo: changeInfoXml(c, insync ? "INSYNC" : "PENDING") });
      }
      default:
        throw new FakeApiError(404, "UnknownOperationException", "Unknown operation");
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const url = new URL(req.url ?? "/", "http://127.0.0.1");
        const { op, id } = route(req.method ?? "GET", url.pathname);
        counts[op] += 1;
        if (faults.stalled) return;
        if (faults.stalledBody) {
          res.writeHead(200, { "content-type": "text/xml" });
          res.write(`<?xml version="1.0"?>\n<ListResourceRecordSetsResponse xmlns="${NS}"><ResourceRecordSets>`);
          return;
        }
        if (faults.drop > 0) {
          faults.drop -= 1;
          req.socket.destroy();
          return;
        }
        if (opts.latencyMs !== undefined && opts.latencyMs > 0) await new Promise((r) => setTimeout(r, opts.latencyMs));
        if (faults.delayMs > 0) {
          const ms = faults.delayMs;
          faults.delayMs = 0;
          await new Promise((r) => setTimeout(r, ms));
        }
        if (faults.throttle > 0) {
          faults.throttle -= 1;
          sendError(res, 400, "Throttling", "Rate exceeded");
          return;
        }
        if (rate && !rate.take()) {
          throttled.count += 1;
          sendError(res, 400, "Throttling", "Rate exceeded");
          return;
        }
        const fail = faults.takeFail(op);
        if (fail) {
          sendError(
            res,
            fail.status,
            fail.code ?? (fail.status >= 500 ? "InternalFailure" : "InvalidInput"),
            fail.message ?? (fail.status >= 500 ? "An internal error occurred" : "Injected failure"),
          );
          return;
        }
        try {
          const out = handle(op, id, url.searchParams, Buffer.concat(chunks).toString("utf8"));
          if (op === "ChangeResourceRecordSets" && faults.failAfterApply > 0) {
            faults.failAfterApply -= 1;
            sendError(res, 500, "InternalFailure", "An internal error occurred");
            return;
          }
          send(res, 200, out);
        } catch (err) {
          if (err instanceof FakeApiError) sendError(res, err.status, err.code, err.message);
          else sendError(res, 500, "InternalFailure", (err as Error).message);
        }
      })();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    state,
    faults,
    counts,
    throttled,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type { ChangeAction };
