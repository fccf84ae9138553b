/**
 * The data of the Route 53 fake: hosted zones, their record sets, submitted changes, and the
 * change-batch rules of the real service (Route 53 API reference, ChangeResourceRecordSets;
 * messages as the real service words them, as quoted in docs/providers/route53.md).
 *
 * Names are held in Route 53's wire form: lowercase, trailing dot, characters outside
 * a-z 0-9 - _ as three-digit octal escapes (`\052` is `*`). Values are kept as sent.
 */
import { randomBytes } from "node:crypto";

export interface FakeRecordSet {
  name: string;
  type: string;
  /** 0 for an alias record set, which has no TTL of its own. */
  ttl: number;
  /** Empty for an alias record set. */
  values: string[];
  /** Alias record set (Route 53 API reference, AliasTarget): no TTL, no ResourceRecords. */
  alias?: { hostedZoneId: string; dnsName: string; evaluateTargetHealth: boolean };
  /** Routing-policy record sets (weighted here) share a name and type, told apart by SetIdentifier. */
  setIdentifier?: string;
  weight?: number;
}

export interface FakeZone {
  /** Without the `/hostedzone/` prefix. */
  id: string;
  /** Wire form, with the trailing dot. */
  name: string;
  private: boolean;
  callerReference: string;
  /** Keyed by `name type`. */
  records: Map<string, FakeRecordSet>;
}

export interface FakeChange {
  id: string;
  submittedAt: Date;
  polls: number;
  comment?: string;
}

export type ChangeAction = "CREATE" | "DELETE" | "UPSERT";
export interface FakeChangeRequest {
  action: ChangeAction;
  rrset: FakeRecordSet;
}

/** A rejected request, turned into the standard error body by the server. */
export class FakeApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Seed file: `{ zones: [{ name, id?, private?, records: [{ name, type, ttl, values }] }] }`. */
export interface SeedZone {
  name: string;
  id?: string;
  private?: boolean;
  records?: Array<{ name: string; type: string; ttl: number; values: string[] }>;
}
export interface Seed {
  zones: SeedZone[];
}

// Limits of one change batch (Route 53 developer guide, "Quotas on records"): values, and
// characters of values, with UPSERT counted twice.
export const MAX_BATCH_VALUES = 1000;
export const MAX_BATCH_CHARS = 32000;

