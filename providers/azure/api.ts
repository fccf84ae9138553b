/**
 * The Azure DNS calls dkimsync makes, through `@azure/arm-dns` (API version 2018-05-01) with a
 * token from `@azure/identity`, each under a time limit and with bounded retries, and Azure
 * failures turned into ProviderErrors a person can act on. Never prints a secret or a token.
 */
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { DnsManagementClient, type RecordSet as AzRecordSet, type Zone } from "@azure/arm-dns";
import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import type { PipelineRequest, SendRequest } from "@azure/core-rest-pipeline";
import { ProviderError, errorMessage } from "../../src/provider-kit.js";

export type CredentialMode = "default" | "client_secret";

export interface AzureApiOptions {
  provider: string;
  subscriptionId: string;
  /** Azure Resource Manager endpoint, no trailing slash. */
  endpoint: string;
  /** Microsoft Entra authority host, for sovereign clouds and tests (undefined: the SDK's). */
  authorityHost?: string;
  credential:
    | { mode: "default"; tenantId?: string; managedIdentityClientId?: string }
    | { mode: "client_secret"; tenantId: string; clientId: string; secret: string };
  /** PEM file with extra CA certificates to trust besides Node's built-in ones. */
  caFile?: string;
  /** Time limit of one HTTP attempt, in ms. */
  timeoutMs: number;
  /** Attempts per call, throttling (429), 5xx and dropped connections included. */
  maxAttempts: number;
  /** `$top` of listings: record sets or zones per page. */
  pageSize: number;
}

/** ARM's answer to an `If-Match` / `If-None-Match` that does not hold (RFC 9110 13.1). */
export const PRECONDITION_FAILED = 412;

/** Longest wait between attempts; a `Retry-After` beyond it ends the call instead. */
const MAX_RETRY_DELAY_MS = 30_000;

/** A 429 whose Retry-After is longer than dkimsync waits between attempts. */
export class ThrottledTooLong extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`throttled; Retry-After ${retryAfterSeconds} s`);
    this.name = "ThrottledTooLong";
  }
}

/** What `@azure/core-rest-pipeline`'s RestError and `@azure/identity`'s errors carry. */
interface AzureErrorShape {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  response?: { headers?: { get(name: string): string | undefined } };
  errorResponse?: { errorDescription?: string };
}

export function azureError(err: unknown): AzureErrorShape {
  return typeof err === "object" && err !== null ? (err as AzureErrorShape) : {};
}

/** One provider's Azure clients: the token credential and the DNS management client, sharing TLS, retry and time-limit settings. */
export class AzureApi {
  readonly client: DnsManagementClient;
  private readonly credential: TokenCredential;

  constructor(private readonly opts: AzureApiOptions) {
    // A custom CA is added to Node's built-in roots, never replacing them, and never by turning
    // verification off: the bearer token must only ever go to a server that proves its name.
    const tlsOptions = opts.caFile ? { ca: [...tls.rootCertificates, readFileSync(opts.caFile, "utf8")] } : undefined;
    // Every HTTP attempt of the sign-in has the same time limit as the DNS calls.
    const timeoutMs = opts.timeoutMs;
    const attemptTimeout = {
      policy: {
        name: "dkimsyncAttemptTimeout",
        sendRequest: (request: PipelineRequest, next: SendRequest) => {
          request.timeout = timeoutMs;
          return next(request);
        },
      },
      position: "perRetry" as const,
    };
    const common = {
      ...(tlsOptions ? { tlsOptions } : {}),
      additionalPolicies: [attemptTimeout],
      retryOptions: { maxRetries: opts.maxAttempts - 1, maxRetryDelayInMs: MAX_RETRY_DELAY_MS },
      // An authority host of our own (sovereign cloud, Azure Stack, tests) is trusted as given:
      // instance discovery would ask login.microsoftonline.com about it (MSAL "knownAuthorities").
      ...(opts.authorityHost ? { authorityHost: opts.authorityHost, disableInstanceDiscovery: true } : {}),
    };
    const c = opts.credential;
    this.credential =
      c.mode === "client_secret"
        ? new ClientSecretCredential(c.tenantId, c.clientId, c.secret, common)
        : // Environment service principal, workload identity federation (GitHub Actions OIDC),
          // managed identity, Azure CLI, ... in the order of the SDK's DefaultAzureCredential.
          new DefaultAzureCredential({
            ...common,
            ...(c.tenantId ? { tenantId: c.tenantId } : {}),
            ...(c.managedIdentityClientId ? { managedIdentityClientId: c.managedIdentityClientId } : {}),
          });
    // Retries: the pipeline's default policy retries 429 and 503 after their Retry-After and
    // 5xx / dropped connections with exponential back-off (Azure SDK guidelines, "Retry"),
    // at most maxAttempts - 1 times. `$host` and `endpoint` both, as the generated client
    // builds URLs from `$host` and derives the token scope from `endpoint`.
    this.client = new DnsManagementClient(this.credential, opts.subscriptionId, {
      ...(tlsOptions ? { tlsOptions } : {}),
      retryOptions: common.retryOptions,
      endpoint: opts.endpoint,
      $host: opts.endpoint,
      userAgentOptions: { userAgentPrefix: "dkimsync" },
    });
    // Runs for every attempt, inside the retry policy: a throttled answer that asks for a longer
    // wait than dkimsync allows ends the call now, saying so, instead of sleeping into the
    // call's time limit. (An error that is not a RestError is not retried by the pipeline.)
    this.client.pipeline.addPolicy(
      {
        name: "dkimsyncRetryAfterLimit",
        async sendRequest(request, next) {
          const response = await next(request);
          if (response.status === 429) {
            const seconds = Number(response.headers.get("retry-after"));
            if (Number.isFinite(seconds) && seconds * 1000 > MAX_RETRY_DELAY_MS) throw new ThrottledTooLong(seconds);
          }
          return response;
        },
      },
      { afterPhase: "Retry" },
    );
  }

