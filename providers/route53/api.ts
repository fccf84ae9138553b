/**
 * The Route 53 calls dkimsync makes, through the real SDK, with a client-side rate limit shared
 * by every call of one provider, and AWS errors turned into ProviderErrors a person can act on.
 */
import type * as Route53Sdk from "@aws-sdk/client-route-53";
import type { Change as AwsChange, ChangeInfo, HostedZone, ResourceRecordSet } from "@aws-sdk/client-route-53";
import diagnostics from "node:diagnostics_channel";
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import { ProviderError, errorMessage } from "../../src/provider-kit.js";

/**
 * The SDK through `require`, not `import`. The package has no `exports` map, so both load the
 * same CommonJS build (`main`: dist-cjs); but `import` of a CommonJS module makes Node scan its
 * source for the names it exports (cjs-module-lexer) before running it. Measured on Node 20, in
 * a process that already runs ES modules: `import` 115-125 ms CPU, `require` 60-65 ms, peak RSS
 * within 1 MB. Every class comes from this one copy, so `instanceof` holds.
 */
const {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} = createRequire(import.meta.url)("@aws-sdk/client-route-53") as typeof Route53Sdk;
type Route53Client = Route53Sdk.Route53Client;

export interface Route53ApiOptions {
  provider: string;
  region: string;
  endpoint?: string;
  profile?: string;
  maxRps: number;
  maxAttempts: number;
  /** Time limit of one attempt, in ms (connect, then the whole answer). */
  timeoutMs: number;
}

/**
 * The SDK's standard retry mode waits a random time up to min(20 s, 100 ms x 2^attempt) before
 * each retry (@smithy/util-retry, StandardRetryStrategy: full jitter, MAXIMUM_RETRY_DELAY 20 s).
 * Its sum over `attempts` is the backoff part of the documented worst case of one call.
 */
export function maxBackoffMs(attempts: number): number {
  let total = 0;
  for (let i = 1; i < attempts; i++) total += Math.min(20_000, 100 * 2 ** i);
  return total;
}

/** The longest one API call can take before it ends in an error: every attempt times out. */
export function worstCaseMs(opts: { maxAttempts: number; timeoutMs: number }): number {
  return opts.maxAttempts * opts.timeoutMs + maxBackoffMs(opts.maxAttempts);
}

/**
 * Pacing stays this much under the configured rate: the gap is measured on this side of the
 * network, so a little room is left for requests that take different times to reach Route 53.
 */
export const PACING_MARGIN = 1.03;
/** The most a run of throttle answers slows the client: 1/8 of the configured rate. */
export const MAX_SLOWDOWN = 8;

/**
 * Paces requests at the moment they are sent. One request is let go; the next may go once it
 * has been written to the socket (or has ended without being written) and a full gap has passed
 * since then. The gap is measured from what really happened, never from a booked schedule, so
 * neither a timer that fires late (a busy event loop, a retry's backoff) nor a request that takes
 * long to reach the wire (connection setup, a TLS handshake, cold code on the first request) lets
 * two requests out closer together than one gap: the pacing holds even against a server whose
 * bucket has a burst of 1. Route 53 documents only the rate ("five requests per second per AWS
 * account", API reference, Quotas), not a burst, so no burst is assumed.
 *
 * A throttle answer slows every request of the limiter (the gap doubles, up to MAX_SLOWDOWN times
 * the configured one) and holds the next request for one such gap; each clean answer afterwards
 * takes a tenth off the slowdown until the configured rate is back (additive increase,
 * multiplicative decrease).
 */
