/**
 * Write imported selector targets into the user's dkim.zones.yaml without disturbing anything
 * else: comments, blank lines, key order, quoting and alignment stay byte for byte.
 *
 * The `yaml` Document API finds the nodes and their source ranges; the edit is then a splice of
 * the original text at those ranges. Re-stringifying the Document would normalise the whole file
 * (observed with yaml 2.9: aligned `# comments` lose their column, a comment after a mapping key
 * moves to its own line), which a reviewed GitOps file must not suffer. The result is parsed
 * again and compared with the intended data before anything is written.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parseDocument, visit, type Document, type Pair, type Scalar, type YAMLMap } from "yaml";
import { InputError } from "../core/errors.js";
import { canonical, normaliseDomain, SELECTORS, type Selector } from "../core/names.js";
import { applySplices, type Splice } from "../util/yaml-splice.js";

export interface ImportTargets {
  /** Canonical domain. */
  domain: string;
  selector1: string;
  selector2: string;
}

export interface EditOptions {
  /** Append domains that are not in the file (needs `provider`). */
  add: boolean;
  /** Provider for appended domains: a key under `providers:`. */
  provider?: string;
}

export interface TargetChange {
  selector: Selector;
  /** As written in the file before (undefined: the key was not there). */
  before?: string;
  after: string;
}

export type EditOutcome =
  | { domain: string; action: "unchanged"; key: string }
  | { domain: string; action: "update"; key: string; changes: TargetChange[] }
  | { domain: string; action: "add"; provider: string; changes: TargetChange[] }
  | { domain: string; action: "skip"; reason: string };

export interface EditResult {
  /** The new file text (identical to the input when nothing changes). */
  text: string;
  changed: boolean;
  outcomes: EditOutcome[];
}

/**
 * Compute the edited config text. Pure: reads and writes no files. Throws InputError for a config
 * that cannot be edited safely (YAML errors, `domains:` not a mapping, unknown --provider).
 */
export function editConfigTargets(
  source: string,
  file: string,
  imports: readonly ImportTargets[],
  opts: EditOptions,
): EditResult {
  const doc = parseConfig(source, file);
  const root = doc.contents;
  if (!isMap(root))
    throw new InputError({ file, line: 1 }, "is not a YAML mapping", {
      hint: "see the dkim.zones.yaml example in docs/reference/configuration.md",
    });

  if (opts.add) checkProvider(doc, source, file, opts.provider);

  const eol = source.includes("\r\n") ? "\r\n" : "\n";
  const domainsPair = root.items.find((p) => isScalar(p.key) && p.key.value === "domains") as
    | Pair<Scalar, unknown>
    | undefined;
  const domainsNode = domainsPair?.value;
  if (
    domainsNode !== undefined &&
    domainsNode !== null &&
    !isMap(domainsNode) &&
    !(isScalar(domainsNode) && domainsNode.value === null)
  ) {
    throw new InputError(whereOf(source, file, domainsPair!.key), "domains: must be a mapping of domain names", {});
  }
  const domainsMap = isMap(domainsNode) ? domainsNode : undefined;
  if (domainsMap?.flow && opts.add && domainsMap.items.length > 0) {
    // Appending to a one-line `{a: ..., b: ...}` would need a reflow of the user's line.
    throw new InputError(whereOf(source, file, domainsPair!.key), "domains: is written in flow style ({ ... })", {
      hint: "write domains: as a block mapping (one domain per line) to let import --add append to it",
    });
  }

  const entries = new Map<string, Pair<Scalar, unknown>>();
  for (const pair of domainsMap?.items ?? []) {
    if (!isScalar(pair.key)) continue;
    const n = normaliseDomain(String(pair.key.value));
    if ("name" in n && !entries.has(n.name)) entries.set(n.name, pair as Pair<Scalar, unknown>);
  }

  const splices: Splice[] = [];
  const outcomes: EditOutcome[] = [];
  const added: ImportTargets[] = [];
  for (const imp of imports) {
    const pair = entries.get(imp.domain);
    if (pair === undefined) {
      if (!opts.add || opts.provider === undefined) {
        outcomes.push({
          domain: imp.domain,
          action: "skip",
          reason: "not in the config; use --add --provider P to add it",
        });
        continue;
      }
      added.push(imp);
      outcomes.push({
        domain: imp.domain,
        action: "add",
        provider: opts.provider,
        changes: SELECTORS.map((s) => ({ selector: s, after: imp[s] })),
      });
      continue;
    }
    const key = String(pair.key.value);
    const changes = editEntry(source, file, pair, imp, eol, splices);
    outcomes.push(
      changes.length === 0
        ? { domain: imp.domain, action: "unchanged", key }
        : { domain: imp.domain, action: "update", key, changes },
    );
  }
  if (added.length > 0)
    splices.push(appendDomains(source, domainsPair, domainsMap, added, opts.provider as string, eol));

  const text = applySplices(source, splices);
  if (text !== source) verify(source, text, file, outcomes);
  return { text, changed: text !== source, outcomes };
}

