/**
 * The Cloudflare API through the official `cloudflare` SDK (v7): client setup, a client-side
 * request limiter, paging, and turning the API's errors into ProviderErrors people can act on.
 *
 * Retries: the SDK retries 408, 409, 429, 5xx and connection failures `maxRetries` times and
 * honours `retry-after` (node_modules/cloudflare/src/client.ts, shouldRetry/retryRequest).
 */
import { ProviderError, redact as redactSecrets } from "../../src/provider-kit.js";
import type { BatchBody, CfRecord, NameFilter } from "./convert.js";
import { keepAliveFetch } from "./http-fetch.js";
import { cloudflareSdk, type CloudflareClient } from "./sdk.js";

/** Only the part of the SDK the provider uses (sdk.ts); the whole SDK if that fails. */
const sdk = cloudflareSdk();

export interface CloudflareApiOptions {
  /** The provider's name in dkim.zones.yaml, for error messages. */
  provider: string;
  token: string;
  /** The name of the variable holding the token, for hints (never the token itself). */
  tokenRef: string;
  baseURL: string;
  accountId?: string;
  maxRequestsPer5Min: number;
  maxRetries: number;
  /** Time limit of one attempt, in ms (the SDK's `timeout`, enforced with an AbortSignal). */
  timeoutMs: number;
  /** The limiter's window, in ms: Cloudflare's 5 minutes; shorter only in tests. */
  limitWindowMs?: number;
}

/**
 * The longest one call can take before it ends in an error: every attempt times out, with the
 * SDK's backoff between them (node_modules/cloudflare/src/client.ts, calculateDefaultRetryTimeoutMillis:
 * min(0.5 s x 2^n, 8 s), jitter only shortens it).
 */
export function worstCaseMs(opts: { maxRetries: number; timeoutMs: number }): number {
  let backoff = 0;
  for (let n = 0; n < opts.maxRetries; n++) backoff += Math.min(500 * 2 ** n, 8000);
  return (opts.maxRetries + 1) * opts.timeoutMs + backoff;
}

const FIVE_MINUTES_MS = 5 * 60 * 1000;
/** Longer than any wait for the limiter (one 5-minute window) plus one attempt. */
const SDK_TIMEOUT_MS = 30 * 60 * 1000;
// List Zones: per_page 5..50 (Cloudflare API reference, "List Zones").
const ZONES_PER_PAGE = 50;
// List DNS Records: per_page 1..5,000,000, default 100 (Cloudflare OpenAPI schema
// `dns-records_per_page`; the retired api.cloudflare.com reference said 5..100). 5000 covers the
// selector records of 2500 domains in one reply; isLastPage below trusts the server's own
// result_info, so a server that silently serves fewer per page is still read to the end.
const RECORDS_PER_PAGE = 5000;

/**
 * Keeps this process under `max` requests in any 5-minute window (Cloudflare's global limit is
 * 1200 per 5 minutes per user/token: developers.cloudflare.com/fundamentals/api/reference/limits/).
 * Sits under the SDK's fetch, so the SDK's own retries are counted too.
 *
 * A request counts from the moment its answer (or its failure) came back, not from the moment
 * it was let go: Cloudflare counts it when it arrives, which is somewhere in between, and only
 * the answer proves it has arrived. So a request that is slow to leave (connection setup, a
 * TLS handshake) can never make the server count more than `max` in a window, and one still in
 * flight stays in the window until it has been answered. The cost is one round trip per window.
 * The requests in the window are a queue, oldest first: each request is pushed once and
 * dropped once, so the limiter's work grows linearly with the number of requests. A request
 * that is answered before an older one still in flight leaves the window only after it, which
 * errs on the side of waiting.
 */
export class SlidingWindowLimiter {
  /**
   * When each request in the window was answered; Infinity while it is in flight. Plain numbers
   * (V8 stores them unboxed, 8 bytes each), not an object per request: every request of a run
   * under a high `max` stays here until its window has passed, 40,000 of them in a 10,000-domain
   * apply, which as objects with a boxed time held 2 MB at the run's peak.
   */
  private readonly times: number[] = [];
  private head = 0;
  /** How many entries have been cut off the front of `times` so far (see expire). */
  private dropped = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** Wakes the request waiting for an in-flight one to be answered. */
  private wake: (() => void) | undefined;
  constructor(
    private readonly max: number,
    private readonly windowMs = FIVE_MINUTES_MS,
  ) {}

