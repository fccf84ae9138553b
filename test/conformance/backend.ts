/**
 * What the shared conformance suite needs from each provider's test environment. A backend is
 * the real thing (a PowerDNS or BIND server, a folder of zone files) or a loopback server that
 * speaks the provider's wire protocol; the provider under test is always the real dkimsync code
 * path, configured through dkim.zones.yaml like a user would.
 */
import type { RecordSet } from "../../src/core/types.js";

export interface ConformanceBackend {
  /** The provider's options as they would be written in dkim.zones.yaml (without `type`). */
  providerOptions: Record<string, unknown>;
  /** Environment variables the options refer to (env/NAME secrets). */
  env?: Record<string, string>;
  /** Create a zone holding these records (canonical names and values). */
  createZone(zone: string, records: RecordSet[]): Promise<void>;
  /** Every record set in the zone as the backend holds it, in canonical form, read without dkimsync. */
  readZone(zone: string): Promise<RecordSet[]>;
  /** Add or replace a record set behind dkimsync's back (a concurrent change). */
  put(zone: string, record: RecordSet): Promise<void>;
  /**
   * Make the next write to the zone fail on the server side (after it has been received). The
   * suite uses it where the provider declares `capabilities.atomicWrites.can`, to check that a
   * failed write changes nothing.
   */
  failNextWrite?(zone: string): Promise<void>;
  /**
   * Why this backend has no failNextWrite although the provider declares atomic writes (for
   * example a real server with no way to fail one write). Without failNextWrite and without a
   * reason, the suite fails for such a provider.
   */
  cannotFailWrites?: string;
  close(): Promise<void>;
}

export interface ConformanceTarget {
  /** Provider type, as in `type:` of dkim.zones.yaml. */
  type: string;
  /** Shown in the suite's title when one type runs in several set-ups. */
  variant?: string;
  start(): Promise<ConformanceBackend>;
}
