/**
 * Plan -> provider writes -> re-read. Zone by zone: one zone's failure does not stop the others;
 * every written zone is read back and must show exactly what was written.
 */
import { forcedChanges, sortChanges, unconverged } from "../core/diff.js";
import { errorWithHint, formatWhere } from "../core/errors.js";
import { domainOfSelectorName, type DesiredDomain } from "../core/desired.js";
import { canonical } from "../core/names.js";
import { fingerprint, type ProviderSet } from "./build.js";
import { pool } from "../util/pool.js";
import type { Change, Plan, Provider, RecordSet, ZonePlan } from "../core/types.js";
import type { Config } from "../config/types.js";
import { guardWrites } from "./safety.js";

export type ZoneOutcome = "applied" | "unchanged" | "stale" | "failed" | "unconverged" | "blocked";

/** A domain whose writes apply withheld: a record at its selector name blocks the CNAME. */
export interface BlockedDomain {
  provider: string;
  zone: string;
  domain: string;
  message: string;
}

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
  /** Domains not written because of a conflict that neither --force nor replace: allows. */
  blocked?: BlockedDomain[];
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

/** The changes apply will write for a zone (with --force, or replace: in the config, the conflict replacements too). */
export function zoneWrites(z: ZonePlan, force: boolean, blocked = blockedDomains(z, force)): Change[] {
  const replaced = z.conflicts.filter((c) => force || c.allowed !== undefined);
  if (replaced.length === 0 && blocked.size === 0) return z.changes;
  const changes = z.changes.filter((c) => !blocked.has(domainOfSelectorName(c.name) ?? ""));
  if (replaced.length === 0) return changes;
  return sortChanges([...changes, ...forcedChanges(replaced)]);
}

/**
 * The domains of a zone whose conflicts are not allowed: none of their changes are written (one
 * selector without the other is no use), while the zone's other domains are.
 */
export function blockedDomains(z: ZonePlan, force: boolean): Map<string, string> {
  const out = new Map<string, string>();
  if (force) return out;
  for (const c of z.conflicts) {
    if (c.allowed !== undefined) continue;
    const domain = domainOfSelectorName(c.name) ?? c.name;
    const prior = out.get(domain);
    const what = `${c.type} record at ${c.name}`;
    out.set(domain, prior === undefined ? what : `${prior}, ${what}`);
  }
  return out;
}

export function isApplyFailure(r: ApplyResult): boolean {
  return (
    r.planErrors.length > 0 ||
    (r.blocked?.length ?? 0) > 0 ||
    r.zones.some((z) => z.outcome !== "applied" && z.outcome !== "unchanged")
  );
}

/**
 * Apply a plan. A conflict blocks only its own domain: that domain's records are not written
 * (decided from the plan, before anything is written), every other domain is, and the run fails.
 */
export async function applyPlan(opts: ApplyOptions): Promise<ApplyResult> {
  const blocked: BlockedDomain[] = [];
  for (const z of opts.plan.zones) {
    for (const [domain, what] of blockedDomains(z, opts.force)) {
      blocked.push({
        provider: z.provider,
        zone: z.zone,
        domain,
        message: `not written: a ${what} blocks the selector CNAME (RFC 1034 3.6.2); remove it, or allow its replacement for this domain with replace: [TXT] in the config (reviewed like any change), or run apply --force`,
      });
    }
  }
  // Copied onto a fresh object: V8 gives each object made by `{ ...base, more }` (applyZone's
  // results) a hidden class of its own, about 250 bytes per zone kept to the end of the run.
  const results = await pool(opts.plan.zones, opts.concurrency ?? 4, async (z) =>
    Object.assign({}, await applyZone(z, opts)),
  );
  await readBackInBulk(opts.plan.zones, results, opts.providers);
  return { zones: results, planErrors: opts.plan.errors, ...(blocked.length > 0 ? { blocked } : {}) };
}

/**
 * A saved plan's conflicts may be replaced only where the config given now allows it: the
 * `allowed` mark of a plan file is dropped and set again from the config's `replace:` lists, so a
 * hand-edited plan cannot grant itself a replacement that review never saw.
 */
