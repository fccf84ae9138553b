/**
 * octoDNS zone file <-> canonical record sets. Pure: no file I/O.
 *
 * The format (octoDNS docs/records.md, YamlProvider): the top level maps names relative to the
 * zone (`''` is the apex) to one record mapping, or to a list of mappings where several types
 * share a name. A record has `type`, an optional `ttl` (octoDNS's default is 3600) and `value`
 * (one) or `values` (a list).
 */
import { domainToASCII } from "node:url";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, stringify } from "yaml";
import type { Document, Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { canonical, fqdn, type RecordSet } from "../../src/provider-kit.js";

/** octoDNS's default TTL when a record has no `ttl` (octodns/record/base.py). */
export const DEFAULT_TTL = 3600;

/** Types whose values are domain names: compared canonically, written with a trailing dot. */
const NAME_TYPES = new Set(["CNAME", "ALIAS", "DNAME", "NS", "PTR"]);
/** Types whose values are character-strings, with `;` escaped as `\;` (octoDNS _ChunkedValue). */
const TEXT_TYPES = new Set(["TXT", "SPF"]);
/** Types dkimsync can write from a canonical value (one scalar per value). */
const SCALAR_TYPES = new Set([...NAME_TYPES, ...TEXT_TYPES, "A", "AAAA"]);

/** A problem in a zone file, at a line; the provider turns it into a ProviderError. */
export class ZoneFileError extends Error {
  constructor(
    readonly line: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = "ZoneFileError";
  }
}

/** One record of the file, with the nodes an edit needs. */
export interface FileRecord {
  set: RecordSet;
  /** The top-level entry holding the record. */
  pair: Pair<Scalar, YAMLMap | YAMLSeq>;
  /** The record's own mapping. */
  node: YAMLMap;
  /** Index in the list when the name holds a list of records. */
  index: number | undefined;
}

export interface ParsedZone {
  doc: Document.Parsed;
  lines: LineCounter;
  records: FileRecord[];
}

/** Parse a zone file's text. Throws ZoneFileError for YAML syntax errors and malformed records. */
export function parseZone(text: string, zone: string): ParsedZone {
  const lines = new LineCounter();
  // octoDNS loads zone files with PyYAML's SafeLoader, which resolves aliases and `<<` merge
  // keys; the yaml package does the latter only when asked (YAML 1.1 merge, `merge: true`).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const first = doc.errors[0];
  if (first) {
    throw new ZoneFileError(lines.linePos(first.pos[0]).line, `YAML syntax error: ${first.message.split("\n")[0]}`);
  }
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset).line);
  const contents = doc.contents;
  const records: FileRecord[] = [];
  if (contents === null || (isScalar(contents) && contents.value === null)) return { doc, lines, records };
  if (!isMap(contents)) {
    throw new ZoneFileError(lineOf(contents.range?.[0]), "the top level must map record names to records");
  }
  for (const item of contents.items) {
    const pair = item as Pair<unknown, unknown>;
    if (!isScalar(pair.key))
      throw new ZoneFileError(lineOf(rangeStart(pair.key)), "a record name must be a plain string");
    const name = absoluteName(String(pair.key.value ?? ""), zone);
    const value = pair.value;
    const nodes: Array<{ node: unknown; index: number | undefined }> = isSeq(value)
      ? value.items.map((node, index) => ({ node, index }))
      : [{ node: value, index: undefined }];
    for (const { node, index } of nodes) {
      if (!isMap(node)) {
        throw new ZoneFileError(
          lineOf(rangeStart(node) ?? pair.key.range?.[0]),
          `"${String(pair.key.value)}" must hold a record mapping (type, ttl, value) or a list of them`,
        );
      }
      let data: Record<string, unknown>;
      try {
        data = plainRecord(node, doc);
      } catch (err) {
        // An alias without its anchor, or too many aliases: the yaml package throws while resolving.
        throw new ZoneFileError(lineOf(node.range?.[0]), `the record at ${name}: ${(err as Error).message}`);
      }
      const set = recordSet(name, data, lineOf(node.range?.[0]));
      const twin = records.find((r) => r.set.name === name && r.set.type === set.type);
      if (twin) {
        throw new ZoneFileError(
          lineOf(node.range?.[0]),
          `${set.type} at ${name} is written twice (also at line ${lineOf(twin.node.range?.[0])}); merge them into one record with values`,
        );
      }
      records.push({ set, pair: pair as Pair<Scalar, YAMLMap | YAMLSeq>, node, index });
    }
  }
  return { doc, lines, records };
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}