export class RateLimiter {
  private interval: number;
  private slowdown = 1;
  /** When the last request was written (or let go, until it is written), Date.now(). */
  private last = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private chain: Promise<void> = Promise.resolve();
  /** The request let go and not yet written: the next one waits for it. */
  private unwritten: { done: Promise<void>; written: () => void } | undefined;
  /** Requests let go, and throttle answers seen: counts for tests and benchmarks. */
  readonly stats = { sent: 0, throttled: 0 };
  constructor(rps: number) {
    this.interval = (1000 / rps) * PACING_MARGIN;
  }
  /** Never faster than `rps` from now on (the slowest of the providers sharing this limiter). */
  atMost(rps: number): void {
    this.interval = Math.max(this.interval, (1000 / rps) * PACING_MARGIN);
  }
  /** The current gap between two requests, in ms: the configured one times the slowdown. */
  get gapMs(): number {
    return this.interval * this.slowdown;
  }
  /**
   * Waits for this request's turn; requests go one at a time in the order they asked. Returns
   * `written`, to call once the request has been written to the socket or has ended.
   */
  take(): Promise<() => void> {
    const turn = this.chain.then(() => this.waitTurn());
    this.chain = turn.then(() => undefined);
    return turn;
  }
  private async waitTurn(): Promise<() => void> {
    for (;;) {
      if (this.unwritten) {
        await this.unwritten.done;
        continue;
      }
      const now = Date.now();
      const due = Math.max(this.last + this.gapMs, this.pausedUntil);
      if (now >= due) {
        this.last = now;
        this.stats.sent++;
        let resolve = (): void => undefined;
        const done = new Promise<void>((r) => (resolve = r));
        const written = (): void => {
          if (this.unwritten?.done !== done) return;
          this.unwritten = undefined;
          this.last = Math.max(this.last, Date.now());
          resolve();
        };
        this.unwritten = { done, written };
        return written;
      }
      await new Promise((r) => setTimeout(r, due - now));
    }
  }
  /**
   * The `written` callback of the request let go last, for the HTTP request that has just been
   * started for it (a no-op when there is none): a late event of an earlier request can then
   * never count as this one's.
   */
  current(): () => void {
    return this.unwritten?.written ?? (() => undefined);
  }
  /** The server said "slow down": halve the rate and hold every request for one new gap. */
  throttled(): void {
    this.stats.throttled++;
    this.slowdown = Math.min(MAX_SLOWDOWN, this.slowdown * 2);
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + this.gapMs);
  }
  /** A clean answer: a step back towards the configured rate. */
  answered(): void {
    if (this.slowdown > 1) this.slowdown = Math.max(1, this.slowdown - 0.1);
  }
}

/**
 * The moment a request is written comes from Node's `http.client.request.start` diagnostics
 * channel (Node.js API, "Diagnostics Channel", built-in HTTP channels): the request's `finish`
 * event fires once its last byte has been handed to the operating system. Each Route53Api has
 * its own agents, which tell its requests from every other HTTP request of the process.
 */
const agentLimiters = new WeakMap<object, RateLimiter>();
let watching = false;
function watchWrites(): void {
  if (watching) return;
  watching = true;
  diagnostics.channel("http.client.request.start").subscribe((message) => {
    // `agent` is the Agent the request was made with (set by ClientRequest, not in @types/node).
    const request = (message as { request?: http.ClientRequest & { agent?: object } }).request;
    const limiter = request?.agent ? agentLimiters.get(request.agent) : undefined;
    if (!request || !limiter) return;
    // Only one request of a limiter is between being let go and being written at any time, so
    // the one starting now is the current one.
    request.once("finish", limiter.current());
  });
}

/** Route 53's "slow down" error codes (API reference, "Errors"; the SDK's throttling list). */
export function isThrottle(err: unknown): boolean {
  const name = awsError(err).name;
  return name === "Throttling" || name === "ThrottlingException";
}

/**
 * Route 53 limits requests per AWS account (API reference, "Quotas": five requests per second
 * per account), so providers that reach the same account (same endpoint and profile, as with a
 * second provider for the private zone of one name) share one limiter in this process.
 */
const accountLimiters = new Map<string, RateLimiter>();

function accountLimiter(opts: Route53ApiOptions): RateLimiter {
  const key = `${opts.endpoint ?? "aws"} ${opts.profile ?? process.env["AWS_PROFILE"] ?? ""}`;
  const existing = accountLimiters.get(key);
  if (existing) {
    existing.atMost(opts.maxRps);
    return existing;
  }
  const limiter = new RateLimiter(opts.maxRps);
  accountLimiters.set(key, limiter);
  return limiter;
}

export interface RecordPage {
  records: ResourceRecordSet[];
  next?: { name: string; type: string };
}

/** AWS error fields the SDK sets on service and client errors. */
interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: unknown;
}

export function awsError(err: unknown): AwsErrorShape {
  return typeof err === "object" && err !== null ? (err as AwsErrorShape) : {};
}

