/**
 * Read the providers and build the Plan: for each (provider, zone), read the managed names once,
 * diff against the desired records, and record a fingerprint of what was read so a saved plan
 * can be refused when the zone changed since.
 */
import { createHash } from "node:crypto";
import { providerTypes, type ProviderContext } from "../../providers/index.js";
import type { Config, ProviderConfig } from "../config/types.js";
import { desiredState, type DesiredDomain } from "../core/desired.js";
import { diffZone, normaliseSet, type DesiredRecord } from "../core/diff.js";
import { DkimsyncError, InputError, ProviderError, errorWithHint } from "../core/errors.js";
import { canonical, normaliseDomain } from "../core/names.js";
import { OptionsReader } from "../config/options.js";
import { pool } from "../util/pool.js";
import type { Plan, PlanError, Provider, RecordSet, ZonePlan } from "../core/types.js";

export interface PlanOptions {
  config: Config;
  /** Restrict to these domains (as the user typed them; normalised here). */
  domains?: readonly string[];
  /** Restrict to these provider names. */
  providers?: readonly string[];
  env?: NodeJS.ProcessEnv;
  context?: ProviderContext;
  /** How many zones are read at once (providers rate-limit themselves as well). */
  concurrency?: number;
}

/** Instantiated providers by name; close them when done. */
export type ProviderSet = Map<string, Provider>;

export async function createProvider(pc: ProviderConfig, config: Config, env: NodeJS.ProcessEnv, context: ProviderContext): Promise<Provider> {
  const load = providerTypes[pc.type];
  if (!load) {
    throw new InputError(pc.where, `provider "${pc.name}": unknown type "${pc.type}"`, {
      hint: `use one of: ${Object.keys(providerTypes).sort().join(", ")}`,
    });
  }
  const reader = new OptionsReader({
    provider: pc.name,
    type: pc.type,
    values: pc.options,
    where: pc.where,
    lineOf: pc.lineOf,
    configDir: config.dir,
    env,
  });
  return (await load())(reader, context);
}

export async function closeProviders(providers: ProviderSet): Promise<void> {
  await Promise.allSettled([...providers.values()].map((p) => p.close?.()));
}

/** The desired domains selected by --domain / --provider, with clear errors for unknown ones. */
export function selectDomains(config: Config, desired: DesiredDomain[], opts: Pick<PlanOptions, "domains" | "providers">): DesiredDomain[] {
  let out = desired;
  if (opts.providers && opts.providers.length > 0) {
    for (const p of opts.providers) {
      if (!config.providers.has(p)) {
        throw new DkimsyncError(`--provider ${p}: no provider of that name in ${config.displayFile}`, {
          hint: `known providers: ${[...config.providers.keys()].join(", ")}`,
        });
      }
    }
    const wanted = new Set(opts.providers);
    out = out
      .map((d) => ({ ...d, providers: d.providers.filter((p) => wanted.has(p)) }))
      .filter((d) => d.providers.length > 0);
  }
  if (opts.domains && opts.domains.length > 0) {
    const wanted = new Set<string>();
    for (const raw of opts.domains) {
      const n = normaliseDomain(raw);
      if ("error" in n) throw new DkimsyncError(`--domain ${raw}: the name ${n.error}`);
      if (!config.domains.some((d) => d.name === n.name)) {
        throw new DkimsyncError(`--domain ${raw}: not configured in ${config.displayFile}`, {
          hint: "add it under domains:, or check the spelling",
        });
      }
      wanted.add(n.name);
    }
    out = out.filter((d) => wanted.has(d.domain));
  }
  return out;
}

/**
 * The message of a failure kept with a domain. A PlanError names its provider and zone in its
 * own fields, and every output shows them, so the `[provider] zone z:` a ProviderError starts
 * with would only say it twice.
 */
