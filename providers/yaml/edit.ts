/**
 * Edits to a zone file's text, one record at a time. Pure: each function plans an Edit, the
 * splices that change one record, against the text and the parse it is given; applyEdits
 * writes them. Planning several edits against one parse is batch.ts's business.
 *
 * The yaml package parses the file and reports where every node lies; the edit is spliced into
 * the original text at those offsets. Re-rendering the Document (doc.toString()) would rewrite
 * lines nobody asked to change: observed with yaml 2.9.1, it collapses the spaces before a
 * comment and moves a comment beside a key (`autodiscover:   # Outlook`) onto its own line.
 * Splicing keeps every byte outside the edited record. Records written in flow style
 * (`{type: CNAME, value: x}`) are the exception: that one name is rewritten in block style.
 */
import { isMap, isScalar, isSeq, stringify, visit } from "yaml";
import type { Pair, Scalar, YAMLMap, YAMLSeq } from "yaml";
import { applySplices, type RecordSet, type Splice } from "../../src/provider-kit.js";
import {
  borrowsData,
  DEFAULT_TTL,
  fileValue,
  naturalCompare,
  plainRecord,
  relativeKey,
  renderScalar,
  ZoneFileError,
} from "./convert.js";
import type { FileRecord, ParsedZone } from "./convert.js";

type Range = [number, number, number];

/**
 * What an edit does, as far as another edit planned against the same parse cares:
 * - inline: replaces scalars inside one record, reads nothing else;
 * - entry: rewrites or extends the lines of one name, reads the file's indentation step;
 * - remove: removes lines, and reads (and may remove) the blank line on either side;
 * - insert: a new name, placed by the file's key order, separator style and indentation;
 * - file: rewrites the whole file (a zone that held no records).
 */
export type EditKind = "inline" | "entry" | "remove" | "insert" | "file";

export interface Edit {
  kind: EditKind;
  splices: Splice[];
  /** First and last offset the edit reads or writes, both inclusive. */
  reach: [number, number];
  /** remove: the top-level entry that goes away whole, if it does. */
  removesEntry?: Pair;
  /** insert: the new key; whether the file's keys are sorted (else the name is appended). */
  insert?: { key: string; sorted: boolean; append: boolean };
}

export function applyEdit(text: string, edit: Edit): string {
  return applySplices(text, edit.splices);
}

function edit(
  text: string,
  kind: EditKind,
  splices: Splice[],
  extra: Omit<Edit, "kind" | "splices" | "reach"> = {},
): Edit {
  const from = Math.min(...splices.map((s) => s.at));
  const to = Math.max(...splices.map((s) => s.end));
  // A removal looked at the line above and the line below it (removeLines); anything that
  // touches those lines does not commute with it.
  const reach: [number, number] =
    kind === "remove"
      ? [from === 0 ? 0 : lineStart(text, from - 1), to >= text.length ? text.length : lineEnd(text, to + 1)]
      : kind === "file"
        ? [0, text.length]
        : [kind === "insert" ? from : lineStart(text, from), to];
  return { kind, splices, reach, ...extra };
}

