/**
 * Provider `route53`: Amazon Route 53 hosted zones through `@aws-sdk/client-route-53`.
 * Credentials come only from the standard AWS chain; the config holds no secrets for it.
 */
import type { Change as AwsChange, ResourceRecordSet } from "@aws-sdk/client-route-53";
import {
  ownString,
  ProviderError,
  canonical,
  isInZone,
  type OptionsReader,
  type Capabilities,
  type Change,
  type Provider,
  type RecordSet,
  waitForChange,
} from "../../src/provider-kit.js";
import type { ProviderContext, ProviderFactory } from "../types.js";
import { Route53Api, attemptsOf, awsError } from "./api.js";
import {
  fromResourceRecordSet,
  fromWireName,
  route53Key,
  sameRecordSet,
  splitBatches,
  toAwsChanges,
  toResourceRecordSet,
  toWireName,
} from "./convert.js";

import { readRoute53Options, type Route53Options } from "./options.js";

export { DEFAULT_TIMEOUT_MS, readRoute53Options, type Route53Options } from "./options.js";

interface BatchProgress {
  index: number;
  total: number;
  /** Changes of the batches before this one, all written. */
  written: number;
}

interface ZoneEntry {
  id: string;
  private: boolean;
}

/**
 * The hosted zones of one name: the id alone for the usual single public zone, else an entry
 * each. Kept for the whole run, one per hosted zone: at 10,000 zones an array and an object per
 * zone held 0.96 MB of the provider's 2.2 MB (heap snapshot of a plan).
 */
type ZoneEntries = string | ZoneEntry[];

function entriesOf(v: ZoneEntries | undefined): ZoneEntry[] {
  return v === undefined ? [] : typeof v === "string" ? [{ id: v, private: false }] : v;
}

export class Route53Provider implements Provider {
  readonly type = "route53";
  readonly capabilities: Capabilities = {
    atomicWrites: {
      can: true,
      reason:
        "a change batch is applied all or nothing; an apply larger than 1000 values or 32000 characters is split into several batches, and domains pinned with zone_id to another hosted zone of the same name get a batch of their own",
      source: "Route 53 API reference, ChangeResourceRecordSets",
    },
    readsOnlyNames: {
      can: true,
      reason: "reads a name range with StartRecordName, stopping past the last name asked for",
      source: "Route 53 API reference, ListResourceRecordSets",
    },
  };

  private readonly api: Route53Api;
  private zoneMap: Promise<Map<string, ZoneEntries>> | undefined;
  /**
   * Record sets as Route 53 holds them (values as first sent), for exact DELETEs, kept only where
   * dkimsync's own form of the record would differ: a run that reads 20,000 selectors it wrote
   * itself would otherwise hold 20,000 copies until the end (about 8 MB at 10,000 domains).
   */
  private readonly seen = new Map<string, ResourceRecordSet>();
  /** Hosted zone ids pinned by domains' `zone_id`, by domain. */
  private readonly pins = new Map<string, string>();

  constructor(
    readonly name: string,
    private readonly opts: Route53Options,
    private readonly ctx: ProviderContext = {},
  ) {
    this.api = new Route53Api({
      provider: name,
      region: opts.region,
      maxRps: opts.maxRps,
      maxAttempts: opts.maxAttempts,
      timeoutMs: opts.timeoutMs,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
    });
  }

