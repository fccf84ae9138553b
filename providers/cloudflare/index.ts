/**
 * Provider `cloudflare`: Microsoft 365 selector CNAMEs in Cloudflare DNS through the official
 * SDK. Reads a zone's selector names with one paged, name-filtered listing, writes each zone's
 * changes with the batch endpoint, and keeps every DKIM CNAME DNS only and unflattened.
 */
import {
  exact,
  internType,
  canonical,
  ProviderError,
  type Capabilities,
  type Change,
  type Provider,
  type RecordSet,
} from "../../src/provider-kit.js";
import type { ProviderFactory } from "../types.js";
import { CloudflareApi } from "./api.js";
import { chunkBatch, nameFilter, recordKey, recordValue, toBatchOps, toRecordSets, type CfRecord } from "./convert.js";

/**
 * What was last read in one zone, for apply: the names read (found empty or not) and, flat, the
 * name, type and id of each record at them, `[name, type, id, name, type, id, ...]`, the records
 * of one name and type in the order of their values (the order toBatchOps pairs them with the
 * new values in). A write needs nothing else of a record, and this is kept for every zone until
 * its write: a flat array of strings the caller and the answer already hold, instead of an
 * object per record with its value and TTL and a list grown per zone, halves what a zone costs
 * (bench/README.md, "Peak RSS at 10,000, session 6: Cloudflare and Route 53").
 */
interface ZoneRead {
  names: readonly string[];
  ids: readonly string[];
}

/** The `ids` of a zone read with no record at its names (most zones of a first plan). */
const NO_IDS: readonly string[] = Object.freeze([]);

import { readCloudflareOptions } from "./options.js";

export { DEFAULT_TIMEOUT_MS, readCloudflareOptions, type CloudflareOptions } from "./options.js";

const BATCH_DOC = "https://developers.cloudflare.com/dns/manage-dns-records/how-to/batch-record-changes/";

export const createCloudflareProvider: ProviderFactory = (options, context) => {
  const opts = readCloudflareOptions(options);
  const name = options.src.provider;
  const api = new CloudflareApi({
    provider: name,
    token: opts.token,
    tokenRef: opts.tokenRef,
    baseURL: opts.baseURL,
    ...(opts.accountId ? { accountId: opts.accountId } : {}),
    maxRequestsPer5Min: opts.maxRequestsPer5Min,
    maxRetries: opts.maxRetries,
    timeoutMs: opts.timeoutMs,
  });
  return new CloudflareProvider(name, api, opts.batchSize, context.log, opts.minTtl, context.readOnly !== true);
};

export class CloudflareProvider implements Provider {
  readonly type = "cloudflare";
  readonly capabilities: Capabilities;
  private readonly zoneIds = new Map<string, string>();
  private readonly known = new Map<string, ZoneRead>();
  /**
   * Zones written by this process. A later read of one of them is the read-back after its
   * write, and what it finds is not kept: nothing more is written to a zone in one run, so the
   * ids would only be held until the run ends (20,000 records at 10,000 domains, at the end of
   * the run where its memory peaks). Should one be written again all the same, apply reads its
   * names first, as for a saved plan.
   */
  private readonly written = new Set<string>();

  constructor(
    readonly name: string,
    private readonly api: CloudflareApi,
    private readonly batchSize: number,
    private readonly log?: (message: string) => void,
    minTtl = 60,
    /** Whether a read keeps the record ids a write needs (not in a run that never writes). */
    private readonly keepForWrites = true,
  ) {
    this.capabilities = {
      atomicWrites: {
        can: true,
        reason: `the batch endpoint runs deletes, patches and posts in one database transaction, all or nothing; only within one batch of at most ${batchSize} records (batch_size), so a larger apply is several independent batches`,
        source: BATCH_DOC,
      },
      readsOnlyNames: {
        can: true,
        reason:
          "one paged listing per zone, filtered by the prefix and suffix the requested names share (name.startswith/name.endswith, or name.exact for one name), then narrowed to the exact names; names of unmanaged domains that pass the filter are read too",
        source: "https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/list/",
      },
      ttl: {
        min: minTtl,
        max: 86400,
        reason:
          minTtl < 60
            ? `min_ttl ${minTtl} is set for an Enterprise zone; Cloudflare refuses TTLs under 30 and over 86400`
            : "Cloudflare refuses TTLs under 60 (30 on Enterprise zones: set min_ttl) and over 86400",
        source: "Cloudflare API reference, DNS records, ttl",
      },
    };
  }

