/**
 * The PowerDNS Authoritative HTTP API (https://doc.powerdns.com/authoritative/http-api/), the
 * three calls dkimsync needs. Every failure becomes a ProviderError that says what to do; the
 * API key is sent in a header and never appears in a message.
 */
import { ProviderError } from "../../src/core/errors.js";
import type { PdnsRRset, PdnsRRsetPatch } from "./convert.js";

export interface PdnsClientOptions {
  /** The provider's name in dkim.zones.yaml, for error messages. */
  provider: string;
  /** Webserver base URL without `/api/v1`, e.g. `http://127.0.0.1:8081`. */
  url: string;
  apiKey: string;
  serverId: string;
  timeoutMs: number;
  /** Attempts for a transient failure (5xx, timeout, connection reset); default 3. */
  maxAttempts?: number;
}

export interface PdnsZoneSummary {
  /** The zone's id for URLs, escaped by the server (`_sub.example.org.` is `=5Fsub.example.org.`). */
  id: string;
  /** With trailing dot, as the server writes it. */
  name: string;
}

export interface PdnsZone extends PdnsZoneSummary {
  rrsets: PdnsRRset[];
}

interface RequestOptions {
  /** Canonical zone name, for messages. */
  zone?: string;
  body?: unknown;
  /** What a 404 means for this call. */
  notFound: string;
  notFoundHint: string;
}

export class PdnsClient {
  constructor(private readonly opts: PdnsClientOptions) {}

  private get base(): string {
    return `${this.opts.url}/api/v1/servers/${encodeURIComponent(this.opts.serverId)}`;
  }

  async listZones(): Promise<PdnsZoneSummary[]> {
    return (await this.request("GET", "/zones", this.serverNotFound())) as PdnsZoneSummary[];
  }

  /** The zone by name (`?zone=` filter), or undefined when the server does not have it. */
  async findZone(zone: string): Promise<PdnsZoneSummary | undefined> {
    const found = (await this.request("GET", `/zones?zone=${encodeURIComponent(`${zone}.`)}`, { zone, ...this.serverNotFound() })) as PdnsZoneSummary[];
    return found[0];
  }

  /**
   * The zone with every RRset, disabled records included; or, with `name`, only the RRsets at
   * that name (`rrset_name=`, PowerDNS 4.7+), which leaves disabled records out.
   */
  async getZone(id: string, zone: string, name?: string): Promise<PdnsZone> {
    const query = name === undefined ? "" : `?rrset_name=${encodeURIComponent(`${name}.`)}`;
    return (await this.request("GET", `/zones/${encodeURIComponent(id)}${query}`, { zone, ...this.zoneNotFound() })) as PdnsZone;
  }

  /** One PATCH: PowerDNS applies all rrsets in one transaction, or none (204 on success). */
  async patchZone(id: string, zone: string, rrsets: PdnsRRsetPatch[]): Promise<void> {
    await this.request("PATCH", `/zones/${encodeURIComponent(id)}`, { zone, body: { rrsets }, ...this.zoneNotFound() });
  }

  private serverNotFound(): Pick<RequestOptions, "notFound" | "notFoundHint"> {
    return {
      notFound: `the API has no server "${this.opts.serverId}" (HTTP 404)`,
      notFoundHint: `server_id is almost always "localhost" (the default); check url points at the PowerDNS webserver`,
    };
  }

  private zoneNotFound(): Pick<RequestOptions, "notFound" | "notFoundHint"> {
    return {
      notFound: "zone not found on the PowerDNS server (HTTP 404)",
      notFoundHint: "create the zone in PowerDNS (pdnsutil create-zone), or point the domain at the provider that serves it",
    };
  }

  private fail(message: string, opts: { zone?: string; hint?: string; cause?: unknown; transient?: boolean }): ProviderError {
    return new ProviderError(this.opts.provider, message, opts);
  }