  /**
   * Options for one operation: each HTTP attempt may take timeoutMs, and the whole operation
   * (token, attempts and the waits between them) is cut off at a bound derived from both.
   */
  private callOptions(): { requestOptions: { timeout: number }; abortSignal: AbortSignal } {
    const overall = this.opts.timeoutMs * this.opts.maxAttempts + MAX_RETRY_DELAY_MS * (this.opts.maxAttempts - 1);
    return { requestOptions: { timeout: this.opts.timeoutMs }, abortSignal: AbortSignal.timeout(overall) };
  }

  /** Every public DNS zone of the subscription, or of one resource group. */
  async listZones(resourceGroup?: string): Promise<Zone[]> {
    const out: Zone[] = [];
    const options = { ...this.callOptions(), top: this.opts.pageSize };
    const pages =
      resourceGroup === undefined
        ? this.client.zones.list(options).byPage()
        : this.client.zones.listByResourceGroup(resourceGroup, options).byPage();
    for await (const page of pages) out.push(...page);
    return out;
  }

  /**
   * The record sets of a zone, all types, whose relative names end with `.suffix` (all of them
   * when suffix is undefined), following `nextLink` until the last page.
   */
  async listRecordSets(
    resourceGroup: string,
    zone: string,
    suffix: string | undefined,
  ): Promise<{ sets: AzRecordSet[]; pages: number }> {
    const sets: AzRecordSet[] = [];
    let pages = 0;
    const iter = this.client.recordSets
      .listAllByDnsZone(resourceGroup, zone, {
        ...this.callOptions(),
        top: this.opts.pageSize,
        ...(suffix !== undefined ? { recordSetNameSuffix: suffix } : {}),
      })
      .byPage();
    for await (const page of iter) {
      pages++;
      sets.push(...page);
    }
    return { sets, pages };
  }

  async getRecordSet(
    resourceGroup: string,
    zone: string,
    relative: string,
    type: string,
  ): Promise<AzRecordSet | undefined> {
    try {
      return await this.client.recordSets.get(resourceGroup, zone, relative, type as "CNAME", this.callOptions());
    } catch (err) {
      if (azureError(err).statusCode === 404) return undefined;
      throw err;
    }
  }

  async putRecordSet(
    resourceGroup: string,
    zone: string,
    relative: string,
    type: string,
    body: AzRecordSet,
    condition: { ifMatch: string } | { ifNoneMatch: "*" },
  ): Promise<AzRecordSet> {
    return this.client.recordSets.createOrUpdate(resourceGroup, zone, relative, type as "CNAME", body, {
      ...this.callOptions(),
      ...condition,
    });
  }

  async deleteRecordSet(
    resourceGroup: string,
    zone: string,
    relative: string,
    type: string,
    ifMatch: string,
  ): Promise<void> {
    await this.client.recordSets.delete(resourceGroup, zone, relative, type as "CNAME", {
      ...this.callOptions(),
      ifMatch,
    });
  }

