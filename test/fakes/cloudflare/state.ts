/**
 * The data behind the Cloudflare loopback server: zones, their DNS records, and the rules the
 * real API enforces on writes. Kept apart from HTTP so tests can seed and inspect it directly.
 *
 * Rules and codes follow the Cloudflare API v4 as documented at
 * https://developers.cloudflare.com/api/resources/dns/subresources/records/ and as seen by users
 * names and CNAME content carry no trailing dot, ttl 1
 * means automatic, a CNAME cannot share its name with any other record (RFC 1034 3.6.2).
 */
import { randomBytes } from "node:crypto";

/** An error the API answers with: HTTP status plus one `{code, message}` in `errors`. */
export class CfApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    /** The causes the API nests under a generic code, e.g. 1004 "DNS Validation Error". */
    readonly chain: { code: number; message: string }[] = [],
  ) {
    super(message);
    this.name = "CfApiError";
  }
}

export interface FakeRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxied: boolean;
  proxiable: boolean;
  /** MX, SRV and URI only. */
  priority?: number;
  comment: string | null;
  tags: string[];
  settings: { flatten_cname?: boolean };
  /** CAA and SRV: the structured form the record was written with (or derived from content). */
  data?: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_on: string;
  modified_on: string;
}

export interface FakeZone {
  id: string;
  name: string;
  status: "active";
  account: { id: string; name: string };
  /** DNS settings `flatten_all_cnames` (GET /zones/{id}/dns_settings). */
  flatten_all_cnames: boolean;
  /** The zone's plan: TTL minimum and tag quota depend on it. Default free. */
  plan: "free" | "pro" | "business" | "enterprise";
  records: FakeRecord[];
}

/** What a client may send for one record (POST, PUT, PATCH, batch posts/puts/patches). */
export interface RecordInput {
  name?: unknown;
  type?: unknown;
  content?: unknown;
  ttl?: unknown;
  proxied?: unknown;
  priority?: unknown;
  comment?: unknown;
  settings?: unknown;
  tags?: unknown;
  data?: unknown;
}

export interface SeedRecord {
  name: string;
  type: string;
  content: string;
  ttl?: number;
  proxied?: boolean;
  priority?: number;
  comment?: string;
  settings?: { flatten_cname?: boolean };
}

export interface SeedZone {
  name: string;
  id?: string;
  account_id?: string;
  flatten_all_cnames?: boolean;
  plan?: FakeZone["plan"];
  records?: SeedRecord[];
}

export interface BatchBody {
  deletes?: unknown;
  patches?: unknown;
  puts?: unknown;
  posts?: unknown;
}

export interface BatchResult {
  deletes: FakeRecord[];
  patches: FakeRecord[];
  puts: FakeRecord[];
  posts: FakeRecord[];
}

export const DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef";

// Types the records endpoint accepts (the SDK's RecordListParams.type union).
const KNOWN_TYPES = new Set([
  "A",
  "AAAA",
  "CAA",
  "CERT",
  "CNAME",
  "DNSKEY",
  "DS",
  "HTTPS",
  "LOC",
  "MX",
  "NAPTR",
  "NS",
  "OPENPGPKEY",
  "PTR",
  "SMIMEA",
  "SRV",
  "SSHFP",
  "SVCB",
  "TLSA",
  "TXT",
  "URI",
]);
// Only these can go through Cloudflare's proxy (Cloudflare docs, "Proxy status").
const PROXIABLE = new Set(["A", "AAAA", "CNAME"]);

export function newId(): string {
  return randomBytes(16).toString("hex");
}

function bareName(name: string): string {
  return name.trim().replace(/\.$/, "").toLowerCase();
}

export class CloudflareState {
  readonly zones: FakeZone[] = [];
  /** The batch size limit of the Free plan (Cloudflare docs, "Batch record changes"). */
  maxBatchRecords = 200;