  /** Requests counted in the window now (in flight included). */
  get inWindow(): number {
    this.expire(Date.now());
    return this.times.length - this.head;
  }

  /** Waits for a slot; returns `answered`, to call once the request's answer (or failure) is in. */
  acquire(): Promise<() => void> {
    const next = this.queue.then(() => this.waitForSlot());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private expire(now: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= now - this.windowMs) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      // Only answered, expired entries are cut: one in flight (Infinity) never expires, so the
      // place of every entry still to be answered is known from `dropped`.
      this.times.splice(0, this.head);
      this.dropped += this.head;
      this.head = 0;
    }
  }

  private async waitForSlot(): Promise<() => void> {
    for (;;) {
      const now = Date.now();
      this.expire(now);
      if (this.times.length - this.head < this.max) {
        const entry = this.dropped + this.times.length;
        this.times.push(Number.POSITIVE_INFINITY);
        return () => {
          const i = entry - this.dropped;
          if (this.times[i] !== Number.POSITIVE_INFINITY) return;
          this.times[i] = Date.now();
          const wake = this.wake;
          this.wake = undefined;
          wake?.();
        };
      }
      const oldest = this.times[this.head]!;
      if (oldest === Number.POSITIVE_INFINITY) await new Promise<void>((r) => (this.wake = r));
      else await new Promise((r) => setTimeout(r, oldest + this.windowMs - now + 1));
    }
  }
}

/**
 * Whether `page` was the last one. The server's `total_pages` decides when it is there, so no
 * request goes to an empty page past the end (the SDK's auto-pagination would send one) and a
 * server that serves fewer items than asked is still read to the end; otherwise an empty page or
 * one shorter than the server's `per_page` ends the listing.
 */
export function isLastPage(page: number, count: number, info: unknown, requested: number): boolean {
  if (count === 0) return true;
  const { total_pages: total, per_page: perPage } = (info ?? {}) as { total_pages?: unknown; per_page?: unknown };
  if (typeof total === "number") return page >= total;
  return count < (typeof perPage === "number" && perPage > 0 ? perPage : requested);
}

/**
 * A record with only the fields the provider reads (convert.ts): the API's record carries a
 * dozen more (zone name, meta, comment, tags, dates), and the provider keeps the records of
 * every zone it read until the run ends (apply needs their ids).
 */
function slim(r: CfRecord): CfRecord {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    content: r.content,
    ttl: r.ttl,
    proxied: r.proxied,
    priority: r.priority,
    settings: r.settings ? { flatten_cname: r.settings.flatten_cname } : r.settings,
  };
}

export class CloudflareApi {
  readonly client: CloudflareClient;
  readonly limiter: SlidingWindowLimiter;

  constructor(private readonly opts: CloudflareApiOptions) {
    this.limiter = new SlidingWindowLimiter(opts.maxRequestsPer5Min, opts.limitWindowMs);
    const limiter = this.limiter;
    const timeoutMs = opts.timeoutMs;
    // node:http with a keep-alive agent instead of the global fetch: less CPU per request, same
    // behaviour for the SDK (http-fetch.ts).
    // The time limit of an attempt is the fetch's own (`timeoutMs`: one timer, cleared with
    // the answer), not an AbortSignal.timeout joined to the SDK's signal with AbortSignal.any:
    // the same limit at less CPU and no timer left behind per request.
    const send = keepAliveFetch({ timeoutMs });
    const limitedFetch: typeof fetch = async (input, init) => {
      const answered = await limiter.acquire();
      // The time limit of an attempt starts when it may go out, not while it queues behind the
      // limiter (a busy 5-minute window must not turn into timeouts and retries), and it covers
      // reading the body too (the SDK's own timer stops once the headers are in).
      try {
        return await send(input, init);
      } finally {
        answered();
      }
    };
    this.client = sdk.createClient({
      apiToken: opts.token,
      // Explicit nulls: the SDK would otherwise pick up CLOUDFLARE_API_KEY / CLOUDFLARE_EMAIL
      // from the environment and send a second set of credentials.
      apiKey: null,
      apiEmail: null,
      userServiceKey: null,
      baseURL: opts.baseURL,
      maxRetries: opts.maxRetries,
      // The SDK's timer would also count the wait for the limiter: it only backs up the limit
      // set in limitedFetch above. An attempt that limit aborts is retried like a dropped
      // connection and, the retries spent, ends as APIConnectionTimeoutError.
      timeout: SDK_TIMEOUT_MS,
      fetch: limitedFetch,
      logLevel: "off",
    });
  }

