/**
 * The data and the rules of the loopback Azure DNS server: subscriptions, resource groups, DNS
 * zones and their record sets in the ARM JSON form of API version 2018-05-01, each with an etag.
 *
 * Rules enforced, as documented by Azure DNS ("Manage DNS records and record sets", REST
 * reference "Record Sets - Create Or Update / Delete") and RFC 1034 3.6.2:
 * - `If-None-Match: *` refuses to replace an existing record set, `If-Match: <etag>` refuses a
 *   record set whose etag differs or that does not exist: 412 PreconditionFailed;
 * - a CNAME record set holds one record (the API shape has one `CNAMERecord`), cannot sit at the
 *   apex, and cannot share a name with a record set of another type (409 Conflict either way);
 * - a DELETE of a record set that does not exist answers 204 and changes nothing, unless it
 *   carries `If-Match`, which then fails with 412;
 * - every write gives the record set a new etag.
 * Where the exact wording of an error is not documented the messages below are guesses in the
 * style of the documented ones; each such place says so.
 */
import { randomUUID } from "node:crypto";

export interface FakeRecordSet {
  /** Relative name as first written (`@` for the apex); compared case-insensitively. */
  name: string;
  type: string;
  ttl: number;
  etag: string;
  metadata?: Record<string, string>;
  /** The type's record data as on the wire: `{ CNAMERecord: {...} }`, `{ TXTRecords: [...] }`, ... */
  data: Record<string, unknown>;
}

export interface FakeZone {
  name: string;
  subscription: string;
  resourceGroup: string;
  zoneType: "Public" | "Private";
  etag: string;
  sets: FakeRecordSet[];
}

/** An ARM error: HTTP status and the `CloudError` body `{ error: { code, message } }`. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { code: string; message: string }[],
  ) {
    super(message);
  }
}

/** The wire property that holds each type's data (Azure DNS REST reference, RecordSet). */
export const DATA_PROPERTY: Record<string, string> = {
  A: "ARecords",
  AAAA: "AAAARecords",
  MX: "MXRecords",
  NS: "NSRecords",
  PTR: "PTRRecords",
  SRV: "SRVRecords",
  TXT: "TXTRecords",
  CNAME: "CNAMERecord",
  SOA: "SOARecord",
  CAA: "caaRecords",
};

/** Canonical values (as dkimsync's tests write them) as wire record data. */
export function wireData(type: string, values: readonly string[]): Record<string, unknown> {
  switch (type) {
    case "CNAME":
      return { CNAMERecord: { cname: values[0] } };
    case "TXT":
      return { TXTRecords: values.map((v) => ({ value: v.match(/[\s\S]{1,255}/g) ?? [""] })) };
    case "A":
      return { ARecords: values.map((v) => ({ ipv4Address: v })) };
    case "AAAA":
      return { AAAARecords: values.map((v) => ({ ipv6Address: v })) };
    case "MX":
      return {
        MXRecords: values.map((v) => {
          const [p, e] = v.split(" ");
          return { preference: Number(p), exchange: e };
        }),
      };
    case "NS":
      return { NSRecords: values.map((v) => ({ nsdname: v })) };
    case "PTR":
      return { PTRRecords: values.map((v) => ({ ptrdname: v })) };
    default:
      throw new Error(`azure fake: no wire form for ${type}`);
  }
}

/** Wire record data back to plain values, independently of the provider's reading. */
export function wireValues(set: FakeRecordSet): string[] {
  const d = set.data as Record<string, any>;
  switch (set.type) {
    case "CNAME":
      return d["CNAMERecord"]?.cname ? [String(d["CNAMERecord"].cname)] : [];
    case "TXT":
      return (d["TXTRecords"] ?? []).map((t: { value: string[] }) => t.value.join(""));
    case "A":
      return (d["ARecords"] ?? []).map((a: { ipv4Address: string }) => a.ipv4Address);
    case "AAAA":
      return (d["AAAARecords"] ?? []).map((a: { ipv6Address: string }) => a.ipv6Address);
    case "MX":
      return (d["MXRecords"] ?? []).map(
        (m: { preference: number; exchange: string }) => `${m.preference} ${m.exchange}`,
      );
    case "NS":
      return (d["NSRecords"] ?? []).map((n: { nsdname: string }) => n.nsdname);
    case "PTR":
      return (d["PTRRecords"] ?? []).map((p: { ptrdname: string }) => p.ptrdname);
    default:
      return [];
  }
}

