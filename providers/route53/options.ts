/**
 * The `type: route53` options block, read and checked through the OptionsReader (every problem with
 * file:line). Kept apart from the provider (index.ts) so that checking a config, which every run
 * and `validate` do for every provider block, loads no SDK: this module imports none.
 */
import type { OptionsReader } from "../../src/provider-kit.js";

export interface Route53Options {
  /** AWS region for the API client. Default `us-east-1` (Route 53 is global). */
  region: string;
  /** Another API endpoint, e.g. the loopback test server. Default: the AWS endpoint. */
  endpoint?: string;
  /** Shared config/credentials profile. Default: the SDK's (AWS_PROFILE, else `default`). */
  profile?: string;
  /** Use exactly this hosted zone (without `/hostedzone/`). Default: discover by name. */
  zoneId?: string;
  /** Also manage private hosted zones. Default false. */
  privateZones: boolean;
  /** Client-side request rate, shared by all calls of this provider. Default 5 per second. */
  maxRps: number;
  /** Attempts per API call, throttling, 5xx and timeouts included. Default 8. */
  maxAttempts: number;
  /**
   * Time limit of one attempt of one API call (connecting, and waiting for the answer), in ms.
   * Default 15000. Worst case of one call: maxAttempts x timeoutMs plus the SDK's backoff.
   */
  timeoutMs: number;
  /** After writing, poll GetChange until the change is INSYNC. Default false. */
  wait: boolean;
  /** How long `wait` polls before giving up, in ms. Default 300000. */
  waitTimeoutMs: number;
}

/** Per attempt: long enough for a slow ListResourceRecordSets page, short enough to notice a stall. */
export const DEFAULT_TIMEOUT_MS = 15_000;

// Keys people copy from other tools; credentials never belong in dkim.zones.yaml.
const CREDENTIAL_KEYS = [
  "access_key_id",
  "secret_access_key",
  "session_token",
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "credentials",
];

export function readRoute53Options(o: OptionsReader): Route53Options {
  for (const key of CREDENTIAL_KEYS) {
    if (o.src.values[key] !== undefined) {
      o.fail(
        key,
        "is not supported: Route 53 credentials come only from the standard AWS chain",
        "remove it and export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or set `profile:`), or run with an IAM role; rotate any key that was committed",
      );
    }
  }
  const region = o.string("region", { default: "us-east-1" }) as string;
  const endpoint = o.url("endpoint", { example: "https://route53.amazonaws.com" })?.replace(/\/$/, "");
  const profile = o.string("profile");
  const rawZoneId = o.string("zone_id");
  const zoneId = rawZoneId?.replace(/^\/hostedzone\//, "");
  if (zoneId !== undefined && !/^[A-Z0-9]{1,32}$/i.test(zoneId)) {
    o.fail("zone_id", `must be a hosted zone id like Z0123456789ABCDEFGHIJ, not "${rawZoneId}"`);
  }
  const options: Route53Options = {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(profile ? { profile } : {}),
    ...(zoneId ? { zoneId: zoneId.toUpperCase() } : {}),
    privateZones: o.boolean("private_zones", { default: false }),
    maxRps: o.number("max_rps", { default: 5, min: 0.1, max: 100 }),
    maxAttempts: o.number("max_attempts", { default: 8, min: 1, max: 20, integer: true }),
    timeoutMs: o.number("timeout_ms", { default: DEFAULT_TIMEOUT_MS, min: 100, max: 600_000, integer: true }),
    wait: o.boolean("wait", { default: false }),
    waitTimeoutMs: o.number("wait_timeout", { default: 300, min: 1, max: 3600 }) * 1000,
  };
  o.done();
  return options;
}

/** Where one batch stands in a split apply, for an honest error message. */