/**
 * The canonical name of a key. Keys are relative (octoDNS); a key that ends with a dot and lies
 * in the zone is taken as absolute (`selector1._domainkey.example.com.`), any other trailing dot
 * is noise. Case never matters (RFC 4343).
 */
export function absoluteName(key: string, zone: string): string {
  const written = canonical(key);
  // octoDNS writes the names of IDN records in UTF-8 (record.decoded_name); inside they are
  // A-labels. An invalid name stays as written and simply matches no selector.
  const name = /^[\x00-\x7f]*$/.test(written) ? written : domainToASCII(written) || written;
  if (key.trim().endsWith(".") && (name === zone || name.endsWith(`.${zone}`))) return name;
  return name === "" ? zone : `${name}.${zone}`;
}

/**
 * A record mapping as plain data, with aliases resolved and merge keys applied. (toJSON()
 * without the document turns an alias into `{ source }`, which would read as a wrong value.)
 */
export function plainRecord(node: YAMLMap, doc: Document): Record<string, unknown> {
  return node.toJS(doc) as Record<string, unknown>;
}

/** True when the record takes keys from a `<<` merge or a value from an alias. */
export function borrowsData(node: YAMLMap): boolean {
  return node.items.some((p) => (isScalar(p.key) && p.key.value === "<<") || isAlias(p.value));
}

export function recordSet(name: string, data: Record<string, unknown>, at: number | undefined): RecordSet {
  if (typeof data.type !== "string" || data.type.trim() === "")
    throw new ZoneFileError(at, `the record at ${name} has no type`);
  const type = data.type.trim().toUpperCase();
  const ttl = data.ttl ?? DEFAULT_TTL;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 0) {
    throw new ZoneFileError(
      at,
      `the ${type} record at ${name} has ttl ${JSON.stringify(ttl)}; it must be a whole number of seconds`,
    );
  }
  const raw = data.values ?? (data.value === undefined ? [] : [data.value]);
  const list = Array.isArray(raw) ? raw : [raw];
  return { name, type, ttl, values: list.map((v) => canonicalValue(type, v)) };
}

/** Canonical value of one octoDNS value; best effort for types dkimsync only reports. */
export function canonicalValue(type: string, value: unknown): string {
  if (NAME_TYPES.has(type) && typeof value === "string") return canonical(value);
  if (TEXT_TYPES.has(type)) return unescapeText(String(value));
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (type === "MX") return `${v.preference ?? v.priority} ${canonical(String(v.exchange ?? v.value))}`;
    if (type === "SRV") return `${v.priority} ${v.weight} ${v.port} ${canonical(String(v.target))}`;
    if (type === "CAA") return `${v.flags ?? 0} ${v.tag} "${v.value}"`;
    return Object.values(v).map(String).join(" ");
  }
  return String(value).trim();
}

/** octoDNS writes `;` in TXT values as `\;` (its validator rejects an unescaped one). */
export function unescapeText(value: string): string {
  return value.replace(/\\;/g, ";");
}

export function escapeText(value: string): string {
  return value.replace(/(?<!\\);/g, "\\;");
}

/** The value as octoDNS wants it in the file; only scalar types (dkimsync writes CNAMEs). */
export function fileValue(type: string, value: string): string {
  if (NAME_TYPES.has(type)) return fqdn(value);
  if (TEXT_TYPES.has(type)) return escapeText(value);
  return value;
}

export function canWrite(type: string): boolean {
  return SCALAR_TYPES.has(type);
}

/** One YAML scalar as text, quoted only when YAML needs it. */
export function renderScalar(value: string | number): string {
  if (value === "") return "''";
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, "");
}

/** The key of a name in the file: relative to the zone, `''` for the apex. */
export function relativeKey(name: string, zone: string): string {
  return name === zone ? "" : name.slice(0, -(zone.length + 1));
}

/**
 * octoDNS's key order: its YAML loader refuses files whose mapping keys are not sorted with
 * natsort's default key (octodns/yaml.py, SortEnforcingLoader): digit runs compare as numbers.
 */
export function naturalCompare(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x === y) continue;
    if (i % 2 === 1) return Number(x) - Number(y) || (x < y ? -1 : 1);
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** Same ttl and the same values, in any order. */
export function sameRecords(a: RecordSet, b: RecordSet): boolean {
  const va = [...a.values].sort();
  const vb = [...b.values].sort();
  return a.ttl === b.ttl && va.length === vb.length && va.every((v, i) => v === vb[i]);
}
