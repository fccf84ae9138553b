/**
 * Safety rules of plans (docs/safety.md):
 *
 * - A saved plan is an approval, not a script (as Terraform treats its plan file): `apply --plan`
 *   plans again from the config and the live records and writes a zone only when that fresh plan
 *   equals the saved one. What is written always comes from the fresh plan, so every delete is
 *   built from what was just read, never from the file.
 * - A final guard, run on every write of every apply (saved plan or not), refuses any change
 *   whose name is not a selector name of the zone's configured domains, whose type is not the
 *   selector CNAME (except a --force delete of conflicting data at a selector name), or whose
 *   value is not a valid host name.
 */
import { configuredDomain } from "../config/domains.js";
import type { Config } from "../config/types.js";
import { normaliseSet } from "../core/diff.js";
import { excerpt, hostNameProblem, isInZone, SELECTORS, selectorName } from "../core/names.js";
import type { Change, Conflict, Plan, RecordSet, ZonePlan } from "../core/types.js";

// ---------------------------------------------------------------------------------------------
// Saved plan vs fresh plan.

export interface ZoneRefusal {
  provider: string;
  zone: string;
  /** What differs between the saved and the fresh plan, one short phrase each. */
  differences: string[];
}

export interface PlanComparison {
  /** Fresh zone plans equal to their saved counterpart: these, and only these, may be written. */
  approved: ZonePlan[];
  refused: ZoneRefusal[];
}

const key = (z: Pick<ZonePlan, "provider" | "zone">) => `${z.provider}\u0000${z.zone}`;

function setText(s: RecordSet | null | undefined): string {
  if (s === null || s === undefined) return "-";
  const n = normaliseSet(s);
  return `${n.type} ttl ${n.ttl} ${n.values.join(",")}${n.drift && n.drift.length > 0 ? ` [${[...n.drift].sort().join(";")}]` : ""}`;
}

/** Where a target came from is part of what a reviewer approved: `[derived]` reads differently from `[config]`. */
const sourceText = (source: string | undefined) => (source === undefined ? "" : ` [${source}]`);

function changeText(c: Change): string {
  return `${c.action} ${c.name} ${c.type.toUpperCase()} (${setText(c.before)} -> ${setText(c.after)})${sourceText(c.source)}`;
}

function conflictText(c: Conflict): string {
  // Whether the config allows apply to replace it (replace: [TXT]) is part of what was approved:
  // a replace: added after review must not turn a blocked domain into a write.
  return `conflict ${c.name} ${setText({ name: c.name, type: c.type, ttl: c.ttl, values: c.values })} -> ${setText(c.desired)}${c.cname ? ` beside ${setText(c.cname)}` : ""}${sourceText(c.source)}${c.allowed ? " [replace allowed]" : ""}`;
}

/** Lines in `a` not in `b`, at most `max`, each shortened. */
function missing(a: string[], b: string[], max = 3): string[] {
  const other = new Set(b);
  return a
    .filter((x) => !other.has(x))
    .slice(0, max)
    .map((x) => (x.length > 160 ? `${x.slice(0, 157)}...` : x));
}

function listDiff(what: string, saved: string[], fresh: string[]): string[] {
  const out: string[] = [];
  for (const x of missing(saved, fresh)) out.push(`the saved plan has ${what} ${x}, which a plan made now does not`);
  for (const x of missing(fresh, saved)) out.push(`a plan made now has ${what} ${x}, which the saved plan does not`);
  // Same entries, different multiplicity (an entry listed twice): still not the same plan.
  if (out.length === 0 && saved.join("\n") !== fresh.join("\n"))
    out.push(
      `the saved plan lists ${saved.length} ${what === "the" ? "conflict" : "change"}(s), a plan made now ${fresh.length}`,
    );
  return out;
}

/** What differs between a saved zone plan and the fresh one; empty when they are equal. */
export function zoneDifferences(saved: ZonePlan, fresh: ZonePlan): string[] {
  const out: string[] = [];
  if ([...saved.domains].sort().join(",") !== [...fresh.domains].sort().join(","))
    out.push("the zone's domains differ");
  if ([...saved.names].sort().join(",") !== [...fresh.names].sort().join(",")) out.push("the names read differ");
  if (saved.fingerprint !== fresh.fingerprint)
    out.push("the records at the selector names changed since the plan was made (fingerprint differs)");
  out.push(...listDiff("the change", saved.changes.map(changeText).sort(), fresh.changes.map(changeText).sort()));
  out.push(...listDiff("the", saved.conflicts.map(conflictText).sort(), fresh.conflicts.map(conflictText).sort()));
  return out;
}

/**
 * Compare a saved plan with a plan made now for the same domains. A zone is approved only when
 * both plans have it and it is equal in every field that decides a write (domains, names read,
 * fingerprint, changes, conflicts). A zone only the fresh plan has is approved only when it
 * writes nothing (there is nothing to approve).
 */
