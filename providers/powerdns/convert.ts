/**
 * PowerDNS API form <-> dkimsync's canonical form. Names and name-valued content carry a
 * trailing dot on the PowerDNS side (the API answers 422 "Not in expected format" without it,
 * observed on PowerDNS 4.7.3); TXT content is a list of quoted character-strings.
 */
import { canonical, fqdn } from "../../src/names.js";
import type { Change, RecordSet } from "../../src/types.js";

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
    type: rrset.type.toUpperCase(),
    ttl: rrset.ttl,
    values: rrset.records.map((r) => fromPdnsContent(rrset.type, r.content)).sort(),
  };
  // A disabled record is stored but not served. Reported as drift so the plan shows it and an
  // update writes the record back with `disabled: false`.
  const disabled = rrset.records.filter((r) => r.disabled).length;
  if (disabled > 0) {
    set.drift = [disabled === rrset.records.length ? "disabled in PowerDNS (not served)" : `${disabled} of ${rrset.records.length} records disabled in PowerDNS`];
  }
  return set;
}

export function fromPdnsContent(type: string, content: string): string {
  const t = type.toUpperCase();
  if (NAME_TYPES.has(t)) return canonical(content);
  if (t === "TXT" || t === "SPF") return parseTxtContent(content);
  if (t === "MX") return content.trim().replace(/^(\d+)\s+(\S+)$/, (_m, pref: string, host: string) => `${pref} ${canonical(host)}`);
  return content;
}

export function toPdnsContent(type: string, value: string): string {
  const t = type.toUpperCase();
  if (NAME_TYPES.has(t)) return fqdn(value);
  if (t === "TXT" || t === "SPF") return formatTxtContent(value);
  if (t === "MX") return value.trim().replace(/^(\d+)\s+(\S+)$/, (_m, pref: string, host: string) => `${pref} ${fqdn(host)}`);
  return value;
}

/**
 * PowerDNS answers TXT content as quoted character-strings, `"v=DKIM1; k=rsa; " "p=MIIB..."`,
 * with `\"`, `\\` and `\DDD` (decimal octet) escapes; non-ASCII comes back as `\DDD` of its
 * UTF-8 bytes (observed on 4.7.3). The strings are joined without separators (RFC 6376
 * 3.6.2.2). Unquoted words (zone-file style) are accepted as one string each.
 */
export function parseTxtContent(content: string): string {
  const bytes: number[] = [];
  let i = 0;
  const s = content;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const quoted = c === '"';
    if (quoted) i++;
    while (i < s.length) {
      const ch = s[i] as string;
      if (quoted ? ch === '"' : ch === " " || ch === "\t") break;
      if (ch === "\\" && i + 1 < s.length) {
        const digits = s.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(digits)) {
          bytes.push(Number(digits) & 0xff);
          i += 4;
        } else {
          bytes.push(...Buffer.from(s[i + 1] as string, "utf8"));
          i += 2;
        }
        continue;
      }
      const cp = s.codePointAt(i) as number;
      const char = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(char, "utf8"));
      i += char.length;
    }
    if (quoted) i++;
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * The PowerDNS form of a TXT value: character-strings of at most 255 octets (RFC 1035 3.3.14),
 * each quoted; `"` and `\` escaped, bytes outside printable ASCII as `\DDD`. PowerDNS rejects
 * unquoted TXT content ("Data field in DNS should start with quote", observed on 4.7.3).
 */
export function formatTxtContent(value: string): string {
  const bytes = Buffer.from(value, "utf8");
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
  if (chunks.length === 0) chunks.push(bytes);
  return chunks
    .map((chunk) => {
      let out = "";
      for (const b of chunk) {
        if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
        else if (b < 0x20 || b > 0x7e) out += `\\${String(b).padStart(3, "0")}`;
        else out += String.fromCharCode(b);
      }
      return `"${out}"`;
    })
    .join(" ");
}

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
