/**
 * Read Microsoft's exact DKIM selector targets from what an administrator can paste or export:
 * `Get-DkimSigningConfig | ConvertTo-Json`, `Get-DkimSigningConfig | Format-List`, or the
 * Exchange "CNAME record does not exist for this config" error that the Defender portal shows
 * when signing is enabled before the CNAMEs exist. The format is recognised by content.
 * Facts: Microsoft Learn, "Set up DKIM to sign mail from your Microsoft 365 domain" and the
 * Get-DkimSigningConfig reference.
 */
import { InputError, type Where } from "../core/errors.js";
import { parseSigningConfig, validateTargets } from "./targets.js";
import { canonical, normaliseDomain, type Selector } from "../core/names.js";

export type ImportFormat = "json" | "format-list" | "exchange-error";

/** One domain as read from the input. Targets are canonical; absent when Microsoft has none. */
export interface ImportedEntry {
  domain: string;
  selector1?: string;
  selector2?: string;
  /** As exported (`Valid`, `CnameMissing`, `NoDKIMKeys`, ...); the error text has none. */
  status?: string;
  where: Where;
}

export interface ParsedImport {
  format: ImportFormat;
  entries: ImportedEntry[];
}

export const ACCEPTED_FORMATS =
  "Get-DkimSigningConfig | ConvertTo-Json output, Get-DkimSigningConfig | Format-List output, " +
  'or the Exchange error text "CNAME record does not exist for this config..."';

/**
 * Bytes of an input file as text. Windows PowerShell 5.1 writes `>` redirections as UTF-16LE
 * with a BOM; PowerShell 7 writes UTF-8 (a BOM is common when a file is saved from Notepad).
 */
export function decodeInput(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString("utf16le");
  if (b[0] === 0xfe && b[1] === 0xff) return Buffer.from(b.subarray(2)).swap16().toString("utf16le");
  // UTF-16LE without a BOM: ASCII text then has a NUL in every odd byte.
  if (b.length >= 4 && b[1] === 0 && b[3] === 0 && b[0] !== 0) return b.toString("utf16le");
  return b.toString("utf8").replace(/^\uFEFF/, "");
}

/** Which of the accepted formats the text is, or undefined. */
export function detectFormat(text: string): ImportFormat | undefined {
  const t = text.replace(/^\uFEFF/, "").trimStart();
  if (t.startsWith("{") || t.startsWith("[")) return "json";
  if (/CNAME\s+record\s+does\s+not\s+exist/i.test(t) || POINTS_TO.test(t)) return "exchange-error";
  if (/^[ \t]*(Selector1CNAME|Selector2CNAME)[ \t]*:/im.test(t)) return "format-list";
  return undefined;
}

/** Parse and validate an import file's text. Throws InputError naming the file (and line). */
export function parseImport(text: string, file: string): ParsedImport {
  const clean = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const format = detectFormat(clean);
  let entries: ImportedEntry[];
  switch (format) {
    case "json":
      entries = parseJson(clean, file);
      break;
    case "format-list":
      entries = parseFormatList(clean, file);
      break;
    case "exchange-error":
      entries = parseExchangeError(clean, file);
      break;
    default:
      throw new InputError({ file }, "is not a format dkimsync can import", {
        hint: `give ${ACCEPTED_FORMATS}. For example: Get-DkimSigningConfig | ConvertTo-Json > dkim.json`,
      });
  }
  if (entries.length === 0) {
    throw new InputError({ file }, "names no domain", { hint: `give ${ACCEPTED_FORMATS}` });
  }
  for (const e of entries) checkEntry(e);
  return { format, entries: dedupe(entries) };
}

// ---------------------------------------------------------------------------------------------
// ConvertTo-Json

/**
 * The JSON itself is read by m365.parseSigningConfig (the same reader as `signing_config:` in
 * dkim.zones.yaml); here only a syntax error gets its line, which Node 20's messages omit.
 */
