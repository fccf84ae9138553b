/**
 * Plan -> provider writes -> re-read. Zone by zone: one zone's failure does not stop the others;
 * every written zone is read back and must show exactly what was written.
 */
import { forcedChanges, sortChanges, unconverged } from "../core/diff.js";
import { DkimsyncError, errorWithHint } from "../core/errors.js";
import { canonical } from "../core/names.js";
import { fingerprint, type ProviderSet } from "./build.js";
import { pool } from "../util/pool.js";
import type { Change, Plan, Provider, ZonePlan } from "../core/types.js";
import type { Config } from "../config/types.js";
import { guardWrites } from "./safety.js";

export type ZoneOutcome = "applied" | "unchanged" | "stale" | "failed" | "unconverged";

export interface ZoneResult {
  provider: string;
  zone: string;
  outcome: ZoneOutcome;
  changes: Change[];
  message?: string;
}

export interface ApplyResult {
  zones: ZoneResult[];
  /** Domains the plan could not cover (plan errors), carried over so the run fails honestly. */
  planErrors: Plan["errors"];
}

export interface ApplyOptions {
  plan: Plan;
  providers: ProviderSet;
  /** Replace conflicting records at selector names with the CNAME. */
  force: boolean;
  /** Re-read each zone before writing and refuse it if it changed since the plan (apply --plan). */
  checkStale: boolean;
  concurrency?: number;
  log?: (message: string) => void;
  /** When given, the final guard also requires each zone's domains to be configured with its provider. */
  config?: Config;
  /**
   * Aborted on SIGINT/SIGTERM or a closed stdout: zones in flight finish (each zone is one
   * write, read back), zones not yet started are not started (docs/safety.md "Signals").
   */
  signal?: AbortSignal;
}

/** The message of a zone that was not started because the run was interrupted. */
export const NOT_STARTED = "not started: the run was interrupted";

/** The changes apply will write for a zone (with --force, the conflict replacements too). */
export function zoneWrites(z: ZonePlan, force: boolean): Change[] {
  if (!force || z.conflicts.length === 0) return z.changes;
  return sortChanges([...z.changes, ...forcedChanges(z.conflicts)]);
}

export function isApplyFailure(r: ApplyResult): boolean {
  return r.planErrors.length > 0 || r.zones.some((z) => z.outcome !== "applied" && z.outcome !== "unchanged");
}

/**
 * Apply a plan. Conflicts without --force refuse the whole run before anything is written:
 * safety is decided from the plan, not discovered halfway through.
 */
export async function applyPlan(opts: ApplyOptions): Promise<ApplyResult> {
  const conflicts = opts.plan.zones.flatMap((z) => z.conflicts.map((c) => `${c.name} ${c.type} (${z.provider} · ${z.zone})`));
  if (conflicts.length > 0 && !opts.force) {
    throw new DkimsyncError(`refusing to apply: ${conflicts.length} record(s) conflict with selector CNAMEs: ${conflicts.join(", ")}; nothing was written`, {
      hint: "remove them (an old on-premises key at selector1/selector2?), or run apply --force to replace them with the CNAMEs",
    });
  }
  const results = await pool(opts.plan.zones, opts.concurrency ?? 4, (z) => applyZone(z, opts));
  return { zones: results, planErrors: opts.plan.errors };
}

async function applyZone(z: ZonePlan, opts: ApplyOptions): Promise<ZoneResult> {
  const base = { provider: z.provider, zone: z.zone };
  const changes = zoneWrites(z, opts.force);
  if (changes.length === 0) return { ...base, outcome: "unchanged", changes };
  if (opts.signal?.aborted) return { ...base, outcome: "failed", changes, message: `${NOT_STARTED} (${String(opts.signal.reason)}); nothing was written to this zone` };
  const provider = opts.providers.get(z.provider);
  if (!provider) return { ...base, outcome: "failed", changes, message: `provider "${z.provider}" is not configured` };
  // The last check before any provider call, whatever built the plan (src/plan/safety.ts).
  const refused = guardWrites(z, changes, { force: opts.force, ...(opts.config ? { config: opts.config } : {}) });
  if (refused.length > 0) {
    return { ...base, outcome: "failed", changes, message: `refused by the safety guard; nothing was written to this zone: ${refused.slice(0, 5).join("; ")}` };
  }

  try {
    if (opts.checkStale) {
      const now = await readManaged(provider, z);
      if (fingerprint(now) !== z.fingerprint) {
        return {
          ...base,
          outcome: "stale",
          changes,
          message: `records at ${z.names.join(", ")} changed since the plan was made; nothing was written to this zone. Run plan again`,
        };
      }
    }
  } catch (err) {
    return { ...base, outcome: "failed", changes, message: errorWithHint(err) };
  }
  try {
    opts.log?.(`[${z.provider}] zone ${z.zone}: writing ${changes.length} change(s)`);
    await provider.apply(z.zone, changes);
  } catch (err) {
    // A write can succeed while its answer is lost, and the SDK's retry then meets its own change
    // ("already exists"). If the zone now holds exactly what was planned, it converged.
    const reread = await readManaged(provider, z).catch(() => undefined);
    if (reread !== undefined && unconverged(changes, reread).length === 0) {
      return { ...base, outcome: "applied", changes, message: `the provider reported an error (${errorWithHint(err)}), but reading back shows every change in place` };
    }
    return { ...base, outcome: "failed", changes, message: errorWithHint(err) };
  }

  try {
    const reread = await readManaged(provider, z);
    const problems = unconverged(changes, reread);
    if (problems.length > 0) return { ...base, outcome: "unconverged", changes, message: problems.join("; ") };
  } catch (err) {
    return { ...base, outcome: "unconverged", changes, message: `written, but reading it back failed: ${errorWithHint(err)}` };
  }
  return { ...base, outcome: "applied", changes };
}

async function readManaged(provider: Provider, z: ZonePlan) {
  const wanted = new Set(z.names);
  return (await provider.list(z.zone, z.names)).filter((s) => wanted.has(canonical(s.name)));
}
