/**
 * Read the providers and build the Plan: for each (provider, zone), read the managed names once,
 * diff against the desired records, and record a fingerprint of what was read so a saved plan
 * can be refused when the zone changed since.
 */
import { createHash } from "node:crypto";
import { providerTypes, type ProviderContext, type ProviderType } from "../../providers/index.js";
import { configuredDomain } from "../config/domains.js";
import type { Config, ProviderConfig } from "../config/types.js";
import { desiredDomain, domainOfSelectorName, type DesiredDomain } from "../core/desired.js";
import { diffZone, normaliseSet, sortSmall, type DesiredRecord } from "../core/diff.js";
import { DkimsyncError, InputError, ProviderError, errorWithHint, formatWhere } from "../core/errors.js";
import { canonical, normaliseDomain } from "../core/names.js";
import { OptionsReader } from "../config/options.js";
import { exact } from "../util/compact.js";
import { pool } from "../util/pool.js";
import type { DomainNote, Plan, PlanError, Provider, RecordSet, ZonePlan } from "../core/types.js";

/**
 * What a run is waiting for, for people watching it. On a terminal a live line on stderr; where
 * stderr is not a terminal (CI logs), a line every few seconds while anything is in flight, so a
 * slow or stalled provider is visible long before its time limit ends it. Never stdout.
 */
export class Progress {
  private readonly inFlight = new Map<number, { what: string; since: number }>();
  private next = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lineShown = false;
  /** What is being counted ("zones read", "zones written") and how far. */
  phase = "zones read";
  total = 0;
  done = 0;

  constructor(
    private readonly write: (s: string) => void,
    private readonly opts: { tty: boolean; intervalMs?: number } = { tty: false },
  ) {}

  start(): this {
    this.timer ??= setInterval(() => this.tick(), this.opts.intervalMs ?? (this.opts.tty ? 1000 : 5000));
    // Never keeps the process alive on its own.
    this.timer.unref?.();
    return this;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.lineShown) this.write("\r\u001b[K");
    this.lineShown = false;
  }

  /** Count `promise` as one request in flight, described by `what`, until it settles. */
  track<T>(what: string, promise: Promise<T>): Promise<T> {
    const id = this.next++;
    this.inFlight.set(id, { what, since: Date.now() });
    const end = () => void this.inFlight.delete(id);
    promise.then(end, end);
    return promise;
  }

  /** The status line: counts, and the request waited for longest. */
  line(now = Date.now()): string | undefined {
    if (this.inFlight.size === 0) return undefined;
    const oldest = [...this.inFlight.values()].reduce((a, b) => (b.since < a.since ? b : a));
    const seconds = Math.floor((now - oldest.since) / 1000);
    return `dkimsync: ${this.done}/${this.total} ${this.phase}, ${this.inFlight.size} request(s) in flight; waiting ${seconds} s for ${oldest.what}`;
  }

  private tick(): void {
    const line = this.line();
    if (this.opts.tty) {
      this.write(`\r\u001b[K${line ?? ""}`);
      this.lineShown = line !== undefined;
    } else if (line !== undefined) {
      this.write(`${line}\n`);
    }
  }
}

/** `p` with each call that waits on the network counted by `progress` (its name, zone, operation). */
export function trackProvider(p: Provider, progress: Progress): Provider {
  const label = (zone: string, doing: string) => `[${p.name}] zone ${zone}: ${doing}`;
  const described: Record<string, (...args: never[]) => string> = {
    zones: () => `[${p.name}] listing zones`,
    zoneOf: (name: string) => `[${p.name}] finding the zone of ${name}`,
    list: (zone: string, names: readonly string[]) => label(zone, `reading ${names.length} name(s)`),
    listMany: (reads: readonly unknown[]) => `[${p.name}] reading ${reads.length} zone(s) in bulk`,
    apply: (zone: string, changes: readonly unknown[]) => label(zone, `writing ${changes.length} change(s)`),
    zoneWarnings: (zone: string) => label(zone, "reading zone settings"),
  };
  return new Proxy(p, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      const describe = typeof prop === "string" ? described[prop] : undefined;
      if (describe === undefined) return (value as (...a: unknown[]) => unknown).bind(target);
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        // A zone's apply() is its whole write: count it when the run is writing.
        if (prop === "apply" && progress.phase === "zones written")
          void out.then(
            () => progress.done++,
            () => progress.done++,
          );
        return progress.track((describe as (...a: unknown[]) => string)(...args), out);
      };
    },
  });
}

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
  /** Reports what is waited for (the caller starts and stops it). */
  progress?: Progress;
}

