/** The plan for people: one block per zone, one line per record, a summary last. */
import { summarise, type PlanSummary } from "../plan/build.js";
import type { Change, Plan, RecordSet } from "../core/types.js";
import { plain, type Style } from "./style.js";

export function shorten(value: string, max = 72): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

function setText(set: RecordSet): string {
  const values = set.values.map((v) => (set.type === "CNAME" ? v : JSON.stringify(shorten(v, 60)))).join(", ");
  return `${set.ttl}  ${values}`;
}

export function summaryLine(s: PlanSummary): string {
  const conflicts = `${s.conflicts} conflict${s.conflicts === 1 ? "" : "s"}`;
  return `${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.unchanged} unchanged, ${conflicts}`;
}

function changeLines(c: Change, st: Style): string[] {
  switch (c.action) {
    case "create":
      return [st.green(`  + ${c.name}  ${c.type}  ${setText(c.after as RecordSet)}`) + (c.reason ? st.dim(`  (${c.reason})`) : "")];
    case "delete":
      return [st.red(`  - ${c.name}  ${c.type}  ${setText(c.before as RecordSet)}`) + (c.reason ? st.dim(`  (${c.reason})`) : "")];
    case "update":
      return [
        st.yellow(`  ~ ${c.name}  ${c.type}`) + (c.reason ? st.dim(`  (${c.reason})`) : ""),
        st.red(`      - ${setText(c.before as RecordSet)}`),
        st.green(`      + ${setText(c.after as RecordSet)}`),
      ];
  }
}

export function renderText(plan: Plan, st: Style = plain): string {
  const lines: string[] = [];
  for (const z of plan.zones) {
    lines.push(st.bold(`${z.provider} · ${z.zone}`) + st.dim(`  (${z.domains.join(", ")})`));
    for (const w of z.warnings) lines.push(st.yellow(`  ! warning: ${w}`));
    for (const c of z.changes) lines.push(...changeLines(c, st));
    for (const c of z.conflicts) {
      lines.push(st.red(`  ✗ conflict ${c.name}  ${c.type}  ${setText(c)}`));
      lines.push(st.dim(`      ${c.reason}`));
      lines.push(st.dim(`      wanted: CNAME ${c.desired.ttl}  ${c.desired.values.join(", ")}`));
    }
    if (z.changes.length === 0 && z.conflicts.length === 0) lines.push(st.dim(`  = no changes (${z.unchanged.length} record${z.unchanged.length === 1 ? "" : "s"} up to date)`));
    else if (z.unchanged.length > 0) lines.push(st.dim(`  = ${z.unchanged.length} unchanged`));
    lines.push("");
  }
  if (plan.errors.length > 0) {
    lines.push(st.red(st.bold("Errors:")));
    for (const e of plan.errors) lines.push(st.red(`  [${e.provider}] ${e.domain}${e.zone ? ` (zone ${e.zone})` : ""}: ${e.message}`));
    lines.push("");
  }
  const s = summarise(plan);
  lines.push(st.bold(`Plan: ${summaryLine(s)}.`));
  if (s.conflicts > 0) lines.push("Conflicting records block their CNAMEs: apply refuses until they are removed, or run apply --force to replace them.");
  return `${lines.join("\n")}\n`;
}
