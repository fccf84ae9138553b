/**
 * Provider `gcloud`: Google Cloud DNS managed zones through the Cloud DNS v1 REST API, authorised
 * by Google's official auth library (Application Default Credentials, or a service account key
 * referenced as `env/NAME`). Reads only the selector names (one name-filtered rrsets.list per
 * name), writes each zone's changes as one atomic `changes.create`, and with `apply --wait`
 * polls the change until Cloud DNS reports it `done`.
 */
import {
  ProviderError,
  canonical,
  pool,
  type OptionsReader,
  type Capabilities,
  type Change,
  type Provider,
  type RecordSet,
  waitForChange,
} from "../../src/provider-kit.js";
import type { ProviderContext, ProviderFactory } from "../types.js";
import { GcloudApi, type GcManagedZone } from "./api.js";
import { fromRrset, toChangeBody, toRrset, toWireName, type GcRrset } from "./convert.js";

import { readGcloudOptions, type GcloudOptions } from "./options.js";

export { readGcloudOptions, type GcloudOptions } from "./options.js";

export class GcloudProvider implements Provider {
  readonly type = "gcloud";
  readonly capabilities: Capabilities;
  private static readonly baseCapabilities: Capabilities = {
    atomicWrites: {
      can: true,
      reason:
        "each zone's deletions and additions go in one change, applied all or nothing; a deletion that no longer matches the zone fails the whole change (HTTP 412). A change larger than the project's per-change quota is refused whole, never split",
      source: "Cloud DNS API v1 reference, changes.create",
    },
    readsOnlyNames: {
      can: true,
      reason:
        "one rrsets.list per selector name with the `name` filter (the API takes one exact name per request, so two requests per domain)",
      source: "Cloud DNS API v1 reference, resourceRecordSets.list",
    },
  };

  readonly api: GcloudApi;
  private zoneMap: Promise<Map<string, GcManagedZone[]>> | undefined;
  /** Rrsets as Cloud DNS holds them, by `zone name type`, for exact deletions. */
  private readonly seen = new Map<string, GcRrset>();