/** Instantiated providers by name; close them when done. */
export type ProviderSet = Map<string, Provider>;

/** The registry entry of `pc`'s type, or the error that names the block and the known types. */
function typeOf(pc: ProviderConfig): ProviderType {
  const t = providerTypes[pc.type];
  if (!t) {
    throw new InputError(pc.where, `provider "${pc.name}": unknown type "${pc.type}"`, {
      hint: `use one of: ${Object.keys(providerTypes).sort().join(", ")}`,
    });
  }
  return t;
}

function readerOf(pc: ProviderConfig, config: Config, env: NodeJS.ProcessEnv, checkOnly: boolean): OptionsReader {
  return new OptionsReader({
    provider: pc.name,
    type: pc.type,
    values: pc.options,
    where: pc.where,
    lineOf: pc.lineOf,
    configDir: config.dir,
    env,
    ...(checkOnly ? { checkOnly: true } : {}),
  });
}

/** Create a provider for a run: this is what loads its module and SDK. */
export async function createProvider(
  pc: ProviderConfig,
  config: Config,
  env: NodeJS.ProcessEnv,
  context: ProviderContext,
): Promise<Provider> {
  const load = typeOf(pc).load;
  return (await load())(readerOf(pc, config, env, false), context);
}

/**
 * A provider block's options, checked when the config is loaded (every run, and `validate`) by
 * the type's own options reader, the one its factory reads them with: every provider's settings
 * are reported in the same run as the domains' problems, not one provider per run. The reader
 * imports no SDK, so checking a block costs nothing a run does not use (a cloud SDK costs up to a
 * second of CPU and tens of MB just to load); only createProvider loads one. A secret's env/NAME
 * need not be set here: a run limited with --provider needs only its own.
 */