/**
 * The yaml package checks that mapping keys are unique by comparing each key with every
 * earlier one: quadratic, most of the time of an import of thousands of domains. Its check is
 * turned off and done here with a Set per mapping (scalar keys; YAML 1.2 3.2.1.1 requires
 * unique keys), giving the same refusal.
 */
const PARSE = { uniqueKeys: false } as const;

function parseConfig(source: string, file: string): Document.Parsed {
  const doc = parseDocument(source, PARSE);
  const err = doc.errors[0];
  if (err !== undefined) {
    throw new InputError({ file, line: err.linePos?.[0]?.line }, `is not valid YAML: ${err.message.split("\n")[0]}`, {
      cause: err,
    });
  }
  const dup = duplicateKey(doc);
  if (dup !== undefined) {
    throw new InputError(
      whereOf(source, file, dup),
      `is not valid YAML: map keys must be unique ("${String(dup.value)}" is written twice)`,
      {
        hint: "remove or merge one of the two entries",
      },
    );
  }
  return doc;
}

function duplicateKey(doc: Document.Parsed): Scalar | undefined {
  let found: Scalar | undefined;
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const p of map.items) {
        if (!isScalar(p.key)) continue;
        if (seen.has(p.key.value)) {
          found = p.key;
          return visit.BREAK;
        }
        seen.add(p.key.value);
      }
      return undefined;
    },
  });
  return found;
}

function checkProvider(doc: Document.Parsed, source: string, file: string, provider: string | undefined): void {
  if (provider === undefined) {
    throw new InputError({ file }, "--add needs --provider P: the provider that serves the added domains", {
      hint: "name a key under providers:, e.g. dkimsync import dkim.json --add --provider zones",
    });
  }
  const root = doc.contents as YAMLMap<unknown, unknown>;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === "providers") as
    | Pair<Scalar, unknown>
    | undefined;
  const providers = pair?.value;
  const names = isMap(providers) ? providers.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
  if (!names.includes(provider)) {
    throw new InputError(
      pair ? whereOf(source, file, pair.key) : { file },
      `--provider ${provider} is not defined under providers:`,
      {
        hint: names.length > 0 ? `use one of: ${names.join(", ")}` : "define the provider under providers: first",
      },
    );
  }
}

