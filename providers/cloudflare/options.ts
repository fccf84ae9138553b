/**
 * The `type: cloudflare` options block, read and checked through the OptionsReader (every problem with
 * file:line). Kept apart from the provider (index.ts) so that checking a config, which every run
 * and `validate` do for every provider block, loads no SDK: this module imports none.
 */
import type { OptionsReader } from "../../src/provider-kit.js";

export interface CloudflareOptions {
  /** API token, as `env/NAME` (required). Sent as `Authorization: Bearer`. */
  token: string;
  /** API base URL. Default `https://api.cloudflare.com/client/v4`; set for the test server. */
  baseURL: string;
  /** Only zones of this account. Default: every zone the token can read. */
  accountId?: string;
  /** Client-side limit on requests per 5 minutes. Default 1200, Cloudflare's global limit. */
  maxRequestsPer5Min: number;
  /** Retries of 429, 5xx and connection failures (the SDK honours retry-after). Default 4. */
  maxRetries: number;
  /**
   * Time limit of one attempt of one API call, in ms. Default 15000. Worst case of one call:
   * (maxRetries + 1) x timeoutMs plus the SDK's backoff (at most 8 s a retry).
   */
  timeoutMs: number;
  /** Smallest TTL the zone accepts: 60, or 30 on Enterprise zones. Default 60. */
  minTtl: number;
  /** Records per batch call. Default 200, the Free plan's limit; paid plans allow 3500. */
  batchSize: number;
}

/** Per attempt; the SDK's own default (60 s) times 5 attempts left a stalled API silent for minutes. */
export const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4";

export function readCloudflareOptions(options: OptionsReader): CloudflareOptions & { tokenRef: string } {
  const rawToken = options.src.values["token"];
  const token = options.secret("token", { required: true });
  const baseURL = options.url("base_url", { default: DEFAULT_BASE_URL, example: DEFAULT_BASE_URL }) ?? DEFAULT_BASE_URL;
  const accountId = options.string("account_id");
  const maxRequestsPer5Min = options.number("max_requests_per_5min", { default: 1200, min: 1, integer: true });
  // max_attempts (retries + 1) is the name the other HTTP providers use; max_retries stays.
  if (options.src.values["max_retries"] !== undefined && options.src.values["max_attempts"] !== undefined) {
    options.fail(
      "max_attempts",
      "and max_retries both set the retries; keep one",
      "max_attempts: N is max_retries: N-1",
    );
  }
  const maxAttempts = options.number("max_attempts", { default: 5, min: 1, max: 21, integer: true });
  const maxRetries = options.number("max_retries", { default: maxAttempts - 1, min: 0, max: 20, integer: true });
  const timeoutMs = options.number("timeout_ms", {
    default: DEFAULT_TIMEOUT_MS,
    min: 100,
    max: 600_000,
    integer: true,
  });
  // Cloudflare API reference, DNS records, `ttl`: "Value must be between 60 and 86400, with the
  // minimum reduced to 30 for Enterprise zones." (1 means automatic, which dkimsync never writes.)
  const minTtl = options.number("min_ttl", { default: 60, min: 30, max: 86400, integer: true });
  // 3500 is the largest batch any plan allows (Cloudflare docs, "Batch record changes").
  const batchSize = options.number("batch_size", { default: 200, min: 1, max: 3500, integer: true });
  options.done();
  return {
    token,
    tokenRef: typeof rawToken === "string" ? rawToken.trim() : "the token variable",
    baseURL: baseURL.replace(/\/+$/, ""),
    ...(accountId ? { accountId } : {}),
    maxRequestsPer5Min,
    maxRetries,
    timeoutMs,
    minTtl,
    batchSize,
  };
}
