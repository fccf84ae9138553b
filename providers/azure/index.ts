/**
 * Provider `azure`: Microsoft 365 selector CNAMEs in Azure DNS (public zones,
 * `Microsoft.Network/dnsZones`) through `@azure/arm-dns`, with a token from `@azure/identity`.
 *
 * Reads one name-suffix-filtered listing per zone; writes each changed record set with its own
 * PUT or DELETE under an etag precondition (`If-None-Match: *` to create, `If-Match: <etag>` to
 * update or delete), so Azure itself refuses a write to a record set that changed since it was
 * read. Azure DNS has no transaction across record sets: a failed apply says which were written.
 */
import type { RecordSet as AzRecordSet } from "@azure/arm-dns";
import {
  ProviderError,
  errorMessage,
  canonical,
  type OptionsReader,
  type Capabilities,
  type Change,
  type Provider,
  type RecordSet,
} from "../../src/provider-kit.js";
import type { ProviderFactory } from "../types.js";
import { AzureApi, PRECONDITION_FAILED, azureError } from "./api.js";
import { fromAzure, nameSuffix, setKey, toAzure, toRelative, typeOf } from "./convert.js";

import { readAzureOptions, type AzureOptions } from "./options.js";

export { readAzureOptions, type AzureOptions } from "./options.js";

interface ZoneEntry {
  resourceGroup: string;
  /** `Public`, or `Private` for the legacy private zones of the dnsZones API. */
  zoneType: string;
}

/** What dkimsync last read of a record set: its etag for the precondition, its metadata to keep. */
interface Seen {
  etag: string;
  metadata?: Record<string, string>;
}

/** A write refused because the record set changed since it was read (HTTP 412). */
export class AzureStaleError extends ProviderError {
  /** Read by apply: the zone's outcome is "stale", not "failed". */
  readonly stale = true;
}

export class AzureProvider implements Provider {
  readonly type = "azure";
  readonly capabilities: Capabilities = {
    atomicWrites: {
      can: false,
      reason:
        "Azure DNS has no transaction across record sets: each record set is its own PUT or DELETE (each guarded by an etag precondition), so a failed apply can leave the record sets before it written; the error names them",
      source: "Azure DNS REST reference, Record Sets - Create Or Update / Delete",
    },
    readsOnlyNames: {
      can: true,
      reason:
        "one listing per zone filtered with $recordsetnamesuffix on the labels the requested names share (e.g. `_domainkey`); a zone holding selectors of both its apex and its subdomains shares no such suffix and is read whole, page_size record sets a page",
      source: "Azure DNS REST reference, Record Sets - List All By Dns Zone",
    },
  };

  readonly api: AzureApi;
  private zoneMap: Promise<Map<string, ZoneEntry[]>> | undefined;
  private readonly seen = new Map<string, Seen>();

  constructor(
    readonly name: string,
    private readonly opts: AzureOptions,
  ) {
    this.api = new AzureApi({ provider: name, ...opts });
  }

  private loadZones(): Promise<Map<string, ZoneEntry[]>> {
    this.zoneMap ??= (async () => {
      let zones;
      try {
        zones = await this.api.listZones(this.opts.resourceGroup);
      } catch (err) {
        this.zoneMap = undefined;
        throw this.api.toProviderError(
          err,
          this.opts.resourceGroup
            ? `listing the DNS zones of resource group ${this.opts.resourceGroup}`
            : "listing the DNS zones of the subscription",
        );
      }
      const map = new Map<string, ZoneEntry[]>();
      for (const z of zones) {
        const name = canonical(z.name ?? "");
        const resourceGroup = resourceGroupOf(z.id ?? "") ?? this.opts.resourceGroup ?? "";
        map.set(name, [...(map.get(name) ?? []), { resourceGroup, zoneType: z.zoneType ?? "Public" }]);
      }
      return map;
    })();
    return this.zoneMap;
  }

