/**
 * Markdown that never misleads: the heading names the worst finding, warnings and errors are
 * counted and listed before the zones, and every value from outside (zone contents, provider
 * messages, a received message's headers) reads exactly as stored, checked with a real GFM
 * parser (test/render/gfm.ts) for plan, apply, verify and headers Markdown.
 */
import { describe, expect, it } from "vitest";
import { CONFLICT_NOTE, renderMarkdown } from "../../src/render/markdown.js";
import { renderApply } from "../../src/render/apply.js";
import { renderVerifyMarkdown } from "../../src/verify/render.js";
import { renderHeadersMarkdown } from "../../src/headers/render.js";
import { explainHeaders } from "../../src/headers/analyse.js";
import { plain } from "../../src/render/style.js";
import type { Plan, RecordSet, ZonePlan } from "../../src/core/types.js";
import { HOSTILE, readable, walkMarkdown } from "./gfm.js";

const NAME = "selector1._domainkey.example.com";
const desired: RecordSet = {
  name: NAME,
  type: "CNAME",
  ttl: 3600,
  values: ["selector1-example-com._domainkey.contoso.onmicrosoft.com"],
};

function zone(over: Partial<ZonePlan> = {}): ZonePlan {
  return {
    provider: "zones",
    zone: "example.com",
    domains: ["example.com"],
    changes: [],
    conflicts: [],
    unchanged: [],
    warnings: [],
    names: [NAME],
    fingerprint: "0",
    ...over,
  };
}

function planWithTxt(value: string, message = "boom"): Plan {
  return {
    zones: [
      zone({
        conflicts: [{ name: NAME, type: "TXT", ttl: 300, values: [value], reason: "blocks the CNAME", desired }],
      }),
    ],
    errors: [{ provider: "zones", domain: "example.org", message }],
  };
}

const heading = (md: string) => md.split("\n")[0] as string;
const summary = (md: string) => md.split("\n")[2] as string;

describe("plan Markdown heading and summary", () => {
  it("heads a plan whose only finding is a zone warning with ⚠️ and counts the warning", () => {
    const md = renderMarkdown({
      zones: [
        zone({
          warnings: ["CNAME flattening is on for all records: DKIM fails for every selector in this zone"],
          unchanged: [desired],
        }),
      ],
      errors: [],
    });
    expect(heading(md)).toBe("### ⚠️ dkimsync plan: 1 warning");
    expect(summary(md)).toBe(
      "**0 to create, 0 to update, 0 to delete, 1 unchanged, 0 conflicts, 1 warning, 0 errors**",
    );
    // Listed before the zones, not only inside the zone block.
    const list = md.indexOf("#### ⚠️ Warnings");
    expect(list).toBeGreaterThan(0);
    expect(list).toBeLessThan(md.indexOf("<details"));
    expect(md).not.toContain("✅ dkimsync");
  });

  it("ranks errors over conflicts over warnings over changes", () => {
    const create = { action: "create" as const, name: NAME, type: "CNAME", before: null, after: desired };
    const conflict = { name: NAME, type: "TXT", ttl: 300, values: ["v=DKIM1"], reason: "blocks", desired };
    const err = { provider: "zones", domain: "x.example", message: "zone not served" };
    expect(
      heading(
        renderMarkdown({ zones: [zone({ changes: [create], conflicts: [conflict], warnings: ["w"] })], errors: [err] }),
      ),
    ).toBe("### ❌ dkimsync plan: 1 error");
    expect(
      heading(
        renderMarkdown({ zones: [zone({ changes: [create], conflicts: [conflict], warnings: ["w"] })], errors: [] }),
      ),
    ).toBe("### ⛔ dkimsync plan: 1 conflict");
    expect(heading(renderMarkdown({ zones: [zone({ changes: [create], warnings: ["w", "v"] })], errors: [] }))).toBe(
      "### ⚠️ dkimsync plan: 2 warnings",
    );
    expect(heading(renderMarkdown({ zones: [zone({ changes: [create] })], errors: [] }))).toBe(
      "### 📝 dkimsync plan: changes pending",
    );
    expect(heading(renderMarkdown({ zones: [zone({ unchanged: [desired] })], errors: [] }))).toBe(
      "### ✅ dkimsync plan: no changes",
    );
    const errors = renderMarkdown({ zones: [zone({ changes: [create] })], errors: [err, err] });
    expect(summary(errors)).toContain(", 2 errors**");
    expect(errors.indexOf("#### ❌ Errors")).toBeLessThan(errors.indexOf("<details"));
  });

  it("says what apply does with conflicts, as the text output does", () => {
    const md = renderMarkdown(planWithTxt("v=DKIM1; p=abc"));
    expect(md).toContain(`> ⛔ ${CONFLICT_NOTE}`);
    expect(CONFLICT_NOTE).toContain("apply writes every other domain and leaves these until the records are removed");
    expect(renderMarkdown({ zones: [zone()], errors: [] })).not.toContain("Conflicting records");
  });

  it("puts each zone in one collapsible block", () => {
    const md = renderMarkdown({ zones: [zone(), zone({ zone: "example.net", domains: ["example.net"] })], errors: [] });
    expect(md.match(/<details/g)).toHaveLength(2);
    expect(md.match(/<\/details>/g)).toHaveLength(2);
    walkMarkdown(md);
  });
});

