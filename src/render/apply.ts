/** The outcome of apply, zone by zone, with a summary line; the same data in every format. */
import { showDomain } from "../core/display.js";
import type { ApplyResult, ZoneOutcome } from "../plan/apply.js";
import type { Plan } from "../core/types.js";
import { planToJson } from "./json.js";
import { mdCode, mdText } from "./markdown-escape.js";
import type { Style } from "./style.js";

const WORDS: Record<ZoneOutcome, string> = {
  applied: "applied",
  unchanged: "no changes",
  stale: "REFUSED (stale plan)",
  failed: "FAILED",
  unconverged: "NOT CONVERGED",
  blocked: "BLOCKED (conflict)",
};

function counts(result: ApplyResult) {
  const c = { applied: 0, unchanged: 0, stale: 0, failed: 0, unconverged: 0, blocked: 0 };
  for (const z of result.zones) c[z.outcome]++;
  return c;
}

function summary(result: ApplyResult): string {
  const c = counts(result);
  // What is really in place, by reading back: a zone that failed half-way still counts its
  // written part, and a zone whose read-back failed is named as unknown rather than counted 0.
  const written = result.zones.reduce((n, z) => n + (z.written ?? 0), 0);
  const zones = result.zones.filter((z) => (z.written ?? 0) > 0).length;
  const parts = [`${written} change(s) written in ${zones} zone(s)`];
  const partial = result.zones.filter((z) => z.outcome !== "applied" && (z.written ?? 0) > 0);
  if (partial.length > 0)
    parts.push(
      `of them ${partial.map((z) => `${z.written} of ${z.changes.length} in ${z.zone}, which ${z.outcome === "failed" ? "failed" : "did not converge"}`).join("; ")}`,
    );
  const unknown = result.zones.filter(
    (z) => z.written === undefined && z.outcome !== "unchanged" && z.outcome !== "stale",
  );
  if (unknown.length > 0)
    parts.push(`unknown how much was written in ${unknown.map((z) => z.zone).join(", ")} (reading back failed)`);
  if (c.failed) parts.push(`${c.failed} zone(s) failed`);
  if (c.stale) parts.push(`${c.stale} zone(s) refused as stale`);
  if (c.unconverged) parts.push(`${c.unconverged} zone(s) not converged`);
  if (result.blocked?.length) parts.push(`${result.blocked.length} domain(s) blocked by a conflict`);
  if (result.planErrors.length) parts.push(`${result.planErrors.length} domain(s) could not be planned`);
  return parts.join(", ");
}

export function renderApply(plan: Plan, result: ApplyResult, format: "text" | "markdown" | "json", st: Style): string {
  return [...renderApplyChunks(plan, result, format, st)].join("");
}

/** Lines of text or Markdown per piece of renderApplyChunks. */
const CHUNK_LINES = 1000;

/**
 * renderApply's text in pieces of about CHUNK_LINES lines (JSON in one piece), for the caller to
 * hand to stdout one at a time: at 10,000 zones the apply report is 10,000 lines, and built whole,
 * with the array of its lines, it came at the end of the run, on top of everything the run held.
 */
export function* renderApplyChunks(
  plan: Plan,
  result: ApplyResult,
  format: "text" | "markdown" | "json",
  st: Style,
): Generator<string> {
  if (format === "json") {
    yield `${JSON.stringify(
      {
        version: 1,
        plan: planToJson(plan),
        apply: {
          zones: result.zones.map((z) => ({
            provider: z.provider,
            zone: z.zone,
            outcome: z.outcome,
            changes: z.changes.length,
            ...(z.written !== undefined ? { written: z.written } : {}),
            ...(z.message ? { message: z.message } : {}),
          })),
          ...(result.blocked?.length ? { blocked: result.blocked } : {}),
          summary: counts(result),
        },
      },
      null,
      2,
    )}\n`;
    return;
  }
  let lines: string[] = [];
  // Every line but the last is followed by "\n" in the whole text; a piece ends in one.
  const full = () => {
    if (lines.length < CHUNK_LINES) return undefined;
    const piece = `${lines.join("\n")}\n`;
    lines = [];
    return piece;
  };
  if (format === "markdown") {
    lines.push("### dkimsync apply", "", "| Provider | Zone | Outcome | Changes | Message |", "|---|---|---|---|---|");
    for (const z of result.zones) {
      lines.push(
        `| ${mdCode(z.provider)} | ${mdCode(z.zone)} | ${WORDS[z.outcome]} | ${z.changes.length} | ${mdText(z.message ?? "")} |`,
      );
      const piece = full();
      if (piece !== undefined) yield piece;
    }
    lines.push("");
    for (const e of result.planErrors)
      lines.push(
        `- ❌ ${mdCode(e.provider, { inTable: false })} · ${mdCode(e.domain, { inTable: false })}: not planned: ${mdText(e.message)}`,
      );
    for (const b of result.blocked ?? [])
      lines.push(
        `- ⛔ ${mdCode(b.domain, { inTable: false })} (${mdCode(b.provider, { inTable: false })} · ${mdCode(b.zone, { inTable: false })}): ${mdText(b.message)}`,
      );
    lines.push("", `**${summary(result)}**`, "");
    // The Markdown report does not end in a newline of its own.
    yield lines.join("\n");
    return;
  }
  for (const z of result.zones) {
    const ok = z.outcome === "applied" || z.outcome === "unchanged";
    const head = `${ok ? "✓" : "✗"} ${z.provider} · ${showDomain(z.zone)}: ${WORDS[z.outcome]}${z.outcome === "applied" ? ` (${z.changes.length} change${z.changes.length === 1 ? "" : "s"}, read back and confirmed)` : ""}`;
    lines.push(ok ? st.green(head) : st.red(head));
    if (z.message) lines.push(`    ${z.message}`);
    const piece = full();
    if (piece !== undefined) yield piece;
  }
  for (const b of result.blocked ?? []) lines.push(st.red(`✗ ${b.provider} · ${showDomain(b.domain)}: ${b.message}`));
  for (const e of result.planErrors)
    lines.push(st.red(`✗ ${e.provider} · ${showDomain(e.domain)}: not planned: ${e.message}`));
  lines.push(st.bold(`Apply: ${summary(result)}.`));
  yield `${lines.join("\n")}\n`;
}