  async zones(): Promise<string[]> {
    return [...(await this.loadZones()).keys()].sort();
  }

  private async zoneEntry(zone: string): Promise<ZoneEntry> {
    const all = (await this.loadZones()).get(canonical(zone)) ?? [];
    const [first] = all;
    if (first === undefined) {
      throw new ProviderError(this.name, "no zone of this name in Azure DNS", {
        zone,
        hint: "create the public DNS zone, check subscription_id/resource_group; Azure Private DNS zones (privateDnsZones) are not managed by dkimsync",
      });
    }
    if (all.length > 1) {
      throw new ProviderError(
        this.name,
        `a zone of this name exists in ${all.length} resource groups (${all.map((e) => e.resourceGroup).join(", ")})`,
        {
          zone,
          hint: "set resource_group on the provider to the one dkimsync should manage (and add another azure provider for the other)",
        },
      );
    }
    if (first.zoneType.toLowerCase() === "private") {
      // DKIM verifiers resolve the selector on the public Internet; a private zone never answers them.
      throw new ProviderError(this.name, "is a private zone (zoneType Private): DKIM selectors must be in public DNS", {
        zone,
        hint: "manage the selectors in the public zone of this name, or remove the domain from this provider",
      });
    }
    return first;
  }

  async list(zone: string, names: readonly string[]): Promise<RecordSet[]> {
    const z = canonical(zone);
    const { resourceGroup } = await this.zoneEntry(z);
    const wanted = [...new Set(names.map(canonical))];
    if (wanted.length === 0) return [];
    const relatives = wanted.map((n) => toRelative(n, z));
    const suffix = nameSuffix(relatives);
    let sets: AzRecordSet[];
    try {
      ({ sets } = await this.api.listRecordSets(resourceGroup, z, suffix));
    } catch (err) {
      throw this.api.toProviderError(err, "reading record sets (RecordSets ListAllByDnsZone)", z);
    }
    const wantedSet = new Set(wanted);
    const out: RecordSet[] = [];
    for (const key of [...this.seen.keys()]) if (wantedSet.has(key.slice(0, key.indexOf(" ")))) this.seen.delete(key);
    for (const raw of sets) {
      const rs = fromAzure(raw, z);
      if (rs === undefined || !wantedSet.has(rs.name)) continue;
      out.push(rs);
      if (raw.etag)
        this.seen.set(setKey(rs.name, rs.type), {
          etag: raw.etag,
          ...(raw.metadata ? { metadata: raw.metadata } : {}),
        });
    }
    return out;
  }

  async apply(zone: string, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const z = canonical(zone);
    const { resourceGroup } = await this.zoneEntry(z);
    // A saved plan applied by a new process has no etags yet: read those names first.
    const needEtag = changes.filter((c) => c.action !== "create" && !this.seen.has(setKey(c.name, c.type)));
    if (needEtag.length > 0) await this.list(z, [...new Set(changes.map((c) => canonical(c.name)))]);

    const done: Change[] = [];
    for (const c of changes) {
      try {
        await this.write(resourceGroup, z, c);
      } catch (err) {
        throw this.partly(err, z, c, done, changes.length);
      } finally {
        // The record set's etag changed (or it is gone): the next apply must read it again.
        this.seen.delete(setKey(c.name, c.type));
      }
      done.push(c);
    }
  }