function range(node: unknown): Range {
  const r = (node as { range?: Range | null } | null)?.range;
  if (!r) throw new Error("yaml node without a source range");
  return r;
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/** The offset just past the line holding `pos` (pos itself when it already starts a line). */
function lineEnd(text: string, pos: number): number {
  if (pos === 0 || text[pos - 1] === "\n") return pos;
  const nl = text.indexOf("\n", pos);
  return nl === -1 ? text.length : nl + 1;
}

function column(text: string, pos: number): number {
  const start = lineStart(text, pos);
  // A byte order mark is not part of the first line's indentation.
  return pos - start - (start === 0 && pos > 0 && text.startsWith("\ufeff") ? 1 : 0);
}

function isBlankLine(text: string, start: number): boolean {
  const nl = text.indexOf("\n", start);
  return /^[ \t\r]*$/.test(text.slice(start, nl === -1 ? text.length : nl));
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

function spaces(n: number): string {
  return " ".repeat(n);
}

/** The record's lines in dkimsync's order `ttl, type, value` (octoDNS enforce_order sorts keys). */
function recordBody(set: RecordSet, indent: string, unit: number): string {
  const lines = [`ttl: ${set.ttl}`, `type: ${set.type}`];
  const values = set.values.map((v) => renderScalar(fileValue(set.type, v)));
  if (values.length === 1) lines.push(`value: ${values[0]}`);
  else lines.push("values:", ...values.map((v) => `${spaces(unit)}- ${v}`));
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join("\n") + "\n";
}

function recordJson(set: RecordSet): Record<string, unknown> {
  const values = set.values.map((v) => fileValue(set.type, v));
  return values.length === 1
    ? { ttl: set.ttl, type: set.type, value: values[0] }
    : { ttl: set.ttl, type: set.type, values };
}

/** Indentation step of the file: how far the first nested record sits from its key. */
function indentUnit(text: string, parsed: ParsedZone): number {
  return indentation(text, parsed)?.unit ?? 2;
}

/** The indentation step and the entry it is read from (undefined: none, the step is 2). */
export function indentation(text: string, parsed: ParsedZone): { unit: number; entry: Pair } | undefined {
  const top = parsed.doc.contents;
  if (!isMap(top)) return undefined;
  for (const item of top.items) {
    const value = (item as Pair).value;
    if ((isMap(value) || isSeq(value)) && !value.flow) {
      const unit = column(text, range(value)[0]) - column(text, range(item.key)[0]);
      if (unit > 0) return { unit, entry: item as Pair };
    }
  }
  return undefined;
}

/** Where a top-level entry begins, including the comment lines directly above its key. */
function entryStart(text: string, pair: Pair): number {
  let start = lineStart(text, range(pair.key)[0]);
  while (start > 0) {
    const prev = lineStart(text, start - 1);
    if (
      !text
        .slice(prev, start)
        .replace(/^\ufeff/, "")
        .trimStart()
        .startsWith("#")
    )
      break;
    start = prev;
  }
  // A byte order mark stays the file's first character (YAML 1.2 5.2).
  return start === 0 && text.startsWith("\ufeff") ? 1 : start;
}

/** The lines of one top-level entry: key line through the last line of its value. */
function entryLines(text: string, pair: Pair): [number, number] {
  const start = lineStart(text, range(pair.key)[0]);
  return [start === 0 && text.startsWith("\ufeff") ? 1 : start, lineEnd(text, range(pair.value)[2])];
}

/** True when the file separates its top-level entries with blank lines. */
function usesBlankLines(text: string, items: Pair[]): boolean {
  let blank = 0;
  for (const item of items.slice(1)) {
    const start = entryStart(text, item);
    if (start > 0 && isBlankLine(text, lineStart(text, start - 1))) blank++;
  }
  return items.length > 1 && blank * 2 >= items.length - 1;
}

/**
 * Remove whole lines, and one blank separator line with them so no double gap is left. A blank
 * line that belongs to a node above (a block scalar with keep chomping, `|+`, holds its trailing
 * blank lines as part of its value: YAML 1.2 8.1.1.2) is never taken.
 */
function removeLines(text: string, parsed: ParsedZone, start: number, end: number): Splice {
  const prevBlank = start === 0 || isBlankLine(text, lineStart(text, start - 1));
  if (end < text.length && prevBlank && isBlankLine(text, end)) end = lineEnd(text, end + 1);
  else if (
    end >= text.length &&
    start > 0 &&
    prevBlank &&
    lineStart(text, start - 1) >= contentEndBefore(parsed, start)
  )
    start = lineStart(text, start - 1);
  return { at: start, end, insert: "" };
}

/** The end of the last scalar's source (a block scalar's kept blank lines included) at or before `pos`. */
function contentEndBefore(parsed: ParsedZone, pos: number): number {
  let max = 0;
  visit(parsed.doc, {
    Scalar(_key, node) {
      const end = node.range?.[1];
      if (end !== undefined && end <= pos && end > max) max = end;
    },
  });
  return max;
}

function isBlockEntry(pair: Pair): boolean {
  const value = pair.value;
  if (isMap(value)) return !value.flow;
  if (isSeq(value)) return !value.flow && value.items.every((i) => isMap(i) && !i.flow);
  return false;
}

/**
 * Rewrite one top-level entry in block style from plain data: the fallback for flow style.
 * Comments inside that entry are lost; every other line stays.
 */
function rewriteEntry(text: string, parsed: ParsedZone, pair: Pair, records: Array<Record<string, unknown>>): Edit {
  const [start, end] = entryLines(text, pair);
  if (records.length === 0)
    return edit(text, "remove", [removeLines(text, parsed, start, end)], { removesEntry: pair });
  const unit = indentUnit(text, parsed);
  const body = stringify(records.length === 1 ? records[0] : records, { lineWidth: 0, indent: unit })
    .split("\n")
    .map((l) => (l === "" ? l : spaces(unit) + l))
    .join("\n");
  const keyRange = range(pair.key);
  return edit(text, "entry", [{ at: start, end, insert: `${text.slice(keyRange[0], keyRange[1])}:\n${body}` }]);
}

function entryRecords(pair: Pair): YAMLMap[] {
  return (isSeq(pair.value) ? pair.value.items : [pair.value]) as YAMLMap[];
}

export function deleteRecord(text: string, parsed: ParsedZone, rec: FileRecord): Edit {
  const pair = rec.pair;
  const siblings = entryRecords(pair);
  if (siblings.length === 1) {
    const [start, end] = entryLines(text, pair);
    return edit(text, "remove", [removeLines(text, parsed, start, end)], { removesEntry: pair });
  }
  if (!isBlockEntry(pair)) {
    return rewriteEntry(
      text,
      parsed,
      pair,
      siblings.filter((n) => n !== rec.node).map((n) => plainRecord(n, parsed.doc)),
    );
  }
  const r = range(rec.node);
  return edit(text, "remove", [removeLines(text, parsed, lineStart(text, r[0]), lineEnd(text, r[2]))]);
}

/**
 * Put a new record in place of the only record at its name, where the old one stood: how
 * `--force` replaces a conflicting TXT with the CNAME (delete, then create, at one name).
 */
export function replaceEntry(text: string, parsed: ParsedZone, rec: FileRecord, set: RecordSet): Edit {
  if (!isBlockEntry(rec.pair)) return rewriteEntry(text, parsed, rec.pair, [recordJson(set)]);
  const [start, end] = entryLines(text, rec.pair);
  const unit = indentUnit(text, parsed);
  const keyRange = range(rec.pair.key);
  return edit(text, "entry", [
    {
      at: start,
      end,
      insert: `${text.slice(keyRange[0], keyRange[1])}:\n${spaces(unit)}${recordBody(set, spaces(unit), unit)}`,
    },
  ]);
}

export function updateRecord(text: string, parsed: ParsedZone, rec: FileRecord, after: RecordSet): Edit {
  const node = rec.node;
  const find = (key: string) =>
    node.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<Scalar, unknown> | undefined;
  const ttl = find("ttl");
  const value = find("value");
  const simple =
    isBlockEntry(rec.pair) &&
    !borrowsData(node) &&
    after.values.length === 1 &&
    value !== undefined &&
    isScalar(value.value) &&
    find("values") === undefined &&
    (ttl === undefined || isScalar(ttl.value));
  if (!simple) {
    const records = entryRecords(rec.pair).map((n) => {
      if (n !== node) return plainRecord(n, parsed.doc);
      const { ttl: _t, type: _y, value: _v, values: _vs, ...rest } = plainRecord(n, parsed.doc);
      return { ...rest, ...recordJson(after) };
    });
    return rewriteEntry(text, parsed, rec.pair, records);
  }
  const edits: Splice[] = [];
  if (rec.set.values[0] !== after.values[0]) {
    const vr = range(value.value);
    edits.push({ at: vr[0], end: vr[1], insert: renderScalar(fileValue(after.type, after.values[0] as string)) });
  }
  if (ttl !== undefined) {
    const tr = range(ttl.value);
    if ((ttl.value as Scalar).value !== after.ttl) edits.push({ at: tr[0], end: tr[1], insert: String(after.ttl) });
  } else if (after.ttl !== DEFAULT_TTL) {
    // A new `ttl` goes before the first key that sorts after it, keeping octoDNS's key order.
    const keys = node.items.map((p) => p.key as Scalar);
    const sorted = keys.every((k, i) => i === 0 || naturalCompare(String(keys[i - 1]?.value), String(k.value)) <= 0);
    const before = (sorted ? keys.find((k) => naturalCompare("ttl", String(k.value)) < 0) : undefined) ?? keys[0];
    if (before === undefined) throw new Error("record without keys");
    const at = range(before)[0];
    edits.push({ at, end: at, insert: `ttl: ${after.ttl}\n${spaces(column(text, at))}` });
  }
  if (edits.length === 0) {
    // Same values and ttl: nothing to write, but the record's place still counts as touched.
    const r = range(node);
    return edit(text, "inline", [{ at: r[0], end: r[0], insert: "" }]);
  }
  return edit(text, "inline", edits);
}

export function createRecord(text: string, parsed: ParsedZone, zone: string, set: RecordSet): Edit {
  const unit = indentUnit(text, parsed);
  const existing = parsed.records.find((r) => r.set.name === set.name);
  if (existing) {
    const pair = existing.pair;
    if (!isBlockEntry(pair)) {
      return rewriteEntry(text, parsed, pair, [
        ...entryRecords(pair).map((n) => plainRecord(n, parsed.doc)),
        recordJson(set),
      ]);
    }
    const entry = (splices: Splice[]) => edit(text, "entry", splices);
    const value = pair.value as YAMLMap | YAMLSeq;
    const vr = range(value);
    const indent = column(text, vr[0]);
    const item = `${spaces(indent)}- ${recordBody(set, spaces(indent + 2), unit)}`;
    const end = lineEnd(text, vr[2]);
    if (isSeq(value)) return entry([{ at: end, end, insert: item }]);
    // A single record becomes the first item of a list (octoDNS: several types at one name).
    const start = lineStart(text, vr[0]);
    const converted = text
      .slice(start, end)
      .split("\n")
      .map((line, i) =>
        i === 0 ? `${line.slice(0, indent)}- ${line.slice(indent)}` : line === "" ? line : `  ${line}`,
      )
      .join("\n");
    return entry([{ at: start, end, insert: converted + item }]);
  }
  const key = relativeKey(set.name, zone);
  const block = `${renderScalar(key)}:\n${spaces(unit)}${recordBody(set, spaces(unit), unit)}`;
  const top = parsed.doc.contents;
  const whole = (out: string) => edit(text, "file", [{ at: 0, end: text.length, insert: out }]);
  if (top === null) return whole(appendEntry(text, block, false));
  if (isScalar(top) && top.value === null) {
    // `--- ~` or `null`: an empty zone written as an explicit null; the null goes, as `{}` does.
    const r = range(top);
    return whole(
      appendEntry(r[1] > r[0] ? splice(text, r[0], r[1], "").replace(/^---[ \t]+$/m, "---") : text, block, false),
    );
  }
  if (!isMap(top)) throw new ZoneFileError(undefined, "the top level must map record names to records");
  if (top.flow) {
    if (top.items.length > 0)
      throw new ZoneFileError(
        undefined,
        "the zone file is written in flow style ({...}); write it in block style (name: record, one per line)",
      );
    // `--- {}` is how octoDNS writes an empty zone.
    const r = range(top);
    return whole(appendEntry(splice(text, r[0], r[1], "").replace(/[ \t]+$/m, ""), block, false));
  }
  const items = top.items as Pair[];
  const blank = usesBlankLines(text, items);
  const keys = items.map((p) => String((p.key as Scalar).value ?? ""));
  const sorted = keys.every((k, i) => i === 0 || naturalCompare(keys[i - 1] as string, k) <= 0);
  // In a sorted file the new name takes its sorted place: octoDNS's YamlProvider refuses to
  // load a file whose keys are out of order (enforce_order, on by default).
  const next = sorted ? items.find((p, i) => naturalCompare(key, keys[i] as string) < 0) : undefined;
  const at = next === undefined ? text.length : entryStart(text, next);
  const insert = next === undefined ? appendEntry(text, block, blank).slice(text.length) : block + (blank ? "\n" : "");
  return edit(text, "insert", [{ at, end: at, insert }], { insert: { key, sorted, append: next === undefined } });
}

function appendEntry(text: string, block: string, blank: boolean): string {
  const body = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  return body + (blank ? "\n" : "") + block;
}

/**
 * Whether names appended at the end of this file can be planned against one parse. After one
 * append, the next name's place is read again, and two endings make it read differently: a
 * last line that is a comment (entryStart() takes it as the appended name's comment) or blank
 * (usesBlankLines() then counts one more blank separator); a missing final newline is added
 * only once.
 */
export function appendsCommute(text: string): boolean {
  if (!text.endsWith("\n")) return false;
  const last = text.slice(lineStart(text, text.length - 1), -1).trim();
  return last !== "" && !last.startsWith("#");
}