function messageFor(err: unknown, provider: string, zone?: string): string {
  const text = errorWithHint(err);
  if (!(err instanceof ProviderError) || err.provider !== provider) return text;
  const prefix = `[${provider}]${err.zone !== undefined && err.zone === zone ? ` zone ${err.zone}:` : ""} `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

export function fingerprint(sets: readonly RecordSet[]): string {
  const canonicalSets = sets
    .map(normaliseSet)
    .map((s) => ({ name: s.name, type: s.type, ttl: s.ttl, values: s.values, drift: [...(s.drift ?? [])].sort() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return createHash("sha256").update(JSON.stringify(canonicalSets)).digest("hex");
}

interface ZoneWork {
  provider: string;
  zone: string;
  domains: string[];
  desired: DesiredRecord[];
}

/**
 * Build the plan. Providers are created only for the providers the selected domains use, so a
 * run limited with --provider needs only that provider's secrets.
 */
export async function buildPlan(opts: PlanOptions): Promise<{ plan: Plan; providers: ProviderSet }> {
  const { config } = opts;
  const env = opts.env ?? process.env;
  const selected = selectDomains(config, desiredState(config), opts);

  const providers: ProviderSet = new Map();
  for (const d of selected) {
    for (const p of d.providers) {
      if (providers.has(p)) continue;
      const pc = config.providers.get(p);
      if (!pc) throw new DkimsyncError(`domain ${d.domain}: unknown provider "${p}"`);
      providers.set(p, await createProvider(pc, config, env, opts.context ?? {}));
    }
  }

  const errors: PlanError[] = [];
  const work = new Map<string, ZoneWork>();
  try {
    for (const d of selected) {
      if (d.zoneId === undefined) continue;
      for (const p of d.providers) providers.get(p)?.pinZoneId?.(d.domain, d.zoneId);
    }
    // One zone listing per provider, shared by all its domains; providers that cannot list
    // their zones (zoneOf) are asked per domain instead.
    const providerNames = [...providers.keys()].sort();
    const zoneLists = await Promise.all(
      providerNames.map(async (p) => {
        const provider = providers.get(p) as Provider;
        if (provider.zoneOf) return { p, zones: undefined };
        try {
          return { p, zones: (await provider.zones()).map(canonical) };
        } catch (err) {
          return { p, error: err };
        }
      }),
    );
    const zonesOf = new Map<string, Set<string> | undefined>();
    for (const z of zoneLists) {
      if ("error" in z) {
        for (const d of selected.filter((d) => d.providers.includes(z.p))) {
          errors.push({ provider: z.p, domain: d.domain, message: `cannot list zones: ${messageFor(z.error, z.p)}` });
        }
      } else zonesOf.set(z.p, z.zones && new Set(z.zones));
    }

    const pairs = selected.flatMap((d) => d.providers.filter((p) => zonesOf.has(p)).map((p) => ({ d, p })));
    const located = await pool(pairs, opts.concurrency ?? 8, async ({ d, p }) => {
      const listed = zonesOf.get(p);
      if (listed) return { d, p, zone: findZoneIn(d.domain, listed) };
      try {
        const found = await (providers.get(p) as Provider).zoneOf?.(d.domain);
        return { d, p, zone: found === undefined ? undefined : canonical(found) };
      } catch (err) {
        return { d, p, error: err };
      }
    });
    for (const l of located) {
      const { d, p } = l;
      if ("error" in l) {
        errors.push({ provider: p, domain: d.domain, message: `cannot find the zone of ${d.domain}: ${messageFor(l.error, p)}` });
        continue;
      }
      const zone = l.zone;
      if (!zone) {
        errors.push({
          provider: p,
          domain: d.domain,
          message: `no zone at provider "${p}" contains ${d.domain}; create the zone there (or its parent), or publish the domain with another provider`,
        });
        continue;
      }
      const key = `${p}\u0000${zone}`;
      let w = work.get(key);
      if (!w) work.set(key, (w = { provider: p, zone, domains: [], desired: [] }));
      w.domains.push(d.domain);
      for (const r of d.records) w.desired.push({ record: r, ensure: d.ensure });
    }

    const items = [...work.values()].sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
    const log = opts.context?.log;
    log?.(`dkimsync: reading ${items.length} zone(s) at ${providers.size} provider(s)…`);
    const namesOf = (w: ZoneWork) => [...new Set(w.desired.map((r) => r.record.name))].sort();
    // Providers that read across zones in bulk (listMany) get one call for all their zones.
    const bulk = new Map<string, Map<string, RecordSet[]> | { error: unknown }>();
    await Promise.all(
      [...providers].map(async ([p, provider]) => {
        if (!provider.listMany) return;
        const mine = items.filter((w) => w.provider === p);
        if (mine.length === 0) return;
        try {
          bulk.set(p, await provider.listMany(mine.map((w) => ({ zone: w.zone, names: namesOf(w) }))));
        } catch (err) {
          bulk.set(p, { error: err });
        }
      }),
    );
    let read = 0;
    const zonePlans = await pool(items, opts.concurrency ?? 8, async (w): Promise<ZonePlan | undefined> => {
      // Progress for people on long runs: about every tenth of the zones.
      if (++read % Math.max(25, Math.ceil(items.length / 10)) === 0) log?.(`dkimsync: ${read}/${items.length} zones read`);
      const provider = providers.get(w.provider) as Provider;
      const names = namesOf(w);
      try {
        const pre = bulk.get(w.provider);
        if (pre !== undefined && "error" in pre) throw pre.error;
        const [existing, warnings] = await Promise.all([
          (pre as Map<string, RecordSet[]> | undefined)?.get(w.zone) ?? provider.list(w.zone, names),
          provider.zoneWarnings ? provider.zoneWarnings(w.zone) : Promise.resolve([]),
        ]);
        const wanted = new Set(names);
        // A provider that reads whole zones may return more: only the managed names count.
        const managed = existing.map(normaliseSet).filter((s) => wanted.has(s.name));
        const diff = diffZone(managed, w.desired);
        return {
          provider: w.provider,
          zone: w.zone,
          domains: [...w.domains].sort(),
          ...diff,
          warnings,
          names,
          fingerprint: fingerprint(managed),
        };
      } catch (err) {
        for (const domain of w.domains) errors.push({ provider: w.provider, zone: w.zone, domain, message: messageFor(err, w.provider, w.zone) });
        return undefined;
      }
    });

    errors.sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
    return { plan: { zones: zonePlans.filter((z): z is ZonePlan => z !== undefined), errors }, providers };
  } catch (err) {
    await closeProviders(providers);
    throw err;
  }
}

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  unchanged: number;
  conflicts: number;
}

export function summarise(plan: Plan): PlanSummary {
  const s: PlanSummary = { create: 0, update: 0, delete: 0, unchanged: 0, conflicts: 0 };
  for (const z of plan.zones) {
    for (const c of z.changes) s[c.action]++;
    s.unchanged += z.unchanged.length;
    s.conflicts += z.conflicts.length;
  }
  return s;
}

export function hasChanges(plan: Plan): boolean {
  return plan.zones.some((z) => z.changes.length > 0 || z.conflicts.length > 0);
}

/**
 * findZone (core/names) over a set of canonical zone names: the longest zone that is the name or
 * a suffix of it at a label boundary. Walking the name's own suffixes, longest first, costs one
 * lookup per label; findZone's scan over every zone made planning N domains in N zones
 * quadratic (10,000 domains: 10^8 string builds, most of the plan's CPU and garbage).
 */
export function findZoneIn(name: string, zones: ReadonlySet<string>): string | undefined {
  for (let dot = -1; ; ) {
    const suffix = name.slice(dot + 1);
    if (zones.has(suffix)) return suffix;
    dot = name.indexOf(".", dot + 1);
    if (dot < 0) return undefined;
  }
}
