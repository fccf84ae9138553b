/**
 * The plan as Markdown, for a pull-request comment or a job summary: a heading that names the
 * worst finding, one summary line that counts everything (warnings and errors included), the
 * errors and warnings, then one collapsible `<details>` block per zone.
 *
 * With `maxChars` (GitHub refuses a comment body over 65,536 characters) the document is cut to
 * fit: the summary, errors and warnings first, then the zones with findings, then zones with
 * changes, then the rest, and a line saying how many zones were left out and where the full
 * plan is. Every untrusted value goes through markdown-escape.ts.
 */
import { summarise, type PlanSummary } from "../plan/build.js";
import type { Plan, RecordSet, ZonePlan } from "../core/types.js";
import { DERIVED_START, DERIVED_TITLE, derivedAdvice, isDerivedNote } from "../core/desired.js";
import { htmlText, mdCode, mdText } from "./markdown-escape.js";
import { summaryLine, shorten } from "./text.js";

export interface MarkdownOptions {
  /** Largest document to produce, in UTF-16 code units (what GitHub counts). */
  maxChars?: number;
  /** Where the whole plan can be read when zones are left out, e.g. "the job summary". */
  fullPlan?: string;
}

export interface MarkdownCounts extends PlanSummary {
  warnings: number;
  errors: number;
}