export function allowFromConfig(plan: Plan, desired: readonly DesiredDomain[], configFile: string): Plan {
  const byDomain = new Map(desired.map((d) => [d.domain, d]));
  for (const z of plan.zones) {
    for (const c of z.conflicts) {
      delete c.allowed;
      const d = byDomain.get(domainOfSelectorName(c.name) ?? "");
      if (d?.replace?.types.includes(c.type.toUpperCase())) {
        c.allowed = `replace: [${d.replace.types.join(", ")}] for ${d.domain} at ${formatWhere(d.replace.where ?? { file: configFile })}`;
      }
    }
  }
  return plan;
}

/**
 * Keep only the given domains and providers of a plan (apply --domain/--provider). Zones stay
 * whole units of reading and fingerprinting; only their writes and conflicts are narrowed.
 */
export function filterPlan(plan: Plan, opts: { domains?: readonly string[]; providers?: readonly string[] }): Plan {
  const domains = opts.domains && opts.domains.length > 0 ? new Set(opts.domains) : undefined;
  const providers = opts.providers && opts.providers.length > 0 ? new Set(opts.providers) : undefined;
  if (!domains && !providers) return plan;
  const keepName = (name: string) => !domains || domains.has(domainOfSelectorName(name) ?? "");
  const zones = plan.zones
    .filter((z) => !providers || providers.has(z.provider))
    .filter((z) => !domains || z.domains.some((d) => domains.has(d)))
    .map((z) => ({
      ...z,
      domains: z.domains.filter((d) => !domains || domains.has(d)),
      changes: z.changes.filter((c) => keepName(c.name)),
      conflicts: z.conflicts.filter((c) => keepName(c.name)),
      unchanged: z.unchanged.filter((c) => keepName(c.name)),
      ...(z.notes ? { notes: z.notes.filter((n) => !domains || domains.has(n.domain)) } : {}),
    }));
  const errors = plan.errors.filter(
    (e) => (!providers || providers.has(e.provider)) && (!domains || domains.has(e.domain)),
  );
  return { zones, errors };
}

/**
 * Zones written to a provider that reads in bulk (listMany) are read back together, once all
 * writes are done: one search for the whole server instead of one read per zone. The records
 * stream in (listMany with a sink): each part of a zone is checked against exactly what was
 * written to it as soon as it arrives and then dropped, so only each zone's verdict is kept, not
 * every record read back (20,000 record sets at 10,000 zones).
 */
async function readBackInBulk(
  zones: readonly ZonePlan[],
  results: ZoneResult[],
  providers: ProviderSet,
): Promise<void> {
  const pending = new Map<string, Map<string, ReadBack>>();
  results.forEach((r, i) => {
    if (!r.readBack) return;
    let mine = pending.get(r.provider);
    if (!mine) pending.set(r.provider, (mine = new Map()));
    mine.set(r.zone, { z: zones[i] as ZonePlan, r, checked: 0 });
  });
  for (const [name, items] of pending) {
    const provider = providers.get(name) as Provider;
    let open = true;
    try {
      await (provider.listMany as NonNullable<Provider["listMany"]>)(
        Array.from(items.values(), ({ z }) => ({ zone: z.zone, names: z.names })),
        (zone, names, sets) => {
          const item = items.get(zone);
          // Nothing after listMany settled: a failed read-back's verdicts are final.
          if (open && item) checkPart(item, names, sets);
        },
      );
    } catch (err) {
      // The zones whose every change was checked before the failure keep their verdict: what
      // they were checked against was a complete answer for their names.
      for (const item of items.values()) if (item.checked < item.r.changes.length) failReadBack(item, err);
    } finally {
      open = false;
    }
    for (const item of items.values()) {
      const { r } = item;
      if (r.outcome !== "applied") continue;
      if (item.checked < r.changes.length) {
        // Every change must have been checked: a provider that left a name out proved nothing.
        failReadBack(item, new Error(`${name} did not read back every written name`));
      } else {
        const problems = item.problems?.filter((p) => p !== undefined) ?? [];
        r.written = r.changes.length - problems.length;
        if (problems.length > 0) Object.assign(r, { outcome: "unconverged", message: problems.join("; ") });
      }
    }
    for (const { r } of items.values()) delete r.readBack;
  }
}

