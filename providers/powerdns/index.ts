/**
 * Provider `powerdns`: the PowerDNS Authoritative Server's HTTP API.
 *
 * ```yaml
 * pdns:
 *   type: powerdns
 *   url: http://127.0.0.1:8081     # the webserver (webserver-address, webserver-port)
 *   api_key: env/PDNS_API_KEY      # the server's api-key setting
 *   server_id: localhost           # default
 *   timeout_ms: 10000              # default, per HTTP request
 *   read: auto                     # default: search across zones where the backend can
 * ```
 */
import {
  internType,
  ProviderError,
  canonical,
  pool,
  sortSmall,
  type Capabilities,
  type Change,
  type Provider,
  type RecordSet,
  type ZoneRead,
  type ZoneReadSink,
} from "../../src/provider-kit.js";
import type { ProviderFactory } from "../types.js";
import { PdnsClient, type PdnsSearchRecord } from "./api.js";
import { disabledDrift, fromPdnsContent, fromPdnsRRset, type PdnsRRset, toRRsetPatches } from "./convert.js";

import { readPowerDnsOptions, type ReadMode } from "./options.js";

export { readPowerDnsOptions, type PowerDnsOptions, type ReadMode } from "./options.js";

export function capabilitiesFor(read: ReadMode): Capabilities {
  return read === "names"
    ? capabilities
    : { ...capabilities, readsOnlyNames: read === "zone" ? zoneReads : searchReads };
}

const searchReads = {
  can: true,
  reason:
    "read: search (and auto, where the backend can search) reads the selector names of every zone in a few " +
    "GET .../search-data requests for the whole server; disabled records are seen and reported as drift. " +
    "Where the backend cannot search (lmdb answers every search with an empty list), auto reads each zone whole, " +
    "or name by name where an earlier read in the run found the zone large (then disabled records are not seen)",
  source: "PowerDNS HTTP API search-data endpoint; observed on PowerDNS 4.7.3 with gsqlite3 and lmdb",
};

const zoneReads = {
  can: false,
  reason:
    "read: zone reads the whole zone in one GET and keeps only the managed names, so disabled " +
    "records are seen and reported (a 21000-record zone: about 0.15 s and 2.8 MB on loopback)",
  source: "observed on PowerDNS 4.7.3 with the lmdb backend",
};

export const capabilities: Capabilities = {
  atomicWrites: {
    can: true,
    reason:
      "all changes of a zone go in one PATCH, which PowerDNS applies in one backend transaction and rolls back on any error",
    source: "PowerDNS HTTP API, PATCH /servers/{server_id}/zones/{zone_id}; observed on PowerDNS 4.7.3",
  },
  readsOnlyNames: {
    can: true,
    reason:
      "GET .../zones/{id}?rrset_name= (4.7+) per selector name; it leaves out disabled records, which " +
      "PowerDNS does not serve either, so they count as absent (read: zone shows them)",
    source: "PowerDNS HTTP API zones endpoint; observed on PowerDNS 4.7.3",
  },
};

