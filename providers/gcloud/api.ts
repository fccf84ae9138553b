/**
 * The Cloud DNS v1 REST calls dkimsync makes, authorised by Google's official auth library
 * (`google-auth-library`: Application Default Credentials or a service account key), each with a
 * time limit, bounded retries of throttling, 5xx and lost answers, and Google's errors turned
 * into ProviderErrors a person can act on. Nothing here ever prints a key or a token.
 *
 * Why not `@google-cloud/dns`: it builds its base URL as `https://{apiEndpoint}/dns/v1` (no
 * plain-HTTP loopback endpoint), and its transport (`retry-request`) re-sends a request that got
 * no answer three more times whatever the caller sets, POST /changes included, and ignores
 * Retry-After; so `timeout_ms` and `max_attempts` could not be honest bounds. The generated
 * `googleapis` client needs Node 22. This file does what those clients do: google-auth-library
 * for credentials and the Authorization header, and the documented REST resources.
 */
import type { GoogleAuth } from "google-auth-library";
import { ProviderError } from "../../src/provider-kit.js";
import type { GcChangeBody, GcRrset } from "./convert.js";

export const DEFAULT_ENDPOINT = "https://dns.googleapis.com";
/** google-auth-library sends the service-account JWT grant here (RFC 7523; gtoken/getToken.js). */
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
/** Read and write records (Cloud DNS API v1 reference, "Authorization scopes"). */
export const SCOPE = "https://www.googleapis.com/auth/ndev.clouddns.readwrite";

export interface ServiceAccountKey {
  type: "service_account";
  client_email: string;
  private_key: string;
  project_id?: string;
}

export interface GcloudApiOptions {
  /** The provider's name in dkim.zones.yaml, for messages. */
  provider: string;
  endpoint: string;
  /** Where the service-account JWT grant goes; Google's token endpoint unless set. */
  tokenUrl?: string;
  project?: string;
  /** A service account key (from `credentials: env/NAME`); ADC when absent. */
  key?: ServiceAccountKey;
  /** The name of the variable holding the key, for hints (never the key itself). */
  keyRef?: string;
  timeoutMs: number;
  maxAttempts: number;
}

export interface GcManagedZone {
  name: string;
  dnsName: string;
  id?: string;
  visibility?: string;
}

export interface GcChange {
  id: string;
  status: string;
  additions?: GcRrset[];
  deletions?: GcRrset[];
}

/** The body Google APIs answer errors with (AIP-193 / JSON error format of Google APIs). */
interface GoogleErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    errors?: { reason?: string; domain?: string; message?: string }[];
  };
}

/** An HTTP answer that was not 2xx, or no answer at all (`status` 0), after the retries. */
export class GcHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reasons: string[],
    readonly attempts: number,
    readonly timedOut = false,
  ) {
    super(message);
    this.name = "GcHttpError";
  }
}

/** An error while obtaining credentials or a token (never an HTTP answer of the DNS API). */
export class GcAuthError extends Error {
  constructor(
    message: string,
    readonly noCredentials: boolean,
  ) {
    super(message);
    this.name = "GcAuthError";
  }
}

