/**
 * The pull-request comment with odd values: whatever a zone holds at a selector name, each
 * table row stays one row and every value reads exactly as stored (GitHub Flavored Markdown:
 * tables and code spans).
 */
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../src/render/markdown.js";
import type { Plan, RecordSet } from "../../src/core/types.js";

const NAME = "selector1._domainkey.example.com";
const desired: RecordSet = { name: NAME, type: "CNAME", ttl: 3600, values: ["selector1-example-com._domainkey.contoso.onmicrosoft.com"] };

function planWithTxt(value: string, message = "boom"): Plan {
  return {
    zones: [
      {
        provider: "zones",
        zone: "example.com",
        domains: ["example.com"],
        changes: [],
        conflicts: [{ name: NAME, type: "TXT", ttl: 300, values: [value], reason: "blocks the CNAME", desired }],
        unchanged: [],
        warnings: [],
        names: [NAME],
        fingerprint: "0",
      },
    ],
    errors: [{ provider: "zones", domain: "example.org", message }],
  };
}

function conflictRow(md: string): string {
  const rows = md.split("\n").filter((l) => l.startsWith("| ⛔ conflict"));
  expect(rows).toHaveLength(1);
  return rows[0] as string;
}

describe("renderMarkdown with odd values", () => {
  it("keeps a value with a line break on one table row", () => {
    const row = conflictRow(renderMarkdown(planWithTxt("v=DKIM1; p=abc\ndef")));
    expect(row).toContain("abc");
    expect(row).toContain("def");
    expect(row.endsWith("|")).toBe(true);
  });

  it("escapes a pipe, keeps a backslash single inside code, and keeps backticks as they are", () => {
    // Inside a code span a backslash is literal (GFM 6.1), so only the table's pipe is escaped.
    expect(conflictRow(renderMarkdown(planWithTxt("a|b\\c")))).toContain("`a\\|b\\c`");
    // A backtick inside the value: a longer fence, not a changed value (GFM 6.1).
    expect(conflictRow(renderMarkdown(planWithTxt("p=a`b")))).toContain("`` p=a`b ``");
  });

  it("does not let a message inject HTML into the comment", () => {
    const md = renderMarkdown(planWithTxt("x", "server said <img src=x onerror=alert(1)> | nope"));
    expect(md).not.toContain("<img");
    expect(md).toContain("&lt;img src=x onerror=alert(1)> \\| nope");
  });
});