  addZone(seed: SeedZone): FakeZone {
    const name = bareName(seed.name);
    if (this.zoneByName(name)) throw new Error(`zone ${name} already exists in the fake`);
    const zone: FakeZone = {
      id: seed.id ?? newId(),
      name,
      status: "active",
      account: { id: seed.account_id ?? DEFAULT_ACCOUNT_ID, name: "dkimsync test account" },
      flatten_all_cnames: seed.flatten_all_cnames ?? false,
      plan: seed.plan ?? "free",
      records: [],
    };
    this.zones.push(zone);
    for (const r of seed.records ?? []) {
      this.createRecord(zone, { ...r, ttl: r.ttl ?? 1 });
    }
    return zone;
  }

  seed(data: { zones?: SeedZone[] }): void {
    for (const z of data.zones ?? []) this.addZone(z);
  }

  zoneByName(name: string): FakeZone | undefined {
    const n = bareName(name);
    return this.zones.find((z) => z.name === n);
  }

  zoneById(id: string): FakeZone | undefined {
    return this.zones.find((z) => z.id === id);
  }

  /** The zone by name, for tests; throws when missing. */
  zone(name: string): FakeZone {
    const z = this.zoneByName(name);
    if (!z) throw new Error(`no zone ${name} in the fake`);
    return z;
  }

  createRecord(zone: FakeZone, input: RecordInput): FakeRecord {
    const fields = this.validate(zone, input, null);
    this.checkCoexistence(zone, fields, null);
    const now = new Date().toISOString();
    const record: FakeRecord = {
      id: newId(),
      zone_id: zone.id,
      zone_name: zone.name,
      ...fields,
      meta: {},
      created_on: now,
      modified_on: now,
    };
    zone.records.push(record);
    return record;
  }

  /** PATCH merges the given fields; PUT replaces the record with them. */
  updateRecord(zone: FakeZone, id: string, input: RecordInput, mode: "patch" | "put"): FakeRecord {
    const existing = this.recordById(zone, id);
    const merged: RecordInput = mode === "patch" ? { ...pickFields(existing), ...definedOnly(input) } : input;
    const fields = this.validate(zone, merged, existing);
    this.checkCoexistence(zone, fields, existing.id);
    Object.assign(existing, fields, { modified_on: new Date().toISOString() });
    return existing;
  }

  deleteRecord(zone: FakeZone, id: string): FakeRecord {
    const existing = this.recordById(zone, id);
    zone.records.splice(zone.records.indexOf(existing), 1);
    return existing;
  }

  /**
   * POST /zones/{id}/dns_records/batch: deletes, patches, puts, posts in that order, in one
   * transaction (Cloudflare API docs, "Batch DNS Records"). Any failure restores the zone.
   */
  batch(zone: FakeZone, body: BatchBody): BatchResult {
    const deletes = listOf(body.deletes, "deletes");
    const patches = listOf(body.patches, "patches");
    const puts = listOf(body.puts, "puts");
    const posts = listOf(body.posts, "posts");
    const total = deletes.length + patches.length + puts.length + posts.length;
    if (total > this.maxBatchRecords) {
      // The real code for this is not documented; 1004 is Cloudflare's generic validation code.
      throw new CfApiError(
        400,
        1004,
        `Batch contains ${total} records; the limit for this zone is ${this.maxBatchRecords}.`,
      );
    }
    const saved = zone.records.map((r) => ({ ...r, settings: { ...r.settings }, tags: [...r.tags] }));
    try {
      return {
        deletes: deletes.map((d) => this.deleteRecord(zone, idOf(d))),
        patches: patches.map((p) => ({ ...this.updateRecord(zone, idOf(p), p as RecordInput, "patch") })),
        puts: puts.map((p) => ({ ...this.updateRecord(zone, idOf(p), p as RecordInput, "put") })),
        posts: posts.map((p) => ({ ...this.createRecord(zone, p as RecordInput) })),
      };
    } catch (err) {
      zone.records.splice(0, zone.records.length, ...saved);
      throw err;
    }
  }

  recordById(zone: FakeZone, id: string): FakeRecord {
    const r = zone.records.find((x) => x.id === id);
    if (!r) throw new CfApiError(404, 81044, "Record does not exist.");
    return r;
  }