/** Route 53's wire form of a name: lowercase, trailing dot, octal escapes. */
export function wireName(name: string): string {
  const plain = decodeWireName(name).toLowerCase();
  const dotted = plain.endsWith(".") ? plain : `${plain}.`;
  let out = "";
  for (const byte of Buffer.from(dotted, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9\-_.]/.test(ch) ? ch : `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return out;
}

export function decodeWireName(name: string): string {
  if (!name.includes("\\")) return name;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const m = /^\\([0-7]{3})/.exec(name.slice(i));
    if (m) {
      bytes.push(parseInt(m[1] as string, 8));
      i += 3;
    } else {
      bytes.push(...Buffer.from(name[i] as string, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * Route 53 list order (API reference, ListResourceRecordSets and ListHostedZonesByName, "Sort
 * order"): the name with its labels reversed and the trailing dot kept (`com.example.www.`),
 * compared as one ASCII string, then the type. So characters before '.' (46), such as '-' and
 * '*', sort a label before its own prefix: `mail-eu` comes before `mail`.
 */
export function sortKey(name: string): string {
  const plain = decodeWireName(name).replace(/\.$/, "");
  return plain === "" ? "." : `${plain.split(".").reverse().join(".")}.`;
}

export function compareWire(a: { name: string; type?: string }, b: { name: string; type?: string }): number {
  const ka = sortKey(a.name);
  const kb = sortKey(b.name);
  if (ka !== kb) return ka < kb ? -1 : 1;
  const ta = a.type ?? "";
  const tb = b.type ?? "";
  return ta === tb ? 0 : ta < tb ? -1 : 1;
}

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

function key(name: string, type: string, setIdentifier?: string): string {
  return setIdentifier === undefined ? `${name} ${type}` : `${name} ${type} ${setIdentifier}`;
}

/** DELETE must name the record set exactly: routing fields and alias target included. */
function sameExtras(a: FakeRecordSet, b: FakeRecordSet): boolean {
  const alias = (r: FakeRecordSet) =>
    r.alias ? `${wireName(r.alias.dnsName)} ${r.alias.hostedZoneId} ${r.alias.evaluateTargetHealth}` : "";
  return alias(a) === alias(b) && a.weight === b.weight && a.setIdentifier === b.setIdentifier;
}

function newId(prefix: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return prefix + Array.from(randomBytes(20), (b) => alphabet[b % alphabet.length]).join("");
}

function sameValues(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}

function rrsetLabel(name: string, type: string): string {
  return `[name='${name}', type='${type}']`;
}

export class Route53State {
  readonly zones = new Map<string, FakeZone>();
  readonly changes = new Map<string, FakeChange>();

  /** Create a hosted zone with its SOA and NS, as Route 53 does. Returns the id. */
  createZone(name: string, opts: { id?: string; private?: boolean; apexRecords?: boolean } = {}): FakeZone {
    const zone: FakeZone = {
      id: opts.id ?? newId("Z"),
      name: wireName(name),
      private: opts.private ?? false,
      callerReference: newId("ref-"),
      records: new Map(),
    };
    if (this.zones.has(zone.id)) throw new Error(`zone id ${zone.id} exists`);
    this.zones.set(zone.id, zone);
    if (opts.apexRecords ?? true) {
      const ns = ["ns-1.awsdns-01.org.", "ns-2.awsdns-02.co.uk.", "ns-3.awsdns-03.com.", "ns-4.awsdns-04.net."];
      this.put(zone.id, { name: zone.name, type: "NS", ttl: 172800, values: ns });
      this.put(zone.id, {
        name: zone.name,
        type: "SOA",
        ttl: 900,
        values: ["ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"],
      });
    }
    return zone;
  }

  seed(seed: Seed): void {
    for (const z of seed.zones) {
      const zone = this.createZone(z.name, { ...(z.id ? { id: z.id } : {}), private: z.private ?? false });
      for (const r of z.records ?? []) {
        const plain = r.name.replace(/\.$/, "").toLowerCase();
        const zonePlain = zone.name.replace(/\.$/, "");
        const absolute =
          plain === "" || plain === "@" ? zonePlain : inZone(plain, zonePlain) ? plain : `${plain}.${zonePlain}`;
        this.put(zone.id, { name: absolute, type: r.type.toUpperCase(), ttl: r.ttl, values: [...r.values] });
      }
    }
  }

  zone(id: string): FakeZone {
    const z = this.zones.get(id.replace(/^\/hostedzone\//, ""));
    if (!z) throw new FakeApiError(404, "NoSuchHostedZone", `No hosted zone found with ID: ${id}`);
    return z;
  }

  /** Zones with this name (several may share one: public and private, or duplicates). */
  zonesNamed(name: string): FakeZone[] {
    const w = wireName(name);
    return [...this.zones.values()].filter((z) => z.name === w);
  }

  /** Behind the API's back: add or replace a record set. */
  put(zoneId: string, rrset: FakeRecordSet): void {
    const z = this.zone(zoneId);
    const r = { ...rrset, name: wireName(rrset.name), type: rrset.type.toUpperCase(), values: [...rrset.values] };
    z.records.set(key(r.name, r.type, r.setIdentifier), r);
  }

  get(zoneId: string, name: string, type: string): FakeRecordSet | undefined {
    return this.zone(zoneId).records.get(key(wireName(name), type.toUpperCase()));
  }

  remove(zoneId: string, name: string, type: string): boolean {
    return this.zone(zoneId).records.delete(key(wireName(name), type.toUpperCase()));
  }

  /** Every record set in list order. */
  sorted(zoneId: string): FakeRecordSet[] {
    return [...this.zone(zoneId).records.values()].sort(compareWire);
  }

  sortedZones(): FakeZone[] {
    return [...this.zones.values()].sort((a, b) => compareWire(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Apply a change batch all or nothing, with the checks Route 53 makes. Each problem becomes
   * one message; several are joined as `[msg1, msg2]` in one InvalidChangeBatch.
   */
  applyBatch(zoneId: string, changes: FakeChangeRequest[], comment?: string): FakeChange {
    const zone = this.zone(zoneId);
    if (changes.length === 0)
      throw new FakeApiError(
        400,
        "InvalidInput",
        "1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    let values = 0;
    let chars = 0;
    for (const c of changes) {
      const weight = c.action === "UPSERT" ? 2 : 1;
      values += weight * c.rrset.values.length;
      chars += weight * c.rrset.values.reduce((n, v) => n + v.length, 0);
    }
    if (values > MAX_BATCH_VALUES) {
      throw new FakeApiError(400, "InvalidChangeBatch", `[Number of records limit of ${MAX_BATCH_VALUES} exceeded.]`);
    }
    if (chars > MAX_BATCH_CHARS) {
      throw new FakeApiError(
        400,
        "InvalidChangeBatch",
        `[Number of characters in request limit of ${MAX_BATCH_CHARS} exceeded.]`,
      );
    }

    const work = new Map(zone.records);
    const problems: string[] = [];
    const written = new Map<string, string>();
    for (const c of changes) {
      const name = wireName(c.rrset.name);
      const type = c.rrset.type.toUpperCase();
      const label = rrsetLabel(name, type);
      if (!inZone(name, zone.name)) {
        problems.push(`RRSet with DNS name ${name} is not permitted in zone ${zone.name.replace(/\.$/, "")}`);
        continue;
      }
      const k = key(name, type, c.rrset.setIdentifier);
      const current = work.get(k);
      const rrset: FakeRecordSet = { ...c.rrset, name, type, ttl: c.rrset.ttl, values: [...c.rrset.values] };
      if (c.action === "CREATE") {
        if (current) problems.push(`Tried to create resource record set ${label} but it already exists`);
        else {
          work.set(k, rrset);
          written.set(name, type);
        }
      } else if (c.action === "DELETE") {
        if (!current) problems.push(`Tried to delete resource record set ${label} but it was not found`);
        else if (
          current.ttl !== c.rrset.ttl ||
          !sameValues(current.values, c.rrset.values) ||
          !sameExtras(current, c.rrset)
        ) {
          problems.push(
            `Tried to delete resource record set ${label} but the values provided do not match the current values`,
          );
        } else work.delete(k);
      } else {
        work.set(k, rrset);
        written.set(name, type);
      }
    }
    // RFC 1034 3.6.2: a CNAME owns its name alone. Checked on the batch's end state, so a
    // batch that deletes a TXT and creates a CNAME at one name is accepted.
    for (const [name, type] of written) {
      // Weighted CNAMEs share one name and type: only another type conflicts.
      const types = new Set([...work.values()].filter((r) => r.name === name).map((r) => r.type));
      if (!types.has("CNAME") || types.size < 2) continue;
      const zonePlain = zone.name.replace(/\.$/, "");
      problems.push(
        type === "CNAME"
          ? `RRSet of type CNAME with DNS name ${name} is not permitted as it conflicts with other records with the same DNS name in zone ${zonePlain}.`
          : `RRSet of type ${type} with DNS name ${name} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zonePlain}.`,
      );
    }
    if (problems.length > 0) throw new FakeApiError(400, "InvalidChangeBatch", `[${problems.join(", ")}]`);

    zone.records = work;
    const change: FakeChange = { id: newId("C"), submittedAt: new Date(), polls: 0, ...(comment ? { comment } : {}) };
    this.changes.set(change.id, change);
    return change;
  }
}
