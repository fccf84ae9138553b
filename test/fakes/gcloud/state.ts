/**
 * The data behind the Cloud DNS loopback server: projects, managed zones, their resource record
 * sets and changes, and the rules Cloud DNS enforces on `changes.create`. Kept apart from HTTP so
 * tests can seed and inspect it directly.
 *
 * Rules (Cloud DNS API v1 reference: ResourceRecordSet, changes.create, resourceRecordSets.list;
 * Cloud DNS docs "Create, modify, and delete records"): names are absolute with the trailing dot;
 * one change applies all its deletions, then all its additions, all or nothing; a deletion must
 * match the existing rrset exactly (412 conditionNotMet); adding an rrset that exists is 409
 * alreadyExists; a CNAME cannot share its name with another type (RFC 1034 3.6.2).
 *
 * Where the documentation is silent the fake guesses, and says so at the spot: the status and
 * reason for a deletion of a missing rrset (404 notFound), for a CNAME conflict (409
 * cnameResourceRecordSetConflict), for an oversized change (403 quotaExceeded), how rrdatas are
 * compared for "exactly" (as a set of strings, names case-insensitively), and the list order
 * (by name, then type).
 */
import { randomBytes } from "node:crypto";

/** An error the API answers with, in Google's JSON error format. */
export class GcApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly statusText = statusName(status),
  ) {
    super(message);
    this.name = "GcApiError";
  }

  body(): unknown {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ message: this.message, domain: "global", reason: this.reason }],
        status: this.statusText,
      },
    };
  }
}

/** google.rpc.Code names Google APIs put in `error.status`. */
function statusName(status: number): string {
  return (
    (
      {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "ALREADY_EXISTS",
        412: "FAILED_PRECONDITION",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        502: "UNAVAILABLE",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
      } as Record<number, string>
    )[status] ?? "UNKNOWN"
  );
}

export interface FakeRrset {
  kind: "dns#resourceRecordSet";
  name: string;
  type: string;
  ttl: number;
  rrdatas: string[];
}

export interface FakeChange {
  kind: "dns#change";
  id: string;
  startTime: string;
  status: "pending" | "done";
  additions: FakeRrset[];
  deletions: FakeRrset[];
  /** changes.get answers left before the change reports `done`. */
  pendingGets: number;
}

export interface FakeZone {
  kind: "dns#managedZone";
  name: string;
  dnsName: string;
  id: string;
  description: string;
  visibility: "public" | "private";
  creationTime: string;
  nameServers: string[];
  rrsets: Map<string, FakeRrset>;
  changes: FakeChange[];
}

export interface FakeProject {
  id: string;
  zones: Map<string, FakeZone>;
}

/** A record set as tests write it: absolute name (dot optional), rrdatas in presentation form. */
export interface SeedRrset {
  name: string;
  type: string;
  ttl?: number;
  rrdatas: string[];
}

const key = (name: string, type: string) => `${name.toLowerCase()} ${type.toUpperCase()}`;
const absolute = (name: string) => (name.endsWith(".") ? name : `${name}.`).toLowerCase();
const NAME_TYPES = new Set(["CNAME", "NS", "PTR", "DNAME"]);

/** The fake's reading of "matches exactly": same ttl, same rrdatas as a set; names case-insensitive (guess). */
function sameData(type: string, a: readonly string[], b: readonly string[]): boolean {
  const norm = (v: string) => (NAME_TYPES.has(type) ? absolute(v.trim()) : v.trim());
  const sa = a.map(norm).sort();
  const sb = b.map(norm).sort();
  return sa.length === sb.length && sa.every((v, i) => v === sb[i]);
}

export class GcloudState {
  readonly projects = new Map<string, FakeProject>();
  private nextZoneId = 1000;
  /** Per-change quotas (Cloud DNS quotas rrsetAdditionsPerChange / rrsetDeletionsPerChange). */
  perChangeLimit = 1000;
  /** changes.get answers a new change stays `pending` for (0: done at once). */
  pendingGets = 1;

  project(id: string): FakeProject {
    let p = this.projects.get(id);
    if (!p) {
      p = { id, zones: new Map() };
      this.projects.set(id, p);
    }
    return p;
  }