  /**
   * Transient failures (5xx, timeouts) are tried again with exponential backoff and full jitter.
   * Safe for every call made here: GETs read, and a PATCH of REPLACE/DELETE rrsets is idempotent
   * and atomic, so repeating one that did land changes nothing.
   */
  private async request(method: string, path: string, opts: RequestOptions): Promise<unknown> {
    const attempts = Math.max(1, this.opts.maxAttempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce(method, path, opts);
      } catch (err) {
        if (!(err instanceof ProviderError) || !err.transient || attempt >= attempts) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  private async requestOnce(method: string, path: string, opts: RequestOptions): Promise<unknown> {
    const url = `${this.base}${path}`;
    const where = opts.zone === undefined ? {} : { zone: opts.zone };
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          "X-API-Key": this.opts.apiKey,
          // Without it, 401 and 404 come back as text/html (observed on 4.7.3).
          Accept: "application/json",
          ...(opts.body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: opts.body === undefined ? null : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      throw this.networkError(err, method, where);
    }
    const text = await res.text().catch(() => "");
    if (res.ok) {
      if (text === "") return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch (cause) {
        throw this.fail(`${method} ${this.opts.url} answered ${res.status} with something that is not JSON`, {
          ...where, cause, hint: "check that url is the PowerDNS webserver (webserver-address and webserver-port)",
        });
      }
    }
    const serverError = errorText(text);
    const status = `HTTP ${res.status}`;
    if (res.status === 401) {
      throw this.fail(`the PowerDNS API rejected the API key (${status})`, {
        ...where, hint: "the environment variable named by api_key must hold the server's api-key setting",
      });
    }
    if (res.status === 404) throw this.fail(opts.notFound, { ...where, hint: opts.notFoundHint });
    if (res.status === 422 && /Conflicts with pre-existing RRset/i.test(serverError)) {
      throw this.fail(
        `PowerDNS refused the change: ${serverError}. A CNAME cannot share its name with any other record (RFC 1034 3.6.2, RFC 2181 10.1)`,
        { ...where, hint: "run plan to see the record in the way; remove it, or run apply --force to replace it with the CNAME" },
      );
    }
    if (res.status >= 500) {
      throw this.fail(`PowerDNS failed (${status}): ${serverError}`, { ...where, transient: true, hint: "try again; if it persists, see the PowerDNS server log" });
    }
    throw this.fail(`PowerDNS refused ${method} (${status}): ${serverError}`, where);
  }

  private networkError(err: unknown, method: string, where: { zone?: string }): ProviderError {
    const name = err instanceof Error ? err.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      return this.fail(`no answer from ${this.opts.url} within ${this.opts.timeoutMs} ms (${method})`, {
        ...where, cause: err, transient: true, hint: "the server may be overloaded; raise timeout_ms or try again",
      });
    }
    const code = causeCode(err);
    if (code === "ECONNREFUSED") {
      return this.fail(`the PowerDNS API at ${this.opts.url} is not reachable (connection refused)`, {
        ...where, cause: err, hint: "check url, and that pdns_server runs with webserver=yes, api=yes and this webserver-address/webserver-port",
      });
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
      return this.fail(`the host in url ${this.opts.url} does not resolve (${code})`, { ...where, cause: err, transient: code === "EAI_AGAIN", hint: "check url" });
    }
    if (code === "UND_ERR_SOCKET" || code === "ECONNRESET") {
      // PowerDNS closes the socket without a reply when the client is not in
      // webserver-allow-from ("Webserver closing socket: remote ... does not match the set ACL",
      // observed on 4.7.3).
      return this.fail(`the PowerDNS webserver at ${this.opts.url} closed the connection without answering`, {
        ...where, cause: err,
        hint: "add this machine's address to the server's webserver-allow-from setting",
      });
    }
    return this.fail(`cannot reach the PowerDNS API at ${this.opts.url}: ${err instanceof Error ? err.message.slice(0, 200) : "network error"}${code ? ` (${code})` : ""}`, {
      ...where, cause: err, transient: true, hint: "check url and the network path to the server",
    });
  }
}

/**
 * The `error` field of PowerDNS's JSON error body (PowerDNS HTTP API, "Errors": `{"error":
 * "..."}`), at most 300 characters, with control characters removed. Anything else (an HTML
 * page from a proxy, a body that reflects the request) is not shown at all: dkimsync reports
 * only the fields it understands, so a reflected X-API-Key never reaches the output.
 */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === "string") return body.error.replace(/[\x00-\x1f\x7f]+/g, " ").slice(0, 300);
  } catch {
    // not JSON: fall through
  }
  return text.trim() === "" ? "(empty answer)" : "(an answer that is not a PowerDNS error object; not shown)";
}

/** Node's fetch (undici) wraps socket errors: `TypeError("fetch failed", { cause: { code } })`. */
function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = e.cause;
  }
  return undefined;
}