describe("every Markdown output keeps hostile values as text", () => {
  for (const value of HOSTILE) {
    it(`plan: ${JSON.stringify(value)}`, () => {
      const md = renderMarkdown({
        zones: [
          zone({
            provider: `p${value}`,
            zone: `z${value}`,
            warnings: [`warn ${value}`],
            conflicts: [{ name: NAME, type: "TXT", ttl: 300, values: [value], reason: `reason ${value}`, desired }],
          }),
        ],
        errors: [{ provider: "zones", domain: "example.org", message: `error ${value}` }],
      });
      const { text, tables } = walkMarkdown(md);
      expect(tables).toHaveLength(1);
      expect(tables[0]?.rows).toHaveLength(1);
      const flat = text.replace(/\s+/g, " ");
      for (const shown of [`warn ${value}`, `reason ${value}`, `error ${value}`, `z${value}`])
        expect(flat).toContain(readable(shown).replace(/\s+/g, " "));
      // A TXT value is shown whole when short; the table cell holds it as stored.
      const cell = tables[0]?.rows[0]?.[4];
      expect(cell?.tokens.map((t) => ("text" in t ? t.text : "")).join("")).toBe(readable(value));
    });

    it(`apply: ${JSON.stringify(value)}`, () => {
      const md = renderApply(
        { zones: [], errors: [] },
        {
          zones: [
            { provider: `p${value}`, zone: "example.com", outcome: "failed", changes: [], message: `failed: ${value}` },
          ],
          planErrors: [{ provider: "zones", domain: "x.example", message: `not served ${value}` }],
        } as never,
        "markdown",
        plain,
      );
      const { text, tables } = walkMarkdown(md);
      expect(tables[0]?.rows).toHaveLength(1);
      const flat = text.replace(/\s+/g, " ");
      expect(flat).toContain(readable(`failed: ${value}`).replace(/\s+/g, " "));
      expect(flat).toContain(readable(`not served ${value}`).replace(/\s+/g, " "));
    });

    it(`verify: ${JSON.stringify(value)}`, () => {
      const md = renderVerifyMarkdown({
        domains: [
          {
            domain: `d${value}`,
            ensure: "present",
            checks: [{ domain: "example.com", check: `check ${value}`, status: "fail", message: `answer ${value}` }],
          },
        ],
        summary: { pass: 0, warn: 0, info: 0, fail: 1 },
        unreachable: `no server ${value}`,
      } as never);
      const { text, tables } = walkMarkdown(md);
      expect(tables[0]?.rows).toHaveLength(1);
      const flat = text.replace(/\s+/g, " ");
      for (const shown of [`answer ${value}`, `no server ${value}`, `d${value}`])
        expect(flat).toContain(readable(shown).replace(/\s+/g, " "));
    });
  }

  it("headers: a= d= s= of a received message never break the table or become HTML", () => {
    const evil = "rsa-sha256|<img src=x onerror=alert(1)>";
    const message = [
      "Authentication-Results: mx.example.net; dkim=pass header.d=example.com header.s=selector1 header.i=@example.com",
      `DKIM-Signature: v=1; a=${evil}; d=ex|ample.com; s=sel\`<!-- x -->; c=relaxed/relaxed; h=from:to; bh=AAAA; b=BBBB`,
      "From: a@example.com",
      "",
      "body",
    ].join("\r\n");
    const md = renderHeadersMarkdown(explainHeaders(message));
    expect(md).not.toContain("<img");
    expect(md).not.toContain("<!--");
    const { text, tables } = walkMarkdown(md);
    const sigs = tables.find((t) => t.header[0]?.text === "d=");
    expect(sigs?.rows).toHaveLength(1);
    const row = sigs?.rows[0]?.map((c) =>
      c.tokens
        .map((t) => ("text" in t ? t.text : ""))
        .join("")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&"),
    );
    expect(row?.slice(0, 3)).toEqual(["ex|ample.com", "sel`<!-- x -->", evil]);
    expect(text).toContain(evil);
  });
});
