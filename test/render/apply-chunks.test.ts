/**
 * The apply report is written in pieces (renderApplyChunks): at 10,000 zones it is 10,000 lines,
 * and built whole it came on top of everything the run held at its end. The pieces must make
 * exactly the report, line for line, in text and Markdown.
 */
import { describe, expect, it } from "vitest";
import type { Plan } from "../../src/core/types.js";
import type { ApplyResult } from "../../src/plan/apply.js";
import { renderApplyChunks } from "../../src/render/apply.js";
import { plain } from "../../src/render/style.js";

const ZONES = 2500;
const zoneName = (i: number) => `dom${i}.example`;
const plan: Plan = { zones: [], errors: [] };
const result: ApplyResult = {
  zones: Array.from({ length: ZONES }, (_, i) =>
    i === 7
      ? { provider: "p", zone: zoneName(i), outcome: "failed" as const, changes: [], written: 0, message: "boom" }
      : { provider: "p", zone: zoneName(i), outcome: "applied" as const, changes: [], written: 0 },
  ),
  planErrors: [],
};

describe("renderApplyChunks", () => {
  it("text: pieces of whole lines that make every zone's line and the summary, in order", () => {
    const chunks = [...renderApplyChunks(plan, result, "text", plain)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.endsWith("\n")).toBe(true);
    const expected = result.zones.flatMap((z) =>
      z.outcome === "failed"
        ? [`✗ p · ${z.zone}: FAILED`, "    boom"]
        : [`✓ p · ${z.zone}: applied (0 changes, read back and confirmed)`],
    );
    expected.push("Apply: 0 change(s) written in 0 zone(s), 1 zone(s) failed.");
    expect(chunks.join("")).toBe(`${expected.join("\n")}\n`);
  });

  it("markdown: pieces that make the table and the summary, in order", () => {
    const chunks = [...renderApplyChunks(plan, result, "markdown", plain)];
    expect(chunks.length).toBeGreaterThan(1);
    const rows = result.zones.map(
      (z) => `| \`p\` | \`${z.zone}\` | ${z.outcome === "failed" ? "FAILED" : "applied"} | 0 | ${z.message ?? ""} |`,
    );
    const expected = [
      "### dkimsync apply",
      "",
      "| Provider | Zone | Outcome | Changes | Message |",
      "|---|---|---|---|---|",
      ...rows,
      "",
      "",
      "**0 change(s) written in 0 zone(s), 1 zone(s) failed**",
      "",
    ];
    expect(chunks.join("")).toBe(expected.join("\n"));
  });

  it("json: one piece that parses", () => {
    const chunks = [...renderApplyChunks(plan, result, "json", plain)];
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(chunks[0] as string).apply.zones).toHaveLength(ZONES);
  });
});
