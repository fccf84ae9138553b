/**
 * PowerDNS API form <-> dkimsync's canonical form. Names and name-valued content carry a
 * trailing dot on the PowerDNS side (the API answers 422 "Not in expected format" without it,
 * observed on PowerDNS 4.7.3); TXT content is a list of quoted character-strings.
 */
import {
  canonical,
  fqdn,
  formatCharacterStrings,
  internType,
  ownString,
  parseCharacterStrings,
  sortSmall,
  type Change,
  type RecordSet,
} from "../../src/provider-kit.js";

export interface PdnsRecord {
  content: string;
  disabled: boolean;
}

export interface PdnsRRset {
  name: string;
  type: string;
  ttl: number;
  records: PdnsRecord[];
}

/** One entry of `PATCH /zones/{id}`: REPLACE writes the whole RRset, DELETE removes it. */
export interface PdnsRRsetPatch {
  name: string;
  type: string;
  changetype: "REPLACE" | "DELETE";
  ttl?: number;
  records?: PdnsRecord[];
}

/** Types whose whole content is one domain name. */
const NAME_TYPES = new Set(["CNAME", "NS", "PTR", "DNAME", "ALIAS"]);

export function fromPdnsRRset(rrset: PdnsRRset): RecordSet {
  const set: RecordSet = {
    name: canonical(rrset.name),
    type: internType(rrset.type),
    ttl: rrset.ttl,
    values: sortSmall(rrset.records.map((r) => fromPdnsContent(rrset.type, r.content))),
  };
  let disabled = 0;
  for (const r of rrset.records) if (r.disabled) disabled++;
  if (disabled > 0) set.drift = disabledDrift(disabled, rrset.records.length);
  return set;
}

/**
 * A disabled record is stored but not served. Reported as drift so the plan shows it and an
 * update writes the record back with `disabled: false`.
 */
export function disabledDrift(disabled: number, records: number): string[] {
  return [
    disabled === records
      ? "disabled in PowerDNS (not served)"
      : `${disabled} of ${records} records disabled in PowerDNS`,
  ];
}

export function fromPdnsContent(type: string, content: string): string {
  const t = type.toUpperCase();
  // A name without its trailing dot is a slice of the answer's string, 32 bytes more per value
  // kept for the run (a plan keeps every `before`): held as a copy of its own (ownString).
  if (NAME_TYPES.has(t)) return ownString(canonical(content));
  if (t === "TXT" || t === "SPF") return parseTxtContent(content);
  if (t === "MX")
    return content.trim().replace(/^(\d+)\s+(\S+)$/, (_m, pref: string, host: string) => `${pref} ${canonical(host)}`);
  return content;
}

export function toPdnsContent(type: string, value: string): string {
  const t = type.toUpperCase();
  if (NAME_TYPES.has(t)) return fqdn(value);
  if (t === "TXT" || t === "SPF") return formatTxtContent(value);
  if (t === "MX")
    return value.trim().replace(/^(\d+)\s+(\S+)$/, (_m, pref: string, host: string) => `${pref} ${fqdn(host)}`);
  return value;
}

/**
 * PowerDNS answers TXT content as quoted character-strings, `"v=DKIM1; k=rsa; " "p=MIIB..."`,
 * with `\"`, `\\` and decimal `\DDD` escapes; non-ASCII comes back as `\DDD` of its UTF-8
 * bytes (observed on 4.7.3).
 */
export const parseTxtContent = (content: string): string => parseCharacterStrings(content, "decimal");

/**
 * PowerDNS rejects unquoted TXT content ("Data field in DNS should start with quote", observed
 * on 4.7.3): always quoted strings of at most 255 octets.
 */
export const formatTxtContent = (value: string): string => formatCharacterStrings(value, "decimal");

/**
 * The rrsets of one PATCH, deletes first. PowerDNS applies them in order inside one
 * transaction and checks the CNAME rule as it goes: "delete TXT, replace CNAME" at one name is
 * accepted, the reverse order is refused with "Conflicts with pre-existing RRset" (observed on
 * 4.7.3), so the --force path depends on this order.
 */
export function toRRsetPatches(changes: readonly Change[]): PdnsRRsetPatch[] {
  const deletes = changes.filter((c) => c.action === "delete");
  const writes = changes.filter((c) => c.action !== "delete");
  return [
    ...deletes.map((c): PdnsRRsetPatch => ({ name: fqdn(c.name), type: c.type, changetype: "DELETE" })),
    ...writes.map((c): PdnsRRsetPatch => {
      const after = c.after;
      if (after === null) throw new Error(`${c.action} of ${c.name} ${c.type} has no record to write`);
      return {
        name: fqdn(after.name),
        type: after.type,
        changetype: "REPLACE",
        ttl: after.ttl,
        records: after.values.map((v) => ({ content: toPdnsContent(after.type, v), disabled: false })),
      };
    }),
  ];
}
