/** The plan for people: one block per zone, one line per record, a summary last. */
import { CONFLICT_NOTE } from "./markdown.js";
import { summarise, type PlanSummary } from "../plan/build.js";
import type { Change, Plan, PlanError, RecordSet } from "../core/types.js";
import { showDomain } from "../core/display.js";
import { DERIVED_START, DERIVED_TITLE, derivedAdvice, isDerivedNote } from "../core/desired.js";
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

/** Where a written target came from, after the record: `[derived]`, `[signing_config]`, `[config]`. */
function sourceTag(c: { source?: string }, st: Style): string {
  return c.source ? st.dim(`  [${c.source}]`) : "";
}

function changeLines(c: Change, st: Style): string[] {
  switch (c.action) {
    case "create":
      return [
        st.green(`  + ${c.name}  ${c.type}  ${setText(c.after as RecordSet)}`) +
          sourceTag(c, st) +
          (c.reason ? st.dim(`  (${c.reason})`) : ""),
      ];
    case "delete":
      return [
        st.red(`  - ${c.name}  ${c.type}  ${setText(c.before as RecordSet)}`) +
          (c.reason ? st.dim(`  (${c.reason})`) : ""),
      ];
    case "update":
      return [
        st.yellow(`  ~ ${c.name}  ${c.type}`) + (c.reason ? st.dim(`  (${c.reason})`) : ""),
        st.red(`      - ${setText(c.before as RecordSet)}`),
        st.green(`      + ${setText(c.after as RecordSet)}`) + sourceTag(c, st),
      ];
  }
}

export interface TextOptions {
  /** Show unchanged zones in full rather than one line each. */
  verbose?: boolean;
  /** The run already replaces conflicts (apply --force): do not suggest the flag again. */
  force?: boolean;
}

/**
 * Plan errors grouped by provider and message: one provider failure that hits many domains (a
 * wrong API token, say) is one line naming every zone and domain it affected.
 */
export function groupErrors(
  errors: readonly PlanError[],
): { providers: string[]; message: string; zones: string[]; domains: string[] }[] {
  const groups = new Map<string, { providers: string[]; message: string; zones: string[]; domains: string[] }>();
  for (const e of errors) {
    const g = groups.get(e.message) ?? { providers: [], message: e.message, zones: [], domains: [] };
    groups.set(e.message, g);
    if (!g.providers.includes(e.provider)) g.providers.push(e.provider);
    if (e.zone !== undefined && !g.zones.includes(e.zone)) g.zones.push(e.zone);
    if (!g.domains.includes(e.domain)) g.domains.push(e.domain);
  }
  return [...groups.values()];
}

export function renderText(plan: Plan, st: Style = plain, opts: TextOptions = {}): string {
  return [...renderTextChunks(plan, st, opts)].join("");
}

/**
 * The same text as renderText, in pieces of about CHUNK_LINES lines, each ending in a newline:
 * at 10,000 domains the plan is several MB of text, and the CLI writes the pieces as they come
 * instead of holding every line, the joined string and its encoded copy at once.
 */