export async function checkProviderOptions(
  pc: ProviderConfig,
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): Promise<InputError | undefined> {
  try {
    const read = await typeOf(pc).options();
    read(readerOf(pc, config, env, true));
    return undefined;
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
}

export async function closeProviders(providers: ProviderSet): Promise<void> {
  await Promise.allSettled([...providers.values()].map((p) => p.close?.()));
}

/** The desired domains selected by --domain / --provider, with clear errors for unknown ones. */
export function selectDomains<T extends { domain: string; providers: string[] }>(
  config: Config,
  desired: T[],
  opts: Pick<PlanOptions, "domains" | "providers">,
): T[] {
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
  if (!(err instanceof ProviderError) || err.provider !== provider) return errorWithHint(err);
  // The caller names the provider (and the zone, when it has one): keep only what it does not.
  const text = err.zone && err.zone !== zone ? `zone ${err.zone}: ${err.detail}` : err.detail;
  return err.hint ? `${text} (${err.hint})` : text;
}

export function fingerprint(sets: readonly RecordSet[]): string {
  const canonicalSets = sets
    .map(normaliseSet)
    .map((s) => ({ name: s.name, type: s.type, ttl: s.ttl, values: s.values, drift: sortSmall([...(s.drift ?? [])]) }));
  sortSmall(canonicalSets, (a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
  );
  return createHash("sha256").update(JSON.stringify(canonicalSets)).digest("hex");
}

/** The managed names of a zone, sorted, each once; exact-size (kept by the ZonePlan). */
function managedNames(w: ZoneWork): string[] {
  const only = w.domains.length === 1 ? (w.domains[0] as DesiredDomain).records : undefined;
  // The usual zone: one domain, its two selector names (a literal: exact-size, no Set).
  if (only?.length === 2 && only[0]?.name !== only[1]?.name)
    return sortSmall([(only[0] as RecordSet).name, (only[1] as RecordSet).name]);
  const seen = new Set<string>();
  for (const d of w.domains) for (const r of d.records) seen.add(r.name);
  return sortSmall([...seen]);
}

/**
 * What the planner holds for one zone until it is planned: only the domains, in the order they
 * were found. The desired records, the domain names and a lookup by domain are made from them
 * when the zone is planned, and dropped with it: a Map, a Set and two arrays per zone held for
 * the whole read were about 6 MB at 10,000 zones (bench/README.md "Peak RSS at 10,000, session 6").
 */
interface ZoneWork {
  provider: string;
  zone: string;
  /** Most zones hold one domain: a literal [d], which has no spare capacity. */
  domains: DesiredDomain[];
  /** The managed names, sorted (namesOf). */
  names?: string[];
}

/** The desired records of a zone's domains, for diffZone. */
function desiredOf(w: ZoneWork): DesiredRecord[] {
  const out: DesiredRecord[] = [];
  for (const d of w.domains) for (const record of d.records) out.push({ record, ensure: d.ensure });
  return out;
}

/** The zone's domain of that name; a zone rarely holds more than a few, so a scan is enough below 16. */
function domainFinder(w: ZoneWork): (domain: string) => DesiredDomain | undefined {
  if (w.domains.length < 16) return (domain) => w.domains.find((d) => d.domain === domain);
  const byDomain = new Map(w.domains.map((d) => [d.domain, d]));
  return (domain) => byDomain.get(domain);
}

/**
 * Provenance on every change and conflict of a zone, the domains' warnings as notes, and the
 * config's `replace:` permission on the conflicts it covers.
 */
function annotate(zp: ZonePlan, w: ZoneWork, config: Config): ZonePlan {
  const find = domainFinder(w);
  const of = (name: string) => {
    const domain = domainOfSelectorName(name);
    return domain === undefined ? undefined : find(domain);
  };
  for (const c of zp.changes) {
    const d = of(c.name);
    if (d !== undefined) c.source = d.source;
  }
  for (const c of zp.conflicts) {
    const d = of(c.name);
    if (d === undefined) continue;
    c.source = d.source;
    if (d.replace?.types.includes(c.type.toUpperCase())) {
      c.allowed = `replace: [${d.replace.types.join(", ")}] for ${d.domain} at ${formatWhere(d.replace.where ?? { file: config.displayFile })}`;
    }
  }
  // desiredDomain puts the derived-target warning first, and only on derived targets: marked
  // here, so the text plan need not read each message (reading one flattens the string V8
  // built it as, 430 bytes a domain).
  const notes: DomainNote[] = [];
  for (const d of w.domains) {
    d.warnings.forEach((message, i) => {
      notes.push(
        d.source === "derived" && i === 0
          ? { domain: d.domain, message, derived: true }
          : { domain: d.domain, message },
      );
    });
  }
  sortSmall(notes, (a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  // Kept to the end of the run: without the spare slots push() reserved.
  if (notes.length > 0) zp.notes = exact(notes);
  return zp;
}

/**
 * Build the plan. Providers are created only for the providers the selected domains use, so a
 * run limited with --provider needs only that provider's secrets.
 */
export async function buildPlan(opts: PlanOptions): Promise<{ plan: Plan; providers: ProviderSet }> {
  const { config } = opts;
  const env = opts.env ?? process.env;
  // The desired records of the selected domains only: --domain on a large config builds one.
  const picked = selectDomains(
    config,
    config.domains.map((dc) => ({ domain: dc.name, providers: dc.providers, dc })),
    opts,
  );
  const chosen = picked.map(({ dc, providers }) => {
    const d = desiredDomain(config, dc);
    d.providers = providers;
    return d;
  });
  // A domain with a problem of its own (no usable targets) is reported, not planned; the others are.
  const selected = chosen.filter((d) => d.problem === undefined);
  const problemErrors: PlanError[] = chosen
    .filter((d) => d.problem !== undefined)
    .flatMap((d) => d.providers.map((provider) => ({ provider, domain: d.domain, message: errorWithHint(d.problem) })));

  const providers: ProviderSet = new Map();
  for (const d of selected) {
    for (const p of d.providers) {
      if (providers.has(p)) continue;
      const pc = config.providers.get(p);
      if (!pc) throw new DkimsyncError(`domain ${d.domain}: unknown provider "${p}"`);
      const created = await createProvider(pc, config, env, opts.context ?? {});
      providers.set(p, opts.progress ? trackProvider(created, opts.progress) : created);
    }
  }

  const errors: PlanError[] = [...problemErrors];
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
        // A domain's zone_id is the usual cause here: point at the domain's line in the config.
        const dc = d.zoneId === undefined ? undefined : configuredDomain(config, d.domain);
        const at = dc ? `${formatWhere(dc.where)}: ` : "";
        errors.push({
          provider: p,
          domain: d.domain,
          message: `${at}cannot find the zone of ${d.domain}: ${messageFor(l.error, p)}`,
        });
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
      const limit = (providers.get(p) as Provider).capabilities.ttl;
      const badTtl =
        limit === undefined || d.ensure !== "present"
          ? undefined
          : d.records.find((r) => r.ttl < limit.min || r.ttl > limit.max);
      if (limit !== undefined && badTtl !== undefined) {
        // Refused here, not by the provider halfway through apply: the same facts in every output.
        const dc = configuredDomain(config, d.domain);
        const own = dc?.ttl !== undefined;
        const where = own && dc ? formatWhere(dc.where) : config.displayFile;
        errors.push({
          provider: p,
          domain: d.domain,
          zone,
          message:
            `${where}: ttl ${badTtl.ttl} is outside what provider "${p}" accepts (${limit.min}-${limit.max} s): ${limit.reason}${limit.source ? ` (${limit.source})` : ""}; ` +
            `set ${own ? `ttl: under domain ${d.domain}` : "the top-level ttl:"} to a value from ${limit.min} to ${limit.max}`,
        });
        continue;
      }
      const key = `${p}\u0000${zone}`;
      const w = work.get(key);
      if (w) w.domains.push(d);
      else work.set(key, { provider: p, zone, domains: [d] });
    }

    const items = [...work.values()].sort((a, b) =>
      a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0,
    );
    const log = opts.context?.log;
    log?.(`dkimsync: reading ${items.length} zone(s) at ${providers.size} provider(s)…`);
    // Once per zone: the bulk read and the zone's plan both need them.
    const namesOf = (w: ZoneWork) => (w.names ??= managedNames(w));
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
    if (opts.progress) {
      opts.progress.phase = "zones read";
      opts.progress.total = items.length;
      opts.progress.done = 0;
    }
    const zonePlans = await pool(items, opts.concurrency ?? 8, async (w): Promise<ZonePlan | undefined> => {
      // Progress for people on long runs: about every tenth of the zones.
      if (++read % Math.max(25, Math.ceil(items.length / 10)) === 0)
        log?.(`dkimsync: ${read}/${items.length} zones read`);
      const provider = providers.get(w.provider) as Provider;
      const names = namesOf(w);
      try {
        const pre = bulk.get(w.provider);
        if (pre !== undefined && "error" in pre) throw pre.error;
        const held = (pre as Map<string, RecordSet[]> | undefined)?.get(w.zone);
        // What the bulk read holds is planned as it is: a Promise.all per zone was about 5 MB of
        // garbage at 10,000 zones (bench/README.md).
        const [existing, warnings] =
          held !== undefined && !provider.zoneWarnings
            ? [held, []]
            : await Promise.all([
                held ?? provider.list(w.zone, names),
                provider.zoneWarnings ? provider.zoneWarnings(w.zone) : Promise.resolve([]),
              ]);
        const wanted = new Set(names);
        // A provider that reads whole zones may return more: only the managed names count.
        const managed = existing.map(normaliseSet).filter((s) => wanted.has(s.name));
        const diff = diffZone(managed, desiredOf(w));
        if (opts.progress) opts.progress.done++;
        return annotate(
          {
            provider: w.provider,
            zone: w.zone,
            domains: sortSmall(w.domains.map((d) => d.domain)),
            ...diff,
            warnings,
            names,
            // Hashed here, once per zone, so the records read can go: a lazy getter kept every
            // zone's records (and its closure) until the end, +20 MB peak RSS for a zone-file
            // apply of 10,000 domains, for about 0.1 s of CPU (bench/README.md).
            fingerprint: fingerprint(managed),
          },
          w,
          config,
        );
      } catch (err) {
        if (opts.progress) opts.progress.done++;
        for (const { domain } of w.domains)
          errors.push({ provider: w.provider, zone: w.zone, domain, message: messageFor(err, w.provider, w.zone) });
        return undefined;
      }
    });

    errors.sort((a, b) =>
      a.provider < b.provider
        ? -1
        : a.provider > b.provider
          ? 1
          : a.domain < b.domain
            ? -1
            : a.domain > b.domain
              ? 1
              : 0,
    );
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
