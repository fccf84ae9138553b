/**
 * The `type: powerdns` options block, read and checked through the OptionsReader (every problem with
 * file:line). Kept apart from the provider (index.ts) so that checking a config, which every run
 * and `validate` do for every provider block, loads no SDK: this module imports none.
 */
import type { OptionsReader } from "../../src/provider-kit.js";

export interface PowerDnsOptions {
  /** Base URL of the PowerDNS webserver, e.g. `http://127.0.0.1:8081`. Required. */
  url: string;
  /** The API key (`api_key: env/NAME`). Required. */
  apiKey: string;
  /** Default `localhost`, the only server id PowerDNS Authoritative has. */
  serverId: string;
  /** Per-request timeout in milliseconds. Default 10000. */
  timeoutMs: number;
  /**
   * `auto` (default): `search` where the server's backend answers it; else, zone by zone, the
   * whole zone, or name by name once an earlier read in this run has shown the zone to hold
   * more than PER_NAME_RRSETS record sets per managed name (see `perName` in index.ts).
   * `search`: every zone's selector names in a few `search-data` requests for the whole server
   * (SQL backends; refused where the backend cannot search).
   * `zone`: one GET of the whole zone, which also shows disabled records (reported as drift).
   * `names`: one `rrset_name=` GET per selector name, so only managed names are read.
   */
  read: ReadMode;
  /** Attempts for a transient failure (5xx, timeout); default 3. */
  maxAttempts: number;
}

export type ReadMode = "auto" | "search" | "zone" | "names";

export function readPowerDnsOptions(options: OptionsReader): PowerDnsOptions {
  if (options.src.values["url"] === undefined || options.src.values["url"] === null)
    options.fail("url", "is required", "the PowerDNS webserver address, e.g. http://127.0.0.1:8081");
  // The shared URL rule: http(s), no user:password@ (never echoed), no query or fragment.
  const parsed = new URL(options.url("url", { example: "http://127.0.0.1:8081" }) as string);
  // Accept the URL with or without the API prefix; the client adds /api/v1 itself.
  const url = parsed.href.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
  const apiKey = options.secret("api_key", { required: true });
  const serverId = options.string("server_id", { default: "localhost" }) ?? "localhost";
  const timeoutMs = options.number("timeout_ms", { default: 10_000, min: 1, integer: true });
  const read = options.oneOf("read", ["auto", "search", "zone", "names"] as const, { default: "auto" });
  const maxAttempts = options.number("max_attempts", { default: 3, min: 1, max: 10, integer: true });
  options.done();
  return { url, apiKey, serverId, timeoutMs, read, maxAttempts };
}