/** Splices that set both targets of one existing domain entry; returns what changes. */
function editEntry(
  source: string,
  file: string,
  pair: Pair<Scalar, unknown>,
  imp: ImportTargets,
  eol: string,
  out: Splice[],
): TargetChange[] {
  const value = pair.value;
  const changes: TargetChange[] = [];
  if (!isMap(value)) {
    if (isScalar(value) && value.value === null) {
      // `example.com:` with nothing under it: give it a block with the two targets.
      const indent = " ".repeat(columnOf(source, pair.key.range![0]) + 2);
      const at = lineEnd(source, pair.key.range![1]);
      out.push({ at, end: at, insert: SELECTORS.map((s) => `${eol}${indent}${s}: ${imp[s]}`).join("") });
      return SELECTORS.map((s) => ({ selector: s, after: imp[s] }));
    }
    throw new InputError(
      whereOf(source, file, pair.key),
      `domain ${imp.domain} must be a mapping (provider:, selector1:, ...)`,
    );
  }
  const map = value as YAMLMap<unknown, unknown>;
  const missing: Selector[] = [];
  for (const s of SELECTORS) {
    const p = map.items.find((i) => isScalar(i.key) && i.key.value === s);
    if (p === undefined) {
      missing.push(s);
      continue;
    }
    const v = p.value;
    const before = isScalar(v) && v.value !== null ? String(v.value) : undefined;
    // The same target in another case or with a trailing dot is the same target: leave the
    // user's spelling alone (names compare case-insensitively, without the trailing dot).
    if (before !== undefined && canonical(before) === canonical(imp[s])) continue;
    changes.push({ selector: s, ...(before === undefined ? {} : { before }), after: imp[s] });
    out.push(replaceValue(source, file, p as Pair<Scalar, unknown>, imp[s]));
  }
  if (missing.length > 0) {
    changes.push(...missing.map((s) => ({ selector: s, after: imp[s] })));
    out.push(
      insertKeys(
        source,
        map,
        missing.map((s) => [s, imp[s]]),
        eol,
      ),
    );
  }
  return changes;
}

/** Replace a scalar value in place, keeping its quote style and any comment after it. */
function replaceValue(source: string, file: string, pair: Pair<Scalar, unknown>, next: string): Splice {
  const v = pair.value;
  if (isScalar(v) && v.range && v.range[1] > v.range[0]) {
    if (v.type === "BLOCK_LITERAL" || v.type === "BLOCK_FOLDED") {
      throw new InputError(whereOf(source, file, pair.key), `${String(pair.key.value)} is a block scalar (| or >)`, {
        hint: `write it as a plain value: ${String(pair.key.value)}: ${next}`,
      });
    }
    const quoted = v.type === "QUOTE_DOUBLE" ? `"${next}"` : v.type === "QUOTE_SINGLE" ? `'${next}'` : next;
    return { at: v.range[0], end: v.range[1], insert: quoted };
  }
  // `selector1:` with no value: write it after the colon.
  const colon = source.indexOf(":", pair.key.range![1]);
  return { at: colon + 1, end: colon + 1, insert: ` ${next}` };
}

/** Insert `key: value` lines into a mapping: after selector1 when it is there, else at the end. */
function insertKeys(source: string, map: YAMLMap<unknown, unknown>, keys: [string, string][], eol: string): Splice {
  if (map.flow) {
    const close = source.lastIndexOf("}", map.range![1]);
    let at = close;
    while (at > 0 && /\s/.test(source[at - 1] as string)) at--;
    const sep = map.items.length > 0 ? ", " : "";
    return { at, end: at, insert: sep + keys.map(([k, v]) => `${k}: ${v}`).join(", ") };
  }
  const anchor =
    map.items.find((i) => isScalar(i.key) && i.key.value === "selector1") ?? map.items[map.items.length - 1];
  const firstKey = map.items[0]?.key as Scalar;
  const indent = " ".repeat(columnOf(source, firstKey.range![0]));
  const anchorEnd = nodeEnd(anchor as Pair<Scalar, unknown>);
  const at = lineEnd(source, anchorEnd);
  return { at, end: at, insert: keys.map(([k, v]) => `${eol}${indent}${k}: ${v}`).join("") };
}

