/** The plan as JSON: the schema README.md documents (version 1); new fields are only added. */
import { summarise, type PlanSummary } from "../plan/build.js";
import type { Plan, RecordSet, TargetSource } from "../core/types.js";

export interface JsonChange {
  action: "create" | "update" | "delete";
  provider: string;
  zone: string;
  name: string;
  type: string;
  before: JsonSet | null;
  after: JsonSet | null;
  /** Where the target came from: config, signing_config or derived. */
  source?: TargetSource;
}

/**
 * A record's data. `drift` lists how the provider's copy differs beyond ttl and values (e.g.
 * Cloudflare `proxied`, a flattened CNAME), so an update whose only fault is drift does not show
 * identical `before` and `after`. Present only when non-empty.
 */
export interface JsonSet {
  ttl: number;
  values: string[];
  drift?: string[];
}

export interface JsonConflict {
  provider: string;
  zone: string;
  name: string;
  type: string;
  values: string[];
  reason: string;
  source?: TargetSource;
  /** Set when the config allows apply to replace it (`replace: [TXT]`), naming where. */
  allowed?: string;
}

export interface JsonPlan {
  version: 1;
  changes: JsonChange[];
  conflicts: JsonConflict[];
  summary: PlanSummary;
  /** Present only when some domains could not be planned (the run exits 1). */
  errors?: { provider: string; domain: string; zone?: string; message: string }[];
  /** Present only when a provider reported zone-wide problems, or a domain has a warning (`domain` set). */
  warnings?: { provider: string; zone: string; domain?: string; message: string }[];
}

function data(set: RecordSet | null): JsonSet | null {
  if (set === null) return null;
  return {
    ttl: set.ttl,
    values: [...set.values],
    ...(set.drift && set.drift.length > 0 ? { drift: [...set.drift] } : {}),
  };
}

function* changesOf(plan: Plan): Generator<JsonChange> {
  for (const z of plan.zones)
    for (const c of z.changes)
      yield {
        action: c.action,
        provider: z.provider,
        zone: z.zone,
        name: c.name,
        type: c.type,
        before: data(c.before),
        after: data(c.after),
        ...(c.source ? { source: c.source } : {}),
      };
}

function* conflictsOf(plan: Plan): Generator<JsonConflict> {
  for (const z of plan.zones)
    for (const c of z.conflicts)
      yield {
        provider: z.provider,
        zone: z.zone,
        name: c.name,
        type: c.type,
        values: [...c.values],
        reason: c.reason,
        ...(c.source ? { source: c.source } : {}),
        ...(c.allowed ? { allowed: c.allowed } : {}),
      };
}

function* warningsOf(plan: Plan): Generator<NonNullable<JsonPlan["warnings"]>[number]> {
  for (const z of plan.zones) {
    for (const message of z.warnings) yield { provider: z.provider, zone: z.zone, message };
    for (const n of z.notes ?? []) yield { provider: z.provider, zone: z.zone, domain: n.domain, message: n.message };
  }
}

export function planToJson(plan: Plan): JsonPlan {
  const out: JsonPlan = {
    version: 1,
    changes: [...changesOf(plan)],
    conflicts: [...conflictsOf(plan)],
    summary: summarise(plan),
  };
  if (plan.errors.length > 0) out.errors = plan.errors.map((e) => ({ ...e }));
  const warnings = [...warningsOf(plan)];
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

/** The JSON plan as one string: renderJsonChunks joined, so there is one writer of the text. */
export function renderJson(plan: Plan): string {
  return [...renderJsonChunks(plan)].join("");
}

/** Array items per piece of renderJsonChunks. */
const CHUNK_ITEMS = 256;

/**
 * Exactly renderJson's text, in pieces: each array item is stringified on its own (indented as
 * JSON.stringify(..., 2) indents it at that depth), so the whole plan never exists as one object
 * tree and one string. At 10,000 domains the JSON plan is about 13 MB.
 */
export function* renderJsonChunks(plan: Plan): Generator<string> {
  const member = (key: string, value: unknown) =>
    `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replaceAll("\n", "\n  ")}`;
  function* array(key: string, items: Iterable<unknown>, last: boolean): Generator<string> {
    let piece = "";
    let n = 0;
    for (const item of items) {
      piece += `${n === 0 ? `  ${JSON.stringify(key)}: [\n` : ",\n"}    ${JSON.stringify(item, null, 2).replaceAll("\n", "\n    ")}`;
      if (++n % CHUNK_ITEMS === 0) {
        yield piece;
        piece = "";
      }
    }
    yield `${piece}${n === 0 ? `  ${JSON.stringify(key)}: []` : "\n  ]"}${last ? "\n" : ",\n"}`;
  }
  const hasWarnings = !warningsOf(plan).next().done;
  const hasErrors = plan.errors.length > 0;
  yield '{\n  "version": 1,\n';
  yield* array("changes", changesOf(plan), false);
  yield* array("conflicts", conflictsOf(plan), false);
  yield `${member("summary", summarise(plan))}${hasErrors || hasWarnings ? ",\n" : "\n"}`;
  if (hasErrors)
    yield* array(
      "errors",
      plan.errors.map((e) => ({ ...e })),
      !hasWarnings,
    );
  if (hasWarnings) yield* array("warnings", warningsOf(plan), true);
  yield "}\n";
}