  constructor(
    readonly name: string,
    private readonly opts: GcloudOptions,
    private readonly ctx: ProviderContext = {},
  ) {
    this.capabilities =
      opts.read === "zone"
        ? {
            ...GcloudProvider.baseCapabilities,
            readsOnlyNames: {
              can: false,
              reason: "read: zone lists the whole zone (one rrsets.list, every page) and keeps only the managed names",
              source: "Cloud DNS API v1 reference, resourceRecordSets.list",
            },
          }
        : GcloudProvider.baseCapabilities;
    this.api = new GcloudApi({
      provider: name,
      endpoint: opts.endpoint,
      tokenUrl: opts.tokenUrl,
      timeoutMs: opts.timeoutMs,
      maxAttempts: opts.maxAttempts,
      ...(opts.project ? { project: opts.project } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      ...(opts.keyRef ? { keyRef: opts.keyRef } : {}),
    });
  }

  private loadZones(): Promise<Map<string, GcManagedZone[]>> {
    this.zoneMap ??= (async () => {
      let zones: GcManagedZone[];
      try {
        zones = await this.api.managedZones();
      } catch (err) {
        throw this.api.toProviderError(err, "listing managed zones (managedZones.list)");
      }
      const map = new Map<string, GcManagedZone[]>();
      for (const z of zones) {
        if (z.visibility === "private" && !this.opts.privateZones) continue;
        const n = canonical(z.dnsName);
        map.set(n, [...(map.get(n) ?? []), z]);
      }
      return map;
    })();
    this.zoneMap.catch(() => {
      this.zoneMap = undefined;
    });
    return this.zoneMap;
  }

  async zones(): Promise<string[]> {
    return [...(await this.loadZones()).keys()].sort();
  }

  /** The managed zone's resource name (not its DNS name) for a canonical zone. */
  private async zoneName(zone: string): Promise<string> {
    const all = (await this.loadZones()).get(canonical(zone)) ?? [];
    const [first] = all;
    if (first === undefined) {
      throw new ProviderError(this.name, "no managed zone with this DNS name in the project", {
        zone,
        hint: "create the managed zone, check `project:`, or set private_zones: true if it is a private zone",
      });
    }
    if (all.length > 1) {
      throw new ProviderError(
        this.name,
        `${all.length} managed zones have this DNS name: ${all.map((z) => `${z.name}${z.visibility === "private" ? " (private)" : ""}`).join(", ")}`,
        {
          zone,
          hint: "use a separate project (or provider) per managed zone of one DNS name; dkimsync writes one zone per name",
        },
      );
    }
    return first.name;
  }

  private key(zoneName: string, name: string, type: string): string {
    return `${zoneName} ${name} ${type}`;
  }

  async list(zone: string, names: readonly string[]): Promise<RecordSet[]> {
    const zoneName = await this.zoneName(zone);
    const wanted = [...new Set(names.map(canonical))].sort();
    if (wanted.length === 0) return [];
    let perName: GcRrset[][];
    if (this.opts.read === "zone") {
      let all: GcRrset[];
      try {
        all = await this.api.rrsetsAll(zoneName);
      } catch (err) {
        throw this.api.toProviderError(err, "reading the zone (resourceRecordSets.list)", zone);
      }
      const byName = new Map<string, GcRrset[]>();
      for (const rr of all) {
        const n = canonical(rr.name);
        byName.set(n, [...(byName.get(n) ?? []), rr]);
      }
      perName = wanted.map((n) => byName.get(n) ?? []);
    } else {
      perName = await pool(wanted, 4, async (n) => {
        try {
          return await this.api.rrsetsNamed(zoneName, toWireName(n));
        } catch (err) {
          throw this.api.toProviderError(err, `reading ${n} (resourceRecordSets.list)`, zone);
        }
      });
    }
    const out: RecordSet[] = [];
    for (const [i, rrsets] of perName.entries()) {
      const n = wanted[i] as string;
      for (const t of [...this.seen.keys()].filter((k) => k.startsWith(`${zoneName} ${n} `))) this.seen.delete(t);
      for (const rr of rrsets) {
        const rs = fromRrset(rr);
        // The filter is exact, but a server that ignored it must not widen what dkimsync reads.
        if (rs.name !== n) continue;
        out.push(rs);
        this.seen.set(this.key(zoneName, rs.name, rs.type), rr);
      }
    }
    return out.sort((a, b) =>
      a.name === b.name ? (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) : a.name < b.name ? -1 : 1,
    );
  }

  /** The rrset exactly as Cloud DNS returned it when it is what `rs` describes; else dkimsync's form. */
  private current(zoneName: string, rs: RecordSet): GcRrset {
    const raw = this.seen.get(this.key(zoneName, rs.name, rs.type));
    if (raw !== undefined && sameRead(fromRrset(raw), rs)) return raw;
    return toRrset(rs);
  }

  async apply(zone: string, changes: readonly Change[]): Promise<void> {
    if (changes.length === 0) return;
    const zoneName = await this.zoneName(zone);
    const body = toChangeBody(changes, (rs) => this.current(zoneName, rs));
    let change;
    try {
      change = await this.api.createChange(zoneName, body);
    } catch (err) {
      throw this.api.toProviderError(err, `writing ${changes.length} change(s) (changes.create)`, zone);
    } finally {
      for (const c of changes) this.seen.delete(this.key(zoneName, canonical(c.name), c.type));
    }
    if ((this.opts.wait || this.ctx.wait === true) && change.status !== "done")
      await this.waitDone(zone, zoneName, change.id);
  }

  private async waitDone(zone: string, zoneName: string, id: string): Promise<void> {
    await waitForChange({
      provider: this.name,
      zone,
      id,
      timeoutMs: this.opts.waitTimeoutMs,
      done: "done",
      status: async () => {
        try {
          return (await this.api.getChange(zoneName, id)).status;
        } catch (err) {
          throw this.api.toProviderError(err, `waiting for change ${id} (changes.get)`, zone);
        }
      },
      hint: "Cloud DNS accepted the change and will serve it once done; run verify later",
    });
  }
}

/**
 * True when `a` (as read) is the record set the plan saw as `b`, drift included: a routing-policy
 * rrset is then deleted exactly as Cloud DNS holds it, routingPolicy and all.
 */
function sameRead(a: RecordSet, b: RecordSet): boolean {
  const norm = (r: RecordSet) =>
    JSON.stringify([r.name, r.type, r.ttl, [...r.values].sort(), [...(r.drift ?? [])].sort()]);
  return norm(a) === norm(b);
}

export const createGcloudProvider: ProviderFactory = (options: OptionsReader, context: ProviderContext) =>
  new GcloudProvider(options.src.provider, readGcloudOptions(options), context);
