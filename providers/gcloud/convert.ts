/**
 * Google Cloud DNS forms <-> dkimsync's canonical forms, and dkimsync changes -> the body of one
 * `changes.create` request. No I/O here.
 *
 * Cloud DNS form (Cloud DNS API v1 reference, ResourceRecordSet): `name` is absolute with the
 * trailing dot, `rrdatas` hold each record in presentation form (RFC 1035 5.1), so CNAME targets
 * are absolute with the dot and TXT data are quoted character-strings.
 */
import {
  canonical,
  formatCharacterStrings,
  parseCharacterStrings,
  type Change,
  type RecordSet,
} from "../../src/provider-kit.js";

/** The fields of a Cloud DNS ResourceRecordSet that dkimsync reads and writes. */
export interface GcRrset {
  kind?: string;
  name: string;
  type: string;
  ttl?: number;
  rrdatas?: string[];
  /** Set on routing-policy record sets (geo, weighted round robin, failover). */
  routingPolicy?: unknown;
  signatureRrdatas?: string[];
}

/** The body of `changes.create`: deletions and additions applied together, all or nothing. */
export interface GcChangeBody {
  kind: "dns#change";
  additions: GcRrset[];
  deletions: GcRrset[];
}

export function toWireName(name: string): string {
  return `${canonical(name)}.`;
}

/**
 * One TXT rrdata -> its text. Cloud DNS hands back what was written: normally quoted strings
 * (`"v=DKIM1; " "p=..."`), joined without separators (RFC 6376 3.6.2.2). An rrdata written
 * without quotes (other tools do) is read as one string as it stands: how Cloud DNS returns such
 * data is not documented, so both forms are accepted. Octet escapes are decimal `\DDD` as in
 * RFC 1035 5.1.
 */
export function parseTxtRrdata(rrdata: string): string {
  const trimmed = rrdata.trim();
  if (!trimmed.startsWith('"')) return rrdata;
  return parseCharacterStrings(trimmed, "decimal");
}

/** A TXT value as quoted character-strings of at most 255 octets (RFC 1035 3.3.14). */
export const formatTxtRrdata = (value: string): string => formatCharacterStrings(value, "decimal");

function rrdataValue(type: string, rrdata: string): string {
  switch (type) {
    case "CNAME":
    case "NS":
    case "PTR":
      return canonical(rrdata);
    case "TXT":
    case "SPF":
      return parseTxtRrdata(rrdata);
    case "MX": {
      const [pref, host] = rrdata.trim().split(/\s+/);
      return `${pref ?? "0"} ${canonical(host ?? "")}`;
    }
    default:
      return rrdata;
  }
}

/** A Cloud DNS rrset in canonical form. Routing policies are drift: dkimsync writes plain rrsets. */
export function fromRrset(rr: GcRrset): RecordSet {
  const type = rr.type.toUpperCase();
  const drift = rr.routingPolicy !== undefined && rr.routingPolicy !== null ? ["routing policy record set"] : [];
  return {
    name: canonical(rr.name),
    type,
    ttl: rr.ttl ?? 0,
    values: (rr.rrdatas ?? []).map((d) => rrdataValue(type, d)).sort(),
    ...(drift.length > 0 ? { drift } : {}),
  };
}

/** The rrset dkimsync writes for a record set. */
export function toRrset(rs: RecordSet): GcRrset {
  const rrdatas =
    rs.type === "CNAME" || rs.type === "NS" || rs.type === "PTR"
      ? rs.values.map((v) => `${canonical(v)}.`)
      : rs.type === "TXT"
        ? rs.values.map(formatTxtRrdata)
        : rs.type === "MX"
          ? rs.values.map((v) => {
              const [p, h] = v.split(" ");
              return `${p} ${canonical(h ?? "")}.`;
            })
          : [...rs.values];
  return { kind: "dns#resourceRecordSet", name: toWireName(rs.name), type: rs.type, ttl: rs.ttl, rrdatas };
}

/**
 * Changes -> one `changes.create` body. An update is the deletion of the rrset exactly as it was
 * read plus the addition of the new one, never a blind replace: Cloud DNS fails the whole change
 * when a deletion does not match the current rrset exactly (HTTP 412 conditionNotMet; Cloud DNS
 * API v1 reference, changes.create, and "Create, modify, and delete records"), so a zone edited
 * since the plan was read makes the change fail, writing nothing.
 * `current` gives the rrset as Cloud DNS holds it when the last read matches `before`.
 */
export function toChangeBody(changes: readonly Change[], current: (rs: RecordSet) => GcRrset): GcChangeBody {
  const deletions: GcRrset[] = [];
  const additions: GcRrset[] = [];
  for (const c of changes) {
    if (c.action !== "create" && c.before) deletions.push(current(c.before));
    if (c.action !== "delete" && c.after) additions.push(toRrset(c.after));
  }
  return { kind: "dns#change", additions, deletions };
}