  /**
   * A domain's `zone_id` picks one hosted zone where several share a name (a public and a private
   * zone of one name, for split-horizon DNS). The pinned zone is used even if it is private, and
   * only for that domain's names: other domains of the same zone name stay where they were.
   */
  pinZoneId(domain: string, zoneId: string): void {
    if (this.zoneMap !== undefined) throw new Error("pinZoneId must be called before the zones are listed");
    this.pins.set(canonical(domain), zoneId.replace(/^\/hostedzone\//, "").toUpperCase());
  }

  private loadZones(): Promise<Map<string, ZoneEntries>> {
    this.zoneMap ??= (async () => {
      let zones;
      try {
        zones = await this.api.hostedZones();
      } catch (err) {
        this.zoneMap = undefined;
        throw this.api.toProviderError(err, "listing hosted zones (ListHostedZonesByName)");
      }
      const map = new Map<string, ZoneEntries>();
      const pinnedIds = new Set(this.pins.values());
      for (const z of zones) {
        // Copies: kept for the whole run, they would otherwise keep their page's text (ownString).
        const id = ownString((z.Id ?? "").replace(/^\/hostedzone\//, ""));
        const isPrivate = z.Config?.PrivateZone ?? false;
        const pinned = pinnedIds.has(id);
        if (
          !pinned &&
          (this.opts.zoneId !== undefined ? id !== this.opts.zoneId : isPrivate && !this.opts.privateZones)
        )
          continue;
        const name = ownString(fromWireName(z.Name ?? ""));
        const entries = map.get(name);
        if (entries !== undefined) map.set(name, [...entriesOf(entries), { id, private: isPrivate }]);
        else map.set(name, isPrivate ? [{ id, private: true }] : id);
      }
      if (this.opts.zoneId !== undefined && map.size === 0) {
        throw new ProviderError(this.name, `hosted zone ${this.opts.zoneId} (option zone_id) was not found`, {
          hint: "check the id in the Route 53 console (without /hostedzone/) and that the credentials belong to its account",
        });
      }
      return map;
    })();
    return this.zoneMap;
  }

  async zones(): Promise<string[]> {
    const map = await this.loadZones();
    for (const domain of this.pins.keys()) this.pinnedZone(map, domain);
    return [...map.keys()].filter((name) => entriesOf(map.get(name)).some((e) => this.eligible(e))).sort();
  }

  /**
   * The zone of one domain. A domain with a `zone_id` lives in that hosted zone, which must hold
   * the domain (its name is the domain or a parent); every other domain in the longest zone
   * name that has a hosted zone dkimsync manages by default, so a pin never moves other domains.
   */
  async zoneOf(domain: string): Promise<string | undefined> {
    const map = await this.loadZones();
    const d = canonical(domain);
    const pinned = this.pinnedZone(map, d);
    if (pinned !== undefined) return pinned;
    // The domain's suffixes, longest first, probed in the zone map: the answer of findZone's scan
    // over every zone, without two fresh arrays of all zone names and a string per comparison for
    // each domain (the planner asks once per domain: quadratic in CPU and garbage at 10,000
    // zones), and without a second set of every zone name kept beside the map.
    for (let at = 0; ; ) {
      const suffix = at === 0 ? d : d.slice(at);
      const entries = map.get(suffix);
      if (entries !== undefined && entriesOf(entries).some((e) => this.eligible(e))) return suffix;
      const dot = d.indexOf(".", at);
      if (dot < 0) return undefined;
      at = dot + 1;
    }
  }

  /** A hosted zone dkimsync uses for domains without their own zone_id. */
  private eligible(e: ZoneEntry): boolean {
    if (this.opts.zoneId !== undefined) return e.id === this.opts.zoneId;
    return !e.private || this.opts.privateZones;
  }

  /** The name of the hosted zone a domain's zone_id names, checked; undefined when not pinned. */
  private pinnedZone(map: Map<string, ZoneEntries>, domain: string): string | undefined {
    const id = this.pins.get(domain);
    if (id === undefined) return undefined;
    const name = [...map.entries()].find(([, entries]) => entriesOf(entries).some((e) => e.id === id))?.[0];
    if (name === undefined) {
      throw new ProviderError(this.name, `hosted zone ${id} (zone_id of domain ${domain}) was not found`, {
        hint: "check the id in the Route 53 console (without /hostedzone/) and that the credentials belong to its account",
      });
    }
    if (!isInZone(domain, name)) {
      throw new ProviderError(
        this.name,
        `zone_id ${id} of domain ${domain} is the hosted zone ${name}, which cannot hold ${domain}`,
        {
          hint: `set zone_id to the id of a hosted zone named ${domain} or one of its parents, or remove zone_id`,
        },
      );
    }
    return name;
  }

  /** The pinned hosted zone id of a managed name (under a domain with zone_id), if any. */
  private pinOf(name: string): string | undefined {
    if (this.pins.size === 0) return undefined;
    let best: { domain: string; id: string } | undefined;
    for (const [domain, id] of this.pins) {
      if (isInZone(name, domain) && (best === undefined || domain.length > best.domain.length)) best = { domain, id };
    }
    return best?.id;
  }

  /**
   * The hosted zone id that holds `name` in the zone of this name: the domain's own zone_id
   * when it has one, else the one default hosted zone of this name (several need `zone_id`).
   */
  private async zoneId(zone: string, name: string): Promise<string> {
    const all = entriesOf((await this.loadZones()).get(canonical(zone)));
    const pin = this.pinOf(canonical(name));
    if (pin !== undefined && all.some((e) => e.id === pin)) return pin;
    // The usual case, one hosted zone of this name (asked once per name read or written).
    const [only] = all;
    if (all.length === 1 && only !== undefined && this.eligible(only)) return only.id;
    const entries = all.filter((e) => this.eligible(e));
    const [first] = entries;
    if (first === undefined) {
      throw new ProviderError(this.name, "no hosted zone of this name is visible to these credentials", {
        zone,
        hint: this.opts.privateZones
          ? "create the hosted zone, or check the account"
          : "create the hosted zone, or set private_zones: true if it is a private zone",
      });
    }
    if (entries.length > 1) {
      throw new ProviderError(
        this.name,
        `${entries.length} hosted zones have this name: ${entries.map((e) => `${e.id}${e.private ? " (private)" : ""}`).join(", ")}`,
        {
          zone,
          hint: "set zone_id on the provider to the one dkimsync should manage (and add another provider for the other)",
        },
      );
    }
    return first.id;
  }

  private seenKey(zoneId: string, name: string, type: string): string {
    return `${zoneId} ${name} ${type}`;
  }

  /**
   * Reads only the requested names: the names are visited in Route 53 order, each page starts
   * at the next name still wanted (skipping gaps of foreign records), and reading stops once
   * the records pass the last wanted name. Both selectors of every domain of one zone sort
   * next to each other under `_domainkey`, so one request usually covers a whole zone.
   */
  async list(zone: string, names: readonly string[]): Promise<RecordSet[]> {
    const out: RecordSet[] = [];
    for (const [zoneId, group] of await this.byHostedZone(zone, names, (n) => n))
      out.push(...(await this.listIn(zone, zoneId, group)));
    return out;
  }

  /** Items grouped by the hosted zone that holds their name, in first-seen order. */
  private async byHostedZone<T>(
    zone: string,
    items: readonly T[],
    nameOf: (item: T) => string,
  ): Promise<Map<string, T[]>> {
    const groups = new Map<string, T[]>();
    for (const item of items) {
      const id = await this.zoneId(zone, nameOf(item));
      const group = groups.get(id);
      if (group) group.push(item);
      else groups.set(id, [item]);
    }
    return groups;
  }

  private async listIn(zone: string, zoneId: string, names: readonly string[]): Promise<RecordSet[]> {
    // Each name's place in Route 53 order, computed once (not once per comparison).
    const keyed = [...new Set(names.map(canonical))].map((name) => ({ name, key: route53Key(name) }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const wanted = keyed.map((w) => w.name);
    const keys = keyed.map((w) => w.key);
    const out: RecordSet[] = [];
    const routed: ResourceRecordSet[] = [];
    let i = 0;
    let start: { name: string; type?: string } | undefined =
      wanted[0] === undefined ? undefined : { name: toWireName(wanted[0]) };
    while (start !== undefined && i < wanted.length) {
      let page;
      try {
        page = await this.api.recordPage(zoneId, start);
      } catch (err) {
        throw this.api.toProviderError(err, "reading records (ListResourceRecordSets)", zone);
      }
      for (const rr of page.records) {
        const name = fromWireName(rr.Name ?? "");
        const key = route53Key(name);
        while (i < wanted.length && (keys[i] as string) < key) i++;
        if (i >= wanted.length) break;
        // Only the record sets at wanted names are converted (a page may hold up to 300 others).
        if (name === wanted[i]) {
          // The name as the caller holds it, the rest copied: the record set outlives the page.
          const rs = fromResourceRecordSet(rr, wanted[i]);
          if (rr.SetIdentifier !== undefined) routed.push(rr);
          out.push(rs);
          if (!sameWire(rr, toResourceRecordSet(rs)))
            this.seen.set(this.seenKey(zoneId, rs.name, rs.type), JSON.parse(JSON.stringify(rr)) as ResourceRecordSet);
        }
      }
      const next = page.next;
      const nextWanted = wanted[i];
      if (next === undefined || nextWanted === undefined) break;
      start = route53Key(fromWireName(next.name)) < (keys[i] as string) ? { name: toWireName(nextWanted) } : next;
    }
    if (routed.length > 0) {
      // Several record sets of one name and type, told apart by SetIdentifier (weighted,
      // latency, failover, geo...): dkimsync cannot say which one the CNAME should replace, and a
      // selector needs exactly one answer. Refused rather than guessed.
      const shown = routed.map(
        (r) =>
          `${fromWireName(r.Name ?? "")} ${r.Type ?? ""} (SetIdentifier ${r.SetIdentifier ?? ""}${r.Weight !== undefined ? `, weight ${r.Weight}` : ""})`,
      );
      throw new ProviderError(
        this.name,
        `routing-policy record sets at selector names: ${shown.join(", ")}; dkimsync writes one simple CNAME per selector and does not replace routing-policy records`,
        {
          zone,
          hint: "delete these record sets in the Route 53 console (or with aws route53 change-resource-record-sets, naming SetIdentifier), then run plan again",
        },
      );
    }
    return out;
  }

  /**
   * The record as Route 53 holds it when it is what `rs` describes; else dkimsync's form. The
   * match ignores drift, so an alias record set is deleted with its AliasTarget (a DELETE must
   * match the record set exactly: API reference, ChangeResourceRecordSets).
   */
  private current(zoneId: string, rs: RecordSet): ResourceRecordSet {
    const raw = this.seen.get(this.seenKey(zoneId, rs.name, rs.type));
    if (raw !== undefined && sameRecordSet({ ...fromResourceRecordSet(raw), drift: [] }, { ...rs, drift: [] }))
      return raw;
    return toResourceRecordSet(rs);
  }

  async apply(zone: string, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const byZone = await this.byHostedZone(zone, changes, (c) => c.name);
    if (byZone.size > 1) {
      this.ctx.log?.(
        `[${this.name}] zone ${zone}: domains pinned with zone_id live in ${byZone.size} hosted zones (${[...byZone.keys()].join(", ")}); one change batch each`,
      );
    }
    for (const [zoneId, own] of byZone) await this.applyIn(zone, zoneId, own);
  }

  private async applyIn(zone: string, zoneId: string, changes: readonly Change[]): Promise<void> {
    const groups = changes.map((c) => ({ change: c, aws: toAwsChanges(c, (rs) => this.current(zoneId, rs)) }));
    const batches = splitBatches(groups.map((g) => g.aws));
    if (batches.length > 1) {
      this.ctx.log?.(
        `[${this.name}] zone ${zone}: ${changes.length} changes exceed one Route 53 change batch; writing ${batches.length} batches`,
      );
    }
    const changeIds: string[] = [];
    let written = 0;
    for (const [index, batch] of batches.entries()) {
      const own = groups.filter((g) => g.aws.some((a) => batch.includes(a))).map((g) => g.change);
      const id = await this.submit(zone, zoneId, batch, own, { index, total: batches.length, written });
      if (id !== undefined) changeIds.push(id);
      written += own.length;
    }
    for (const c of changes) this.forget(zoneId, c);
    if (this.opts.wait || this.ctx.wait === true) for (const id of changeIds) await this.waitInsync(zone, id);
  }

  private forget(zoneId: string, c: Change): void {
    this.seen.delete(this.seenKey(zoneId, c.name, c.type));
  }

  /** Submit one batch; returns its change id, or undefined when a retry found it applied. */
  private async submit(
    zone: string,
    zoneId: string,
    batch: AwsChange[],
    own: Change[],
    progress: BatchProgress,
  ): Promise<string | undefined> {
    try {
      const info = await this.api.changeBatch(zoneId, batch);
      return info.Id;
    } catch (err) {
      const e = awsError(err);
      if (e.name === "InvalidChangeBatch") {
        // The SDK retries a POST after a 5xx or a dropped connection even when Route 53 had
        // applied it; the retry then meets "already exists" / "not found" for its own records.
        // The zone holding exactly the intended end state proves the first attempt landed.
        if (attemptsOf(err) > 1 && (await this.holdsAfterState(zone, own))) return undefined;
        throw this.rejected(zone, err, own, progress);
      }
      throw this.api.toProviderError(err, "writing records (ChangeResourceRecordSets)", zone);
    }
  }

  private async holdsAfterState(zone: string, own: Change[]): Promise<boolean> {
    const names = [...new Set(own.map((c) => c.name))];
    let now: RecordSet[];
    try {
      now = await this.list(zone, names);
    } catch {
      return false;
    }
    return own.every((c) => {
      const there = now.find((r) => r.name === c.name && r.type === c.type);
      return c.after === null ? there === undefined : there !== undefined && sameRecordSet(there, c.after);
    });
  }

  private rejected(zone: string, err: unknown, own: Change[], progress: BatchProgress): ProviderError {
    const message = awsError(err).message ?? "";
    const problems = splitMessages(message);
    const changed = problems.some((p) =>
      /do not match the current values|but it was not found|but it already exists/.test(p),
    );
    const conflict = problems.some((p) => /conflicts with other records|conflicting RRSet of type CNAME/.test(p));
    // Route 53 names the records at fault in `problems`; the batch's own list only gives context.
    const shown = own
      .slice(0, 10)
      .map((c) => `${c.action} ${c.name} ${c.type}`)
      .join(", ");
    const records = own.length > 10 ? `${shown} and ${own.length - 10} more` : shown;
    // A batch is all or nothing, but a split apply's earlier batches have already landed.
    const outcome =
      progress.index === 0
        ? "nothing was written"
        : `batch ${progress.index + 1} of ${progress.total} was not written; ` +
          `${progress.index === 1 ? "batch 1" : `batches 1-${progress.index}`} (${progress.written} changes) ${progress.index === 1 ? "was" : "were"} written`;
    return new ProviderError(
      this.name,
      `Route 53 rejected the change batch (${records}), ${outcome}: ${problems.join("; ")}`,
      {
        zone,
        cause: err,
        hint: changed
          ? "the records changed since they were read (another tool or person edited the zone); run plan again and review"
          : conflict
            ? "another record type shares a selector name with the CNAME (RFC 1034 3.6.2); remove it, or plan with --force to replace it"
            : "fix the records named above and run plan again",
      },
    );
  }

  private async waitInsync(zone: string, changeId: string): Promise<void> {
    await waitForChange({
      provider: this.name,
      zone,
      id: changeId,
      timeoutMs: this.opts.waitTimeoutMs,
      done: "INSYNC",
      status: async () => {
        try {
          return await this.api.changeStatus(changeId);
        } catch (err) {
          throw this.api.toProviderError(err, `waiting for change ${changeId} (GetChange)`, zone);
        }
      },
      hint: "Route 53 accepted the records and will serve them once INSYNC; run verify later",
    });
  }

  /**
   * The run is over for this provider: the SDK client goes, and so does what was kept for
   * writes (the zone map, raw record sets). The plan command closes its providers before it
   * writes the plan, the moment its memory peaks. Nothing is asked of a closed provider.
   */
  async close(): Promise<void> {
    this.api.close();
    this.zoneMap = undefined;
    this.seen.clear();
  }

  /** How many record sets are kept as Route 53 sent them (for tests and benchmarks). */
  get rawHeld(): number {
    return this.seen.size;
  }
}

const PLAIN_FIELDS = new Set(["Name", "Type", "TTL", "ResourceRecords"]);

/**
 * True when Route 53's record set is exactly the one dkimsync would send for it: no field but
 * name, type, TTL and values (no alias, routing policy or health check), all equal, values in
 * the same order. A DELETE built from dkimsync's form then matches it as the API requires.
 */
function sameWire(rr: ResourceRecordSet, mine: ResourceRecordSet): boolean {
  for (const [key, value] of Object.entries(rr)) if (value !== undefined && !PLAIN_FIELDS.has(key)) return false;
  const a = rr.ResourceRecords ?? [];
  const b = mine.ResourceRecords ?? [];
  return (
    rr.Name === mine.Name &&
    rr.Type === mine.Type &&
    rr.TTL === mine.TTL &&
    a.length === b.length &&
    a.every((r, i) => Object.values(r).filter((v) => v !== undefined).length === 1 && r.Value === b[i]?.Value)
  );
}

/** `[msg1, msg2]` -> messages. Messages themselves contain `[name='a.', type='CNAME']`. */
export function splitMessages(message: string): string[] {
  const inner = message.startsWith("[") && message.endsWith("]") ? message.slice(1, -1) : message;
  return inner
    .split(/, (?=Tried to |RRSet )/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

export const createRoute53Provider: ProviderFactory = (options: OptionsReader, context: ProviderContext) =>
  new Route53Provider(options.src.provider, readRoute53Options(options), context);
