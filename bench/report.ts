/**
 * What each benchmark phase hands back, and the plain-text table printed from it. Figures are
 * counts and ratios measured in one run: the machine is shared, so absolute times are shown only
 * for orientation and never judged.
 */

export interface Figure {
  label: string;
  value: number | string;
  /** What the figure means, shown after it. */
  note?: string;
}

export interface Section {
  title: string;
  figures: Figure[];
}

export interface BenchResult {
  startedAt: string;
  node: string;
  cpus: number;
  sections: Section[];
  /** Hard budgets that do not depend on timing; any entry fails the run. */
  violations: string[];
  /** pdns-scale: one entry per backend, size and scenario, and the targets met or missed. */
  scale?: unknown[];
  targets?: { target: string; measured: string; met: boolean }[];
  /** cloud-scale: one entry per provider, layout, size and scenario. */
  cloudScale?: unknown[];
  /** startup: one entry per build and scenario. */
  startup?: unknown[];
  /** rate-limits: one entry per provider. */
  rateLimits?: unknown[];
}

export function fmt(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b;
}

export function renderText(r: BenchResult): string {
  const lines = [`dkimsync bench, ${r.startedAt}, node ${r.node}, ${r.cpus} CPU(s)`, ""];
  for (const s of r.sections) {
    lines.push(s.title, "-".repeat(s.title.length));
    const width = Math.max(...s.figures.map((f) => f.label.length));
    const vwidth = Math.max(...s.figures.map((f) => fmt(f.value).length));
    for (const f of s.figures) {
      lines.push(`  ${f.label.padEnd(width)}  ${fmt(f.value).padStart(vwidth)}${f.note ? `  ${f.note}` : ""}`);
    }
    lines.push("");
  }
  if (r.violations.length === 0) lines.push("budgets: all held");
  else lines.push(`budgets VIOLATED (${r.violations.length}):`, ...r.violations.map((v) => `  - ${v}`));
  return `${lines.join("\n")}\n`;
}