  async zones(): Promise<string[]> {
    const zones = await this.api.listZones();
    const names: string[] = [];
    for (const z of zones) {
      const name = canonical(z.name);
      this.zoneIds.set(name, z.id);
      names.push(name);
    }
    return names.sort();
  }

  async list(zone: string, names: readonly string[]): Promise<RecordSet[]> {
    return this.read(zone, names, this.keepForWrites && !this.written.has(zone));
  }

  /** Reads the names; with `keep`, what apply needs of the records found there is kept. */
  private async read(zone: string, names: readonly string[], keep: boolean): Promise<RecordSet[]> {
    const zoneId = await this.zoneId(zone);
    const wanted = [...new Set(names.map(canonical))];
    if (wanted.length === 0) return [];
    // One read per zone, however many domains live in it: the planner's request budget.
    const records = await this.api.listRecordsNamed(zone, zoneId, nameFilter(wanted));
    // Each wanted name by itself, so a kept record shares the caller's string for its name.
    const wantedNames = new Map(wanted.map((n) => [n, n]));
    const found: CfRecord[] = [];
    for (const r of records) {
      const name = wantedNames.get(canonical(r.name));
      if (name === undefined) continue;
      r.name = name;
      found.push(r);
    }
    const { sets, records: byKey } = toRecordSets(found);
    const before = this.known.get(zone);
    if (!keep) {
      // Ids kept from an earlier read of these names may be out of date now: a write reads again.
      if (before) this.forget(zone, before, wanted);
      return sets;
    }
    let ids = NO_IDS;
    if (found.length > 0) {
      const flat = new Array<string>(3 * found.length);
      let at = 0;
      for (const list of byKey.values()) {
        const type = internType(list[0]!.type);
        const inOrder = list.length > 1 ? list.sort((a, b) => recordValue(a).localeCompare(recordValue(b))) : list;
        for (const r of inOrder) {
          flat[at++] = r.name;
          flat[at++] = type;
          flat[at++] = r.id;
        }
      }
      ids = flat;
    }
    if (before) this.forget(zone, before, wanted);
    const after = this.known.get(zone);
    // A name read and found empty is known to be empty: apply then needs no second read.
    this.known.set(zone, {
      names: after ? after.names.concat(wanted) : wanted,
      ids: after ? after.ids.concat(ids) : ids,
    });
    return sets;
  }

  async apply(zone: string, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const zoneId = await this.zoneId(zone);
    // A saved plan applied by a new process has no record ids yet: read those names first.
    const names = [...new Set(changes.map((c) => canonical(c.name)))];
    const before = this.known.get(zone);
    const have = new Set(before?.names);
    if (!before || names.some((n) => !have.has(n))) await this.read(zone, names, true);
    const read = this.known.get(zone)!;
    const byKey = new Map<string, string[]>();
    for (let i = 0; i + 2 < read.ids.length; i += 3) {
      const key = recordKey(read.ids[i]!, read.ids[i + 1]!);
      const list = byKey.get(key);
      if (list) list.push(read.ids[i + 2]!);
      else byKey.set(key, [read.ids[i + 2]!]);
    }

    let ops;
    try {
      ops = toBatchOps(changes, byKey);
    } catch (err) {
      throw new ProviderError(this.name, `cannot write: ${(err as Error).message}`, {
        zone,
        cause: err,
        hint: "the zone changed since it was read; run dkimsync plan again",
      });
    }
    const chunks = chunkBatch(ops, this.batchSize);
    let written = 0;
    try {
      for (const [i, chunk] of chunks.entries()) {
        if (chunks.length > 1) this.log?.(`[${this.name}] zone ${zone}: batch ${i + 1} of ${chunks.length}`);
        try {
          await this.api.batch(zone, zoneId, chunk);
        } catch (err) {
          throw i === 0 ? err : partlyWritten(err, { index: i, total: chunks.length, written });
        }
        written += chunk.deletes.length + chunk.patches.length + chunk.posts.length;
      }
    } finally {
      // Ids changed (posts get new ones): the next apply must read again.
      this.forget(zone, read, names);
      this.written.add(zone);
    }
  }

