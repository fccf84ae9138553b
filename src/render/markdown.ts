/** The plan as a pull-request comment: a summary line, then a table per zone. */
import { summarise } from "../plan/build.js";
import type { Plan, RecordSet } from "../core/types.js";
import { summaryLine, shorten } from "./text.js";

/**
 * Text in a table cell: one line, no pipes (they end the cell), no HTML (GitHub renders tags
 * in comments), markup characters taken literally.
 */
function cell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/\r?\n/g, " ");
}

/**
 * A value as a code span, so names never render as links. Inside a code span a backslash and
 * `<` are literal, so only the table's pipe is escaped (GFM 4.10: `\|` works inside code in a
 * table); a value holding backticks gets a longer fence and spaces (GFM 6.1). A line break
 * would end the table row: it is shown as a space, as a code span would show it anyway.
 */
function code(s: string): string {
  if (s === "") return "";
  const body = s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const longestRun = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  if (longestRun === 0) return `\`${body}\``;
  const fence = "`".repeat(longestRun + 1);
  return `${fence} ${body} ${fence}`;
}

function values(set: RecordSet | null): string {
  if (set === null) return "";
  return set.values.map((v) => code(set.type === "CNAME" ? v : shorten(v, 60))).join("<br>");
}

export function renderMarkdown(plan: Plan): string {
  const s = summarise(plan);
  const out: string[] = [];
  const icon = plan.errors.length > 0 || s.conflicts > 0 ? "⚠️" : s.create + s.update + s.delete > 0 ? "📝" : "✅";
  out.push(`### ${icon} dkimsync plan`, "", `**${summaryLine(s)}**`, "");
  for (const z of plan.zones) {
    out.push(`#### \`${z.provider}\` · \`${z.zone}\``, "");
    out.push(`Domains: ${z.domains.map(code).join(", ")}`, "");
    for (const w of z.warnings) out.push(`> ⚠️ ${cell(w)}`, "");
    for (const n of z.notes ?? []) out.push(`> ⚠️ ${code(n.domain)}: ${cell(n.message)}`, "");
    if (z.changes.length === 0 && z.conflicts.length === 0) {
      out.push(`No changes (${z.unchanged.length} up to date).`, "");
      continue;
    }
    out.push("| | Name | Type | TTL | Before | After |", "|---|---|---|---|---|---|");
    for (const c of z.changes) {
      const mark = c.action === "create" ? "➕ create" : c.action === "delete" ? "➖ delete" : "✏️ update";
      const ttl = c.before && c.after && c.before.ttl !== c.after.ttl ? `${c.before.ttl} → ${c.after.ttl}` : String((c.after ?? c.before)?.ttl ?? "");
      const before = values(c.before) + (c.before?.drift?.length ? ` (${cell(c.before.drift.join(", "))})` : "");
      out.push(`| ${mark} | ${code(c.name)} | ${c.type} | ${ttl} | ${before} | ${values(c.after)}${c.source ? ` (${c.source})` : ""} |`);
    }
    for (const c of z.conflicts) {
      out.push(`| ${c.allowed ? "♻️ replace" : "⛔ conflict"} | ${code(c.name)} | ${c.type} | ${c.ttl} | ${values(c)} | ${values(c.desired)}${c.source ? ` (${c.source})` : ""} |`);
    }
    out.push("");
    for (const c of z.conflicts) out.push(`- ⛔ ${code(c.name)}: ${cell(c.reason)}${c.allowed ? ` — allowed by ${cell(c.allowed)}: apply replaces it` : ""}`);
    if (z.conflicts.length > 0) out.push("");
  }
  if (plan.errors.length > 0) {
    out.push("#### ❌ Errors", "");
    for (const e of plan.errors) out.push(`- \`${e.provider}\` ${code(e.domain)}${e.zone ? ` (zone ${code(e.zone)})` : ""}: ${cell(e.message)}`);
    out.push("");
  }
  return `${out.join("\n")}`;
}