const etag = () => randomUUID();
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class AzureState {
  readonly subscriptions = new Set<string>();
  readonly resourceGroups = new Map<string, Set<string>>();
  readonly zones: FakeZone[] = [];

  addSubscription(id: string): void {
    this.subscriptions.add(id.toLowerCase());
    if (!this.resourceGroups.has(id.toLowerCase())) this.resourceGroups.set(id.toLowerCase(), new Set());
  }

  /** A zone with the SOA and NS record sets Azure DNS creates with every zone. */
  createZone(
    subscription: string,
    resourceGroup: string,
    name: string,
    opts: { zoneType?: "Public" | "Private" } = {},
  ): FakeZone {
    this.addSubscription(subscription);
    this.resourceGroups.get(subscription.toLowerCase())!.add(resourceGroup.toLowerCase());
    const zone: FakeZone = {
      name: name.toLowerCase(),
      subscription: subscription.toLowerCase(),
      resourceGroup,
      zoneType: opts.zoneType ?? "Public",
      etag: etag(),
      sets: [],
    };
    zone.sets.push(
      {
        name: "@",
        type: "SOA",
        ttl: 3600,
        etag: etag(),
        data: {
          SOARecord: {
            host: "ns1-01.azure-dns.com.",
            email: "azuredns-hostmaster.microsoft.com",
            serialNumber: 1,
            refreshTime: 3600,
            retryTime: 300,
            expireTime: 2419200,
            minimumTTL: 300,
          },
        },
      },
      {
        name: "@",
        type: "NS",
        ttl: 172800,
        etag: etag(),
        data: { NSRecords: ["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net."].map((nsdname) => ({ nsdname })) },
      },
    );
    this.zones.push(zone);
    return zone;
  }

  /** The zone, or the ARM 404 for the first missing level of subscription / group / zone. */
  zone(subscription: string, resourceGroup: string, name: string): FakeZone {
    this.resourceGroupExists(subscription, resourceGroup);
    const z = this.zones.find(
      (x) => same(x.subscription, subscription) && same(x.resourceGroup, resourceGroup) && same(x.name, name),
    );
    if (!z) {
      throw new ArmError(
        404,
        "ResourceNotFound",
        `The Resource 'Microsoft.Network/dnszones/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
    }
    return z;
  }

  subscriptionExists(subscription: string): void {
    if (!this.subscriptions.has(subscription.toLowerCase())) {
      throw new ArmError(404, "SubscriptionNotFound", `The subscription '${subscription}' could not be found.`);
    }
  }

  resourceGroupExists(subscription: string, resourceGroup: string): void {
    this.subscriptionExists(subscription);
    if (!this.resourceGroups.get(subscription.toLowerCase())?.has(resourceGroup.toLowerCase())) {
      throw new ArmError(404, "ResourceGroupNotFound", `Resource group '${resourceGroup}' could not be found.`);
    }
  }

  /** Zones of a subscription, optionally of one resource group, in name order. */
  listZones(subscription: string, resourceGroup?: string): FakeZone[] {
    if (resourceGroup === undefined) this.subscriptionExists(subscription);
    else this.resourceGroupExists(subscription, resourceGroup);
    return this.zones
      .filter(
        (z) =>
          same(z.subscription, subscription) && (resourceGroup === undefined || same(z.resourceGroup, resourceGroup)),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  find(zone: FakeZone, name: string, type: string): FakeRecordSet | undefined {
    return zone.sets.find((s) => same(s.name, name) && s.type === type.toUpperCase());
  }

  /**
   * Record sets in name, then type order. `suffix`: only names ending with `.suffix` (REST
   * reference: "Enumeration will return only records that end with .<recordSetNameSuffix>").
   */
  list(zone: FakeZone, opts: { suffix?: string; type?: string } = {}): FakeRecordSet[] {
    const suffix = opts.suffix?.toLowerCase();
    return zone.sets
      .filter(
        (s) =>
          (suffix === undefined || s.name.toLowerCase().endsWith(`.${suffix}`)) &&
          (opts.type === undefined || s.type === opts.type),
      )
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.type.localeCompare(b.type));
  }

  /** Create or replace, honouring the preconditions and the CNAME rules. */
  put(
    zone: FakeZone,
    name: string,
    type: string,
    body: { ttl: number; metadata?: Record<string, string>; data: Record<string, unknown> },
    cond: { ifMatch?: string; ifNoneMatch?: string } = {},
  ): { set: FakeRecordSet; created: boolean } {
    type = type.toUpperCase();
    const existing = this.find(zone, name, type);
    this.precondition(existing, cond);
    if (type === "CNAME") {
      if (name === "@") {
        // Wording is a guess: Azure DNS documents that the apex cannot hold a CNAME.
        throw new ArmError(400, "BadRequest", "A CNAME record set cannot be created at the zone apex.");
      }
      const other = zone.sets.find((s) => same(s.name, name) && s.type !== "CNAME");
      if (other) {
        // Wording is a guess, the mirror image of the documented message below.
        throw new ArmError(
          409,
          "Conflict",
          "The CNAME record could not be created because another record with the same name already exists in this zone.",
          [
            {
              code: "CannotCreateRecordDueToCNameNamingRestriction",
              message:
                "The CNAME record could not be created because another record with the same name already exists in this zone.",
            },
          ],
        );
      }
    } else if (zone.sets.some((s) => same(s.name, name) && s.type === "CNAME")) {
      // Azure's wording, as it answers a TXT written where a CNAME is.
      throw new ArmError(
        409,
        "Conflict",
        "The record could not be created because a CNAME record with the same name already exists in this zone.",
        [
          {
            code: "CannotCreateRecordDueToCNameNamingRestriction",
            message:
              "The record could not be created because a CNAME record with the same name already exists in this zone.",
          },
        ],
      );
    }
    const set: FakeRecordSet = {
      name: existing?.name ?? name,
      type,
      ttl: body.ttl,
      etag: etag(),
      data: body.data,
      ...(body.metadata ? { metadata: body.metadata } : {}),
    };
    if (existing) zone.sets.splice(zone.sets.indexOf(existing), 1, set);
    else zone.sets.push(set);
    return { set, created: existing === undefined };
  }

  /** True when something was deleted. */
  delete(zone: FakeZone, name: string, type: string, cond: { ifMatch?: string } = {}): boolean {
    type = type.toUpperCase();
    if (type === "SOA" || (type === "NS" && name === "@")) {
      throw new ArmError(400, "BadRequest", `The ${type} record set at the zone apex cannot be deleted.`);
    }
    const existing = this.find(zone, name, type);
    this.precondition(existing, cond);
    if (!existing) return false;
    zone.sets.splice(zone.sets.indexOf(existing), 1);
    return true;
  }

  private precondition(existing: FakeRecordSet | undefined, cond: { ifMatch?: string; ifNoneMatch?: string }): void {
    // RFC 9110 13.1.1/13.1.2; ARM answers 412 with code PreconditionFailed (message is a guess).
    if (cond.ifNoneMatch === "*" && existing) {
      throw new ArmError(
        412,
        "PreconditionFailed",
        "The condition 'If-None-Match: *' was not met: the record set already exists.",
      );
    }
    if (cond.ifMatch !== undefined) {
      const tag = cond.ifMatch.replace(/^W\//, "").replace(/^"|"$/g, "");
      if (!existing || (tag !== "*" && tag !== existing.etag)) {
        throw new ArmError(
          412,
          "PreconditionFailed",
          `The condition 'If-Match: ${cond.ifMatch}' was not met: the record set ${existing ? "has changed" : "does not exist"}.`,
        );
      }
    }
  }
}