export function markdownCounts(plan: Plan): MarkdownCounts {
  return {
    ...summarise(plan),
    warnings: plan.zones.reduce((n, z) => n + zoneWarnings(z), 0),
    errors: plan.errors.length,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The summary line: every count, warnings and errors too, so nothing hides behind a ✅. */
export function countsLine(c: MarkdownCounts): string {
  return `${summaryLine(c)}, ${plural(c.warnings, "warning")}, ${plural(c.errors, "error")}`;
}

/** The heading's mark: the worst finding wins (errors, conflicts, warnings, changes, none). */
export function headingFor(c: MarkdownCounts): string {
  if (c.errors > 0) return `❌ dkimsync plan: ${plural(c.errors, "error")}`;
  if (c.conflicts > 0) return `⛔ dkimsync plan: ${plural(c.conflicts, "conflict")}`;
  if (c.warnings > 0) return `⚠️ dkimsync plan: ${plural(c.warnings, "warning")}`;
  if (c.create + c.update + c.delete > 0) return "📝 dkimsync plan: changes pending";
  return "✅ dkimsync plan: no changes";
}

/** The same words as the text output: a conflict blocks only its own domain. */
export const CONFLICT_NOTE =
  "Conflicting records block their CNAMEs: apply writes every other domain and leaves these until the records are removed, their replacement is allowed for the domain (replace: [TXT] in the config), or apply --force replaces them.";

function values(set: RecordSet | null): string {
  if (set === null) return "";
  return set.values.map((v) => mdCode(set.type === "CNAME" ? v : shorten(v, 60))).join("<br>");
}

function zoneCounts(z: ZonePlan): string {
  const parts: string[] = [];
  for (const action of ["create", "update", "delete"] as const) {
    const n = z.changes.filter((c) => c.action === action).length;
    if (n > 0) parts.push(`${n} to ${action}`);
  }
  if (z.conflicts.length > 0) parts.push(plural(z.conflicts.length, "conflict"));
  if (zoneWarnings(z) > 0) parts.push(plural(zoneWarnings(z), "warning"));
  parts.push(`${z.unchanged.length} unchanged`);
  return parts.join(", ");
}

/** Zone-wide warnings and the warnings on its domains (a derived target, say). */
function zoneWarnings(z: ZonePlan): number {
  return z.warnings.length + (z.notes?.length ?? 0);
}

function hasFindings(z: ZonePlan): boolean {
  return z.conflicts.length > 0 || zoneWarnings(z) > 0;
}

/** One zone as a `<details>` block; open when it needs attention. */
export function zoneBlock(z: ZonePlan): string {
  const open = hasFindings(z) || z.changes.length > 0;
  const mark = z.conflicts.length > 0 ? "⛔" : zoneWarnings(z) > 0 ? "⚠️" : z.changes.length > 0 ? "📝" : "✅";
  // GFM 4.6 (HTML blocks): Markdown resumes after the blank line that follows </summary>.
  const out: string[] = [
    `<details${open ? " open" : ""}><summary>${mark} <code>${htmlText(z.provider)}</code> · <code>${htmlText(z.zone)}</code>: ${htmlText(zoneCounts(z))}</summary>`,
    "",
    `Domains: ${z.domains.map((d) => mdCode(d, { inTable: false })).join(", ")}`,
    "",
  ];
  for (const w of z.warnings) out.push(`> ⚠️ ${mdText(w)}`, "");
  for (const n of z.notes ?? [])
    out.push(
      `> ⚠️ ${mdCode(n.domain, { inTable: false })}: ${mdText(isDerivedNote(n) ? `${DERIVED_START} (${DERIVED_SEE})` : n.message)}`,
      "",
    );
  if (z.changes.length > 0 || z.conflicts.length > 0) {
    out.push("| | Name | Type | TTL | Before | After |", "|---|---|---|---|---|---|");
    for (const c of z.changes) {
      const mark = c.action === "create" ? "➕ create" : c.action === "delete" ? "➖ delete" : "✏️ update";
      const ttl =
        c.before && c.after && c.before.ttl !== c.after.ttl
          ? `${c.before.ttl} → ${c.after.ttl}`
          : String((c.after ?? c.before)?.ttl ?? "");
      const before = values(c.before) + (c.before?.drift?.length ? ` (${mdText(c.before.drift.join(", "))})` : "");
      out.push(
        `| ${mark} | ${mdCode(c.name)} | ${mdText(c.type)} | ${ttl} | ${before} | ${values(c.after)}${c.source ? ` (${mdText(c.source)})` : ""} |`,
      );
    }
    for (const c of z.conflicts) {
      out.push(
        `| ${c.allowed ? "♻️ replace" : "⛔ conflict"} | ${mdCode(c.name)} | ${mdText(c.type)} | ${c.ttl} | ${values(c)} | ${values(c.desired)}${c.source ? ` (${mdText(c.source)})` : ""} |`,
      );
    }
    out.push("");
    for (const c of z.conflicts)
      out.push(
        `- ⛔ ${mdCode(c.name, { inTable: false })}: ${mdText(c.reason)}${c.allowed ? ` — allowed by ${mdText(c.allowed)}: apply replaces it` : ""}`,
      );
    if (z.conflicts.length > 0) out.push("");
  } else {
    out.push(`No changes (${z.unchanged.length} up to date).`, "");
  }
  // The blank line ends the HTML block (GFM 4.6), so the next zone's <details> starts its own.
  out.push("</details>", "", "");
  return out.join("\n");
}

function errorLine(e: Plan["errors"][number]): string {
  return `- ${mdCode(e.provider, { inTable: false })} ${mdCode(e.domain, { inTable: false })}${e.zone ? ` (zone ${mdCode(e.zone, { inTable: false })})` : ""}: ${mdText(e.message)}`;
}

/**
 * Where the per-domain line of a derived target sends the reader. The derived-target warning is
 * the same advice for every domain (about 430 characters): the Warnings list gives it once, first
 * (so a capped comment keeps it), and each domain gets a short line.
 */
const DERIVED_SEE = "what to do: see Warnings above";

/** The Warnings list's one line for every derived target, or undefined when there is none. */
function derivedLine(plan: Pick<Plan, "zones">): string | undefined {
  let count = 0;
  let one: string | undefined;
  for (const z of plan.zones)
    for (const n of z.notes ?? [])
      if (isDerivedNote(n)) {
        count++;
        one = n.domain;
      }
  if (count === 0) return undefined;
  const which = count === 1 ? mdCode(one as string, { inTable: false }) : `${count} domains, marked below`;
  return `- ${mdText(DERIVED_TITLE)} (${which}): ${mdText(derivedAdvice(count === 1 ? (one as string) : "<domain>"))}`;
}

/** The Warnings list's lines of one zone, the derived-target warnings left to derivedLine. */
function zoneWarningLines(z: ZonePlan): string[] {
  const lines = z.warnings.map(
    (w) => `- ${mdCode(z.provider, { inTable: false })} · ${mdCode(z.zone, { inTable: false })}: ${mdText(w)}`,
  );
  for (const n of z.notes ?? [])
    if (!isDerivedNote(n))
      lines.push(
        `- ${mdCode(z.provider, { inTable: false })} · ${mdCode(n.domain, { inTable: false })}: ${mdText(n.message)}`,
      );
  return lines;
}

function warningLines(plan: Plan): string[] {
  const derived = derivedLine(plan);
  return [...(derived === undefined ? [] : [derived]), ...plan.zones.flatMap(zoneWarningLines)];
}

/** A list under a heading, cut to `budget` characters with a line saying how many were left out. */
function listSection(title: string, lines: readonly string[], budget: number, what: string): string {
  if (lines.length === 0) return "";
  const out = [title, ""];
  let used = title.length + 2;
  let shown = 0;
  for (const l of lines) {
    if (used + l.length + 1 > budget) break;
    out.push(l);
    used += l.length + 1;
    shown++;
  }
  if (shown < lines.length) out.push(`- … and ${lines.length - shown} more ${what} (see the full plan)`);
  out.push("");
  return `${out.join("\n")}\n`;
}

/** Zones per piece of renderMarkdownChunks. */
const CHUNK_ZONES = 256;

/** The heading, the counts, and the conflict note when there are conflicts. */
function headOf(c: MarkdownCounts): string {
  const head = `### ${headingFor(c)}\n\n**${countsLine(c)}**\n\n`;
  return c.conflicts > 0 ? `${head}> ⛔ ${CONFLICT_NOTE}\n\n` : head;
}

/**
 * Exactly renderMarkdown's text without maxChars, in pieces (the CLI writes them as they come):
 * at 10,000 domains the document is about 15 MB, and building it whole, with its zone blocks
 * and warning lines held at once, was the largest peak of a plan.
 */
export function* renderMarkdownChunks(plan: Plan): Generator<string> {
  yield headOf(markdownCounts(plan)) +
    listSection("#### ❌ Errors", plan.errors.map(errorLine), Number.POSITIVE_INFINITY, "errors");
  // listSection's layout, line by line: title, blank line, the lines, blank line.
  const derived = derivedLine(plan);
  let warnings = 0;
  let piece = derived === undefined ? "" : `#### ⚠️ Warnings\n\n${derived}\n`;
  if (derived !== undefined) warnings++;
  for (const z of plan.zones) {
    for (const line of zoneWarningLines(z)) {
      piece += `${warnings++ === 0 ? "#### ⚠️ Warnings\n\n" : ""}${line}\n`;
    }
    if (piece.length > 65_536) {
      yield piece;
      piece = "";
    }
  }
  if (warnings > 0) piece += "\n";
  for (const [i, z] of plan.zones.entries()) {
    piece += zoneBlock(z);
    if ((i + 1) % CHUNK_ZONES === 0) {
      yield piece;
      piece = "";
    }
  }
  if (piece !== "") yield piece;
}

export function renderMarkdown(plan: Plan, opts: MarkdownOptions = {}): string {
  if (opts.maxChars === undefined) return [...renderMarkdownChunks(plan)].join("");
  const max = opts.maxChars ?? Number.POSITIVE_INFINITY;
  let head = headOf(markdownCounts(plan));
  // Errors and warnings come before the zones and may take at most half of a capped document,
  // so that zones with conflicts still get room.
  const listBudget = Number.isFinite(max) ? Math.floor((max - head.length) / 4) : Number.POSITIVE_INFINITY;
  head += listSection("#### ❌ Errors", plan.errors.map(errorLine), listBudget, "errors");
  head += listSection("#### ⚠️ Warnings", warningLines(plan), listBudget, "warnings");

  const blocks = plan.zones.map((z) => ({ z, text: zoneBlock(z) }));
  const whole = head + blocks.map((b) => b.text).join("");
  if (whole.length <= max) return whole;

  // Conflicts first, then other findings (warnings), then changes, then the rest; within a rank
  // the plan's own order.
  const rank = (z: ZonePlan) => (z.conflicts.length > 0 ? 0 : hasFindings(z) ? 1 : z.changes.length > 0 ? 2 : 3);
  const ordered = [...blocks].sort((a, b) => rank(a.z) - rank(b.z));
  const where = opts.fullPlan ?? "the output of dkimsync plan";
  const omitted = (n: number) =>
    `\n> ✂️ ${n} of ${blocks.length} zones are not shown here, to stay under ${max} characters. The full plan is in ${where}.\n`;
  const reserve = omitted(blocks.length).length;
  let body = "";
  let shown = 0;
  for (const b of ordered) {
    if (head.length + body.length + b.text.length + reserve > max) continue;
    body += b.text;
    shown++;
  }
  const out = head + body + omitted(blocks.length - shown);
  // Only the head itself could still be too long (a budget under a few hundred characters).
  return out.length <= max ? out : `${out.slice(0, Math.max(0, max - 2))}\n`;
}
