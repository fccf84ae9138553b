/**
 * The few central types. Every name and CNAME target inside dkimsync is in canonical form
 * (see names.ts): lowercase A-labels, absolute, no trailing dot. Providers convert at their edge.
 */

/** One resource record set: every record of one type at one name. */
export interface RecordSet {
  /** Canonical absolute name, e.g. `selector1._domainkey.example.com`. */
  name: string;
  /** Upper-case record type: `CNAME`, `TXT`, ... */
  type: string;
  ttl: number;
  /**
   * Canonical values. CNAME targets are canonical names; TXT values are the concatenated
   * character-strings (RFC 6376 3.6.2.2: strings are joined without separators).
   */
  values: string[];
  /**
   * Ways in which the provider's copy differs from what dkimsync writes, beyond ttl and values
   * (for example Cloudflare `proxied` or a flattened CNAME). A non-empty list makes the record an
   * update. Each entry is a short human phrase.
   */
  drift?: string[];
}

export type ChangeAction = "create" | "update" | "delete";

/**
 * Where a desired selector target came from: written in dkim.zones.yaml (`config`, which is also
 * the source of an `ensure: absent` delete), Microsoft's Get-DkimSigningConfig export
 * (`signing_config`), or derived from `tenant` in the legacy format (`derived`).
 */
export type TargetSource = "config" | "signing_config" | "derived";

/** Something a reviewer must read about one domain (a derived target, a disagreement with signing_config). */
export interface DomainNote {
  domain: string;
  message: string;
  /** The message is the derived-target warning (derivedWarning): the text plan shortens it. */
  derived?: true;
}

/** An update is one `{ before, after }` value; create has no before, delete no after. */
export interface Change {
  action: ChangeAction;
  name: string;
  type: string;
  before: RecordSet | null;
  after: RecordSet | null;
  /** Why, when it is not obvious: "ttl 300 -> 3600", "replaces conflicting TXT (--force)". */
  reason?: string;
  /** Where the written target came from (absent on writes made only by --force or older plans). */
  source?: TargetSource;
}

/** A record of another type at a selector name: it blocks the CNAME (RFC 1034 3.6.2). */
export interface Conflict {
  name: string;
  type: string;
  ttl: number;
  values: string[];
  reason: string;
  /** The CNAME that --force would write at this name, replacing the conflicting record(s). */
  desired: RecordSet;
  /** A CNAME already at this name beside the conflicting data (possible in zone files), if any. */
  cname?: RecordSet;
  /** Where the wanted CNAME's target came from. */
  source?: TargetSource;
  /**
   * Set when the domain's reviewed config allows replacing this type (`replace: [TXT]`): apply
   * replaces it without --force. The text says where that permission is written.
   */
  allowed?: string;
}

/** What one provider's zone needs: the unit of fingerprinting and of writing. */
export interface ZonePlan {
  provider: string;
  zone: string;
  /** Configured domains whose selector records live in this zone. */
  domains: string[];
  changes: Change[];
  conflicts: Conflict[];
  unchanged: RecordSet[];
  /** Zone-wide problems the provider reported (e.g. Cloudflare "flatten all CNAMEs"). */
  warnings: string[];
  /** Warnings about single domains of this zone (derived targets, signing_config disagreements). */
  notes?: DomainNote[];
  /** The managed names read, and a hash of what was read there (apply --plan staleness). */
  names: string[];
  fingerprint: string;
}

/** A failure to plan one domain at one provider; the rest of the plan still stands. */
export interface PlanError {
  provider: string;
  domain: string;
  zone?: string;
  message: string;
}

export interface Plan {
  zones: ZonePlan[];
  errors: PlanError[];
}

export interface Capability {
  can: boolean;
  /** Why not (or what limits it), with where that rule comes from. */
  reason?: string;
  source?: string;
}

/** Capabilities are data: the planner and the tests read them, never the provider's name. */
export interface Capabilities {
  /** All changes of one apply() call land together or not at all. */
  atomicWrites: Capability;
  /** list() reads only the requested names rather than the whole zone. */
  readsOnlyNames: Capability;
  /**
   * The TTLs the provider accepts, in seconds, when it limits them. The planner refuses a domain
   * whose TTL lies outside, at plan time, with `reason` (which names the rule's source).
   */
  ttl?: TtlLimit;
}

export interface TtlLimit {
  min: number;
  max: number;
  reason: string;
  source?: string;
}

/** What to read in one zone: its canonical name and the canonical names managed there. */
export interface ZoneRead {
  zone: string;
  names: readonly string[];
}

/** Gets the record sets at `names` of `zone` (a subset of a ZoneRead's names), all of them. */
export type ZoneReadSink = (zone: string, names: readonly string[], sets: RecordSet[]) => void;

export interface Provider {
  /** The name the user gave it in dkim.zones.yaml. */
  readonly name: string;
  /** The provider type, as written in `type:` of dkim.zones.yaml. */
  readonly type: string;
  readonly capabilities: Capabilities;
  /** Every zone this provider serves, canonical names. */
  zones(): Promise<string[]>;
  /**
   * Zone discovery by name, for providers that cannot list their zones (DNS servers driven by
   * RFC 2136): the canonical zone that holds `name`, or undefined when the provider serves none.
   * When present, the planner asks this per domain instead of calling zones().
   */
  zoneOf?(name: string): Promise<string | undefined>;
  /**
   * A domain's config names the provider-specific zone id to use (Route 53 `zone_id` for
   * split-horizon setups). Called before zones(); throws a ProviderError on a contradiction.
   */
  pinZoneId?(domain: string, zoneId: string): void;
  /** Every record set, of every type, at the given canonical names of the zone. */
  list(zone: string, names: readonly string[]): Promise<RecordSet[]>;
  /**
   * list() for many zones at once, for APIs that can read across zones in bulk (PowerDNS
   * search-data): every requested zone gets an entry. The planner and apply's read-back call it
   * once per provider instead of list() per zone. Optional; the provider falls back to its own
   * per-zone reads where bulk reads turn out to be unavailable.
   *
   * With `each`, nothing is kept: each zone's record sets go to `each` as soon as they are read
   * and the provider drops them, and the returned Map is empty. A zone may come in several calls,
   * each naming the managed names it answers for (all of the record sets at those names); the
   * calls of one zone name disjoint sets of names whose union is the names requested. Apply's
   * read-back uses it so that it never holds the records of every written zone at once.
   */
  listMany?(requests: readonly ZoneRead[], each?: ZoneReadSink): Promise<Map<string, RecordSet[]>>;
  /**
   * Write the changes of one zone, in the given order (deletes first), as one write where the
   * API allows. Throws a ProviderError on failure.
   */
  apply(zone: string, changes: readonly Change[]): Promise<void>;
  /** Zone-wide problems worth showing in the plan (optional). */
  zoneWarnings?(zone: string): Promise<string[]>;
  /** Release sockets and servers (optional). */
  close?(): Promise<void>;
}
