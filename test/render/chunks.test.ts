/**
 * The CLI writes a plan in pieces as it renders it (src/cli.ts writePlan): at 10,000 domains the
 * output is 7 to 15 MB, and building it whole was the peak of the run. The pieces, joined, must
 * be exactly the document the whole-string renderers make, in every format and for every shape
 * of plan: the references below are built the old way, independently of the piece renderers.
 */
import { describe, expect, it } from "vitest";
import type { Plan, RecordSet, ZonePlan } from "../../src/core/types.js";
import { planToJson, renderJsonChunks } from "../../src/render/json.js";
import { renderMarkdown, renderMarkdownChunks } from "../../src/render/markdown.js";
import { renderText, renderTextChunks } from "../../src/render/text.js";

const set = (name: string, value: string, ttl = 3600): RecordSet => ({ name, type: "CNAME", ttl, values: [value] });

/** Zone i of a plan: every kind of content, depending on i. */
function zone(i: number): ZonePlan {
  const z = `d${i}.example`;
  const s1 = `selector1._domainkey.${z}`;
  const s2 = `selector2._domainkey.${z}`;
  const zp: ZonePlan = {
    provider: i % 7 === 0 ? "r53" : "zones",
    zone: z,
    domains: [z],
    changes: [],
    conflicts: [],
    unchanged: [],
    warnings: [],
    names: [s1, s2],
    fingerprint: "x",
  };
  if (i % 2 === 0) zp.changes.push({ action: "create", name: s1, type: "CNAME", before: null, after: set(s1, "t1") });
  if (i % 3 === 0)
    zp.changes.push({
      action: "update",
      name: s2,
      type: "CNAME",
      before: { ...set(s2, "old", 300), drift: ["proxied"] },
      after: set(s2, "new"),
      source: "signing_config",
    });
  if (i % 5 === 0) zp.changes.push({ action: "delete", name: s2, type: "CNAME", before: set(s2, "gone"), after: null });
  if (i % 11 === 0)
    zp.conflicts.push({
      name: s1,
      type: "TXT",
      ttl: 60,
      values: ['v=DKIM1; p="quoted"\nnewline'],
      reason: "a TXT record holds the name; apply --force replaces it with the CNAME",
      desired: set(s1, "t1"),
      ...(i % 2 === 0 ? { allowed: "replace: [TXT] for d.example at dkim.zones.yaml:3" } : {}),
      source: "derived",
    });
  if (i % 4 === 1) zp.unchanged.push(set(s1, "same"), set(s2, "same"));
  if (i % 13 === 0) zp.warnings.push(`zone-wide warning ${i} with <html> & | pipes`);
  if (i % 3 === 1) zp.notes = [{ domain: z, message: `targets derived from tenant for ${z}` }];
  return zp;
}

const plans: Array<[string, Plan]> = [
  ["empty", { zones: [], errors: [] }],
  ["one quiet zone", { zones: [{ ...zone(1), notes: [] }], errors: [] }],
  ["errors only", { zones: [], errors: [{ provider: "p", domain: "a.example", message: "boom" }] }],
  [
    "3,000 zones of every kind, errors and warnings",
    {
      zones: Array.from({ length: 3000 }, (_, i) => zone(i)),
      errors: [
        { provider: "p", domain: "x.example", zone: "x.example", message: "denied" },
        { provider: "q", domain: "y.example", message: "timeout" },
      ],
    },
  ],
  ["600 zones, warnings but no errors", { zones: Array.from({ length: 600 }, (_, i) => zone(i)), errors: [] }],
];

describe("plan output in pieces", () => {
  it.each(plans)("JSON: %s", (_name, plan) => {
    const pieces = [...renderJsonChunks(plan)];
    expect(pieces.join("")).toBe(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
    JSON.parse(pieces.join(""));
    if (plan.zones.length >= 3000) expect(pieces.length).toBeGreaterThan(5);
  });

  it.each(plans)("Markdown: %s", (_name, plan) => {
    const pieces = [...renderMarkdownChunks(plan)];
    // With a limit no document reaches, renderMarkdown builds the whole string its old way.
    expect(pieces.join("")).toBe(renderMarkdown(plan, { maxChars: Number.MAX_SAFE_INTEGER }));
    if (plan.zones.length >= 3000) expect(pieces.length).toBeGreaterThan(5);
  });

  it.each(plans)("text: %s", (_name, plan) => {
    const pieces = [...renderTextChunks(plan, undefined, { verbose: plan.zones.length === 600 })];
    expect(pieces.join("")).toBe(renderText(plan, undefined, { verbose: plan.zones.length === 600 }));
    for (const p of pieces) expect(p.endsWith("\n")).toBe(true);
    if (plan.zones.length >= 3000) expect(pieces.length).toBeGreaterThan(5);
  });
});
