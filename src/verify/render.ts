/** The verify report for people (text), pull requests (markdown) and machines (json). */
import { showDomain } from "../core/display.js";
import type { CheckStatus, VerifyReport } from "./checks.js";
import { mdCode, mdText } from "../render/markdown-escape.js";
import { plain, type Style } from "../render/style.js";

const MARK: Record<CheckStatus, string> = { pass: "✓", info: "i", warn: "!", fail: "✗" };
const ICON: Record<CheckStatus, string> = { pass: "✅", info: "ℹ️", warn: "⚠️", fail: "❌" };

function paint(st: Style, status: CheckStatus, s: string): string {
  if (status === "pass") return st.green(s);
  if (status === "warn") return st.yellow(s);
  if (status === "fail") return st.red(s);
  return st.dim(s);
}

export function summaryText(r: VerifyReport): string {
  const s = r.summary;
  return `${s.pass} passed, ${s.warn} warning${s.warn === 1 ? "" : "s"}, ${s.info} info, ${s.fail} failed`;
}

export function renderVerifyText(r: VerifyReport, st: Style = plain): string {
  const lines: string[] = [];
  for (const d of r.domains) {
    const extra = [d.ensure === "absent" ? "ensure: absent" : "", d.activeSelector ? `${d.activeSelector} active` : ""]
      .filter(Boolean)
      .join(", ");
    lines.push(st.bold(showDomain(d.domain)) + (extra ? st.dim(`  (${extra})`) : ""));
    const width = Math.max(...d.checks.map((c) => c.check.length));
    for (const c of d.checks) {
      lines.push(
        `  ${paint(st, c.status, `${MARK[c.status]} ${c.status.padEnd(4)}`)}  ${c.check.padEnd(width)}  ${c.message}`,
      );
    }
    lines.push("");
  }
  if (r.unreachable) lines.push(st.red(`Could not verify: ${r.unreachable}.`));
  lines.push(st.bold(`Verify: ${summaryText(r)}.`));
  return `${lines.join("\n")}\n`;
}

/** Untrusted text (DNS answers, key records) in a cell or line: see markdown-escape.ts. */
function cell(s: string): string {
  return mdText(s, { breaks: true });
}

export function renderVerifyMarkdown(r: VerifyReport): string {
  const s = r.summary;
  const icon = s.fail > 0 || r.unreachable ? ICON.fail : s.warn > 0 ? ICON.warn : ICON.pass;
  const out: string[] = [`### ${icon} dkimsync verify`, "", `**${summaryText(r)}**`, ""];
  if (r.unreachable) out.push(`> ❌ Could not verify: ${cell(r.unreachable)}`, "");
  for (const d of r.domains) {
    const extra = [d.ensure === "absent" ? "ensure: absent" : "", d.activeSelector ? `${d.activeSelector} active` : ""]
      .filter(Boolean)
      .join(", ");
    out.push(
      `#### ${mdCode(d.domain, { inTable: false })}${extra ? ` (${extra})` : ""}`,
      "",
      "| | Check | Result |",
      "|---|---|---|",
    );
    for (const c of d.checks) out.push(`| ${ICON[c.status]} | ${cell(c.check)} | ${cell(c.message)} |`);
    out.push("");
  }
  return `${out.join("\n")}\n`;
}

/** `{ version: 1, domains, summary }`: the same data as the text (docs/reference/verify.md). */
export function renderVerifyJson(r: VerifyReport): string {
  const body: Record<string, unknown> = { version: 1, domains: r.domains, summary: r.summary };
  if (r.unreachable) body.error = r.unreachable;
  return `${JSON.stringify(body, null, 2)}\n`;
}