  /** An Azure failure as a ProviderError that says what happened and what to do. */
  toProviderError(err: unknown, what: string, zone?: string): ProviderError {
    const e = azureError(err);
    const p = this.opts.provider;
    const status = e.statusCode;
    const base = {
      cause: err,
      ...(zone ? { zone } : {}),
      operation: what,
      ...(status ? { status: String(status) } : {}),
    };
    const code = e.code ?? "";
    const attempts = this.opts.maxAttempts;
    const detail = scrub(e.message ?? errorMessage(err));
    if (err instanceof ThrottledTooLong) {
      return new ProviderError(
        p,
        `${what}: throttled by Azure Resource Manager, which asks to wait ${err.retryAfterSeconds} s (dkimsync waits at most ${MAX_RETRY_DELAY_MS / 1000} s)`,
        {
          ...base,
          transient: true,
          hint: "run again later; other tools may be using the subscription's read/write budget",
        },
      );
    }
    if (e.name === "CredentialUnavailableError" || e.name === "AggregateAuthenticationError") {
      // DefaultAzureCredential's message lists each credential it tried and why it was unavailable.
      const tried = detail
        .split("\n")
        .map((l) => l.trim().replace(/^CredentialUnavailableError:\s*/, ""))
        .filter((l) => l !== "" && !/^ChainedTokenCredential authentication failed/i.test(l))
        .join("; ")
        .slice(0, 600);
      return new ProviderError(p, `${what}: no Azure credential available (${tried || firstLine(detail)})`, {
        ...base,
        hint:
          this.opts.credential.mode === "client_secret"
            ? "check tenant_id, client_id and the client_secret variable"
            : "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE), run on a managed identity, or `az login` (see docs/providers/azure.md)",
      });
    }
    if (e.name === "AuthenticationError" || e.name === "AuthenticationRequiredError") {
      // The AADSTS code and sentence say what is wrong (bad secret, unknown app, wrong tenant);
      // DefaultAzureCredential wraps them in errorResponse.errorDescription.
      const full = `${e.message ?? ""} ${e.errorResponse?.errorDescription ?? ""}`;
      const aadsts = /AADSTS\d+:[^\n]*?\.(?=\s|$)/.exec(full)?.[0];
      if (aadsts === undefined && /network_error|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|aborted/i.test(full)) {
        return new ProviderError(
          p,
          `${what}: could not reach the Microsoft Entra sign-in endpoint (a network error, or no answer within timeout_ms ${this.opts.timeoutMs})`,
          {
            ...base,
            transient: true,
            hint: "check the network path to the sign-in host (authority_host, AZURE_AUTHORITY_HOST), or raise timeout_ms",
          },
        );
      }
      return new ProviderError(
        p,
        `${what}: Microsoft Entra ID refused the credentials (${scrub(aadsts ?? firstLine(detail))})`,
        {
          ...base,
          hint: "check the tenant, the client id and that the secret or federated credential is current",
        },
      );
    }
    if (e.name === "AbortError" || (/aborted|timed out/i.test(e.message ?? "") && status === undefined)) {
      return new ProviderError(
        p,
        `${what}: no answer within the time limit (timeout_ms ${this.opts.timeoutMs}, max_attempts ${attempts})`,
        {
          ...base,
          transient: true,
          hint: "check that the endpoint is reachable, or raise timeout_ms; nothing is written twice (every write carries an etag precondition)",
        },
      );
    }
    if (status === 401) {
      return new ProviderError(p, `${what}: Azure Resource Manager refused the token (${code || "401"})`, {
        ...base,
        hint: "the token is for another tenant or cloud: check tenant_id, endpoint and authority_host",
      });
    }
    if (status === 403) {
      return new ProviderError(p, `${what}: access denied (${code || "403"}: ${detail})`, {
        ...base,
        hint: "grant the identity the role `DNS Zone Contributor` on the zone, or a custom role with the actions listed in docs/providers/azure.md",
      });
    }
    if (code === "SubscriptionNotFound" || code === "InvalidSubscriptionId") {
      return new ProviderError(p, `${what}: subscription ${this.opts.subscriptionId} was not found (${code})`, {
        ...base,
        hint: "check subscription_id and that the identity has access to that subscription",
      });
    }
    if (code === "ResourceGroupNotFound") {
      return new ProviderError(p, `${what}: ${detail}`, {
        ...base,
        hint: "check resource_group (or leave it out to find zones across the subscription)",
      });
    }
    if (status === 404) {
      return new ProviderError(p, `${what}: not found (${code || "404"}: ${detail})`, {
        ...base,
        hint: "the zone was deleted or moved; run plan again",
      });
    }
    if (status === 429) {
      return new ProviderError(
        p,
        `${what}: still throttled by Azure Resource Manager after ${attempts} attempts (${code || "429"})`,
        {
          ...base,
          transient: true,
          hint: "run again later or raise max_attempts; other tools may be using the subscription's read/write budget",
        },
      );
    }
    if (
      (status !== undefined && status >= 500) ||
      /ECONNRESET|ECONNREFUSED|ETIMEDOUT|socket hang up|REQUEST_SEND_ERROR/i.test(`${code} ${e.message ?? ""}`)
    ) {
      return new ProviderError(
        p,
        `${what}: Azure did not answer properly after ${attempts} attempts (${code || status || "network error"}: ${firstLine(detail)})`,
        {
          ...base,
          transient: true,
          hint: "run again later; nothing is written twice (every write carries an etag precondition)",
        },
      );
    }
    return new ProviderError(p, `${what}: ${code ? `${code}: ` : ""}${detail}`, base);
  }
}

/** Error texts can quote a request; a bearer token in one must never reach the screen. */
export function scrub(text: string): string {
  return text
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, "$1<redacted>")
    .replace(/(client_secret=)[^&\s]+/gi, "$1<redacted>");
}

function firstLine(text: string): string {
  return (text.split("\n").find((l) => l.trim() !== "") ?? text).trim().slice(0, 300);
}