/** How many attempts the SDK made for the call that ended in `err` (1 when it is not known). */
export function attemptsOf(err: unknown): number {
  return awsError(err).$metadata?.attempts ?? 1;
}

export class Route53Api {
  private readonly client: Route53Client;
  /** Shared by every provider of the same account in this process. */
  readonly limiter: RateLimiter;

  constructor(private readonly opts: Route53ApiOptions) {
    this.limiter = accountLimiter(opts);
    // The SDK's defaults for its agents (keep-alive, 50 sockets), as instances of our own so the
    // diagnostics channel above can tell this client's requests apart.
    const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 50 });
    agentLimiters.set(httpAgent, this.limiter);
    agentLimiters.set(httpsAgent, this.limiter);
    watchWrites();
    // Credentials come from the SDK's default chain only (env, shared config/SSO profile, web
    // identity, container and instance roles), never from dkim.zones.yaml. Standard retry mode
    // backs off exponentially with full jitter and retries Throttling, PriorRequestNotComplete,
    // 5xx and dropped connections (@smithy/core StandardRetryStrategy).
    this.client = new Route53Client({
      region: opts.region,
      maxAttempts: opts.maxAttempts,
      retryMode: "standard",
      // Resolve the middleware stack once per command class, not on every send (the SDK's
      // `cacheMiddleware` client option, @smithy/core Client.send: otherwise each request clones
      // the client's stack, sorts it and builds the handler chain again). The one condition is
      // that the stack does not change after the first request: dkimsync adds its only
      // middleware (the pacing below) in this constructor.
      cacheMiddleware: true,
      // Without these an endpoint that accepts the connection and never answers holds the
      // call forever (the SDK's requestTimeout only logs a warning unless told to throw).
      // A TimeoutError is transient to the standard retry strategy, so it counts as an attempt.
      requestHandler: {
        connectionTimeout: opts.timeoutMs,
        requestTimeout: opts.timeoutMs,
        throwOnRequestTimeout: true,
        // An idle socket (headers sent, body never finished) is ended by this one.
        socketTimeout: opts.timeoutMs,
        httpAgent,
        httpsAgent,
      },
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
    });
    // At the deserialize step, after the retry and signing middlewares (finalizeRequest): the
    // last thing before the request handler writes to the socket, so the pace is the pace of
    // sending, and every attempt, the SDK's own retries included, waits its turn.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const written = await this.limiter.take();
        try {
          const out = await next(args);
          this.limiter.answered();
          return out;
        } catch (err) {
          if (isThrottle(err)) this.limiter.throttled();
          throw err;
        } finally {
          // Settled without a `finish` (refused before writing, or an error before sending).
          written();
        }
      },
      { step: "deserialize", priority: "high", name: "dkimsyncRateLimit" },
    );
  }

  /** Every hosted zone, 100 a page, in Route 53's name order. */
  async hostedZones(): Promise<HostedZone[]> {
    const zones: HostedZone[] = [];
    let dnsName: string | undefined;
    let zoneId: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListHostedZonesByNameCommand({
          MaxItems: 100,
          ...(dnsName ? { DNSName: dnsName } : {}),
          ...(zoneId ? { HostedZoneId: zoneId } : {}),
        }),
      );
      zones.push(...(page.HostedZones ?? []));
      if (!page.IsTruncated || !page.NextDNSName) return zones;
      dnsName = page.NextDNSName;
      zoneId = page.NextHostedZoneId;
    }
  }

  /** One page of record sets, starting at (name, type) in Route 53 order. */
  async recordPage(zoneId: string, start: { name: string; type?: string }, maxItems = 300): Promise<RecordPage> {
    const page = await this.client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: start.name,
        ...(start.type ? { StartRecordType: start.type as ResourceRecordSet["Type"] } : {}),
        MaxItems: maxItems,
      }),
    );
    return {
      records: page.ResourceRecordSets ?? [],
      ...(page.IsTruncated && page.NextRecordName
        ? { next: { name: page.NextRecordName, type: page.NextRecordType ?? "" } }
        : {}),
    };
  }

  async changeBatch(zoneId: string, changes: AwsChange[]): Promise<ChangeInfo> {
    const out = await this.client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Comment: "dkimsync", Changes: changes },
      }),
    );
    if (!out.ChangeInfo) throw new Error("ChangeResourceRecordSets returned no ChangeInfo");
    return out.ChangeInfo;
  }

  async changeStatus(changeId: string): Promise<string> {
    const out = await this.client.send(new GetChangeCommand({ Id: changeId }));
    return out.ChangeInfo?.Status ?? "PENDING";
  }

  close(): void {
    this.client.destroy();
  }

  /** An AWS failure as a ProviderError that says what happened and what to do. */
  toProviderError(err: unknown, what: string, zone?: string): ProviderError {
    // Only the fields dkimsync understands (the error's Code and Message, Route 53 API reference
    // "Errors"), each shortened and stripped of control characters; never a raw body.
    const raw = awsError(err);
    const e: AwsErrorShape = {
      ...(raw.name === undefined ? {} : { name: clip(raw.name, 60) }),
      ...(raw.message === undefined ? {} : { message: clip(raw.message) }),
      ...(raw.$metadata === undefined ? {} : { $metadata: raw.$metadata }),
      ...(raw.$retryable === undefined ? {} : { $retryable: raw.$retryable }),
    };
    const name = e.name ?? "";
    const status = e.$metadata?.httpStatusCode;
    const attempts = e.$metadata?.attempts;
    const base = {
      cause: err,
      ...(zone ? { zone } : {}),
      operation: what,
      ...(status ? { status: String(status) } : {}),
    };
    const p = this.opts.provider;
    if (name === "CredentialsProviderError" || /Could not load credentials/i.test(e.message ?? "")) {
      return new ProviderError(p, `${what}: no AWS credentials found`, {
        ...base,
        hint: "use the standard AWS chain: export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (or the provider's `profile:` option), or run with an IAM role",
      });
    }
    if (
      [
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
      ].includes(name)
    ) {
      return new ProviderError(p, `${what}: AWS rejected the credentials (${name}: ${e.message ?? ""})`, {
        ...base,
        hint: "check or refresh the AWS credentials (expired session? wrong profile?)",
      });
    }
    if (name === "AccessDenied" || name === "AccessDeniedException" || status === 403) {
      return new ProviderError(p, `${what}: access denied (${e.message ?? name})`, {
        ...base,
        hint: "the IAM identity needs route53:ListHostedZonesByName, route53:ListResourceRecordSets, route53:ChangeResourceRecordSets and route53:GetChange (see docs/providers/route53.md)",
      });
    }
    if (name === "NoSuchHostedZone") {
      return new ProviderError(p, `${what}: ${e.message ?? "no such hosted zone"}`, {
        ...base,
        hint: "the hosted zone was deleted or the zone_id is wrong; run plan again",
      });
    }
    if (name === "Throttling" || name === "ThrottlingException" || name === "PriorRequestNotComplete") {
      return new ProviderError(
        p,
        `${what}: still throttled by Route 53 after ${attempts ?? "several"} attempts (${name})`,
        {
          ...base,
          transient: true,
          hint: "run again later, lower max_rps, or raise max_attempts; other tools may be using the same account's limit",
        },
      );
    }
    if (name === "TimeoutError" || /requestTimeout|timed? ?out/i.test(e.message ?? "")) {
      return new ProviderError(
        p,
        `${what}: Route 53 at ${this.opts.endpoint ?? "the AWS endpoint"} did not answer within ${this.opts.timeoutMs} ms, ${attempts ?? this.opts.maxAttempts} attempt(s)`,
        {
          ...base,
          transient: true,
          hint: "check the network (and endpoint, if set); raise timeout_ms if Route 53 is merely slow, or lower max_attempts to fail sooner; apply re-checks the records, so running again never writes twice",
        },
      );
    }
    if (
      (status !== undefined && status >= 500) ||
      e.$retryable !== undefined ||
      /ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up/i.test(e.message ?? "")
    ) {
      return new ProviderError(
        p,
        `${what}: Route 53 did not answer properly after ${attempts ?? "several"} attempts (${name || "network error"}: ${e.message ?? ""})`,
        {
          ...base,
          transient: true,
          hint: "run again later; nothing is written twice (apply re-checks the records)",
        },
      );
    }
    return new ProviderError(p, `${what}: ${name ? `${name}: ` : ""}${e.message ?? clip(errorMessage(err))}`, base);
  }
}

function clip(text: string, max = 300): string {
  const flat = text.replace(/[\x00-\x1f\x7f]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}