  /** One record set: PUT with If-None-Match: * (create) or If-Match (update), or DELETE with If-Match. */
  private async write(resourceGroup: string, zone: string, c: Change): Promise<void> {
    const relative = toRelative(c.name, zone);
    const seen = this.seen.get(setKey(c.name, c.type));
    try {
      if (c.action === "delete") {
        if (!seen) throw this.staleError(zone, c, "it was not found when read again");
        await this.api.deleteRecordSet(resourceGroup, zone, relative, c.type, seen.etag);
        return;
      }
      const after = c.after as RecordSet;
      let body: AzRecordSet;
      try {
        body = toAzure(after, seen?.metadata ? { metadata: seen.metadata } : {});
      } catch (err) {
        throw new ProviderError(this.name, `cannot write ${c.name} ${c.type}: ${errorMessage(err)}`, {
          zone,
          cause: err,
        });
      }
      if (c.action === "create") {
        await this.api.putRecordSet(resourceGroup, zone, relative, c.type, body, { ifNoneMatch: "*" });
      } else {
        if (!seen) throw this.staleError(zone, c, "it was not found when read again");
        await this.api.putRecordSet(resourceGroup, zone, relative, c.type, body, { ifMatch: seen.etag });
      }
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      if (azureError(err).statusCode === PRECONDITION_FAILED) {
        // A write whose answer was lost is retried by the SDK and then meets its own etag: if the
        // record set now holds exactly what was to be written, the write did land.
        if (await this.holds(resourceGroup, zone, c)) return;
        throw this.staleError(
          zone,
          c,
          "Azure refused the write because the record set changed since it was read (412 PreconditionFailed)",
          err,
        );
      }
      throw this.api.toProviderError(err, `${verb(c)} ${c.name} ${c.type}`, zone);
    }
  }

  private async holds(resourceGroup: string, zone: string, c: Change): Promise<boolean> {
    let now: AzRecordSet | undefined;
    try {
      now = await this.api.getRecordSet(resourceGroup, zone, toRelative(c.name, zone), c.type);
    } catch {
      return false;
    }
    if (c.after === null) return now === undefined;
    if (now === undefined || typeOf(now) !== c.type) return false;
    const rs = fromAzure(now, zone);
    return (
      rs !== undefined &&
      rs.drift === undefined &&
      rs.ttl === c.after.ttl &&
      JSON.stringify(rs.values) ===
        JSON.stringify([...c.after.values].map((v) => (c.type === "CNAME" ? canonical(v) : v)).sort())
    );
  }

  private staleError(zone: string, c: Change, why: string, cause?: unknown): AzureStaleError {
    return new AzureStaleError(this.name, `${verb(c)} ${c.name} ${c.type}: ${why}`, {
      zone,
      ...(cause === undefined ? {} : { cause }),
      hint: "another tool or person edited the zone; run dkimsync plan again and review",
    });
  }

  /** The error of a failed write, saying which record sets of the zone were already written. */
  private partly(err: unknown, zone: string, failed: Change, done: readonly Change[], total: number): ProviderError {
    const e =
      err instanceof ProviderError
        ? err
        : this.api.toProviderError(err, `${verb(failed)} ${failed.name} ${failed.type}`, zone);
    if (total === 1) return e;
    const written =
      done.length === 0
        ? "no record set was written"
        : `${done.length} of ${total} record sets were written (${done.map((c) => `${verb(c)} ${c.name} ${c.type}`).join(", ")})`;
    const message = `${e.detail}; ${written}, the rest were not (Azure DNS has no transaction across record sets)`;
    const opts = {
      zone,
      cause: e.cause ?? e,
      transient: e.transient,
      ...(e.hint ? { hint: e.hint } : {}),
      operation: e.operation ?? "write",
      ...(e.status === undefined ? {} : { status: e.status }),
      written: done.length,
    };
    return e instanceof AzureStaleError
      ? new AzureStaleError(this.name, message, opts)
      : new ProviderError(this.name, message, opts);
  }
}

function verb(c: Change): string {
  return c.action === "create" ? "creating" : c.action === "update" ? "updating" : "deleting";
}

/** `/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/dnszones/z` -> `RG`. */
export function resourceGroupOf(id: string): string | undefined {
  return /\/resourceGroups\/([^/]+)\//i.exec(id)?.[1];
}

export const createAzureProvider: ProviderFactory = (options: OptionsReader) =>
  new AzureProvider(options.src.provider, readAzureOptions(options));
