/** The headers explanation for people (text), pull requests (markdown) and machines (json). */
import { compauthMeaning } from "./analyse.js";
import type { AuthResult, DkimVerdict, HeadersReport } from "./analyse.js";
import { mdCode, mdText } from "../render/markdown-escape.js";
import { plain, type Style } from "../render/style.js";

function resultColor(st: Style, result: string, s: string): string {
  if (result === "pass" || result === "bestguesspass") return st.green(s);
  if (result === "none" || result === "neutral") return st.yellow(s);
  return st.red(s);
}

function props(r: AuthResult): string {
  const parts = [...Object.entries(r.props), ...Object.entries(r.extras)].map(([k, v]) => (v === "" ? k : `${k}=${v}`));
  if (r.reason) parts.push(`reason=${r.reason}`);
  return parts.join(" ");
}

function verdictLine(v: DkimVerdict): string {
  const who = [
    v.domain ? `d=${v.domain}` : "",
    v.selector ? `s=${v.selector}` : "",
    v.identity ? `i=${v.identity}` : "",
    v.b ? `b=${v.b}` : "",
  ]
    .filter(Boolean)
    .join(" ");
  const flags = [
    v.configured === true ? "configured domain" : v.configured === false ? "not a configured domain" : "",
    v.selector && v.m365Selector === false ? "not a Microsoft 365 selector" : "",
  ].filter(Boolean);
  return `dkim=${v.result}${who ? ` ${who}` : ""}${flags.length ? ` [${flags.join(", ")}]` : ""}${v.comment ? ` (${v.comment})` : ""}`;
}

function date(d: Date | undefined): string {
  return d ? d.toISOString() : "-";
}

export function renderHeadersText(r: HeadersReport, st: Style = plain): string {
  const out: string[] = [];
  out.push(st.bold("DKIM results in the message"));
  if (r.dkimResults.length === 0) out.push("  (none)");
  for (const v of r.dkimResults) {
    out.push(`  ${resultColor(st, v.result, verdictLine(v))}`);
    out.push(st.dim(`      from ${v.source}: ${v.meaning}`));
  }
  if (r.verified) {
    out.push("", st.bold("DKIM verified now over DNS (--verify)"));
    for (const v of r.verified) {
      out.push(`  ${resultColor(st, v.result, verdictLine(v))}`);
      out.push(st.dim(`      ${v.meaning}`));
    }
  }
  out.push("", st.bold("DKIM-Signature fields"));
  if (r.signatures.length === 0) out.push("  (none)");
  for (const s of r.signatures) {
    if (s.error) {
      out.push(st.red(`  unreadable: ${s.error}`));
      continue;
    }
    const flags = [
      s.configured === true ? "configured domain" : s.configured === false ? "not a configured domain" : "",
      s.m365Selector ? "Microsoft 365 selector" : "not a Microsoft 365 selector",
    ].filter(Boolean);
    out.push(`  d=${s.d ?? "?"} s=${s.s ?? "?"} a=${s.a ?? "?"} c=${s.c ?? "simple/simple"}  [${flags.join(", ")}]`);
    // t= and x= are optional (RFC 6376 3.5): say so rather than print "signed -, expires -".
    const when = [
      s.t ? `signed ${date(s.t)}` : "no signing time (t=)",
      s.x ? `expires ${date(s.x)}` : "no expiry (x=)",
    ].join(", ");
    out.push(st.dim(`      ${when}; h=${s.h.join(":")}`));
  }
  out.push("", st.bold("ARC chain: ") + r.arc.chain);
  for (const set of r.arc.sets) {
    const aar = set.authResults?.results.map((x) => `${x.method}=${x.result}`).join(" ") ?? "-";
    out.push(
      `  i=${set.instance} cv=${set.seal?.cv ?? "?"} sealed by ${set.seal?.d ?? "?"} (s=${set.seal?.s ?? "?"}); ${set.authResults?.authservId ?? "?"} saw: ${aar}`,
    );
  }
  for (const p of r.arc.problems) out.push(st.yellow(`  ! ${p}`));
  out.push("", st.bold("SPF"));
  if (r.spf.length === 0) out.push("  (none)");
  for (const s of r.spf)
    out.push(
      `  ${resultColor(st, s.result, `spf=${s.result}`)} ${props(s)}${s.comments.length ? st.dim(` (${s.comments.join("; ")})`) : ""}`,
    );
  out.push("", st.bold("DMARC"));
  if (r.dmarc.length === 0) out.push("  (none)");
  for (const d of r.dmarc)
    out.push(
      `  ${resultColor(st, d.result, `dmarc=${d.result}`)} ${props(d)}${d.comments.length ? st.dim(` (${d.comments.join("; ")})`) : ""}`,
    );
  const compauth = r.authResults.flatMap((a) => a.results.filter((x) => x.method === "compauth"));
  for (const c of compauth)
    out.push(
      `  compauth=${c.result}${c.reason ? ` reason=${c.reason}` : ""} (Microsoft composite authentication${compauthMeaning(c.reason) ? `: ${compauthMeaning(c.reason)}` : ""})`,
    );
  const nonStandard = [...new Set(r.authResults.flatMap((a) => a.nonStandard))];
  if (nonStandard.length || r.notes.length) {
    out.push("", st.bold("Notes"));
    for (const n of [...r.notes, ...nonStandard]) out.push(`  - ${n}`);
  }
  out.push(
    "",
    st.bold(r.dkimPass ? st.green("DKIM: pass") : st.red("DKIM: no pass")) +
      (r.configuredDomains ? ` (for a configured domain)` : " (any domain; no config)"),
  );
  return `${out.join("\n")}\n`;
}

/**
 * Every value here comes from a received message, which anyone can write: d=, s=, a= and the
 * results all go through the one escaper (markdown-escape.ts), so `a=rsa-sha256|<img ...>`
 * neither splits the table nor lands as HTML.
 */
function cell(s: string | undefined): string {
  return mdText(s ?? "", { breaks: true });
}

export function renderHeadersMarkdown(r: HeadersReport): string {
  const out: string[] = [`### ${r.dkimPass ? "✅" : "❌"} dkimsync headers`, ""];
  const rows = [...r.dkimResults, ...(r.verified ?? [])];
  out.push("| Source | Result | Domain | Selector | header.i | header.b | Meaning |", "|---|---|---|---|---|---|---|");
  for (const v of rows)
    out.push(
      `| ${cell(v.source)} | ${mdCode(String(v.result))} | ${cell(v.domain)} | ${cell(v.selector)} | ${cell(v.identity ?? "")} | ${cell(v.b ?? "")} | ${cell(v.meaning)} |`,
    );
  out.push("");
  if (r.signatures.length) {
    out.push("| d= | s= | a= | signed | expires |", "|---|---|---|---|---|");
    for (const s of r.signatures)
      out.push(`| ${cell(s.d)} | ${cell(s.s)} | ${cell(s.a)} | ${cell(date(s.t))} | ${cell(date(s.x))} |`);
    out.push("");
  }
  out.push(`ARC chain: **${cell(String(r.arc.chain))}**`, "");
  for (const s of r.spf) out.push(`- spf=${cell(String(s.result))} ${cell(props(s))}`);
  for (const d of r.dmarc) out.push(`- dmarc=${cell(String(d.result))} ${cell(props(d))}`);
  for (const n of r.notes) out.push(`- ${cell(n)}`);
  return `${out.join("\n")}\n`;
}

export function renderHeadersJson(r: HeadersReport): string {
  return `${JSON.stringify({ version: 1, ...r }, null, 2)}\n`;
}