  createZone(
    project: string,
    dnsName: string,
    opts: { name?: string; visibility?: "public" | "private"; rrsets?: SeedRrset[] } = {},
  ): FakeZone {
    const p = this.project(project);
    const dns = absolute(dnsName);
    const name = opts.name ?? dns.slice(0, -1).replace(/\./g, "-");
    if (p.zones.has(name)) throw new Error(`fake: zone ${name} exists`);
    const z: FakeZone = {
      kind: "dns#managedZone",
      name,
      dnsName: dns,
      id: String(this.nextZoneId++),
      description: "",
      visibility: opts.visibility ?? "public",
      creationTime: new Date().toISOString(),
      nameServers: ["ns-cloud-a1.googledomains.com."],
      rrsets: new Map(),
      changes: [],
    };
    // Every managed zone starts with its SOA and NS rrsets (Cloud DNS docs, "Create a zone").
    z.rrsets.set(key(dns, "SOA"), {
      kind: "dns#resourceRecordSet",
      name: dns,
      type: "SOA",
      ttl: 21600,
      rrdatas: ["ns-cloud-a1.googledomains.com. cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300"],
    });
    z.rrsets.set(key(dns, "NS"), {
      kind: "dns#resourceRecordSet",
      name: dns,
      type: "NS",
      ttl: 21600,
      rrdatas: ["ns-cloud-a1.googledomains.com."],
    });
    for (const r of opts.rrsets ?? []) this.put(z, r);
    p.zones.set(name, z);
    return z;
  }

  zone(project: string, nameOrId: string): FakeZone | undefined {
    const p = this.projects.get(project);
    if (!p) return undefined;
    return p.zones.get(nameOrId) ?? [...p.zones.values()].find((z) => z.id === nameOrId);
  }

  /** The zone whose DNS name is `dnsName` (first of them), for tests. */
  zoneByDns(dnsName: string, project?: string): FakeZone {
    for (const p of this.projects.values()) {
      if (project !== undefined && p.id !== project) continue;
      for (const z of p.zones.values()) if (z.dnsName === absolute(dnsName)) return z;
    }
    throw new Error(`fake: no zone ${dnsName}`);
  }

  /** Add or replace an rrset behind the API's back (seeding, concurrent edits). */
  put(z: FakeZone, r: SeedRrset): void {
    const name = absolute(r.name);
    z.rrsets.set(key(name, r.type), {
      kind: "dns#resourceRecordSet",
      name,
      type: r.type.toUpperCase(),
      ttl: r.ttl ?? 300,
      rrdatas: [...r.rrdatas],
    });
  }

