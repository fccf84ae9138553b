/**
 * Reads dkimsync's Markdown with a real GitHub Flavored Markdown parser (marked, in its default
 * GFM mode) and checks what a reader on GitHub would get: the only HTML is dkimsync's own
 * (`<details>`, `<summary>`, `<code>`, `<br>`), and every table row has the header's cell count.
 */
import { marked, type Token, type Tokens } from "marked";
import { expect } from "vitest";

/** dkimsync's own tags; anything else is HTML that came from a value. */
const OWN_HTML = /^(?:<br>|<\/details>\s*|<details(?: open)?><summary>(?:[^<]|<\/?code>)*<\/summary>\s*)$/;

export interface Walked {
  /** Plain text of the document as rendered (entities decoded, escapes resolved). */
  text: string;
  tables: Tokens.Table[];
}

function decode(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
}

export function walkMarkdown(md: string): Walked {
  const tables: Tokens.Table[] = [];
  const texts: string[] = [];
  const visit = (tokens: readonly Token[] | undefined): void => {
    for (const t of tokens ?? []) {
      if (t.type === "html") {
        expect(t.raw.trim(), "only dkimsync's own HTML may appear").toMatch(OWN_HTML);
        // The <summary> text is HTML-escaped by dkimsync: count it as text.
        texts.push(decode(t.raw.replace(/<[^>]*>/g, " ")));
        continue;
      }
      if (t.type === "table") {
        const table = t as Tokens.Table;
        tables.push(table);
        const lines = table.raw.trimEnd().split("\n");
        // Header, delimiter, then one source line per row: a value with a line break would
        // have made an extra line (or ended the table early).
        expect(lines.length, `table source lines\n${table.raw}`).toBe(table.rows.length + 2);
        for (const line of lines) expect(cellCount(line), `cells in: ${line}`).toBe(table.header.length);
        for (const cell of [...table.header, ...table.rows.flat()]) visit(cell.tokens);
        continue;
      }
      if (t.type === "codespan" || t.type === "escape") texts.push(t.text);
      else if (t.type === "text" && !("tokens" in t && t.tokens)) texts.push(decode(t.text));
      if ("tokens" in t) visit(t.tokens as Token[]);
      if (t.type === "list") for (const item of (t as Tokens.List).items) visit(item.tokens);
    }
  };
  visit(marked.lexer(md));
  return { text: texts.join(""), tables };
}

/** Cells of a table source line: split at pipes not escaped by a backslash (GFM 4.10). */
function cellCount(line: string): number {
  const inner = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  let n = 1;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === "\\") i++;
    else if (inner[i] === "|") n++;
  }
  return n;
}

/** Values that try to break out: a pipe, backticks, raw HTML, an HTML comment, line breaks. */
export const HOSTILE = [
  "a|b",
  "p=a`b``c",
  "`edge`",
  "rsa-sha256|<img src=x onerror=alert(1)>",
  "x <!-- hidden --> y",
  "line one\nline two\r\nthree",
  "*b* _i_ [l](http://e.example) ~~s~~ # h > q &lt; \\ end",
  "- list? 1. 2)",
] as const;

/** The value as it must read once rendered: line breaks show as spaces (or <br> as a space). */
export function readable(value: string): string {
  return value.replace(/\r\n|[\r\n]/g, " ");
}