const RATE_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded"]);
/** Retry-After beyond this is not waited for: the run ends with a clear message instead. */
const MAX_RETRY_AFTER_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reject when `p` has not settled within `ms` (the auth library's own timeouts are per attempt). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new GcHttpError(`no answer within ${ms} ms while ${what}`, 0, [], 1, true)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export class GcloudApi {
  private auth: Promise<GoogleAuth> | undefined;
  private project: Promise<string> | undefined;
  /** Every secret string this API holds, for redaction of anything shown to people. */
  private readonly secrets: string[] = [];

  constructor(readonly opts: GcloudApiOptions) {
    if (opts.key) this.secrets.push(opts.key.private_key);
  }

  /** Remove keys, tokens and anything JWT-shaped from text that may reach a person. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s) out = out.split(s).join("***");
    return out
      .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, "***")
      .replace(/\beyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*){1,2}/g, "***")
      .replace(/\bya29\.[A-Za-z0-9_.-]+/g, "***");
  }

  private googleAuth(): Promise<GoogleAuth> {
    this.auth ??= (async () => {
      // Loaded on first use: a run that does not use Cloud DNS does not pay for the library.
      const { GoogleAuth: Auth } = await import("google-auth-library");
      const auth = new Auth({
        scopes: [SCOPE],
        ...(this.opts.key
          ? { credentials: { client_email: this.opts.key.client_email, private_key: this.opts.key.private_key } }
          : {}),
        ...(this.opts.project ? { projectId: this.opts.project } : {}),
        // Each token request (and the metadata-server probe of ADC) ends within timeout_ms.
        clientOptions: { transporterOptions: { timeout: this.opts.timeoutMs } },
      });
      if (this.opts.tokenUrl && this.opts.tokenUrl !== GOOGLE_TOKEN_URL) {
        const client = await auth.getClient();
        const to = new URL(this.opts.tokenUrl);
        // The library has the token URL built in; `token_url` points the same JWT grant at
        // another server (the loopback test server, or a private endpoint).
        client.transporter.interceptors.request.add({
          resolved: async (config) => {
            if (config.url.href === GOOGLE_TOKEN_URL) config.url = new URL(to.href);
            return config;
          },
        });
      }
      return auth;
    })();
    this.auth.catch(() => {
      this.auth = undefined;
    });
    return this.auth;
  }

  /** The project: the `project` option, else the key's project_id, else ADC's project. */
  projectId(): Promise<string> {
    this.project ??= (async () => {
      if (this.opts.project) return this.opts.project;
      if (this.opts.key?.project_id) return this.opts.key.project_id;
      try {
        const auth = await this.googleAuth();
        return await within(auth.getProjectId(), this.opts.timeoutMs, "finding the project");
      } catch (err) {
        throw new ProviderError(
          this.opts.provider,
          "no Google Cloud project is set and none could be found from the credentials",
          {
            cause: err,
            hint: "set `project:` on the provider (or GOOGLE_CLOUD_PROJECT), or use a service account key that names its project_id",
          },
        );
      }
    })();
    this.project.catch(() => {
      this.project = undefined;
    });
    return this.project;
  }

  private async authHeaders(url: string): Promise<Headers> {
    try {
      const auth = await this.googleAuth();
      return await within(
        auth.getRequestHeaders(url),
        this.opts.timeoutMs,
        `obtaining an access token from ${this.opts.tokenUrl ?? GOOGLE_TOKEN_URL}`,
      );
    } catch (err) {
      if (err instanceof GcHttpError) throw err;
      const e = err as { message?: string; response?: { data?: { error?: string; error_description?: string } } };
      const data = e.response?.data;
      const detail = data?.error
        ? `${data.error}${data.error_description ? `: ${data.error_description}` : ""}`
        : (e.message ?? String(err));
      throw new GcAuthError(this.redact(detail), /Could not load the default credentials/i.test(e.message ?? ""));
    }
  }

  /**
   * One API call with up to max_attempts attempts, each ending within timeout_ms. Retried:
   * 429 and 403 rateLimitExceeded/userRateLimitExceeded (after Retry-After when sent), 500, 502,
   * 503, 504 and requests that got no answer, with truncated exponential backoff. A write retried
   * after no answer may have landed; apply's read-back (src/apply.ts) then sees it in place.
   */
  async request<T>(
    method: "GET" | "POST",
    path: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<T> {
    const project = await this.projectId();
    const url = new URL(`${this.opts.endpoint}/dns/v1/projects/${encodeURIComponent(project)}${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    let last: GcHttpError | undefined;
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      let headers: Headers;
      try {
        headers = await this.authHeaders(url.href);
      } catch (err) {
        // A token request that got no answer in time counts as an attempt like any other.
        if (!(err instanceof GcHttpError)) throw err;
        last = new GcHttpError(err.message, 0, [], attempt, true);
        if (attempt < this.opts.maxAttempts) await sleep(backoff(attempt));
        continue;
      }
      headers.set("accept", "application/json");
      if (body !== undefined) headers.set("content-type", "application/json");
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, {
          method,
          headers,
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
        text = await res.text();
      } catch (err) {
        const timedOut = (err as Error).name === "TimeoutError" || (err as Error).name === "AbortError";
        last = new GcHttpError(
          timedOut
            ? `no answer within ${this.opts.timeoutMs} ms from ${this.opts.endpoint}`
            : `no answer from ${this.opts.endpoint} (${this.redact((err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message)})`,
          0,
          [],
          attempt,
          timedOut,
        );
        if (attempt < this.opts.maxAttempts) await sleep(backoff(attempt));
        continue;
      }
      if (res.ok) return (text === "" ? {} : JSON.parse(text)) as T;
      let parsed: GoogleErrorBody = {};
      try {
        parsed = JSON.parse(text) as GoogleErrorBody;
      } catch {
        // not JSON: described by the status alone
      }
      const reasons = (parsed.error?.errors ?? []).map((e) => e.reason ?? "").filter((r) => r !== "");
      const message = this.redact(parsed.error?.message ?? `HTTP ${res.status}`);
      last = new GcHttpError(
        `HTTP ${res.status}${reasons.length ? ` ${reasons.join(", ")}` : ""}: ${message}`,
        res.status,
        reasons,
        attempt,
      );
      const throttled = res.status === 429 || (res.status === 403 && reasons.some((r) => RATE_REASONS.has(r)));
      const retryable = throttled || [500, 502, 503, 504].includes(res.status);
      if (!retryable || attempt >= this.opts.maxAttempts) throw last;
      const after = retryAfterMs(res.headers.get("retry-after"));
      if (after !== undefined && after > MAX_RETRY_AFTER_MS) throw last;
      await sleep(after ?? backoff(attempt));
    }
    throw last ?? new GcHttpError("no attempt was made", 0, [], 0);
  }

  /** Every managed zone of the project, following nextPageToken. */
  async managedZones(): Promise<GcManagedZone[]> {
    const out: GcManagedZone[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.request<{ managedZones?: GcManagedZone[]; nextPageToken?: string }>(
        "GET",
        "/managedZones",
        pageToken ? { pageToken } : {},
      );
      out.push(...(page.managedZones ?? []));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return out;
  }

  /** Every rrset at one absolute name (`name` filter of rrsets.list), following nextPageToken. */
  async rrsetsNamed(zoneName: string, wireName: string): Promise<GcRrset[]> {
    const out: GcRrset[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.request<{ rrsets?: GcRrset[]; nextPageToken?: string }>(
        "GET",
        `/managedZones/${encodeURIComponent(zoneName)}/rrsets`,
        { name: wireName, ...(pageToken ? { pageToken } : {}) },
      );
      out.push(...(page.rrsets ?? []));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return out;
  }

  /** Every rrset of the zone (rrsets.list without a filter), following nextPageToken. */
  async rrsetsAll(zoneName: string): Promise<GcRrset[]> {
    const out: GcRrset[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.request<{ rrsets?: GcRrset[]; nextPageToken?: string }>(
        "GET",
        `/managedZones/${encodeURIComponent(zoneName)}/rrsets`,
        pageToken ? { pageToken } : {},
      );
      out.push(...(page.rrsets ?? []));
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return out;
  }

  async createChange(zoneName: string, body: GcChangeBody): Promise<GcChange> {
    return this.request<GcChange>("POST", `/managedZones/${encodeURIComponent(zoneName)}/changes`, {}, body);
  }

  async getChange(zoneName: string, id: string): Promise<GcChange> {
    return this.request<GcChange>(
      "GET",
      `/managedZones/${encodeURIComponent(zoneName)}/changes/${encodeURIComponent(id)}`,
    );
  }

  /** A failure as a ProviderError naming provider, zone and operation; never a secret. */
  toProviderError(err: unknown, doing: string, zone?: string): ProviderError {
    const p = this.opts.provider;
    const base = {
      cause: err,
      ...(zone ? { zone } : {}),
      operation: doing,
      ...(err instanceof GcHttpError && err.status !== 0 ? { status: String(err.status) } : {}),
    };
    const creds = this.opts.key
      ? `the service account key in ${this.opts.keyRef ?? "the credentials variable"}`
      : "Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, or the attached service account)";
    if (err instanceof ProviderError) return err;
    if (err instanceof GcAuthError) {
      return new ProviderError(
        p,
        `${doing}: ${err.noCredentials ? "no Google credentials found" : `Google refused the credentials (${err.message})`}`,
        {
          ...base,
          hint: err.noCredentials
            ? "set `credentials: env/NAME` to a service account key, or set up Application Default Credentials (see docs/providers/gcloud.md)"
            : `check ${creds}: the key may be deleted, disabled or malformed`,
        },
      );
    }
    if (err instanceof GcHttpError) {
      const r = new Set(err.reasons);
      const tries = `${err.attempts} attempt${err.attempts === 1 ? "" : "s"}`;
      if (err.status === 0) {
        return new ProviderError(p, `${doing}: ${err.message} (${tries}, timeout_ms ${this.opts.timeoutMs})`, {
          ...base,
          transient: true,
          hint: "check the network (and endpoint, if set); raise timeout_ms or max_attempts if Cloud DNS is slow; run again (dkimsync reads the zone again first)",
        });
      }
      if (err.status === 429 || r.has("rateLimitExceeded") || r.has("userRateLimitExceeded")) {
        return new ProviderError(p, `${doing}: still rate limited by Cloud DNS after ${tries} (${err.message})`, {
          ...base,
          transient: true,
          hint: "wait a minute and run again, raise max_attempts, or ask for a higher Cloud DNS API quota; other tools may share this project's quota",
        });
      }
      if (err.status === 401) {
        return new ProviderError(p, `${doing}: Cloud DNS refused the credentials (${err.message})`, {
          ...base,
          hint: `check ${creds}`,
        });
      }
      if (err.status === 403) {
        return new ProviderError(p, `${doing}: access denied (${err.message})`, {
          ...base,
          hint: "grant the identity roles/dns.admin on the project, or a custom role with dns.managedZones.list, dns.resourceRecordSets.list, dns.changes.create, dns.resourceRecordSets.create, dns.resourceRecordSets.update, dns.resourceRecordSets.delete and dns.changes.get (and check `project:`)",
        });
      }
      if (err.status === 404) {
        return new ProviderError(p, `${doing}: not found (${err.message})`, {
          ...base,
          hint: zone
            ? "the managed zone was deleted or renamed since it was listed; run plan again"
            : "check `project:` (the project id, not its name or number) and that the credentials can see it",
        });
      }
      if (err.status === 412 || r.has("conditionNotMet")) {
        return new ProviderError(
          p,
          `${doing}: a record set to delete or replace no longer matches what was read, so Cloud DNS rejected the whole change and nothing was written (${err.message})`,
          {
            ...base,
            hint: "the zone changed since it was read (another tool or person edited it); run plan again and review",
          },
        );
      }
      if (err.status === 409) {
        return new ProviderError(
          p,
          `${doing}: a record set to add is already there, so Cloud DNS rejected the whole change and nothing was written (${err.message})`,
          {
            ...base,
            hint: "the zone changed since it was read; run plan again and review",
          },
        );
      }
      if (err.status >= 500) {
        return new ProviderError(p, `${doing}: Cloud DNS had a server error that outlasted ${tries} (${err.message})`, {
          ...base,
          transient: true,
          hint: "run again later; dkimsync reads the zone again and writes only what is still missing",
        });
      }
      return new ProviderError(p, `${doing}: Cloud DNS refused the request (${err.message})`, {
        ...base,
        hint: r.has("cnameResourceRecordSetConflict")
          ? "another record type shares a selector name with the CNAME (RFC 1034 3.6.2); remove it, or plan with --force to replace it"
          : "fix what the message names and run plan again",
      });
    }
    return new ProviderError(
      p,
      `${doing} failed: ${this.redact(err instanceof Error ? err.message : String(err))}`,
      base,
    );
  }
}

/** Exponential backoff with full jitter: 0..(500 ms * 2^(attempt-1)), at most 8 s. */
function backoff(attempt: number): number {
  return Math.floor(Math.random() * Math.min(8000, 500 * 2 ** (attempt - 1)));
}

/** Retry-After as seconds or an HTTP date (RFC 9110 10.2.3), in ms. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