export function comparePlans(saved: Plan, fresh: Plan): PlanComparison {
  const freshByKey = new Map(fresh.zones.map((z) => [key(z), z]));
  const savedKeys = new Set<string>();
  const approved: ZonePlan[] = [];
  const refused: ZoneRefusal[] = [];
  for (const s of saved.zones) {
    if (savedKeys.has(key(s))) {
      refused.push({ provider: s.provider, zone: s.zone, differences: ["the saved plan lists this zone twice"] });
      approved.splice(0, approved.length, ...approved.filter((a) => key(a) !== key(s)));
      continue;
    }
    savedKeys.add(key(s));
    const f = freshByKey.get(key(s));
    if (f === undefined) {
      refused.push({
        provider: s.provider,
        zone: s.zone,
        differences: [
          "a plan made now does not cover this zone (the domain moved, or the zone cannot be read: see the errors)",
        ],
      });
      continue;
    }
    const d = zoneDifferences(s, f);
    if (d.length === 0) approved.push(f);
    else refused.push({ provider: s.provider, zone: s.zone, differences: d });
  }
  for (const f of fresh.zones) {
    if (savedKeys.has(key(f))) continue;
    if (f.changes.length === 0 && f.conflicts.length === 0) approved.push(f);
    else
      refused.push({
        provider: f.provider,
        zone: f.zone,
        differences: ["a plan made now changes this zone, but the saved plan does not include it"],
      });
  }
  return { approved, refused };
}

/** The scope of a saved plan: the domains and providers its zones and errors name. */
export function planScope(plan: Plan): { domains: string[]; providers: string[] } {
  const domains = new Set<string>();
  const providers = new Set<string>();
  for (const z of plan.zones) {
    providers.add(z.provider);
    for (const d of z.domains) domains.add(d);
  }
  for (const e of plan.errors) {
    providers.add(e.provider);
    domains.add(e.domain);
  }
  return { domains: [...domains].sort(), providers: [...providers].sort() };
}

// ---------------------------------------------------------------------------------------------
// The final guard.

/**
 * Problems with the writes of one zone; empty when every change is one dkimsync may make.
 * `config`, when given, also requires each domain to be configured with this provider.
 * Cheap and pure, so it runs on every apply, right before the provider is called.
 */
export function guardWrites(
  z: ZonePlan,
  changes: readonly Change[],
  opts: { force: boolean; config?: Config },
): string[] {
  const allowed = new Set<string>();
  /** Selector name -> the record types its domain's reviewed `replace:` lets apply delete. */
  const replaceable = new Map<string, readonly string[]>();
  for (const d of z.domains) {
    let types: readonly string[] = [];
    if (opts.config !== undefined) {
      const dc = configuredDomain(opts.config, d);
      if (dc === undefined || !dc.providers.includes(z.provider)) continue;
      types = dc.replace?.types ?? [];
    }
    for (const s of SELECTORS) {
      allowed.add(selectorName(s, d));
      replaceable.set(selectorName(s, d), types);
    }
  }
  // Without the config (library callers), the plan's own `allowed` marks stand in for it; the
  // CLI always passes the config, and apply --plan re-plans from it.
  if (opts.config === undefined) {
    for (const c of z.conflicts)
      if (c.allowed) replaceable.set(c.name, [...(replaceable.get(c.name) ?? []), c.type.toUpperCase()]);
  }
  const problems: string[] = [];
  const at = (c: Pick<Change, "name" | "type" | "action">) =>
    `${c.action} ${excerpt(c.name, 80)} ${excerpt(c.type, 10)} (${z.provider} · ${z.zone})`;
  for (const c of changes) {
    if (!allowed.has(c.name) || !isInZone(c.name, z.zone)) {
      problems.push(
        `${at(c)}: not a selector name of a domain configured with provider "${z.provider}"; dkimsync never writes anywhere else`,
      );
      continue;
    }
    const type = c.type.toUpperCase();
    // Another type is only ever deleted, to make room for the CNAME: with --force, or where the
    // config itself (never the plan file) lists that type under the domain's replace:.
    const mayReplace = opts.force || (replaceable.get(c.name) ?? []).includes(type);
    if (type !== "CNAME" && !(c.action === "delete" && mayReplace)) {
      problems.push(
        `${at(c)}: dkimsync writes only the selector CNAME (other types are only deleted, with --force or the domain's replace:, to make room for it)`,
      );
      continue;
    }
    for (const [which, set] of [
      ["before", c.before],
      ["after", c.after],
    ] as const) {
      if (set === null) continue;
      if (set.name !== c.name || set.type.toUpperCase() !== type)
        problems.push(
          `${at(c)}: its ${which} record is for ${excerpt(set.name, 80)} ${excerpt(set.type, 10)}, not for the change's own name and type`,
        );
    }
    if (c.after !== null) {
      if (c.after.values.length !== 1)
        problems.push(`${at(c)}: a CNAME has exactly one target, not ${c.after.values.length}`);
      for (const v of c.after.values) {
        const bad = hostNameProblem(v);
        if (bad !== undefined) problems.push(`${at(c)}: the target ${excerpt(v)} ${bad}`);
      }
      if (!Number.isInteger(c.after.ttl) || c.after.ttl < 0 || c.after.ttl > 2147483647)
        problems.push(`${at(c)}: ttl ${c.after.ttl} is not a 31-bit whole number (RFC 2181 8)`);
    }
  }
  return problems;
}