  async zoneWarnings(zone: string): Promise<string[]> {
    const zoneId = await this.zoneId(zone);
    let flattenAll: boolean;
    try {
      flattenAll = await this.api.flattenAllCnames(zone, zoneId);
    } catch (err) {
      return [
        `could not read the zone's DNS settings to check "flatten all CNAMEs" (${(err as Error).message}); check it in the dashboard under DNS > Settings`,
      ];
    }
    if (!flattenAll) return [];
    return [
      `CNAME flattening is set to "flatten all CNAMEs" for zone ${zone}: Cloudflare answers every selector CNAME with the target's addresses instead of the CNAME, so DKIM fails for every selector in this zone. ` +
        `Turn it off in the Cloudflare dashboard (DNS > Settings > CNAME flattening: "Flatten CNAME at apex"), or with PATCH /zones/{zone_id}/dns_settings {"flatten_all_cnames": false}.`,
    ];
  }

  /**
   * What was kept for writes goes (zone ids, record ids, the zones written): the plan command
   * closes its providers before it writes the plan, the moment its memory peaks. A call after
   * this looks the zone up again.
   */
  async close(): Promise<void> {
    this.zoneIds.clear();
    this.known.clear();
    this.written.clear();
  }

  /** Drops what was read at these names; the zone's entry goes once nothing is left in it. */
  private forget(zone: string, read: ZoneRead, names: readonly string[]): void {
    const drop = new Set(names);
    const ids: string[] = [];
    for (let i = 0; i + 2 < read.ids.length; i += 3)
      if (!drop.has(canonical(read.ids[i]!))) ids.push(read.ids[i]!, read.ids[i + 1]!, read.ids[i + 2]!);
    const left: ZoneRead = {
      names: read.names.filter((n) => !drop.has(n)),
      ids: ids.length === 0 ? NO_IDS : exact(ids),
    };
    if (left.names.length === 0 && left.ids.length === 0) this.known.delete(zone);
    else this.known.set(zone, left);
  }

  private async zoneId(zone: string): Promise<string> {
    const z = canonical(zone);
    const cached = this.zoneIds.get(z);
    if (cached) return cached;
    const id = await this.api.findZoneId(z);
    if (!id) {
      throw new ProviderError(this.name, "no such zone in this Cloudflare account", {
        zone: z,
        hint: "add the zone in Cloudflare, or check that the API token has Zone:Read on it (and account_id, if set)",
      });
    }
    this.zoneIds.set(z, id);
    return id;
  }
}

/**
 * Each batch is all or nothing, but the batches before a failed one have landed: the error must
 * not read as if the whole apply changed nothing.
 */
function partlyWritten(err: unknown, at: { index: number; total: number; written: number }): unknown {
  if (!(err instanceof ProviderError)) return err;
  const before = at.index === 1 ? "batch 1" : `batches 1-${at.index}`;
  return new ProviderError(
    err.provider,
    `batch ${at.index + 1} of ${at.total} was not written; ${before} (${at.written} records) ${at.index === 1 ? "was" : "were"} written: ${err.detail}`,
    {
      ...(err.zone ? { zone: err.zone } : {}),
      cause: err.cause ?? err,
      transient: err.transient,
      operation: err.operation ?? "write",
      ...(err.status === undefined ? {} : { status: err.status }),
      written: at.written,
      ...(err.hint ? { hint: err.hint } : {}),
    },
  );
}
