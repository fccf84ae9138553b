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

export function planToJson(plan: Plan): JsonPlan {
  const out: JsonPlan = {
    version: 1,
    changes: plan.zones.flatMap((z) =>
      z.changes.map((c) => ({
        action: c.action,
        provider: z.provider,
        zone: z.zone,
        name: c.name,
        type: c.type,
        before: data(c.before),
        after: data(c.after),
        ...(c.source ? { source: c.source } : {}),
      })),
    ),
    conflicts: plan.zones.flatMap((z) =>
      z.conflicts.map((c) => ({
        provider: z.provider,
        zone: z.zone,
        name: c.name,
        type: c.type,
        values: [...c.values],
        reason: c.reason,
        ...(c.source ? { source: c.source } : {}),
        ...(c.allowed ? { allowed: c.allowed } : {}),
      })),
    ),
    summary: summarise(plan),
  };
  if (plan.errors.length > 0) out.errors = plan.errors.map((e) => ({ ...e }));
  const warnings: NonNullable<JsonPlan["warnings"]> = plan.zones.flatMap((z) => [
    ...z.warnings.map((message) => ({ provider: z.provider, zone: z.zone, message })),
    ...(z.notes ?? []).map((n) => ({ provider: z.provider, zone: z.zone, domain: n.domain, message: n.message })),
  ]);
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

export function renderJson(plan: Plan): string {
  return `${JSON.stringify(planToJson(plan), null, 2)}\n`;
}