  /** Every zone the token can see (restricted to account_id when set), all pages. */
  async listZones(): Promise<{ id: string; name: string }[]> {
    return this.call(undefined, "listing zones", async () => {
      const out: { id: string; name: string }[] = [];
      for (let page = 1; ; page++) {
        const resp = await this.client.zones.list({
          page,
          per_page: ZONES_PER_PAGE,
          ...(this.opts.accountId ? { account: { id: this.opts.accountId } } : {}),
        });
        const items = resp.result;
        for (const z of items) out.push({ id: z.id, name: z.name });
        if (isLastPage(page, items.length, resp.result_info, ZONES_PER_PAGE)) return out;
      }
    });
  }

  /** The zone's id by exact name (`GET /zones?name=`), or undefined. */
  async findZoneId(zone: string): Promise<string | undefined> {
    return this.call(zone, "looking up the zone", async () => {
      const resp = await this.client.zones.list({
        name: zone,
        ...(this.opts.accountId ? { account: { id: this.opts.accountId } } : {}),
      });
      return resp.result.find((z) => z.name.toLowerCase() === zone)?.id;
    });
  }

  /**
   * Records of every type whose names pass one name filter (`name.exact`, or `name.startswith`
   * and `name.endswith` joined by `match=all`), every page. Name filters are case-insensitive
   * (SDK RecordListParams.Name, from the OpenAPI schema). The API cannot take a list of names
   * (a filter has one value, and `match=any` ORs different filters), so the caller passes one
   * filter that all its names pass (convert.ts nameFilter) and keeps the exact names itself.
   */
  async listRecordsNamed(zone: string, zoneId: string, filter: NameFilter): Promise<CfRecord[]> {
    return this.call(zone, "reading the selector names", async () => {
      const out: CfRecord[] = [];
      for (let page = 1; ; page++) {
        const resp = await this.client.dns.records.list({
          zone_id: zoneId,
          name: filter,
          match: "all",
          page,
          per_page: RECORDS_PER_PAGE,
        });
        const items = resp.result as unknown as CfRecord[];
        for (const r of items) out.push(slim(r));
        if (isLastPage(page, items.length, resp.result_info, RECORDS_PER_PAGE)) return out;
      }
    });
  }

  /** Zone DNS setting "flatten all CNAMEs" (`GET /zones/{id}/dns_settings`). */
  async flattenAllCnames(zone: string, zoneId: string): Promise<boolean> {
    return this.call(zone, "reading the zone's DNS settings", async () => {
      const settings = await this.client.dns.settings.zone.get({ zone_id: zoneId });
      return settings.flatten_all_cnames === true;
    });
  }

  async batch(zone: string, zoneId: string, body: BatchBody): Promise<void> {
    const params = { zone_id: zoneId, ...body } as unknown as Parameters<
      CloudflareClient["dns"]["records"]["batch"]
    >[0];
    await this.call(zone, "writing the batch", () => this.client.dns.records.batch(params));
  }

