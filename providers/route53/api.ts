/**
 * The Route 53 calls dkimsync makes, through the real SDK, with a client-side rate limit shared
 * by every call of one provider, and AWS errors turned into ProviderErrors a person can act on.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change as AwsChange,
  type ChangeInfo,
  type HostedZone,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import { ProviderError, errorMessage } from "../../src/provider-kit.js";

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
 * A token bucket as a schedule (GCRA): each call reserves the next free slot synchronously, so
 * concurrent callers queue fairly without a timer loop. The default burst of 1 paces requests
 * evenly: a client burst on top of the server's own bucket would meet it exactly at its edge.
 */
export class RateLimiter {
  private interval: number;
  private readonly tolerance: number;
  private tat = 0;
  constructor(rps: number, burst = 1) {
    this.interval = 1000 / rps;
    this.tolerance = (burst - 1) * this.interval;
  }
  /** Never faster than `rps` from now on (the slowest of the providers sharing this limiter). */
  atMost(rps: number): void {
    this.interval = Math.max(this.interval, 1000 / rps);
  }
  async take(): Promise<void> {
    const now = Date.now();
    this.tat = Math.max(this.tat, now);
    const wait = this.tat - this.tolerance - now;
    this.tat += this.interval;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
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
  private readonly limiter: RateLimiter;

  constructor(private readonly opts: Route53ApiOptions) {
    this.limiter = accountLimiter(opts);
    // Credentials come from the SDK's default chain only (env, shared config/SSO profile, web
    // identity, container and instance roles), never from dkim.zones.yaml. Standard retry mode
    // backs off exponentially with full jitter and retries Throttling, PriorRequestNotComplete,
    // 5xx and dropped connections (@smithy/core StandardRetryStrategy).
    this.client = new Route53Client({
      region: opts.region,
      maxAttempts: opts.maxAttempts,
      retryMode: "standard",
      // Without these an endpoint that accepts the connection and never answers holds the
      // call forever (the SDK's requestTimeout only logs a warning unless told to throw).
      // A TimeoutError is transient to the standard retry strategy, so it counts as an attempt.
      requestHandler: {
        connectionTimeout: opts.timeoutMs,
        requestTimeout: opts.timeoutMs,
        throwOnRequestTimeout: true,
        // An idle socket (headers sent, body never finished) is ended by this one.
        socketTimeout: opts.timeoutMs,
      },
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
    });
    // Placed inside the retry middleware, so every attempt, retries included, waits its turn.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        await this.limiter.take();
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "dkimsyncRateLimit" },
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