  /** Rrsets in list order: by name, then type (guess: the API does not document an order). */
  sorted(z: FakeZone): FakeRrset[] {
    return [...z.rrsets.values()].sort((a, b) =>
      a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name),
    );
  }

  /**
   * changes.create: validate everything against a copy, then swap it in. Deletions are applied
   * before additions, so a change may replace an rrset or a TXT by a CNAME at one name.
   */
  applyChange(z: FakeZone, body: unknown): FakeChange {
    const b = (body ?? {}) as { additions?: unknown; deletions?: unknown };
    const additions = this.rrsetList(b.additions, "additions", z);
    const deletions = this.rrsetList(b.deletions, "deletions", z);
    if (additions.length === 0 && deletions.length === 0) {
      throw new GcApiError(400, "required", "The change must contain at least one addition or deletion.");
    }
    if (additions.length > this.perChangeLimit || deletions.length > this.perChangeLimit) {
      // Guess: status and reason of a change above the per-change quotas.
      const metric = additions.length > this.perChangeLimit ? "rrsetAdditionsPerChange" : "rrsetDeletionsPerChange";
      throw new GcApiError(
        403,
        "quotaExceeded",
        `Quota exceeded for quota metric '${metric}' (limit ${this.perChangeLimit}).`,
      );
    }
    const next = new Map(z.rrsets);
    deletions.forEach((d, i) => {
      const k = key(d.name, d.type);
      const cur = next.get(k);
      if (!cur) {
        // Guess: a deletion of an rrset that is not there.
        throw new GcApiError(
          404,
          "notFound",
          `The 'entity.change.deletions[${i}]' resource named '${d.name} (${d.type})' does not exist.`,
        );
      }
      if (cur.ttl !== d.ttl || !sameData(d.type, cur.rrdatas, d.rrdatas)) {
        throw new GcApiError(412, "conditionNotMet", `Precondition not met for 'entity.change.deletions[${i}]'`);
      }
      next.delete(k);
    });
    additions.forEach((a, i) => {
      const k = key(a.name, a.type);
      if (next.has(k))
        throw new GcApiError(
          409,
          "alreadyExists",
          `The resource 'entity.change.additions[${i}]' named '${a.name} (${a.type})' already exists`,
        );
      const others = [...next.values()].filter((r) => r.name === a.name);
      if ((a.type === "CNAME" && others.length > 0) || (a.type !== "CNAME" && others.some((r) => r.type === "CNAME"))) {
        // Guess: status and reason of a CNAME sharing its name (RFC 1034 3.6.2 forbids it).
        throw new GcApiError(
          409,
          "cnameResourceRecordSetConflict",
          `The resource 'entity.change.additions[${i}]' named '${a.name} (${a.type})' conflicts with an existing rrset at that name: a CNAME cannot share its name with other record types`,
        );
      }
      next.set(k, a);
    });
    z.rrsets = next;
    const change: FakeChange = {
      kind: "dns#change",
      id: String(z.changes.length + 1),
      startTime: new Date().toISOString(),
      status: this.pendingGets > 0 ? "pending" : "done",
      additions,
      deletions,
      pendingGets: this.pendingGets,
    };
    z.changes.push(change);
    return change;
  }

  private rrsetList(v: unknown, field: string, z: FakeZone): FakeRrset[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v))
      throw new GcApiError(400, "invalid", `Invalid value for 'entity.change.${field}': must be a list`);
    const seen = new Set<string>();
    return v.map((raw, i) => {
      const r = (raw ?? {}) as Record<string, unknown>;
      const at = `entity.change.${field}[${i}]`;
      if (typeof r["name"] !== "string" || !r["name"].endsWith(".")) {
        throw new GcApiError(
          400,
          "invalid",
          `Invalid value for '${at}.name': '${String(r["name"])}' (names must be absolute, ending with a dot)`,
        );
      }
      const name = r["name"].toLowerCase();
      if (name !== z.dnsName && !name.endsWith(`.${z.dnsName}`)) {
        throw new GcApiError(400, "invalid", `Invalid value for '${at}.name': '${name}' is not in zone ${z.dnsName}`);
      }
      if (typeof r["type"] !== "string" || r["type"] === "")
        throw new GcApiError(400, "required", `Required value: '${at}.type'`);
      const type = r["type"].toUpperCase();
      if (typeof r["ttl"] !== "number" || !Number.isInteger(r["ttl"]) || r["ttl"] < 0)
        throw new GcApiError(400, "invalid", `Invalid value for '${at}.ttl'`);
      const rrdatas = r["rrdatas"];
      if (!Array.isArray(rrdatas) || rrdatas.length === 0 || rrdatas.some((d) => typeof d !== "string" || d === "")) {
        throw new GcApiError(400, "required", `Required value: '${at}.rrdatas'`);
      }
      if (type === "CNAME" && rrdatas.length !== 1)
        throw new GcApiError(400, "invalid", `Invalid value for '${at}.rrdatas': a CNAME rrset holds one record`);
      if (NAME_TYPES.has(type) && rrdatas.some((d: string) => !d.endsWith("."))) {
        throw new GcApiError(
          400,
          "invalid",
          `Invalid value for '${at}.rrdatas': '${rrdatas[0]}' (domain names must be absolute, ending with a dot)`,
        );
      }
      const k = key(name, type);
      if (seen.has(k))
        throw new GcApiError(400, "invalid", `The ${field} of one change name '${name} (${type})' twice`);
      seen.add(k);
      return { kind: "dns#resourceRecordSet", name, type, ttl: r["ttl"], rrdatas: [...rrdatas] as string[] };
    });
  }

  /** changes.get: the change, `done` once its pending answers are used up. */
  getChange(z: FakeZone, id: string): FakeChange {
    const c = z.changes.find((x) => x.id === id);
    if (!c) throw new GcApiError(404, "notFound", `The 'parameters.changeId' resource named '${id}' does not exist.`);
    if (c.status === "pending") {
      if (c.pendingGets <= 0) c.status = "done";
      else c.pendingGets--;
    }
    return c;
  }
}

/** An opaque page token (it only has to round-trip). */
export function pageToken(offset: number, query: string): string {
  return Buffer.from(JSON.stringify({ o: offset, q: query, n: randomBytes(3).toString("hex") })).toString("base64url");
}

export function readPageToken(token: string, query: string): number {
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { o?: unknown; q?: unknown };
    if (typeof v.o === "number" && v.q === query) return v.o;
  } catch {
    // answered below
  }
  throw new GcApiError(400, "invalid", "Invalid value for 'pageToken'");
}