  private async call<T>(zone: string | undefined, doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.toProviderError(err, zone, doing);
    }
  }

  /** A ProviderError saying what Cloudflare answered and what to do; the token never appears. */
  toProviderError(err: unknown, zone: string | undefined, doing: string): ProviderError {
    const provider = this.opts.provider;
    // The token is registered with the one redactor (core/errors.ts) when its env/ is resolved;
    // removing it here as well keeps this message safe even before that.
    const redact = (s: string) =>
      redactSecrets(s.split(this.opts.token).join("[redacted]"))
        .replace(/[\x00-\x1f\x7f]+/g, " ")
        .slice(0, 500);
    const base: { zone?: string; cause: unknown; operation: string; status?: string } = {
      ...(zone ? { zone } : {}),
      cause: err,
      operation: doing,
    };
    if (err instanceof sdk.APIError && err.status !== undefined) {
      base.status = String(err.status);
      type ErrorItem = { code?: number; message?: string; error_chain?: ErrorItem[] };
      const errors = (err.errors ?? []) as ErrorItem[];
      // A generic code (1004 "DNS Validation Error") names its real cause in `error_chain`.
      const codes = new Set(errors.flatMap((e) => [e.code, ...(e.error_chain ?? []).map((c) => c.code)]));
      const one = (e: ErrorItem): string =>
        `${e.message ?? "error"} (code ${e.code ?? "?"})${e.error_chain?.length ? `: ${e.error_chain.map(one).join("; ")}` : ""}`;
      const detail = redact(errors.map(one).join("; ") || `HTTP ${err.status}`);
      const status = err.status;
      if (
        codes.has(9109) ||
        codes.has(10000) ||
        codes.has(9106) ||
        codes.has(6003) ||
        status === 401 ||
        status === 403
      ) {
        return new ProviderError(provider, `Cloudflare refused the API token while ${doing}: ${detail}`, {
          ...base,
          hint: `check that ${this.opts.tokenRef} holds a valid Cloudflare API token with the permissions Zone:Read and DNS:Edit on this zone`,
        });
      }
      if (codes.has(971) || status === 429) {
        return new ProviderError(
          provider,
          `rate limited by Cloudflare while ${doing}, still after ${this.opts.maxRetries} retries: ${detail}`,
          {
            ...base,
            transient: true,
            hint: "wait a few minutes and run again, or lower max_requests_per_5min if other tools share this token",
          },
        );
      }
      if (codes.has(81053) || codes.has(81054)) {
        return new ProviderError(
          provider,
          `a record already holds that name (CNAME cannot share a name with other records) while ${doing}: ${detail}`,
          {
            ...base,
            hint: "the zone changed since it was read; run dkimsync plan again and resolve the conflict it reports",
          },
        );
      }
      if (codes.has(81057)) {
        return new ProviderError(provider, `the record already exists while ${doing}: ${detail}`, {
          ...base,
          hint: "the zone changed since it was read; run dkimsync plan again",
        });
      }
      if (codes.has(81044) || status === 404) {
        return new ProviderError(provider, `not found while ${doing}: ${detail}`, {
          ...base,
          hint: "the record or zone was changed or removed since it was read; run dkimsync plan again",
        });
      }
      return new ProviderError(provider, `Cloudflare answered HTTP ${status} while ${doing}: ${detail}`, {
        ...base,
        transient: status >= 500 || status === 408 || status === 409,
        // A 5xx may come after the batch was committed (a gateway timing out): do not claim
        // either way; the next run reads the zone again and converges.
        hint:
          status >= 500 || status === 408 || status === 409
            ? "Cloudflare had a server error that outlasted the retries; run again (dkimsync reads the records again and writes only what is still missing)"
            : doing === "writing the batch"
              ? "Cloudflare refused the batch, so none of its records were written; if it says the batch is too large, lower batch_size (200 records on the Free plan)"
              : "check the message above; run dkimsync plan again once it is fixed",
      });
    }
    if (err instanceof sdk.APIConnectionTimeoutError) {
      return new ProviderError(
        provider,
        `the Cloudflare API at ${this.opts.baseURL} did not answer within ${this.opts.timeoutMs} ms while ${doing}, ${this.opts.maxRetries + 1} attempt(s)`,
        {
          ...base,
          transient: true,
          hint: "check the network (and base_url, if set); raise timeout_ms if Cloudflare is merely slow, or lower max_attempts to fail sooner; the next run reads the records again and writes only what is still missing",
        },
      );
    }
    if (err instanceof sdk.APIConnectionError) {
      return new ProviderError(
        provider,
        `cannot reach the Cloudflare API at ${this.opts.baseURL} while ${doing}: ${redact(err.message)}`,
        {
          ...base,
          transient: true,
          hint: "check the network (and base_url, if set); the request was retried " + this.opts.maxRetries + " times",
        },
      );
    }
    if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) {
      // The time limit struck while the body was read (after the SDK had the headers).
      return new ProviderError(
        provider,
        `the Cloudflare API at ${this.opts.baseURL} did not finish its answer within ${this.opts.timeoutMs} ms while ${doing}`,
        {
          ...base,
          transient: true,
          hint: "check the network (and base_url, if set); raise timeout_ms if Cloudflare is merely slow; the next run reads the records again and writes only what is still missing",
        },
      );
    }
    return new ProviderError(
      provider,
      `${doing} failed: ${redact(err instanceof Error ? err.message : String(err))}`,
      base,
    );
  }
}
