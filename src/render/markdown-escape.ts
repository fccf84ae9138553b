/**
 * The one escaper for every Markdown dkimsync writes (plan, verify, headers, the pull-request
 * comment). Values in those documents come from outside: zone contents, provider error texts,
 * the headers of a received message. On GitHub they must read exactly as stored and never turn
 * into markup: no raw HTML (GitHub renders a safe subset of tags in comments, and `<img>` or an
 * HTML comment `<!-- -->` would hide or replace text), no broken table rows, no emphasis or links
 * out of `*`, `_`, `[`.
 *
 * Rules followed (GitHub Flavored Markdown spec, version 0.29-gfm):
 * - 2.4 Backslash escapes: any ASCII punctuation can be backslash-escaped and is then literal.
 * - 2.5 Entity references: `&lt;` is shown as `<`; escaping `&` keeps a literal `&lt;` as typed.
 * - 4.10 Tables: a row is split at unescaped `|` before inline parsing, even inside code spans,
 *   so `\|` is the only way to put a pipe in a cell, code span or not.
 * - 6.1 Code spans: backslash escapes and entities are NOT processed inside them, so a code span
 *   only needs its fence longer than any backtick run inside, and a space pad when the value
 *   starts or ends with a backtick; HTML inside a code span is text.
 * - A line break ends a table row and can end a paragraph, so values are kept on one line.
 */

/**
 * ASCII punctuation that means something inside a line: code spans, emphasis, links and images,
 * strikethrough, table cells, and `>` (escaped as an entity, like `<`).
 */
const MARKUP = /[\\`*_[\]|~>]/g;
/** What starts a block at the beginning of a line: heading, list, block quote, setext line. */
const LINE_START = /^([#+=-]|\d+[.)])/;

/**
 * Untrusted text for a paragraph, list item, heading or table cell: every character shows as
 * itself. A line break becomes a space (or `<br>` with `breaks: true`, which is dkimsync's own
 * tag, added after escaping).
 */
export function mdText(s: string, opts: { breaks?: boolean } = {}): string {
  const escaped = s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(MARKUP, (c) => (c === ">" ? "&gt;" : `\\${c}`));
  return oneLine(escaped, opts.breaks === true ? "<br>" : " ").replace(
    LINE_START,
    (m) => `${m.slice(0, -1)}\\${m.slice(-1)}`,
  );
}

/**
 * Untrusted text as a code span, so names and targets never become links and keep every
 * character. `inTable` (the default) escapes `|` as the table needs (GFM 4.10); outside a table
 * a backslash in a code span would be shown, so the pipe stays as it is.
 */
export function mdCode(s: string, opts: { inTable?: boolean } = {}): string {
  if (s === "") return "";
  let body = oneLine(s, " ");
  if (opts.inTable !== false) body = body.replace(/\|/g, "\\|");
  const longestRun = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  // GFM 6.1: one space is stripped from each side when both sides have one, so a value that
  // starts or ends with a backtick (or a space) is padded to survive as it is.
  const pad = longestRun > 0 || /^ | $/.test(body) ? " " : "";
  return `${fence}${pad}${body}${pad}${fence}`;
}

/**
 * Untrusted text inside HTML that dkimsync writes itself (`<summary>` of a `<details>` block):
 * there Markdown is not parsed, so HTML escaping is what keeps it text (HTML Living Standard,
 * 13.1.3 "Escaping a string").
 */
export function htmlText(s: string): string {
  return oneLine(
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;"),
    " ",
  );
}

/** CR LF, CR, LF, and the Unicode line and paragraph separators all end a line somewhere. */
function oneLine(s: string, join: string): string {
  return s.replace(/\r\n|[\r\n\u2028\u2029]/g, join);
}