/** Append new domain entries (block style) at the end of `domains:`, creating it if needed. */
function appendDomains(
  source: string,
  domainsPair: Pair<Scalar, unknown> | undefined,
  map: YAMLMap<unknown, unknown> | undefined,
  added: ImportTargets[],
  provider: string,
  eol: string,
): Splice {
  const entryText = (indent: string, step: string): string =>
    added
      .map((a) =>
        [
          `${indent}${a.domain}:`,
          `${indent}${step}provider: ${provider}`,
          `${indent}${step}selector1: ${a.selector1}`,
          `${indent}${step}selector2: ${a.selector2}`,
        ].join(eol),
      )
      .join(eol);

  if (map !== undefined && map.items.length > 0) {
    const first = map.items[0] as Pair<Scalar, unknown>;
    const indentCol = columnOf(source, first.key.range![0]);
    const child =
      isMap(first.value) && !first.value.flow ? (first.value.items[0]?.key as Scalar | undefined) : undefined;
    const step = " ".repeat(child?.range ? Math.max(1, columnOf(source, child.range[0]) - indentCol) : 2);
    const last = map.items[map.items.length - 1] as Pair<Scalar, unknown>;
    const at = lineEnd(source, nodeEnd(last));
    return { at, end: at, insert: eol + entryText(" ".repeat(indentCol), step) };
  }
  if (domainsPair !== undefined) {
    // `domains:` or `domains: {}` with no entries: the block goes right after the key.
    const from = source.indexOf(":", domainsPair.key.range![1]) + 1;
    const v = domainsPair.value as { range?: [number, number, number] } | null;
    if (v?.range && v.range[1] > v.range[0]) return { at: from, end: v.range[1], insert: eol + entryText("  ", "  ") };
    // Nothing written after `domains:` but perhaps a comment: keep it on the key's line.
    const at = lineEnd(source, from);
    return { at, end: at, insert: eol + entryText("  ", "  ") };
  }
  const tail = source.length === 0 || source.endsWith("\n") ? "" : eol;
  return { at: source.length, end: source.length, insert: `${tail}domains:${eol}${entryText("  ", "  ")}${eol}` };
}

/**
 * The edited text must mean exactly the old data plus the intended targets; anything else is a
 * bug in the splicing, and the file is left alone.
 */
function verify(before: string, after: string, file: string, outcomes: EditOutcome[]): void {
  const expected = parseDocument(before, PARSE).toJS() as Record<string, unknown>;
  const domains = (expected.domains ??= {}) as Record<string, Record<string, unknown> | null>;
  for (const o of outcomes) {
    if (o.action === "update") {
      const entry = (domains[o.key] ??= {}) as Record<string, unknown>;
      for (const c of o.changes) entry[c.selector] = c.after;
    } else if (o.action === "add") {
      domains[o.domain] = Object.fromEntries([
        ["provider", o.provider],
        ...o.changes.map((c) => [c.selector, c.after]),
      ]);
    }
  }
  const doc = parseDocument(after, PARSE);
  if (doc.errors.length > 0 || !isDeepStrictEqual(doc.toJS(), expected)) {
    throw new InputError({ file }, "could not be edited safely; nothing was written", {
      hint: "set selector1: and selector2: by hand, and report this file's layout as a dkimsync bug",
    });
  }
}

function nodeEnd(pair: Pair<Scalar, unknown>): number {
  const v = pair.value as { range?: [number, number, number] } | null;
  return v?.range ? v.range[1] : pair.key.range![1];
}

/** The offset of the line break ending the line that contains `offset` (or the text's end). */
function lineEnd(source: string, offset: number): number {
  // A value range may end just after its line break; step back onto the value's own line.
  let from = offset;
  while (from > 0 && (source[from - 1] === "\n" || source[from - 1] === "\r")) from--;
  const nl = source.indexOf("\n", from);
  if (nl < 0) return source.length;
  return source[nl - 1] === "\r" ? nl - 1 : nl;
}

function columnOf(source: string, offset: number): number {
  return offset - (source.lastIndexOf("\n", offset - 1) + 1);
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

function whereOf(
  source: string,
  file: string,
  node: { range?: [number, number, number] | null | undefined },
): { file: string; line?: number } {
  return node.range ? { file, line: lineAt(source, node.range[0]) } : { file };
}
