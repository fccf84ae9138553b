/**
 * Saved plans (`plan --out`, `apply --plan`): the JSON of DESIGN.md plus what apply needs to
 * refuse stale zones — per zone the names read and a fingerprint of what was there.
 */
import { promises as fs } from "node:fs";
import type { Config } from "../config/types.js";
import { desiredState } from "../core/desired.js";
import { normaliseSet } from "../core/diff.js";
import { DkimsyncError, errorMessage } from "../core/errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { isInZone } from "../core/names.js";
import { planToJson, type JsonPlan } from "../render/json.js";
import type { Plan, RecordSet, ZonePlan } from "../core/types.js";

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
  try {
    await writeFileAtomic(file, `${JSON.stringify(saved, null, 2)}\n`);
  } catch (err) {
    throw new DkimsyncError(`cannot save the plan to ${file}: ${errorMessage(err)}`, {
      cause: err,
      hint: "name a file in a folder that exists and is writable, for example --out plan.json",
    });
  }
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
    if (!isObject(z) || typeof z.provider !== "string" || typeof z.zone !== "string" || typeof z.fingerprint !== "string" || !isStrings(z.names) || !Array.isArray(z.changes)
      || !z.changes.every(isChange) || !(z.conflicts === undefined || (Array.isArray(z.conflicts) && z.conflicts.every(isConflict)))) {
      throw new DkimsyncError(`${file}: zone entry ${JSON.stringify(isObject(z) ? z.zone : z)} is incomplete; the plan file was edited or truncated`, {
        hint: "make a new plan with: dkimsync plan --out FILE",
      });
    }
    z.conflicts ??= [];
    z.unchanged ??= [];
    z.warnings ??= [];
    z.domains ??= [];
  }
  const errors = Array.isArray(saved.plan_errors) ? saved.plan_errors.filter((e) => isObject(e) && typeof e.provider === "string" && typeof e.domain === "string" && typeof e.message === "string") : [];
  return { plan: { zones: saved.zones, errors }, saved };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isSet(v: unknown): v is RecordSet {
  return isObject(v) && typeof v.name === "string" && typeof v.type === "string" && typeof v.ttl === "number" && isStrings(v.values);
}

function isChange(v: unknown): boolean {
  return isObject(v) && (v.action === "create" || v.action === "update" || v.action === "delete") && typeof v.name === "string" && typeof v.type === "string"
    && (v.before === null || isSet(v.before)) && (v.after === null || isSet(v.after))
    && (v.action === "create" ? v.before === null && v.after !== null : v.action === "delete" ? v.before !== null && v.after === null : v.before !== null && v.after !== null);
}

function isConflict(v: unknown): boolean {
  return isObject(v) && typeof v.name === "string" && typeof v.type === "string" && typeof v.ttl === "number" && isStrings(v.values) && isSet(v.desired) && (v.cname === undefined || isSet(v.cname));
}

function sameSet(a: RecordSet, b: RecordSet): boolean {
  const x = normaliseSet(a);
  const y = normaliseSet(b);
  return x.name === y.name && x.type === y.type && x.ttl === y.ttl && x.values.join("\n") === y.values.join("\n");
}

const MAX_LISTED = 10;

/**
 * A saved plan writes only what the config manages: the selector names of its domains, at the
 * providers they name, with the records the config asks for. Whatever a plan file says (edited
 * by hand, or made from another config), apply --plan never writes anything else. Throws before
 * anything is written; zones that changed on the provider side are the stale check's business.
 */
export function checkSavedPlan(plan: Plan, config: Config, file: string): void {
  const managed = new Map<string, { record: RecordSet; ensure: "present" | "absent"; domain: string }>();
  for (const d of desiredState(config)) {
    for (const p of d.providers) for (const r of d.records) managed.set(`${p}\u0000${r.name}`, { record: r, ensure: d.ensure, domain: d.domain });
  }
  const problems: string[] = [];
  for (const z of plan.zones) {
    const at = (name: string) => `${name} (${z.provider} · ${z.zone})`;
    const own = (name: string) => {
      const m = managed.get(`${z.provider}\u0000${name}`);
      return m !== undefined && isInZone(name, z.zone) && z.names.includes(name) ? m : undefined;
    };
    for (const name of z.names) {
      if (own(name) === undefined) problems.push(`${at(name)} is not a selector name of a domain that ${config.displayFile} publishes with provider "${z.provider}"`);
    }
    for (const c of z.changes) {
      const m = own(c.name);
      if (m === undefined) {
        if (!z.names.includes(c.name)) problems.push(`${at(c.name)}: ${c.action} ${c.type} is outside the names the plan read`);
        continue;
      }
      if (c.type !== "CNAME") problems.push(`${at(c.name)}: ${c.action} ${c.type}; dkimsync only writes the selector CNAME`);
      else if (c.action === "delete" && m.ensure !== "absent") problems.push(`${at(c.name)}: the plan deletes it, but ${config.displayFile} does not say ensure: absent for ${m.domain}`);
      else if (c.after !== null && m.ensure === "absent") problems.push(`${at(c.name)}: the plan writes it, but ${config.displayFile} says ensure: absent for ${m.domain}`);
      else if (c.after !== null && !sameSet(c.after, m.record)) {
        problems.push(`${at(c.name)}: the plan writes ttl ${c.after.ttl} ${c.after.values.join(", ")}, but ${config.displayFile} asks for ttl ${m.record.ttl} ${m.record.values.join(", ")}`);
      }
    }
    for (const c of z.conflicts) {
      const m = own(c.name);
      if (m === undefined) continue;
      if (c.type.toUpperCase() === "CNAME" || m.ensure !== "present" || !sameSet(c.desired, m.record)) {
        problems.push(`${at(c.name)}: the conflict's replacement (--force) does not match ${config.displayFile}`);
      }
    }
  }
  if (problems.length === 0) return;
  const shown = problems.slice(0, MAX_LISTED);
  if (problems.length > MAX_LISTED) shown.push(`... and ${problems.length - MAX_LISTED} more`);
  throw new DkimsyncError(`refusing to apply ${file}: it does not match ${config.displayFile}; nothing was written:\n${shown.map((p) => `  ${p}`).join("\n")}`, {
    hint: `make a new plan from this config and review it: dkimsync plan -c ${config.displayFile} --out ${file}`,
  });
}
