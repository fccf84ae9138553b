/**
 * The real dkimsync path a user's `plan` and `apply` take — dkim.zones.yaml -> loadConfig ->
 * buildPlan -> applyPlan -> closeProviders — with each step timed, so every figure of the
 * benchmark comes from the code users run, not from a shortcut around it.
 */
import { applyPlan, type ApplyResult } from "../src/plan/apply.js";
import { loadConfig } from "../src/config/load.js";
import { buildPlan, closeProviders, summarise, type PlanSummary, type ProviderSet } from "../src/plan/build.js";
import type { Plan } from "../src/core/types.js";

export interface Planned {
  plan: Plan;
  providers: ProviderSet;
  summary: PlanSummary;
  /** loadConfig alone, then buildPlan alone. */
  configMs: number;
  planMs: number;
}

export async function timedPlan(file: string, env: NodeJS.ProcessEnv, concurrency?: number): Promise<Planned> {
  const t0 = performance.now();
  const config = loadConfig(file, { env });
  const t1 = performance.now();
  const { plan, providers } = await buildPlan({ config, env, ...(concurrency === undefined ? {} : { concurrency }) });
  const t2 = performance.now();
  return { plan, providers, summary: summarise(plan), configMs: t1 - t0, planMs: t2 - t1 };
}

/** Apply with the providers the plan was made with, as `dkimsync apply` without --plan does. */
export async function timedApply(planned: Planned): Promise<{ result: ApplyResult; applyMs: number }> {
  const t0 = performance.now();
  const result = await applyPlan({ plan: planned.plan, providers: planned.providers, force: false, checkStale: false });
  return { result, applyMs: performance.now() - t0 };
}

/** Plan, and close the providers at once: for the re-plan and the concurrency runs. */
export async function planAndClose(file: string, env: NodeJS.ProcessEnv, concurrency?: number): Promise<Planned> {
  const planned = await timedPlan(file, env, concurrency);
  await closeProviders(planned.providers);
  return planned;
}

/** Problems that make the run meaningless (plan errors, failed zones), as short phrases. */
export function runProblems(label: string, planned: Planned, result?: ApplyResult): string[] {
  const out: string[] = [];
  if (planned.plan.errors.length > 0) {
    const first = planned.plan.errors[0];
    out.push(`${label}: ${planned.plan.errors.length} plan error(s), first: ${first?.domain}: ${first?.message}`);
  }
  const failed = result?.zones.filter((z) => z.outcome !== "applied" && z.outcome !== "unchanged") ?? [];
  if (failed.length > 0)
    out.push(
      `${label}: ${failed.length} zone(s) not applied, first: ${failed[0]?.zone} ${failed[0]?.outcome}: ${failed[0]?.message}`,
    );
  return out;
}

export function zonesWithChanges(plan: Plan): number {
  return plan.zones.filter((z) => z.changes.length > 0).length;
}

export function changeCount(plan: Plan): number {
  return plan.zones.reduce((n, z) => n + z.changes.length, 0);
}