export const createPowerDnsProvider: ProviderFactory = (options) => {
  const name = options.src.provider;
  const opts = readPowerDnsOptions(options);
  const client = new PdnsClient({ provider: name, ...opts });
  /** Canonical zone name -> the id the server gave it. */
  const zoneIds = new Map<string, string>();
  /** Whether the backend answers search-data: unknown until the first bulk read finds out. */
  let searchWorks: boolean | undefined = opts.read === "zone" || opts.read === "names" ? false : undefined;
  /** Canonical zone -> how many record sets its last whole read returned (read: auto decides by it). */
  const rrsetCount = new Map<string, number>();

  /**
   * read: auto without search, one zone: name by name when an earlier whole read in this run
   * found more than PER_NAME_RRSETS record sets per managed name, else the whole zone. The zone
   * listing carries no record counts, so a zone's first read is always whole: one request, the
   * fewest there are, and at worst (a 21,000-record zone) about 0.15 s and 2.8 MB.
   */
  function perName(zone: string, names: number): boolean {
    if (opts.read !== "auto") return opts.read === "names";
    const seen = rrsetCount.get(zone);
    return seen !== undefined && seen > PER_NAME_RRSETS * names;
  }

  async function zoneId(zone: string): Promise<string> {
    const known = zoneIds.get(zone);
    if (known !== undefined) return known;
    const found = await client.findZone(zone);
    if (found === undefined) {
      throw new ProviderError(name, "zone not found on the PowerDNS server", {
        zone,
        hint: "create the zone in PowerDNS (pdnsutil create-zone), or point the domain at the provider that serves it",
      });
    }
    zoneIds.set(zone, found.id);
    return found.id;
  }

  async function listMany(requests: readonly ZoneRead[], each?: ZoneReadSink): Promise<Map<string, RecordSet[]>> {
    const out = new Map<string, RecordSet[]>();
    const todo = requests.filter((r) => r.names.length > 0);
    for (const r of requests) {
      if (r.names.length > 0) continue;
      if (each) each(r.zone, r.names, []);
      else out.set(r.zone, []);
    }
    if (todo.length === 0) return out;
    if (searchWorks !== false) {
      const found = await searchZones(todo, each);
      if (found !== undefined) {
        for (const [zone, sets] of found) out.set(zone, sets);
        return out;
      }
      if (opts.read === "search") {
        throw new ProviderError(
          name,
          "read: search, but this PowerDNS server's search-data finds no records at all, not even a zone's SOA",
          {
            hint: "the lmdb backend cannot search (it answers an empty list); use read: auto or read: zone, or a SQL backend (gsqlite3, gmysql, gpgsql)",
          },
        );
      }
    }
    if (each) {
      // Each zone's records go to the caller as soon as its read is answered and are not kept.
      // The first failure stops the pool from starting reads; a read already in flight that
      // ends after it is not delivered: no zone is delivered after listMany has failed.
      let failed = false;
      await pool(todo, 8, async (r) => {
        try {
          const sets = await readZone(r);
          if (!failed) each(r.zone, r.names, sets);
        } catch (err) {
          failed = true;
          throw err;
        }
      });
      return out;
    }
    const perZone = await pool(todo, 8, async (r) => [r.zone, await readZone(r)] as const);
    for (const [zone, sets] of perZone) out.set(zone, sets);
    return out;
  }

  /** One zone's managed names the per-zone way: the whole zone or name by name (`perName`). */
  async function readZone(r: ZoneRead): Promise<RecordSet[]> {
    /** Canonical name -> the request's own string for it, which the sets keep. */
    const wanted = new Map<string, string>();
    for (const n of r.names) {
      const c = canonical(n);
      wanted.set(c, c);
    }
    const id = await zoneId(r.zone);
    let rrsets: PdnsRRset[];
    if (perName(r.zone, wanted.size)) {
      // A zone may hold hundreds of domains: a few names at a time, not one socket per name.
      rrsets = (await pool([...wanted.keys()], 8, (n) => client.getZone(id, r.zone, n))).flatMap((z) => z.rrsets);
    } else {
      rrsets = (await client.getZone(id, r.zone)).rrsets;
      rrsetCount.set(r.zone, rrsets.length);
    }
    // filter, then map: the list kept is of the exact size. Each set keeps the request's name,
    // not a slice of the parsed answer's.
    return sortSets(
      rrsets
        .filter((rr) => wanted.has(canonical(rr.name)))
        .map((rr) => {
          const set = fromPdnsRRset(rr);
          set.name = wanted.get(set.name) as string;
          return set;
        }),
    );
  }

  /**
   * Every requested zone's managed names through search-data, one request per name pattern
   * (`selector1._domainkey.*`, then `selector2._domainkey.*`). Undefined when the backend cannot
   * search. The patterns go one after the other, and each answer (every record at one selector
   * name of every zone on the server, about 2.5 MB of JSON at 10,000 zones) is read record by
   * record as it arrives and folded into per-zone record sets, so no answer is ever held whole,
   * as text or as a parsed list, and the second is not asked for before the first is folded.
   * The answer is cut at `max` without a word, so each search asks for one record more than it
   * accepts and asks again with a larger limit when that one came back.
   *
   * Each managed name belongs to exactly one pattern (its own, `patternOf`), and only that
   * pattern's answer is read for it: a name that fits two patterns (`a.*` and `a.b.*`) is read
   * once. With `each`, a pattern's record sets go to the caller, zone by zone, as soon as its
   * whole answer is in (a cut answer is never delivered) and are then dropped, so at most one
   * pattern's records are held; without it they are kept and returned.
   */
  async function searchZones(
    requests: readonly ZoneRead[],
    each?: ZoneReadSink,
  ): Promise<Map<string, RecordSet[]> | undefined> {
    /**
     * Canonical zone -> the request, its names canonical: the request itself where they already
     * are (a zone manages one to a few names: a list, not a Set per zone).
     */
    const wanted = new Map<string, ZoneRead>();
    let asked = 0;
    for (const r of requests) {
      wanted.set(
        r.zone,
        r.names.every((n) => canonical(n) === n) ? r : { zone: r.zone, names: r.names.map(canonical) },
      );
      asked += r.names.length;
    }
    const first = Math.max(1000, 4 * asked);
    /**
     * Zone -> its record sets. A zone has one or two sets per pattern: a list searched by name
     * and type, not a Map per zone (10,000 Maps of one entry cost 2.7 MB at 10,000 zones).
     */
    type Sets = Map<string, RecordSet[]>;
    // Each record goes straight into its zone's record set (the form the planner reads) as it
    // arrives (PdnsClient.searchEach), with no PowerDNS-shaped copy of the answer or its sets.
    const byZone: Sets = new Map();
    /** Record sets with disabled records, and how many (rare: only these need counting). */
    const disabled = new Map<RecordSet, number>();
    const fold = (into: Sets, pattern: string, rec: PdnsSearchRecord): void => {
      const zone = canonical(rec.zone);
      const r = wanted.get(zone);
      if (r === undefined) return;
      const at = r.names.indexOf(canonical(rec.name));
      if (at < 0) return;
      // The request's own strings for zone and name: nothing of the parsed answer is kept but
      // the values.
      const owner = r.names[at] as string;
      if (patternOf(owner) !== pattern) return;
      if (!zoneIds.has(zone)) zoneIds.set(r.zone, rec.zone_id);
      const type = internType(rec.type);
      const value = fromPdnsContent(type, rec.content);
      const sets = into.get(r.zone);
      let set = sets?.find((s) => s.name === owner && s.type === type);
      if (set) set.values.push(value);
      else {
        // Literal one-element lists: a list grown from [] by push takes 17 slots.
        set = { name: owner, type, ttl: rec.ttl, values: [value] };
        if (sets) sets.push(set);
        else into.set(r.zone, [set]);
      }
      if (rec.disabled) disabled.set(set, (disabled.get(set) ?? 0) + 1);
    };
    /** A zone's folded sets in the form list() returns: values sorted, disabled records as drift. */
    const finish = (sets: RecordSet[] | undefined): RecordSet[] => {
      if (!sets) return [];
      for (const set of sets) {
        sortSmall(set.values);
        const off = disabled.get(set);
        if (off !== undefined) {
          set.drift = disabledDrift(off, set.values.length);
          disabled.delete(set);
        }
      }
      return sortSets(sets);
    };
    /**
     * One pattern's whole answer, folded into sets of its own. PowerDNS cuts the answer at `max`
     * without saying so, so each search asks for one record more than it accepts; when that one
     * came back the answer was cut, its sets are dropped, and the search is sent again with four
     * times the limit, up to MAX_SEARCH.
     */
    const searchAll = async (pattern: string): Promise<{ records: number; sets: Sets }> => {
      for (let limit = first; ; limit = Math.min(MAX_SEARCH, limit * 4)) {
        let sets: Sets = new Map();
        const records = await client.searchEach(pattern, limit + 1, () => {
          // A new answer (a retried request starts over): nothing of an earlier one is kept.
          const fresh: Sets = new Map();
          sets = fresh;
          return (rec) => fold(fresh, pattern, rec);
        });
        if (records <= limit) return { records, sets };
        if (limit >= MAX_SEARCH) {
          throw new ProviderError(name, `search-data matched more than ${MAX_SEARCH} records for ${pattern}`, {
            hint: "use read: zone for this server",
          });
        }
      }
    };
    for (const pattern of searchPatterns(requests.flatMap((r) => r.names))) {
      const { records, sets } = await searchAll(pattern);
      if (searchWorks === undefined) {
        if (records === 0) {
          // Nothing matched: either no zone has this selector yet, or the backend cannot search
          // (lmdb answers every search with an empty list). Every zone has an SOA at its apex,
          // so a search for one known zone's apex tells the two apart. Asked at the first empty
          // answer, not after every pattern: a backend that cannot search costs two requests.
          const probe = (requests[0] as ZoneRead).zone;
          // Stored names carry no trailing dot, and the pattern is matched against them as written.
          const apex = await client.search(probe, 10);
          searchWorks = apex.some((r) => r.type === "SOA");
          if (!searchWorks) return undefined;
        } else searchWorks = true;
      }
      if (each) {
        // Each zone's names, canonical, as `wanted` holds them.
        for (const r of wanted.values()) {
          const names = r.names.filter((n) => patternOf(n) === pattern);
          if (names.length === 0) continue;
          each(r.zone, names, finish(sets.get(r.zone)));
          // Dropped as soon as delivered: the caller keeps what it needs.
          sets.delete(r.zone);
        }
        continue;
      }
      // Each name is read by one pattern only, so two patterns' sets of one zone never overlap.
      // concat makes a list of the exact size.
      for (const [zone, zoneSets] of sets) {
        const have = byZone.get(zone);
        byZone.set(zone, have ? have.concat(zoneSets) : zoneSets);
      }
    }
    const out = new Map<string, RecordSet[]>();
    if (each) return out;
    for (const r of requests) out.set(r.zone, finish(byZone.get(r.zone)));
    return out;
  }

  return {
    name,
    type: "powerdns",
    capabilities: capabilitiesFor(opts.read),

    async zones(): Promise<string[]> {
      const zones = await client.listZones();
      for (const z of zones) zoneIds.set(canonical(z.name), z.id);
      return zones.map((z) => canonical(z.name)).sort();
    },

    async list(zone: string, names: readonly string[]): Promise<RecordSet[]> {
      // One zone alone: a search would read the selector records of every zone on the server.
      return names.length === 0 ? [] : readZone({ zone, names });
    },

    listMany,

    async apply(zone: string, changes: readonly Change[]): Promise<void> {
      if (changes.length === 0) return;
      const id = await zoneId(zone);
      // Written zones are read back after all writes (src/plan/apply.ts), not beside them:
      // reading each zone back as soon as its PATCH was answered made lmdb applies 8% (one read
      // at a time) to 25% (eight) slower (PowerDNS 4.7.3, lmdb, 800 zones, alternating runs on a
      // busy 2-core machine): the server is CPU-bound,
      // and a zone GET costs it about as much as a PATCH, so reads beside writes only slow them.
      await client.patchZone(id, zone, toRRsetPatches(changes));
    },
  } satisfies Provider;
};

