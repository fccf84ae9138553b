/**
 * Pure conversions between Azure DNS record sets (the `@azure/arm-dns` model of the
 * `Microsoft.Network/dnsZones` API, version 2018-05-01) and dkimsync's canonical record sets.
 * No I/O here.
 *
 * Azure form (Azure DNS REST reference, "Record Sets"): a record set's name is relative to the
 * zone, `@` for the apex; its type comes back as `Microsoft.Network/dnszones/CNAME`; a CNAME
 * record set holds one `cnameRecord`, a TXT record set a list of `txtRecords` whose `value` is
 * the list of character-strings (each at most 255 octets, RFC 1035 3.3.14).
 */
import type { RecordSet as AzRecordSet } from "@azure/arm-dns";
import { canonical, type RecordSet } from "../../src/provider-kit.js";

/** The record types dkimsync writes; every other type is only ever read or deleted. */
export const WRITABLE_TYPES = ["CNAME", "TXT"] as const;

/** `selector1._domainkey.example.com` in zone `example.com` -> `selector1._domainkey`; apex -> `@`. */
export function toRelative(name: string, zone: string): string {
  const n = canonical(name);
  const z = canonical(zone);
  if (n === z) return "@";
  if (!n.endsWith(`.${z}`)) throw new Error(`${n} is not in zone ${z}`);
  return n.slice(0, -(z.length + 1));
}

export function toAbsolute(relative: string, zone: string): string {
  const r = canonical(relative);
  return r === "@" || r === "" ? canonical(zone) : `${r}.${canonical(zone)}`;
}

/**
 * The `$recordsetnamesuffix` that lets one listing return every wanted name and as few others as
 * possible: the longest run of trailing labels that all wanted names share and that is shorter
 * than each of them. Azure returns "only records that end with .<recordSetNameSuffix>" (REST
 * reference, Record Sets - List All By Dns Zone), so the suffix must leave at least one label in
 * front of it. Undefined when no such suffix exists (the apex, or names without a common tail):
 * the listing is then unfiltered.
 */
export function nameSuffix(relatives: readonly string[]): string | undefined {
  const split = relatives.map((r) => canonical(r).split("."));
  if (split.length === 0 || split.some((labels) => labels.length < 2 || labels[0] === "@")) return undefined;
  const shortest = Math.min(...split.map((l) => l.length));
  const common: string[] = [];
  for (let i = 1; i < shortest; i++) {
    const label = (split[0] as string[])[split[0]!.length - i] as string;
    if (split.some((l) => l[l.length - i] !== label)) break;
    common.unshift(label);
  }
  return common.length > 0 ? common.join(".") : undefined;
}

/** `Microsoft.Network/dnszones/CNAME` -> `CNAME`. */
export function typeOf(rs: AzRecordSet): string {
  return (rs.type ?? "").split("/").pop()?.toUpperCase() ?? "";
}

/** One Azure record set in canonical form; undefined for a type dkimsync does not know. */
export function fromAzure(rs: AzRecordSet, zone: string): RecordSet | undefined {
  const type = typeOf(rs);
  const name = toAbsolute(rs.name ?? "@", zone);
  const ttl = rs.ttl ?? 0;
  const drift: string[] = [];
  let values: string[];
  switch (type) {
    case "CNAME":
      values = rs.cnameRecord?.cname ? [canonical(rs.cnameRecord.cname)] : [];
      break;
    case "TXT":
      // RFC 6376 3.6.2.2: the character-strings of one TXT record are joined without separators.
      values = (rs.txtRecords ?? []).map((t) => (t.value ?? []).join(""));
      break;
    case "A":
      values = (rs.aRecords ?? []).map((a) => a.ipv4Address ?? "");
      break;
    case "AAAA":
      values = (rs.aaaaRecords ?? []).map((a) => a.ipv6Address ?? "");
      break;
    case "MX":
      values = (rs.mxRecords ?? []).map((m) => `${m.preference ?? 0} ${canonical(m.exchange ?? "")}`);
      break;
    case "NS":
      values = (rs.nsRecords ?? []).map((n) => canonical(n.nsdname ?? ""));
      break;
    case "PTR":
      values = (rs.ptrRecords ?? []).map((p) => canonical(p.ptrdname ?? ""));
      break;
    case "SRV":
      values = (rs.srvRecords ?? []).map(
        (s) => `${s.priority ?? 0} ${s.weight ?? 0} ${s.port ?? 0} ${canonical(s.target ?? "")}`,
      );
      break;
    case "CAA":
      values = (rs.caaRecords ?? []).map((c) => `${c.flags ?? 0} ${c.tag ?? ""} "${c.value ?? ""}"`);
      break;
    case "SOA":
      values = rs.soaRecord ? [`${canonical(rs.soaRecord.host ?? "")} ${canonical(rs.soaRecord.email ?? "")}`] : [];
      break;
    default:
      return undefined;
  }
  // An alias record set (Azure DNS "alias records") takes its value from another Azure resource;
  // a DKIM selector must be a plain CNAME to Microsoft, so an alias is drift to be rewritten.
  if (rs.targetResource?.id) drift.push(`alias to Azure resource ${rs.targetResource.id}`);
  return { name, type, ttl, values: values.sort(), ...(drift.length > 0 ? { drift } : {}) };
}

/** Split a TXT value into character-strings of at most 255 octets (RFC 1035 3.3.14). */
export function txtChunks(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length <= 255) return [value];
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255).toString("utf8"));
  return out;
}

/**
 * The body of a PUT for a record set dkimsync writes. `metadata` of the record set that was read
 * is carried over: a PUT replaces the whole record set, and tags someone put there are not ours.
 */
export function toAzure(rs: RecordSet, keep: { metadata?: Record<string, string> } = {}): AzRecordSet {
  const base: AzRecordSet = {
    ttl: rs.ttl,
    ...(keep.metadata && Object.keys(keep.metadata).length > 0 ? { metadata: keep.metadata } : {}),
  };
  switch (rs.type) {
    case "CNAME": {
      // Azure DNS: "a CNAME record set can contain at most one record" (RFC 1034 3.6.2).
      if (rs.values.length !== 1)
        throw new Error(`a CNAME record set holds exactly one target, not ${rs.values.length}`);
      return { ...base, cnameRecord: { cname: canonical(rs.values[0] as string) } };
    }
    case "TXT":
      return { ...base, txtRecords: rs.values.map((v) => ({ value: txtChunks(v) })) };
    default:
      throw new Error(`dkimsync does not write ${rs.type} record sets`);
  }
}

/** A stable key for one record set of one zone. */
export function setKey(name: string, type: string): string {
  return `${canonical(name)} ${type.toUpperCase()}`;
}
