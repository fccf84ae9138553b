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
import { DEFAULT_ENDPOINT, GOOGLE_TOKEN_URL, GcloudApi, type GcManagedZone, type ServiceAccountKey } from "./api.js";
import { fromRrset, toChangeBody, toRrset, toWireName, type GcRrset } from "./convert.js";

export interface GcloudOptions {
  /** Project id. Default: the key's project_id, else what ADC finds (GOOGLE_CLOUD_PROJECT, gcloud config, metadata server). */
  project?: string;
  /** A service account key (JSON), from `credentials: env/NAME`. Default: ADC. */
  key?: ServiceAccountKey;
  keyRef?: string;
  /** API root. Default https://dns.googleapis.com; set for the loopback test server. */
  endpoint: string;
  /** OAuth 2.0 token endpoint for the service-account grant. Default Google's. */
  tokenUrl: string;
  /** `names`: one name-filtered read per selector name (default); `zone`: one paged read of the whole zone. */
  read: "names" | "zone";
  /** Also manage private managed zones. Default false. */
  privateZones: boolean;
  /** Time limit of each request, in ms. Default 30000. */
  timeoutMs: number;
  /** Attempts per request (throttling, 5xx and lost answers retried). Default 5. */
  maxAttempts: number;
  /** After writing, poll the change until `done`. Default false (apply --wait sets it too). */
  wait: boolean;
  /** How long `wait` polls, in ms. Default 300000. */
  waitTimeoutMs: number;
}

// Keys people copy from other tools: key material never belongs in dkim.zones.yaml.
const INLINE_KEYS = [
  "private_key",
  "private_key_id",
  "client_email",
  "key_file",
  "keyfile",
  "credentials_file",
  "service_account_key",
];

export function readGcloudOptions(o: OptionsReader): GcloudOptions {
  for (const k of INLINE_KEYS) {
    if (o.src.values[k] !== undefined) {
      o.fail(
        k,
        "is not supported: Cloud DNS credentials come from Application Default Credentials or `credentials: env/NAME`",
        "remove it; put the whole service account key JSON in an environment variable and write credentials: env/NAME, or use ADC (GOOGLE_APPLICATION_CREDENTIALS); rotate any key that was committed",
      );
    }
  }
  const project = o.string("project");
  if (
    project !== undefined &&
    !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[a-z0-9.-]+:[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)
  ) {
    // Project ids: 6-30 lowercase letters, digits and hyphens, starting with a letter
    // (Resource Manager docs, "Creating and managing projects"); domain-scoped ids carry `domain:`.
    o.fail(
      "project",
      `must be a project id like my-project-123 (not the project's display name or number), not "${project}"`,
    );
  }
  const rawCreds = o.src.values["credentials"];
  const secret = o.secret("credentials");
  let key: ServiceAccountKey | undefined;
  const keyRef = typeof rawCreds === "string" ? rawCreds.trim().replace(/^env\//, "") : undefined;
  if (secret !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret);
    } catch {
      // The value is never echoed: it is a secret, and a parse error would quote part of it.
      o.fail(
        "credentials",
        `refers to ${keyRef}, which does not hold JSON`,
        `put the whole service account key file into ${keyRef} (e.g. export ${keyRef}="$(cat key.json)")`,
      );
    }
    const k = parsed as Partial<ServiceAccountKey> | null;
    if (
      !k ||
      typeof k !== "object" ||
      k.type !== "service_account" ||
      typeof k.client_email !== "string" ||
      typeof k.private_key !== "string"
    ) {
      o.fail(
        "credentials",
        `refers to ${keyRef}, which is not a service account key (JSON with "type": "service_account", client_email and private_key)`,
        "create a key with `gcloud iam service-accounts keys create`, or use Application Default Credentials instead (no credentials option)",
      );
    }
    key = {
      type: "service_account",
      client_email: k.client_email,
      private_key: k.private_key,
      ...(typeof k.project_id === "string" ? { project_id: k.project_id } : {}),
    };
  }
  // url() refuses user:password@, a query and a fragment before anything echoes the URL.
  const endpoint = (o.url("endpoint", { default: DEFAULT_ENDPOINT, example: DEFAULT_ENDPOINT }) as string).replace(
    /\/+$/,
    "",
  );
  if (!/^https?:\/\/[^\s/]+$/.test(endpoint))
    o.fail("endpoint", `must be an http(s) URL without a path, like ${DEFAULT_ENDPOINT}, not "${endpoint}"`);
  const tokenUrl = o.url("token_url", { default: GOOGLE_TOKEN_URL, example: GOOGLE_TOKEN_URL }) as string;
  if (!/^https?:\/\/[^\s/]+/.test(tokenUrl)) o.fail("token_url", `must be an http(s) URL, not "${tokenUrl}"`);
  const options: GcloudOptions = {
    ...(project ? { project } : {}),
    ...(key ? { key, ...(keyRef ? { keyRef } : {}) } : {}),
    endpoint,
    tokenUrl,
    read: o.oneOf("read", ["names", "zone"] as const, { default: "names" }),
    privateZones: o.boolean("private_zones", { default: false }),
    timeoutMs: o.number("timeout_ms", { default: 30_000, min: 100, max: 600_000, integer: true }),
    maxAttempts: o.number("max_attempts", { default: 5, min: 1, max: 20, integer: true }),
    wait: o.boolean("wait", { default: false }),
    waitTimeoutMs: o.number("wait_timeout", { default: 300, min: 1, max: 3600 }) * 1000,
  };
  o.done();
  return options;
}

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