  private validate(zone: FakeZone, input: RecordInput, existing: FakeRecord | null) {
    if (typeof input.type !== "string" || !KNOWN_TYPES.has(input.type.toUpperCase())) {
      throw new CfApiError(400, 9000, `DNS record type "${String(input.type)}" is invalid.`);
    }
    const type = input.type.toUpperCase();
    if (existing && existing.type !== type) {
      // Observed in Cloudflare docs: the type of a record cannot change in place.
      throw new CfApiError(400, 1004, "DNS Validation Error: a record's type cannot be changed.");
    }
    if (typeof input.name !== "string" || input.name.trim() === "") {
      throw new CfApiError(400, 9005, "Content for name is required.");
    }
    const name = absoluteName(input.name, zone.name);
    // CAA and SRV may be sent as structured `data` instead of `content` (API reference, DNS
    // records, "CAA Record" / "SRV Record" bodies); the API derives `content` from it.
    const structured =
      (type === "CAA" || type === "SRV") && input.data !== undefined && input.data !== null
        ? fromData(type, input.data)
        : undefined;
    if (structured) {
      input = {
        ...input,
        content: structured.content,
        ...(structured.priority !== undefined ? { priority: structured.priority } : {}),
      };
    }
    if (typeof input.content !== "string" || input.content === "") {
      throw new CfApiError(400, 9007, "Content for the record is required.");
    }
    // Cloudflare stores host names in CNAME, MX and NS content without the trailing dot, so
    // `mx.example.net.` reads back as `mx.example.net` (a client that compares what it sent with
    // what it reads sees a difference unless it strips the dot too).
    const content =
      type === "CNAME" || type === "MX" || type === "NS" ? input.content.trim().replace(/\.$/, "") : input.content;
    if (type === "CNAME" && content.toLowerCase() === name) {
      throw new CfApiError(400, 9039, "CNAME content cannot reference itself.");
    }
    const proxiable = PROXIABLE.has(type);
    const proxied = input.proxied === undefined || input.proxied === null ? false : input.proxied;
    if (typeof proxied !== "boolean") throw new CfApiError(400, 9003, "Invalid 'proxied' value, must be a boolean.");
    if (proxied && !proxiable) throw new CfApiError(400, 9004, `This record type cannot be proxied.`);
    const ttlIn = input.ttl === undefined || input.ttl === null ? 1 : input.ttl;
    // API reference, DNS records, ttl: "Setting to 1 means 'automatic'. Value must be between 60
    // and 86400, with the minimum reduced to 30 for Enterprise zones."
    const minTtl = zone.plan === "enterprise" ? 30 : 60;
    if (typeof ttlIn !== "number" || !Number.isInteger(ttlIn) || (ttlIn !== 1 && (ttlIn < minTtl || ttlIn > 86400))) {
      throw new CfApiError(400, 9021, `TTL must be between ${minTtl} and 86400 seconds, or 1 for Automatic.`);
    }
    // A proxied record always answers with an automatic TTL (Cloudflare docs, "Time to Live").
    const ttl = proxied ? 1 : ttlIn;
    const settings: { flatten_cname?: boolean } = {};
    if (input.settings !== undefined && input.settings !== null) {
      if (typeof input.settings !== "object") throw new CfApiError(400, 9005, "Invalid settings.");
      const fc = (input.settings as { flatten_cname?: unknown }).flatten_cname;
      if (fc !== undefined) {
        if (type !== "CNAME") throw new CfApiError(400, 9005, "settings.flatten_cname is only valid on CNAME records.");
        if (typeof fc !== "boolean") throw new CfApiError(400, 9005, "settings.flatten_cname must be a boolean.");
        settings.flatten_cname = fc;
      }
    }
    let priority: { priority?: number } = {};
    if (type === "MX" || type === "SRV" || type === "URI") {
      if (
        typeof input.priority !== "number" ||
        !Number.isInteger(input.priority) ||
        input.priority < 0 ||
        input.priority > 65535
      ) {
        throw new CfApiError(400, 9100, `${type} records need a priority from 0 to 65535.`);
      }
      priority = { priority: input.priority };
    }
    const comment = typeof input.comment === "string" && input.comment !== "" ? input.comment : null;
    const tags = Array.isArray(input.tags) ? input.tags.filter((t): t is string => typeof t === "string") : [];
    // Record tags are not available on the Free plan (DNS docs, "Record attributes", record
    // tags); the API answers 1004 with error_chain 9300 "... exceeding the quota of 0." The quota
    // of paid plans is not modelled (a guess would be needed): any number is accepted there.
    if (tags.length > 0 && zone.plan === "free") {
      throw new CfApiError(400, 1004, "DNS Validation Error", [
        { code: 9300, message: `DNS record has ${tags.length} tags, exceeding the quota of 0.` },
      ]);
    }
    const data = structured ? { data: structured.data } : {};
    return { name, type, content, ttl, proxied, proxiable, ...priority, comment, tags, settings, ...data };
  }