/** One written zone awaiting its read-back verdict. */
interface ReadBack {
  z: ZonePlan;
  r: ZoneResult;
  /** How many of its changes have been checked. */
  checked: number;
  /** Problems by the index of their change, so the message lists them in the changes' order. */
  problems?: (string | undefined)[];
}

/** Checks the zone's changes at `names` against the record sets read there (all of them). */
function checkPart(item: ReadBack, names: readonly string[], sets: RecordSet[]): void {
  const { changes } = item.r;
  for (let i = 0; i < changes.length; i++) {
    const ch = changes[i] as Change;
    if (!names.includes(canonical(ch.name))) continue;
    item.checked++;
    const problem = unconverged([ch], sets)[0];
    if (problem !== undefined) (item.problems ??= [])[i] = problem;
  }
}

function failReadBack(item: ReadBack, err: unknown): void {
  const { r } = item;
  delete r.written;
  delete item.problems;
  item.checked = r.changes.length;
  Object.assign(r, { outcome: "unconverged", message: `written, but reading it back failed: ${errorWithHint(err)}` });
}

async function applyZone(z: ZonePlan, opts: ApplyOptions): Promise<ZoneResult> {
  const base = { provider: z.provider, zone: z.zone };
  const blocked = blockedDomains(z, opts.force);
  const changes = zoneWrites(z, opts.force, blocked);
  if (changes.length === 0) {
    if (blocked.size > 0) return { ...base, outcome: "blocked", changes, written: 0 };
    return { ...base, outcome: "unchanged", changes };
  }
  if (opts.signal?.aborted)
    return {
      ...base,
      outcome: "failed",
      changes,
      written: 0,
      message: `${NOT_STARTED} (${String(opts.signal.reason)}); nothing was written to this zone`,
    };
  const provider = opts.providers.get(z.provider);
  if (!provider)
    return { ...base, outcome: "failed", changes, written: 0, message: `provider "${z.provider}" is not configured` };
  // The last check before any provider call, whatever built the plan (src/plan/safety.ts).
  const refused = guardWrites(z, changes, { force: opts.force, ...(opts.config ? { config: opts.config } : {}) });
  if (refused.length > 0) {
    return {
      ...base,
      outcome: "failed",
      changes,
      written: 0,
      message: `refused by the safety guard; nothing was written to this zone: ${refused.slice(0, 5).join("; ")}`,
    };
  }

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
      return {
        ...base,
        outcome: "applied",
        changes,
        written: changes.length,
        message: `the provider reported an error (${errorWithHint(err)}), but reading back shows every change in place`,
      };
    }
    // Providers whose server checks a precondition per write (Azure etags) learn of a concurrent
    // change only when writing, and mark that error `stale`.
    const stale = typeof err === "object" && err !== null && (err as { stale?: unknown }).stale === true;
    return {
      ...base,
      outcome: stale ? "stale" : "failed",
      changes,
      message: errorWithHint(err),
      ...(missing === undefined ? {} : { written: changes.length - missing }),
    };
  }

  const note =
    blocked.size > 0 ? { message: `not written for ${[...blocked.keys()].join(", ")}: blocked by a conflict` } : {};
  // Read back later, with every other zone of this provider, where the provider reads in bulk.
  if (provider.listMany)
    return { ...base, outcome: "applied", changes, written: changes.length, readBack: true, ...note };
  try {
    const reread = await readManaged(provider, z);
    const problems = unconverged(changes, reread);
    if (problems.length > 0)
      return {
        ...base,
        outcome: "unconverged",
        changes,
        written: changes.length - problems.length,
        message: problems.join("; "),
      };
  } catch (err) {
    return {
      ...base,
      outcome: "unconverged",
      changes,
      message: `written, but reading it back failed: ${errorWithHint(err)}`,
    };
  }
  return { ...base, outcome: "applied", changes, written: changes.length, ...note };
}

async function readManaged(provider: Provider, z: ZonePlan) {
  const wanted = new Set(z.names);
  return (await provider.list(z.zone, z.names)).filter((s) => wanted.has(canonical(s.name)));
}