/** The most records one search may return before dkimsync reads zone by zone instead. */
const MAX_SEARCH = 1_000_000;

/**
 * read: auto without search reads a zone name by name once it is known to hold more than this
 * many record sets per managed name. Measured on PowerDNS 4.7.3 with lmdb on loopback: one
 * request costs the server about as much as 250 to 450 more record sets in a whole-zone answer
 * (a whole read of 1,000, 5,000 and 20,000 record sets took 3.4, 11 and 83 times as long as one
 * `rrset_name=` read), and the client's JSON parsing about 300 (1.4 us per record set against
 * 0.3 to 0.5 ms per request). k names cost k requests, the whole zone one plus its size, so name
 * by name wins above about 300 record sets per name; below it the whole read is the cheaper one,
 * and it sees disabled records.
 */
export const PER_NAME_RRSETS = 300;

/**
 * By name, then type, by UTF-16 code units: the order only has to be the same on every run (the
 * planner compares record sets by name and type, and fingerprints them in its own order), and
 * `localeCompare` (ICU collation) cost several times as much CPU per comparison.
 */
const bySetName = (a: RecordSet, b: RecordSet): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0;

/** A zone's sets in a stable order; most zones read hold one or two, which need no sort call. */
function sortSets(sets: RecordSet[]): RecordSet[] {
  return sortSmall(sets, bySetName);
}

/**
 * search-data patterns that match every given name: one per distinct two-label prefix
 * (`selector1._domainkey.*` and `selector2._domainkey.*` for the managed names of any number of
 * domains). One pattern per selector rather than `selector?` for both: the provider sends them
 * one after the other and folds each answer before the next, so it never holds the records of
 * both selectors of every zone at once. The patterns may match more names than asked (other
 * domains' selectors); the caller keeps only what it asked.
 */
export function searchPatterns(names: readonly string[]): string[] {
  const prefixes = new Set<string>();
  for (const n of names) prefixes.add(patternOf(canonical(n)));
  return [...prefixes].sort();
}

/**
 * The search-data pattern a canonical name is read by: its first two labels of a name of three
 * or more, else its first, then `.*` (no split per name: this runs for every managed name and
 * every record of a search answer, 20,000 times or more at 10,000 domains).
 */
function patternOf(c: string): string {
  const dot = c.indexOf(".");
  const second = dot < 0 ? -1 : c.indexOf(".", dot + 1);
  return `${second >= 0 ? c.slice(0, second) : dot >= 0 ? c.slice(0, dot) : c}.*`;
}