  /** CNAME exclusivity (RFC 1034 3.6.2, RFC 2181 10.1) and duplicates, with Cloudflare's codes. */
  private checkCoexistence(
    zone: FakeZone,
    rec: { name: string; type: string; content: string },
    selfId: string | null,
  ): void {
    const others = zone.records.filter((r) => r.id !== selfId && r.name === rec.name);
    if (rec.type === "CNAME" && others.length > 0) {
      throw new CfApiError(400, 81053, "An A, AAAA, or CNAME record with that host already exists.");
    }
    if (rec.type !== "CNAME" && others.some((r) => r.type === "CNAME")) {
      throw new CfApiError(400, 81054, "A CNAME record with that host already exists.");
    }
    if (others.some((r) => r.type === rec.type && r.content.toLowerCase() === rec.content.toLowerCase())) {
      throw new CfApiError(400, 81057, "Record already exists.");
    }
  }
}

/**
 * CAA `{flags, tag, value}` -> `0 issue "ca.example"`; SRV `{priority, weight, port, target}` ->
 * content `weight port target` with `priority` apart, as the API shows SRV records. The exact
 * content the real API derives (quoting of CAA values) is a guess from its answers in the docs.
 */
function fromData(type: string, raw: unknown): { content: string; priority?: number; data: Record<string, unknown> } {
  if (typeof raw !== "object" || raw === null) throw new CfApiError(400, 9005, `${type} data must be an object.`);
  const d = raw as Record<string, unknown>;
  const num = (k: string, max: number) => {
    const v = d[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max)
      throw new CfApiError(400, 9005, `${type} data.${k} must be a whole number from 0 to ${max}.`);
    return v;
  };
  const str = (k: string) => {
    const v = d[k];
    if (typeof v !== "string" || v === "") throw new CfApiError(400, 9005, `${type} data.${k} is required.`);
    return v;
  };
  if (type === "CAA") {
    const flags = num("flags", 255);
    const tag = str("tag");
    const value = str("value");
    return { content: `${flags} ${tag} "${value}"`, data: { flags, tag, value } };
  }
  const priority = num("priority", 65535);
  const weight = num("weight", 65535);
  const port = num("port", 65535);
  const target = str("target").replace(/\.$/, "");
  return { content: `${weight} ${port} ${target}`, priority, data: { priority, weight, port, target } };
}

function absoluteName(input: string, zone: string): string {
  const n = bareName(input);
  if (n === "@" || n === zone) return zone;
  if (n.endsWith(`.${zone}`)) return n;
  // The API accepts a name relative to the zone and completes it.
  return `${n}.${zone}`;
}

function pickFields(r: FakeRecord): RecordInput {
  return {
    name: r.name,
    type: r.type,
    content: r.content,
    ttl: r.ttl,
    proxied: r.proxied,
    priority: r.priority,
    comment: r.comment,
    settings: r.settings,
    tags: r.tags,
  };
}

function definedOnly(input: RecordInput): RecordInput {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined && k !== "id") out[k] = v;
  if (out["settings"] && typeof out["settings"] === "object") out["settings"] = { ...(out["settings"] as object) };
  return out as RecordInput;
}

function listOf(v: unknown, key: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new CfApiError(400, 9207, `Request body is invalid: ${key} must be an array.`);
  return v;
}

function idOf(v: unknown): string {
  const id = v && typeof v === "object" ? (v as { id?: unknown }).id : undefined;
  if (typeof id !== "string" || id === "")
    throw new CfApiError(400, 9207, "Request body is invalid: every delete, patch and put needs an id.");
  return id;
}
