/**
 * Route 53's forms <-> dkimsync's canonical forms. The only place where trailing dots, octal
 * escapes and TXT quoting are added or removed for this provider.
 */
import type { Change as AwsChange, ResourceRecordSet } from "@aws-sdk/client-route-53";
import {
  canonical,
  formatCharacterStrings,
  internType,
  ownString,
  parseCharacterStrings,
  type Change,
  type RecordSet,
} from "../../src/provider-kit.js";

/**
 * Route 53's wire form of a name: lowercase, trailing dot, characters outside a-z 0-9 - _ as
 * `\ooo` octal escapes (Route 53 developer guide, "DNS domain name format").
 */
export function toWireName(name: string): string {
  const c = canonical(name);
  // Nearly every name needs no escape: no per-character strings for those (one call per page
  // read, and one per record written).
  if (/^[a-z0-9\-_.]*$/.test(c)) return `${c}.`;
  let out = "";
  for (const byte of Buffer.from(`${c}.`, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9\-_.]/.test(ch) ? ch : `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return out;
}

/** The canonical form of a name as Route 53 returns it (`\052.example.com.` -> `*.example.com`). */
export function fromWireName(name: string): string {
  if (!name.includes("\\")) return canonical(name);
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const m = /^\\([0-7]{3})/.exec(name.slice(i, i + 4));
    if (m) {
      bytes.push(parseInt(m[1] as string, 8));
      i += 3;
    } else {
      bytes.push(...Buffer.from(name[i] as string, "utf8"));
    }
  }
  return canonical(Buffer.from(bytes).toString("utf8"));
}

/**
 * Route 53's list order (API reference, ListResourceRecordSets, "Sort order"): the name with its
 * labels reversed and the trailing dot kept (`com.example.www.`), compared as one ASCII string,
 * then the type. Not label by label: '-' (45) sorts before '.' (46), so `mail-eu.example.com`
 * comes before `mail.example.com`, and a reader that thinks otherwise starts past its records.
 */
export function compareRoute53(a: { name: string; type?: string }, b: { name: string; type?: string }): number {
  const ka = route53Key(a.name);
  const kb = route53Key(b.name);
  if (ka !== kb) return ka < kb ? -1 : 1;
  const ta = a.type ?? "";
  const tb = b.type ?? "";
  return ta === tb ? 0 : ta < tb ? -1 : 1;
}

/**
 * A name's place in Route 53's list order: its labels reversed, with the trailing dot. Two names
 * compare as these strings do; a reader comparing many names against a few computes each once.
 */
export function route53Key(name: string): string {
  return `${canonical(name).split(".").reverse().join(".")}.`;
}

/** A TXT value as Route 53 returns it: quoted strings with octal `\ooo` escapes, joined. */
export const parseTxtValue = (value: string): string => parseCharacterStrings(value, "octal");

/** One TXT value as Route 53 wants it: quoted strings of at most 255 octets (RFC 1035 3.3.14). */
export const formatTxtValue = (text: string): string => formatCharacterStrings(text, "octal");

/**
 * A record set as Route 53 returns it, in canonical form, holding nothing of the answer it came
 * in (ownString). `name`: the record set's canonical name when the caller already holds it.
 */
export function fromResourceRecordSet(rr: ResourceRecordSet, name?: string): RecordSet {
  const rawType = rr.Type ?? "";
  const type = internType(rawType);
  const raw = (rr.ResourceRecords ?? []).map((r) => r.Value ?? "");
  const values = (type === "CNAME" ? raw.map(canonical) : type === "TXT" ? raw.map(parseTxtValue) : raw).map(ownString);
  const drift: string[] = [];
  if (rr.AliasTarget) {
    drift.push(ownString(`alias to ${canonical(rr.AliasTarget.DNSName ?? "")}`));
    values.push(ownString(canonical(rr.AliasTarget.DNSName ?? "")));
  }
  if (rr.SetIdentifier !== undefined)
    drift.push(ownString(`routing policy record (SetIdentifier ${rr.SetIdentifier})`));
  return {
    name: name ?? ownString(fromWireName(rr.Name ?? "")),
    type,
    ttl: rr.TTL ?? 0,
    values,
    ...(drift.length > 0 ? { drift } : {}),
  };
}

/** The record set dkimsync writes: CNAME targets as absolute names with the trailing dot. */
export function toResourceRecordSet(rs: RecordSet): ResourceRecordSet {
  const values =
    rs.type === "CNAME"
      ? rs.values.map((v) => `${canonical(v)}.`)
      : rs.type === "TXT"
        ? rs.values.map(formatTxtValue)
        : rs.values;
  return {
    Name: toWireName(rs.name),
    Type: rs.type as ResourceRecordSet["Type"],
    TTL: rs.ttl,
    ResourceRecords: values.map((Value) => ({ Value })),
  };
}

/** True when Route 53's copy is the record set dkimsync means (canonical comparison). */
export function sameRecordSet(a: RecordSet, b: RecordSet): boolean {
  if (a.name !== b.name || a.type !== b.type || a.ttl !== b.ttl || a.values.length !== b.values.length) return false;
  if ((a.drift?.length ?? 0) > 0 || (b.drift?.length ?? 0) > 0) return false;
  const sa = [...a.values].sort();
  const sb = [...b.values].sort();
  return sa.every((v, i) => v === sb[i]);
}

/**
 * One dkimsync change as Route 53 changes. An update is DELETE of exactly what was read plus
 * CREATE, not UPSERT: if the record changed since it was read, the DELETE no longer matches
 * and Route 53 rejects the whole batch rather than silently overwriting (API reference,
 * ChangeResourceRecordSets: "DELETE ... must match the existing record exactly").
 * `current` gives the record as Route 53 holds it (values as first sent), when known.
 */
export function toAwsChanges(change: Change, current: (rs: RecordSet) => ResourceRecordSet): AwsChange[] {
  const out: AwsChange[] = [];
  if (change.action !== "create" && change.before)
    out.push({ Action: "DELETE", ResourceRecordSet: current(change.before) });
  if (change.action !== "delete" && change.after)
    out.push({ Action: "CREATE", ResourceRecordSet: toResourceRecordSet(change.after) });
  return out;
}

/** What a change counts against the batch limits: values, and characters of values (UPSERT twice). */
export function batchWeight(changes: readonly AwsChange[]): { values: number; chars: number } {
  let values = 0;
  let chars = 0;
  for (const c of changes) {
    const weight = c.Action === "UPSERT" ? 2 : 1;
    const vs = (c.ResourceRecordSet?.ResourceRecords ?? []).map((r) => r.Value ?? "");
    values += weight * vs.length;
    chars += weight * vs.reduce((n, v) => n + v.length, 0);
  }
  return { values, chars };
}

// Route 53 quotas, "Maximum number of records / characters in a ChangeResourceRecordSets request".
export const MAX_BATCH_VALUES = 1000;
export const MAX_BATCH_CHARS = 32000;

/**
 * Group the changes into as few batches as the limits allow, keeping the DELETE and CREATE of
 * one update in the same batch. One batch when everything fits (the usual case).
 */
export function splitBatches(groups: readonly AwsChange[][]): AwsChange[][] {
  const batches: AwsChange[][] = [];
  let current: AwsChange[] = [];
  let used = { values: 0, chars: 0 };
  for (const group of groups) {
    const w = batchWeight(group);
    if (current.length > 0 && (used.values + w.values > MAX_BATCH_VALUES || used.chars + w.chars > MAX_BATCH_CHARS)) {
      batches.push(current);
      current = [];
      used = { values: 0, chars: 0 };
    }
    current.push(...group);
    used = { values: used.values + w.values, chars: used.chars + w.chars };
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