function parseJson(text: string, file: string): ImportedEntry[] {
  const bad = jsonErrorOffset(text);
  if (bad !== undefined) {
    throw new InputError({ file, line: lineAt(text, bad) }, "is not valid JSON", {
      hint: "export it again with Get-DkimSigningConfig | ConvertTo-Json > dkim.json",
    });
  }
  return parseSigningConfig(text, file).map((e) => {
    const line = lineOfDomain(text, e.domain);
    const entry: ImportedEntry = { domain: e.domain, where: line === undefined ? { file } : { file, line } };
    if (e.selector1 !== undefined) entry.selector1 = e.selector1;
    if (e.selector2 !== undefined) entry.selector2 = e.selector2;
    if (e.status !== undefined) entry.status = e.status;
    return entry;
  });
}

/** Offset of the first JSON syntax error (RFC 8259 grammar), or undefined when none is found. */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = (): void => {
    while (/[ \t\n\r]/.test(text[i] ?? "")) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === "{") {
          ws();
          if (text[i] !== '"') fail();
          str();
          ws();
          if (text[i] !== ":") fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === close) {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      else if (text.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  try {
    value();
    ws();
    return i < text.length ? i : undefined;
  } catch (at) {
    return typeof at === "number" ? Math.min(at, text.length) : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Format-List

interface ListRecord {
  fields: Map<string, { value: string; line: number }>;
  line: number;
}

/**
 * `Name : Value` lines, the colon column-aligned with spaces; several objects separated by blank
 * lines. Format-List wraps a long value at the console width onto continuation lines indented
 * to the value column, breaking hostnames mid-label, so continuations join without a space.
 */
function parseFormatList(text: string, file: string): ImportedEntry[] {
  const records: ListRecord[] = [];
  let current: ListRecord | undefined;
  let keyIndent = 0;
  let colonCol = 0;
  let last: { value: string; line: number } | undefined;
  const lines = text.split("\n");
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    if (raw.trim() === "") {
      current = undefined;
      last = undefined;
      continue;
    }
    // A pasted prompt line, e.g. `PS C:\> Get-DkimSigningConfig | fl`.
    if (/^\s*PS [^>]*>/.test(raw)) continue;
    const indent = raw.length - raw.trimStart().length;
    const m = KEY_LINE.exec(raw);
    const colon = m ? (m[1] as string).length + (m[2] as string).length + (m[3] as string).length : -1;
    if (current === undefined) {
      if (!m) {
        throw new InputError({ file, line }, "expected a `Name : Value` line of Format-List output", {
          hint: "give the output of Get-DkimSigningConfig -Identity example.com | Format-List Domain,Selector1CNAME,Selector2CNAME",
        });
      }
      current = { fields: new Map(), line };
      records.push(current);
      keyIndent = indent;
      colonCol = colon;
    } else if (!m || (indent !== keyIndent && colon !== colonCol)) {
      if (indent > keyIndent && last !== undefined) {
        last.value += raw.trim();
        continue;
      }
      throw new InputError({ file, line }, "is neither a `Name : Value` line nor an indented continuation of one", {
        hint: "keep the Format-List output as PowerShell printed it (blank lines between domains)",
      });
    }
    const key = (m![2] as string).toLowerCase();
    last = { value: (m![4] ?? "").trim(), line };
    current.fields.set(key, last);
  }

  const entries: ImportedEntry[] = [];
  for (const r of records) {
    const d = r.fields.get("domain") ?? r.fields.get("name") ?? r.fields.get("identity");
    const s1 = r.fields.get("selector1cname");
    const s2 = r.fields.get("selector2cname");
    // Blocks without any DKIM field (a banner, another cmdlet's output) are not ours to read.
    if (d === undefined && s1 === undefined && s2 === undefined) continue;
    const where: Where = { file, line: d?.line ?? r.line };
    if (d === undefined || d.value === "") {
      throw new InputError(where, "this Format-List block has no Domain, Name or Identity", {
        hint: "include Domain: Get-DkimSigningConfig | Format-List Domain,Selector1CNAME,Selector2CNAME",
      });
    }
    const domain = domainOf(d.value, where);
    if (s1 === undefined || s2 === undefined) {
      throw new InputError(where, `${domain} has no ${s1 === undefined ? "Selector1CNAME" : "Selector2CNAME"} line`, {
        hint: "include both: Get-DkimSigningConfig | Format-List Domain,Selector1CNAME,Selector2CNAME",
      });
    }
    const entry: ImportedEntry = { domain, where };
    if (s1.value !== "") entry.selector1 = canonical(s1.value);
    if (s2.value !== "") entry.selector2 = canonical(s2.value);
    const status = r.fields.get("status");
    if (status !== undefined && status.value !== "") entry.status = status.value;
    entries.push(entry);
  }
  return entries;
}

/** indent, property name, spaces, `:`, value. Property names are identifiers. */
const KEY_LINE = /^(\s*)([A-Za-z][A-Za-z0-9]*)([ \t]*):(?:[ \t]+(.*)|[ \t]*)$/;

// ---------------------------------------------------------------------------------------------
// The Exchange "CNAME record does not exist" error

/** Wording as shown by the Defender portal (Microsoft Learn, "Set up DKIM to sign mail from your
 * Microsoft 365 domain", Client error dialog). Line wraps may fall anywhere, even inside a key. */
const KEYS = /(Domain\s+Name|Host\s*Name|Points\s+to(?:\s+address\s+or\s+value)?)\s*:/gi;
const POINTS_TO = /Points\s+to(?:\s+address\s+or\s+value)?\s*:/i;

function parseExchangeError(text: string, file: string): ImportedEntry[] {
  const marks = [...text.matchAll(KEYS)].map((m) => ({
    key: (m[1] as string).replace(/\s+/g, " ").toLowerCase(),
    start: m.index,
    end: m.index + m[0].length,
  }));
  const entries: ImportedEntry[] = [];
  let entry: ImportedEntry | undefined;
  let selector: Selector | undefined;
  for (const [i, mark] of marks.entries()) {
    const segment = text.slice(mark.end, marks[i + 1]?.start ?? text.length);
    const where: Where = { file, line: lineAt(text, mark.start) };
    if (mark.key === "domain name") {
      entry = { domain: domainOf(segment.replace(/\s+/g, ""), where), where };
      entries.push(entry);
      selector = undefined;
    } else if (mark.key === "host name" || mark.key === "hostname") {
      const host = segment.replace(/\s+/g, "").toLowerCase();
      const m = /^(selector[12])\._domainkey(?:\.|$)/.exec(host);
      if (!m) {
        throw new InputError(where, `Host Name "${host}" is not selector1._domainkey or selector2._domainkey`, {
          hint: "paste the error text exactly as Microsoft showed it",
        });
      }
      selector = m[1] as Selector;
    } else {
      if (entry === undefined) {
        throw new InputError(where, 'the text names no domain (no "Domain Name : example.com" before the records)', {
          hint: "paste the whole error text, or add a line `Domain Name : example.com` above the Host Name lines",
        });
      }
      if (selector === undefined) {
        throw new InputError(where, '"Points to address or value" without a Host Name before it', {
          hint: "paste the error text exactly as Microsoft showed it",
        });
      }
      entry[selector] = rejoinTarget(segment);
      selector = undefined;
    }
  }
  if (entries.length === 0 && marks.length > 0) {
    throw new InputError({ file }, 'the text names no domain (no "Domain Name : example.com")', {
      hint: "paste the whole error text, or add a line `Domain Name : example.com` above the Host Name lines",
    });
  }
  for (const e of entries) {
    if (e.selector1 === undefined || e.selector2 === undefined) {
      throw new InputError(e.where, `${e.domain}: the text gives only one of the two CNAME records`, {
        hint: "paste the whole error text: it lists selector1 and selector2",
      });
    }
  }
  return entries;
}

/**
 * The target after "Points to address or value:" with the line wraps removed. The dialog wraps
 * anywhere (Microsoft's own example splits after `selector1-`) and the sentence goes on after
 * the value (" . If you have already published..."), so join whitespace-separated pieces until
 * they form a complete Microsoft target; the shortest such join is the value.
 */
function rejoinTarget(segment: string): string {
  const pieces = segment.split(/\s+/).filter((p) => p !== "");
  let joined = "";
  for (const piece of pieces) {
    joined += piece;
    const candidate = canonical(joined);
    if (TARGET.test(candidate)) return candidate;
  }
  // Not a known shape: return the first piece so that validation names what was found.
  return canonical(pieces[0] ?? "");
}

// ---------------------------------------------------------------------------------------------
// Validation

/**
 * The shape of a complete target, used only to find where a wrapped value ends; validation is
 * m365.validateTargets. Suffix legacy `<prefix>.onmicrosoft.com` or (custom domains added since
 * May 2025) `<prefix>.<letter>-v1.dkim.mail.microsoft` (Microsoft Learn, "Set up DKIM to sign
 * mail from your Microsoft 365 domain").
 */
const TARGET =
  /^selector[12]-[a-z0-9-]{1,53}\._domainkey\.[a-z0-9-]{1,63}\.(?:onmicrosoft\.com|[a-z]-v1\.dkim\.mail\.microsoft)$/;

function checkEntry(e: ImportedEntry): void {
  if (e.selector1 === undefined && e.selector2 === undefined) return;
  if (e.selector1 === undefined || e.selector2 === undefined) {
    throw new InputError(e.where, `${e.domain} has only one selector target`, {
      hint: "Microsoft always gives both; export it again with Get-DkimSigningConfig",
    });
  }
  const problem = validateTargets(e.domain, e.selector1, e.selector2);
  if (problem !== undefined) {
    throw new InputError(e.where, `${e.domain}: ${problem}`, {
      hint: "copy the values exactly from Get-DkimSigningConfig or the Defender portal; nothing was written",
    });
  }
}

/** A domain listed twice must agree with itself; the first mention is kept. */
function dedupe(entries: ImportedEntry[]): ImportedEntry[] {
  const seen = new Map<string, ImportedEntry>();
  for (const e of entries) {
    const prev = seen.get(e.domain);
    if (prev === undefined) {
      seen.set(e.domain, e);
      continue;
    }
    if (prev.selector1 !== e.selector1 || prev.selector2 !== e.selector2) {
      throw new InputError(e.where, `${e.domain} is listed twice with different targets`, {
        hint: `keep one (the first is at line ${prev.where.line ?? "?"})`,
      });
    }
  }
  return [...seen.values()];
}

function domainOf(raw: string, where: Where): string {
  const n = normaliseDomain(raw);
  if ("error" in n) throw new InputError(where, `domain "${raw.trim()}" ${n.error}`);
  return n.name;
}

/**
 * Line numbers come from one index of line starts per text (binary search), and the lower-cased
 * text is made once: an export of 10,000 domains asks for a line per domain, and scanning the
 * text for each made import quadratic (about 2 minutes for 10,000 domains).
 */
let lineIndex: { text: string; starts: number[]; strings?: Map<string, number> } | undefined;

function indexOf(text: string): { text: string; starts: number[]; strings?: Map<string, number> } {
  if (lineIndex?.text !== text) {
    const starts = [0];
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    lineIndex = { text, starts };
  }
  return lineIndex;
}

function lineAt(text: string, offset: number): number {
  const { starts } = indexOf(text);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function lineOfDomain(text: string, domain: string): number | undefined {
  // Where each JSON string literal first occurs, in lower case: one pass over the text.
  const index = indexOf(text);
  if (index.strings === undefined) {
    index.strings = new Map();
    for (const m of text.toLowerCase().matchAll(/"(?:[^"\\\n]|\\.)*"/g))
      if (!index.strings.has(m[0])) index.strings.set(m[0], m.index);
  }
  const at = index.strings.get(JSON.stringify(domain)) ?? -1;
  return at < 0 ? undefined : lineAt(text, at);
}
