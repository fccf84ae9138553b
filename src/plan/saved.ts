/**
 * Saved plans (`plan --out`, `apply --plan`): the plan JSON of docs/reference/plan-json.md plus what apply needs to
 * refuse stale zones — per zone the names read and a fingerprint of what was there.
 */
import { configuredDomain } from "../config/domains.js";
import type { Config } from "../config/types.js";
import { desiredState } from "../core/desired.js";
import { normaliseSet } from "../core/diff.js";
import { DkimsyncError, errorMessage, redact } from "../core/errors.js";
import { readFileBounded, TooLargeError, writeFileAtomic } from "../util/fs.js";

const MAX_PLAN_BYTES = 128 * 1024 * 1024;
import { excerpt, isInZone } from "../core/names.js";
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
    // Provider messages in plan_errors pass the same redactor as every other output.
    await writeFileAtomic(file, redact(`${JSON.stringify(saved, null, 2)}\n`));
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
    // Bounded like every input (docs/safety.md "Input limits"): a 10,000-zone plan is ~20 MiB.
    text = readFileBounded(file, MAX_PLAN_BYTES).toString("utf8");
  } catch (err) {
    if (err instanceof TooLargeError)
      throw new DkimsyncError(
        `the plan ${file} is larger than ${MAX_PLAN_BYTES / 1024 / 1024} MiB; refusing to read it`,
        { hint: "create it with: dkimsync plan --out FILE" },
      );
    throw new DkimsyncError(`cannot read the plan ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
      hint: "create it with: dkimsync plan --out FILE",
    });
  }
  let saved: SavedPlan;
  try {
    saved = JSON.parse(text) as SavedPlan;
  } catch (err) {
    // V8's message quotes the text around the error; a plan file is never echoed.
    throw new DkimsyncError(`${file}: not valid JSON; the plan file was edited or truncated`, {
      cause: err,
      hint: "make a new plan with: dkimsync plan --out FILE",
    });
  }
  if (saved?.version !== 1 || !Array.isArray(saved.zones) || typeof saved.config_hash !== "string") {
    throw new DkimsyncError(`${file}: not a saved dkimsync plan (version 1 with zones and fingerprints)`, {
      hint: "a plan printed with --format json cannot be applied; save one with: dkimsync plan --out FILE",
    });
  }
  for (const z of saved.zones) {
    if (
      !isObject(z) ||
      typeof z.provider !== "string" ||
      typeof z.zone !== "string" ||
      typeof z.fingerprint !== "string" ||
      !isStrings(z.names) ||
      !Array.isArray(z.changes) ||
      !z.changes.every(isChange) ||
      !(z.domains === undefined || isStrings(z.domains)) ||
      !(z.conflicts === undefined || (Array.isArray(z.conflicts) && z.conflicts.every(isConflict)))
    ) {
      throw new DkimsyncError(
        `${file}: zone entry ${excerpt(JSON.stringify(isObject(z) ? z.zone : z) ?? "?")} is incomplete; the plan file was edited or truncated`,
        {
          hint: "make a new plan with: dkimsync plan --out FILE",
        },
      );
    }
    z.conflicts ??= [];
    z.unchanged ??= [];
    z.warnings ??= [];
    z.domains ??= [];
  }
  const errors = Array.isArray(saved.plan_errors)
    ? saved.plan_errors.filter(
        (e) =>
          isObject(e) &&
          typeof e.provider === "string" &&
          typeof e.domain === "string" &&
          typeof e.message === "string",
      )
    : [];
  return { plan: { zones: saved.zones, errors }, saved };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isSet(v: unknown): v is RecordSet {
  return (
    isObject(v) &&
    typeof v.name === "string" &&
    typeof v.type === "string" &&
    typeof v.ttl === "number" &&
    isStrings(v.values)
  );
}

function isChange(v: unknown): boolean {
  return (
    isObject(v) &&
    (v.action === "create" || v.action === "update" || v.action === "delete") &&
    typeof v.name === "string" &&
    typeof v.type === "string" &&
    (v.before === null || isSet(v.before)) &&
    (v.after === null || isSet(v.after)) &&
    (v.action === "create"
      ? v.before === null && v.after !== null
      : v.action === "delete"
        ? v.before !== null && v.after === null
        : v.before !== null && v.after !== null)
  );
}

function isConflict(v: unknown): boolean {
  return (
    isObject(v) &&
    typeof v.name === "string" &&
    typeof v.type === "string" &&
    typeof v.ttl === "number" &&
    isStrings(v.values) &&
    isSet(v.desired) &&
    (v.cname === undefined || isSet(v.cname))
  );
}

function sameSet(a: RecordSet, b: RecordSet): boolean {
  const x = normaliseSet(a);
  const y = normaliseSet(b);
  return x.name === y.name && x.type === y.type && x.ttl === y.ttl && x.values.join("\n") === y.values.join("\n");
}

const MAX_LISTED = 10;

/**
 * A saved plan writes only what the config manages: the selector names of its domains, at the
 * providers they name, with the records the config asks for. A file that says anything else
 * could not have been made from this config (it was edited, or made from another config) and
 * is refused as a whole, before anything is read or written: one forged entry makes the rest
 * of the file untrustworthy too. apply --plan then plans again and writes only zones whose
 * fresh plan equals the file (src/plan/safety.ts), so this check is a first line, not the last.
 */
export function checkSavedPlan(plan: Plan, config: Config, file: string, saved?: SavedPlan): void {
  const managed = new Map<string, { record: RecordSet; ensure: "present" | "absent"; domain: string }>();
  for (const d of desiredState(config)) {
    for (const p of d.providers)
      for (const r of d.records) managed.set(`${p}\u0000${r.name}`, { record: r, ensure: d.ensure, domain: d.domain });
  }
  const problems: string[] = [];
  for (const e of plan.errors) {
    const dc = configuredDomain(config, e.domain);
    if (dc === undefined || !dc.providers.includes(e.provider))
      problems.push(
        `an error entry names domain ${excerpt(e.domain, 80)} at provider ${excerpt(e.provider, 30)}, which ${config.displayFile} does not configure`,
      );
  }
  const seen = new Set<string>();
  for (const z of plan.zones) {
    const zoneKey = `${z.provider}\u0000${z.zone}`;
    if (seen.has(zoneKey))
      problems.push(`zone ${excerpt(z.zone, 80)} at provider ${excerpt(z.provider, 30)} is listed twice`);
    seen.add(zoneKey);
    const at = (name: string) => `${excerpt(name, 80)} (${excerpt(z.provider, 30)} · ${excerpt(z.zone, 80)})`;
    const own = (name: string) => {
      const m = managed.get(`${z.provider}\u0000${name}`);
      return m !== undefined && isInZone(name, z.zone) && z.names.includes(name) ? m : undefined;
    };
    for (const d of z.domains) {
      const dc = configuredDomain(config, d);
      if (dc === undefined || !dc.providers.includes(z.provider))
        problems.push(
          `domain ${excerpt(d, 80)} is not configured with provider ${excerpt(z.provider, 30)} in ${config.displayFile}`,
        );
    }
    for (const name of z.names) {
      if (own(name) === undefined)
        problems.push(
          `${at(name)} is not a selector name of a domain that ${config.displayFile} publishes with provider ${excerpt(z.provider, 30)}`,
        );
    }
    for (const c of z.changes) {
      const m = own(c.name);
      if (m === undefined) {
        problems.push(`${at(c.name)}: ${c.action} ${excerpt(c.type, 10)} is not at a selector name the config manages`);
        continue;
      }
      for (const set of [c.before, c.after]) {
        if (set !== null && (set.name !== c.name || set.type !== c.type))
          problems.push(
            `${at(c.name)}: the ${c.action} carries a record for ${excerpt(set.name, 80)} ${excerpt(set.type, 10)}`,
          );
      }
      if (c.type !== "CNAME")
        problems.push(`${at(c.name)}: ${c.action} ${excerpt(c.type, 10)}; dkimsync only writes the selector CNAME`);
      else if (c.action === "delete" && m.ensure !== "absent")
        problems.push(
          `${at(c.name)}: the plan deletes it, but ${config.displayFile} does not say ensure: absent for ${m.domain}`,
        );
      else if (c.after !== null && m.ensure === "absent")
        problems.push(
          `${at(c.name)}: the plan writes it, but ${config.displayFile} says ensure: absent for ${m.domain}`,
        );
      else if (c.after !== null && !sameSet(c.after, m.record)) {
        problems.push(
          `${at(c.name)}: the plan writes ttl ${c.after.ttl} ${excerpt(c.after.values.join(", "))}, but ${config.displayFile} asks for ttl ${m.record.ttl} ${m.record.values.join(", ")}`,
        );
      }
    }
    for (const c of z.conflicts) {
      const m = own(c.name);
      if (m === undefined) {
        problems.push(
          `${at(c.name)}: a conflict (replaced with --force) at a name that is not a selector name the config manages`,
        );
        continue;
      }
      if (
        c.type.toUpperCase() === "CNAME" ||
        m.ensure !== "present" ||
        c.desired.name !== c.name ||
        !sameSet(c.desired, m.record) ||
        (c.cname !== undefined && c.cname.name !== c.name)
      ) {
        problems.push(`${at(c.name)}: the conflict's replacement (--force) does not match ${config.displayFile}`);
      }
    }
  }
  // What a reviewer reads (the top-level changes and conflicts of the plan JSON) must be what
  // the zones approve: a file whose lists and zones disagree was edited.
  if (saved !== undefined) {
    const shownJson = planToJson({ zones: plan.zones, errors: [] });
    if (
      JSON.stringify(shownJson.changes) !== JSON.stringify(saved.changes) ||
      JSON.stringify(shownJson.conflicts) !== JSON.stringify(saved.conflicts)
    ) {
      problems.push("its changes and conflicts lists (what a reviewer reads) do not match its zones");
    }
  }
  if (problems.length === 0) return;
  const shown = problems.slice(0, MAX_LISTED);
  if (problems.length > MAX_LISTED) shown.push(`... and ${problems.length - MAX_LISTED} more`);
  throw new DkimsyncError(
    `refusing to apply ${file}: it is not a plan dkimsync could have made from ${config.displayFile} (edited, or made from another config); nothing was written:\n${shown.map((p) => `  ${p}`).join("\n")}`,
    {
      hint: `make a new plan from this config and review it: dkimsync plan -c ${config.displayFile} --out ${file}`,
    },
  );
}
