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

export type ZoneOutcome = "applied" | "unchanged" | "stale" | "failed" | "unconverged";

export interface ZoneResult {
  provider: string;
  zone: string;
  outcome: ZoneOutcome;
  changes: Change[];
  message?: string;
  /** Written; still to be read back in bulk (internal to applyPlan). */
  readBack?: boolean;
  /**
   * How many of `changes` are in place, by reading back: all of them when applied, 0 when
   * nothing was written, a part after a write that failed half-way (a split apply whose later
   * batch failed). Undefined when it could not be read back.
   */
  written?: number;
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
}

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
  await readBackInBulk(opts.plan.zones, results, opts.providers);
  return { zones: results, planErrors: opts.plan.errors };
}

/**
 * Zones written to a provider that reads in bulk (listMany) are read back together, once all
 * writes are done: one search for the whole server instead of one read per zone.
 */
async function readBackInBulk(zones: readonly ZonePlan[], results: ZoneResult[], providers: ProviderSet): Promise<void> {
  const pending = new Map<string, { z: ZonePlan; r: ZoneResult }[]>();
  results.forEach((r, i) => {
    if (!r.readBack) return;
    const list = pending.get(r.provider) ?? [];
    list.push({ z: zones[i] as ZonePlan, r });
    pending.set(r.provider, list);
  });
  for (const [name, items] of pending) {
    const provider = providers.get(name) as Provider;
    try {
      const read = await (provider.listMany as NonNullable<Provider["listMany"]>)(items.map(({ z }) => ({ zone: z.zone, names: z.names })));
      for (const { z, r } of items) {
        const wanted = new Set(z.names);
        const now = (read.get(z.zone) ?? []).filter((s) => wanted.has(canonical(s.name)));
        const problems = unconverged(r.changes, now);
        r.written = r.changes.length - problems.length;
        if (problems.length > 0) Object.assign(r, { outcome: "unconverged", message: problems.join("; ") });
      }
    } catch (err) {
      for (const { r } of items) {
        delete r.written;
        Object.assign(r, { outcome: "unconverged", message: `written, but reading it back failed: ${errorWithHint(err)}` });
      }
    }
    for (const { r } of items) delete r.readBack;
  }
}

async function applyZone(z: ZonePlan, opts: ApplyOptions): Promise<ZoneResult> {
  const base = { provider: z.provider, zone: z.zone };
  const changes = zoneWrites(z, opts.force);
  if (changes.length === 0) return { ...base, outcome: "unchanged", changes };
  const provider = opts.providers.get(z.provider);
  if (!provider) return { ...base, outcome: "failed", changes, written: 0, message: `provider "${z.provider}" is not configured` };

  try {
    if (opts.checkStale) {
      const now = await readManaged(provider, z);
      if (fingerprint(now) !== z.fingerprint) {
        return {
          ...base,
          outcome: "stale",
          changes,
          written: 0,
          message: `records at ${z.names.join(", ")} changed since the plan was made; nothing was written to this zone. Run plan again`,
        };
      }
    }
  } catch (err) {
    return { ...base, outcome: "failed", changes, written: 0, message: errorWithHint(err) };
  }
  try {
    opts.log?.(`[${z.provider}] zone ${z.zone}: writing ${changes.length} change(s)`);
    await provider.apply(z.zone, changes);
  } catch (err) {
    // A write can succeed while its answer is lost, and the SDK's retry then meets its own change
    // ("already exists"). If the zone now holds exactly what was planned, it converged.
    const reread = await readManaged(provider, z).catch(() => undefined);
    const missing = reread === undefined ? undefined : unconverged(changes, reread).length;
    if (missing === 0) {
      return { ...base, outcome: "applied", changes, written: changes.length, message: `the provider reported an error (${errorWithHint(err)}), but reading back shows every change in place` };
    }
    // Providers whose server checks a precondition per write (Azure etags) learn of a concurrent
    // change only when writing, and mark that error `stale`.
    const stale = typeof err === "object" && err !== null && (err as { stale?: unknown }).stale === true;
    return { ...base, outcome: stale ? "stale" : "failed", changes, message: errorWithHint(err), ...(missing === undefined ? {} : { written: changes.length - missing }) };
  }

  // Read back later, with every other zone of this provider, where the provider reads in bulk.
  if (provider.listMany) return { ...base, outcome: "applied", changes, written: changes.length, readBack: true };
  try {
    const reread = await readManaged(provider, z);
    const problems = unconverged(changes, reread);
    if (problems.length > 0) return { ...base, outcome: "unconverged", changes, written: changes.length - problems.length, message: problems.join("; ") };
  } catch (err) {
    return { ...base, outcome: "unconverged", changes, message: `written, but reading it back failed: ${errorWithHint(err)}` };
  }
  return { ...base, outcome: "applied", changes, written: changes.length };
}

async function readManaged(provider: Provider, z: ZonePlan) {
  const wanted = new Set(z.names);
  return (await provider.list(z.zone, z.names)).filter((s) => wanted.has(canonical(s.name)));
}
