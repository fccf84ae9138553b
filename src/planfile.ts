/**
 * Saved plans (`plan --out`, `apply --plan`): the JSON of DESIGN.md plus what apply needs to
 * refuse stale zones — per zone the names read and a fingerprint of what was there.
 */
import { promises as fs } from "node:fs";
import { DkimsyncError } from "./errors.js";
import { writeFileAtomic } from "./fsutil.js";
import { planToJson, type JsonPlan } from "./render/json.js";
import type { Plan, ZonePlan } from "./types.js";

export interface SavedPlan extends JsonPlan {
  created_at: string;
  config_hash: string;
  zones: ZonePlan[];
  plan_errors: Plan["errors"];
}

export async function savePlan(file: string, plan: Plan, configHash: string, now = new Date()): Promise<void> {
  const saved: SavedPlan = {
    ...planToJson(plan),
    created_at: now.toISOString(),
    config_hash: configHash,
    zones: plan.zones,
    plan_errors: plan.errors,
  };
  await writeFileAtomic(file, `${JSON.stringify(saved, null, 2)}\n`);
}

export async function loadPlan(file: string): Promise<{ plan: Plan; saved: SavedPlan }> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    throw new DkimsyncError(`cannot read the plan ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err, hint: "create it with: dkimsync plan --out FILE" });
  }
  let saved: SavedPlan;
  try {
    saved = JSON.parse(text) as SavedPlan;
  } catch (err) {
    throw new DkimsyncError(`${file}: not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (saved?.version !== 1 || !Array.isArray(saved.zones) || typeof saved.config_hash !== "string") {
    throw new DkimsyncError(`${file}: not a saved dkimsync plan (version 1 with zones and fingerprints)`, {
      hint: "a plan printed with --format json cannot be applied; save one with: dkimsync plan --out FILE",
    });
  }
  for (const z of saved.zones) {
    if (typeof z.provider !== "string" || typeof z.zone !== "string" || typeof z.fingerprint !== "string" || !Array.isArray(z.names) || !Array.isArray(z.changes)) {
      throw new DkimsyncError(`${file}: zone entry ${JSON.stringify(z?.zone)} is incomplete; the plan file was edited or truncated`);
    }
    z.conflicts ??= [];
    z.unchanged ??= [];
    z.warnings ??= [];
    z.domains ??= [];
  }
  return { plan: { zones: saved.zones, errors: saved.plan_errors ?? [] }, saved };
}