export function* renderTextChunks(plan: Plan, st: Style = plain, opts: TextOptions = {}): Generator<string> {
  const lines = new LineBuffer();
  const derived: string[] = [];
  let chunk: string | undefined;
  for (const z of plan.zones) {
    const head =
      st.bold(`${z.provider} · ${showDomain(z.zone)}`) + st.dim(`  (${z.domains.map(showDomain).join(", ")})`);
    const notes = (z.notes ?? []).map((n) => {
      // The derived-target warning is the same advice for every domain (about 430 characters):
      // one short line per domain here, the advice once before the summary.
      if (!isDerivedNote(n)) return st.yellow(`  ! ${showDomain(n.domain)}: ${n.message}`);
      derived.push(n.domain);
      return st.yellow(`  ! ${showDomain(n.domain)}: ${DERIVED_START} (${DERIVED_SEE})`);
    });
    const quiet = z.changes.length === 0 && z.conflicts.length === 0 && z.warnings.length === 0;
    if (quiet && !opts.verbose) {
      // Thirty up-to-date domains are thirty lines, not ninety.
      lines.push(
        `${head}  ${st.dim(z.unchanged.length > 0 ? `= no changes (${z.unchanged.length} up to date)` : "= no changes")}`,
        ...notes,
      );
      chunk = lines.take(false);
      if (chunk !== undefined) yield chunk;
      continue;
    }
    if (lines.count > 0 && lines.last !== "") lines.push("");
    lines.push(head);
    for (const w of z.warnings) lines.push(st.yellow(`  ! warning: ${w}`));
    lines.push(...notes);
    for (const c of z.changes) lines.push(...changeLines(c, st));
    for (const c of z.conflicts) {
      lines.push(st.red(`  ✗ conflict ${c.name}  ${c.type}  ${setText(c)}`));
      // The reason ends by pointing at --force: not to a run that uses it, nor where replace: allows it.
      const reason = opts.force
        ? c.reason.replace(
            /apply --force replaces it with the CNAME$/,
            "--force replaces it with the CNAME in this run",
          )
        : c.allowed !== undefined
          ? c.reason.replace(/; apply --force replaces it with the CNAME$/, "")
          : c.reason;
      lines.push(st.dim(`      ${reason}`));
      if (c.allowed !== undefined)
        lines.push(st.yellow(`      allowed by ${c.allowed}: apply replaces it with the CNAME`));
      lines.push(st.dim(`      wanted: CNAME ${c.desired.ttl}  ${c.desired.values.join(", ")}`) + sourceTag(c, st));
    }
    if (z.changes.length === 0 && z.conflicts.length === 0)
      lines.push(
        st.dim(`  = no changes (${z.unchanged.length} record${z.unchanged.length === 1 ? "" : "s"} up to date)`),
      );
    else if (z.unchanged.length > 0) lines.push(st.dim(`  = ${z.unchanged.length} unchanged`));
    lines.push("");
    chunk = lines.take(false);
    if (chunk !== undefined) yield chunk;
  }
  if (lines.count > 0 && lines.last !== "") lines.push("");
  if (plan.errors.length > 0) {
    lines.push(st.red(st.bold("Errors:")));
    for (const g of groupErrors(plan.errors)) {
      const where =
        g.zones.length > 0 ? ` (zone${g.zones.length === 1 ? "" : "s"} ${g.zones.map(showDomain).join(", ")})` : "";
      lines.push(st.red(`  [${g.providers.join(", ")}] ${g.domains.map(showDomain).join(", ")}${where}: ${g.message}`));
    }
    lines.push("");
  }
  if (derived.length > 0) {
    const one = derived.length === 1 ? (derived[0] as string) : undefined;
    const which = one === undefined ? `${derived.length} domains, marked above` : showDomain(one);
    lines.push(st.yellow(`! ${DERIVED_TITLE} (${which}): ${derivedAdvice(one ?? "<domain>")}`), "");
  }
  const s = summarise(plan);
  lines.push(st.bold(`Plan: ${summaryLine(s)}.`));
  const blocking = plan.zones.flatMap((z) => z.conflicts).filter((c) => c.allowed === undefined);
  if (blocking.length > 0 && opts.force)
    lines.push("Conflicting records block their CNAMEs: --force replaces them with the CNAMEs.");
  else if (blocking.length > 0) {
    lines.push(CONFLICT_NOTE);
  }
  chunk = lines.take();
  if (chunk !== undefined) yield chunk;
}

/** Where the per-domain line of a derived target sends the reader. */
const DERIVED_SEE = "what to do: see the note before the summary";

const CHUNK_LINES = 512;

/** Lines of output, handed out in chunks; remembers how many there were and the last one. */
class LineBuffer {
  private buf: string[] = [];
  count = 0;
  last: string | undefined;
  push(...lines: string[]): void {
    for (const l of lines) this.buf.push(l);
    this.count += lines.length;
    if (lines.length > 0) this.last = lines[lines.length - 1];
  }
  /**
   * The lines so far as one chunk (undefined when empty), if there are enough of them or `all`.
   * Not a generator: it is asked once per zone, and a generator object per zone was garbage.
   */
  take(all = true): string | undefined {
    if (this.buf.length === 0 || (!all && this.buf.length < CHUNK_LINES)) return undefined;
    const chunk = `${this.buf.join("\n")}\n`;
    this.buf = [];
    return chunk;
  }
}
