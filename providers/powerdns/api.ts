/**
 * The PowerDNS Authoritative HTTP API (https://doc.powerdns.com/authoritative/http-api/), the
 * calls dkimsync needs. Every failure becomes a ProviderError that says what to do; the API key
 * is sent in a header and never appears in a message.
 *
 * Requests go through `node:http`/`node:https` directly: the global `fetch` costs about four
 * times the client CPU per request (undici's stream and header machinery), which dominates a
 * plan of thousands of zones. PowerDNS 4.7 answers `Connection: close` to every request
 * (observed on 4.7.3), so there is no connection reuse to gain from an agent either way.
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { AdaptiveLimit, ProviderError } from "../../src/provider-kit.js";
import type { PdnsRRset, PdnsRRsetPatch } from "./convert.js";

export interface PdnsClientOptions {
  /** The provider's name in dkim.zones.yaml, for error messages. */
  provider: string;
  /** Webserver base URL without `/api/v1`, e.g. `http://127.0.0.1:8081`. */
  url: string;
  apiKey: string;
  serverId: string;
  /** The whole request, from connecting to the last byte of the answer. */
  timeoutMs: number;
  /** Attempts for a transient failure (5xx, timeout, connection reset); default 3. */
  maxAttempts?: number;
  /** Counts requests and retries, for progress lines. */
  onRequest?: (event: "request" | "retry") => void;
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

/** One record of a `search-data` answer (object_type=record). Names end with a dot. */
export interface PdnsSearchRecord {
  object_type: string;
  name: string;
  type: string;
  ttl: number;
  content: string;
  disabled: boolean;
  zone: string;
  zone_id: string;
}

interface RequestOptions {
  /** Canonical zone name, for messages. */
  zone?: string;
  /** What the call does, for messages: "read the zone", "search records", ... */
  operation: string;
  body?: unknown;
  /** What a 404 means for this call. */
  notFound: string;
  notFoundHint: string;
  /** A 2xx answer that is a JSON list goes element by element to this attempt's scanner. */
  stream?: () => ListScanner;
}

interface RawAnswer {
  status: number;
  text: string;
  /** The answer went element by element to a ListScanner; `text` is empty. */
  streamed?: boolean;
}

export class PdnsClient {
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  /**
   * What every request shares, built once per client rather than once per request: at thousands
   * of PATCHes sent one at a time (gsqlite3), the client's work between two of them is on the
   * critical path.
   */
  private readonly hostname: string;
  private readonly port: number | undefined;
  private readonly prefix: string;
  private readonly readHeaders: http.OutgoingHttpHeaders;
  private readonly connect: ((o: http.ClientRequestArgs) => net.Socket) | undefined;
  /**
   * How many PATCHes may be in flight. PowerDNS publishes no rate limit, and what it can take
   * depends on its backend: gsqlite3 has one writer and answers a concurrent write with HTTP 500
   * "database is locked" (observed on 4.7.3; it has no busy-timeout setting), lmdb serialises
   * writes itself. So writes start one at a time (reads go on beside them), grow by one
   * after each run of eight clean answers up to four, and halve on a 5xx, which also lowers the
   * ceiling for the rest of the run: on gsqlite3 that costs one retried PATCH, after which writes
   * stay one at a time; lmdb, which takes concurrent PATCHes, grows to four.
   */
  private readonly writes = new AdaptiveLimit(1, 4);

  constructor(private readonly opts: PdnsClientOptions) {
    this.base = new URL(`${opts.url}/api/v1/servers/${encodeURIComponent(opts.serverId)}`);
    this.transport = this.base.protocol === "https:" ? https : http;
    this.hostname = this.base.hostname.replace(/^\[|\]$/g, "");
    this.port = this.base.port === "" ? undefined : Number(this.base.port);
    this.prefix = this.base.pathname;
    this.readHeaders = {
      "X-API-Key": opts.apiKey,
      // Without it, 401 and 404 come back as text/html (observed on 4.7.3).
      Accept: "application/json",
    };
    // Plain http: a socket of its own per request, without the default agent's pool
    // bookkeeping, which is a fifth of the client CPU of a request when PowerDNS closes every
    // connection anyway (node:http documents createConnection for use without an agent). https
    // keeps the agent, which sets up TLS (SNI, ALPN).
    this.connect = this.transport === http ? plainConnection : undefined;
  }

  async listZones(): Promise<PdnsZoneSummary[]> {
    return (await this.request("GET", "/zones", {
      operation: "list zones",
      ...this.serverNotFound(),
    })) as PdnsZoneSummary[];
  }

  /** The zone by name (`?zone=` filter), or undefined when the server does not have it. */
  async findZone(zone: string): Promise<PdnsZoneSummary | undefined> {
    const found = (await this.request("GET", `/zones?zone=${encodeURIComponent(`${zone}.`)}`, {
      zone,
      operation: "find the zone",
      ...this.serverNotFound(),
    })) as PdnsZoneSummary[];
    return found[0];
  }

  /**
   * The zone with every RRset, disabled records included; or, with `name`, only the RRsets at
   * that name (`rrset_name=`, PowerDNS 4.7+), which leaves disabled records out.
   */
  async getZone(id: string, zone: string, name?: string): Promise<PdnsZone> {
    const query = name === undefined ? "" : `?rrset_name=${encodeURIComponent(`${name}.`)}`;
    return (await this.request("GET", `/zones/${encodeURIComponent(id)}${query}`, {
      zone,
      operation: name === undefined ? "read the zone" : `read ${name}`,
      ...this.zoneNotFound(),
    })) as PdnsZone;
  }

  /**
   * Records whose names match `pattern` (`*` any run of characters, `?` one character) in
   * every zone of the server, at most `max` of them: `GET /servers/{id}/search-data`. The
   * server cuts the answer at `max` without saying so, so callers ask for one more than they
   * accept. The SQL backends (gsqlite3, gmysql, gpgsql) answer it; lmdb answers an empty list
   * for everything (observed on PowerDNS 4.7.3), which is why "no match" alone proves nothing.
   */
  async search(pattern: string, max: number): Promise<PdnsSearchRecord[]> {
    const found: PdnsSearchRecord[] = [];
    await this.searchEach(pattern, max, () => {
      found.length = 0;
      return (r) => found.push(r);
    });
    return found;
  }

  /**
   * search() without holding the answer: each record is parsed and goes to a sink as soon as
   * its bytes have arrived, so neither the answer's text (about 2.5 MB for one selector of
   * 10,000 zones) nor the whole parsed list is ever held. `start` is called when an answer
   * begins, once per attempt (a retried request starts over), and gives that attempt's sink.
   * Returns how many records the answer held.
   */
  async searchEach(pattern: string, max: number, start: () => (record: PdnsSearchRecord) => void): Promise<number> {
    const query = `?q=${encodeURIComponent(pattern)}&max=${max}&object_type=record`;
    let count = 0;
    await this.request("GET", `/search-data${query}`, {
      operation: "search records",
      ...this.serverNotFound(),
      stream: () => {
        count = 0;
        const sink = start();
        return new ListScanner((item) => {
          if ((item as PdnsSearchRecord | null)?.object_type !== "record") return;
          count++;
          sink(item as PdnsSearchRecord);
        });
      },
    });
    return count;
  }

  /** One PATCH: PowerDNS applies all rrsets in one transaction, or none (204 on success). */
  async patchZone(id: string, zone: string, rrsets: PdnsRRsetPatch[]): Promise<void> {
    await this.request(
      "PATCH",
      `/zones/${encodeURIComponent(id)}`,
      {
        zone,
        operation: "write the zone",
        body: { rrsets },
        ...this.zoneNotFound(),
      },
      this.writes,
    );
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
      notFoundHint:
        "create the zone in PowerDNS (pdnsutil create-zone), or point the domain at the provider that serves it",
    };
  }

  private fail(
    message: string,
    opts: { zone?: string; hint?: string; cause?: unknown; transient?: boolean; status?: string },
  ): ProviderError {
    return new ProviderError(this.opts.provider, message, opts);
  }

  /**
   * Transient failures (5xx, timeouts, resets) are tried again with exponential backoff and
   * full jitter, at most `maxAttempts` times in all. Safe for every call made here: GETs read,
   * and a PATCH of REPLACE/DELETE rrsets is idempotent and atomic, so repeating one that did
   * land changes nothing.
   */
  private async request(method: string, path: string, opts: RequestOptions, limit?: AdaptiveLimit): Promise<unknown> {
    const attempts = Math.max(1, this.opts.maxAttempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      try {
        this.opts.onRequest?.("request");
        if (!limit) return await this.requestOnce(method, path, opts);
        return await limit.use(
          () => this.requestOnce(method, path, opts),
          ({ error, failed }) =>
            !failed ? "ok" : error instanceof ProviderError && error.transient ? "overloaded" : "other",
        );
      } catch (err) {
        // gsqlite3 answers a write that meets another writer with HTTP 500 (its log says
        // "database is locked"; the API body only "Internal Server Error", observed on 4.7.3; it
        // has no busy timeout). Nothing was written, the PATCH is atomic and idempotent, and the
        // lock clears in milliseconds, so a write that failed with a 5xx gets up to 8 tries.
        const answered5xx = err instanceof ProviderError && err.status?.startsWith("5") === true;
        const patience = limit !== undefined && answered5xx ? Math.max(attempts, 8) : attempts;
        if (!(err instanceof ProviderError) || !err.transient || attempt >= patience) throw err;
        this.opts.onRequest?.("retry");
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  private async requestOnce(method: string, path: string, opts: RequestOptions): Promise<unknown> {
    const where = opts.zone === undefined ? {} : { zone: opts.zone };
    let answer: RawAnswer;
    try {
      answer = await this.exchange(method, path, opts.body, opts.stream);
    } catch (err) {
      if (err instanceof StreamError) {
        if (err.inner instanceof NotAList) throw this.notAList(where);
        if (err.inner instanceof SyntaxError) throw this.notJson(method, err.status, opts, where, err.inner);
        // What the caller's sink threw: its own error, unchanged.
        throw err.inner;
      }
      throw this.networkError(err, opts, where);
    }
    const { status, text } = answer;
    if (status >= 200 && status < 300) {
      if (answer.streamed) return undefined;
      if (opts.stream) {
        // Not a list (the scanner streams only what starts with "["): JSON of another kind, or
        // not JSON at all.
        try {
          if (text !== "") JSON.parse(text);
        } catch (cause) {
          throw this.notJson(method, status, opts, where, cause);
        }
        throw this.notAList(where);
      }
      if (text === "") return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch (cause) {
        throw this.notJson(method, status, opts, where, cause);
      }
    }
    const serverError = errorText(text);
    const label = `HTTP ${status}`;
    if (status === 401) {
      throw this.fail(`the PowerDNS API rejected the API key (${label})`, {
        ...where,
        hint: "the environment variable named by api_key must hold the server's api-key setting",
      });
    }
    if (status === 404) throw this.fail(opts.notFound, { ...where, hint: opts.notFoundHint });
    if (status === 422 && /Conflicts with pre-existing RRset/i.test(serverError)) {
      throw this.fail(
        `PowerDNS refused the change: ${serverError}. A CNAME cannot share its name with any other record (RFC 1034 3.6.2, RFC 2181 10.1)`,
        {
          ...where,
          hint: "run plan to see the record in the way; remove it, or run apply --force to replace it with the CNAME",
        },
      );
    }
    if (status >= 500) {
      throw this.fail(`PowerDNS failed to ${opts.operation} (${label}): ${serverError}`, {
        ...where,
        status: String(status),
        transient: true,
        hint: "try again; if it persists, see the PowerDNS server log",
      });
    }
    throw this.fail(`PowerDNS refused to ${opts.operation} (${label}): ${serverError}`, where);
  }

  private notAList(where: { zone?: string }): ProviderError {
    return this.fail("search-data answered something that is not a list", {
      ...where,
      hint: "check that url is the PowerDNS webserver",
    });
  }

  private notJson(
    method: string,
    status: number,
    opts: RequestOptions,
    where: { zone?: string },
    cause: unknown,
  ): ProviderError {
    return this.fail(
      `${method} ${this.opts.url} answered ${status} with something that is not JSON (${opts.operation})`,
      {
        ...where,
        cause,
        hint: "check that url is the PowerDNS webserver (webserver-address and webserver-port)",
      },
    );
  }

  /**
   * One HTTP exchange with a deadline on the whole of it: connect, send, and read the answer.
   * With `stream`, a 2xx answer that starts as a JSON list is scanned as it arrives instead of
   * being kept; anything else is kept as text, as without it.
   */
  private exchange(method: string, path: string, body: unknown, stream?: () => ListScanner): Promise<RawAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = payload
      ? {
          ...this.readHeaders,
          "Content-Type": "application/json",
          "Content-Length": payload.length,
        }
      : this.readHeaders;
    return new Promise<RawAnswer>((resolve, reject) => {
      const req = this.transport.request(
        {
          protocol: this.base.protocol,
          hostname: this.hostname,
          port: this.port,
          path: this.prefix + path,
          method,
          headers,
          ...(this.connect ? { createConnection: this.connect } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          const scanner = stream && status >= 200 && status < 300 ? stream() : undefined;
          res.on("data", (chunk: Buffer) => {
            if (scanner === undefined) {
              chunks.push(chunk);
              return;
            }
            if (settled) return;
            try {
              // Not a list: kept as text from there on, for the caller to say what it was.
              const rest = scanner.push(chunk);
              if (rest !== undefined) chunks.push(rest);
            } catch (err) {
              fail(new StreamError(err, status));
              req.destroy();
            }
          });
          res.on("end", () => {
            if (settled) return;
            if (scanner?.streaming) {
              try {
                scanner.end();
              } catch (err) {
                fail(new StreamError(err, status));
                return;
              }
              settled = true;
              clearTimeout(timer);
              resolve({ status, text: "", streamed: true });
              return;
            }
            settled = true;
            clearTimeout(timer);
            resolve({ status, text: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", fail);
        },
      );
      let settled = false;
      const timer = setTimeout(() => req.destroy(new TimeoutError(this.opts.timeoutMs)), this.opts.timeoutMs);
      function fail(err: Error): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
      req.on("error", fail);
      req.end(payload);
    });
  }

  private networkError(err: unknown, opts: RequestOptions, where: { zone?: string }): ProviderError {
    const what = `(${opts.operation})`;
    if (err instanceof TimeoutError) {
      return this.fail(`no answer from ${this.opts.url} within ${this.opts.timeoutMs} ms ${what}`, {
        ...where,
        cause: err,
        transient: true,
        hint: "the server may be overloaded or stalled; raise timeout_ms or try again",
      });
    }
    const code = (err as { code?: unknown }).code;
    if (code === "ECONNREFUSED") {
      return this.fail(`the PowerDNS API at ${this.opts.url} is not reachable (connection refused) ${what}`, {
        ...where,
        cause: err,
        hint: "check url, and that pdns_server runs with webserver=yes, api=yes and this webserver-address/webserver-port",
      });
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
      return this.fail(`the host in url ${this.opts.url} does not resolve (${code})`, {
        ...where,
        cause: err,
        transient: code === "EAI_AGAIN",
        hint: "check url",
      });
    }
    if (code === "ECONNRESET" || code === "EPIPE") {
      // Two causes look the same from here: PowerDNS closes the socket without a reply when the
      // client is not in webserver-allow-from ("Webserver closing socket: remote ... does not
      // match the set ACL", observed on 4.7.3), and a server or proxy that restarted or dropped
      // the connection. Only the server's log tells them apart, so both are named; the reset is
      // tried again like any transient failure.
      return this.fail(`the PowerDNS webserver at ${this.opts.url} closed the connection without answering ${what}`, {
        ...where,
        cause: err,
        transient: true,
        hint: "if it happens every time, check that this machine's address is in the server's webserver-allow-from (its log then says 'does not match the set ACL'); otherwise the server or a proxy dropped the connection: try again",
      });
    }
    return this.fail(
      `cannot reach the PowerDNS API at ${this.opts.url}: ${err instanceof Error ? err.message.slice(0, 200) : "network error"}${typeof code === "string" ? ` (${code})` : ""} ${what}`,
      {
        ...where,
        cause: err,
        transient: true,
        hint: "check url and the network path to the server",
      },
    );
  }
}

/** A JSON list whose elements are not all objects: not what search-data answers. */
class NotAList extends Error {}

/** What went wrong while a streamed answer was scanned (or in the sink it fed). */
class StreamError extends Error {
  constructor(
    readonly inner: unknown,
    readonly status: number,
  ) {
    super("streamed answer");
  }
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Splits a JSON list (RFC 8259) arriving in chunks into its elements and parses each on its
 * own, so a long answer is never held whole, as text or as objects. It only needs to find
 * where each top-level object ends: it follows strings (and their backslash escapes) and
 * bracket depth, byte by byte. Every structural character and quote is ASCII, and no byte of a
 * multi-byte UTF-8 character is below 0x80 (RFC 3629), so scanning bytes is safe; an element
 * split across chunks is joined before it is parsed. Each element must be an object (anything
 * else is NotAList); invalid JSON inside one is JSON.parse's SyntaxError.
 */
export class ListScanner {
  /** True once the answer is known to start with "[": it is being scanned, not kept. */
  streaming = false;
  private started = false;
  private done = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The start of the element in progress, from earlier chunks. */
  private pending: Buffer[] = [];

  constructor(private readonly onItem: (item: unknown) => void) {}

  /**
   * Takes the next chunk. Returns the chunk's rest when the answer turned out not to be a list
   * (then the caller keeps the text itself), else undefined.
   */
  push(chunk: Buffer): Buffer | undefined {
    if (this.started && !this.streaming) return chunk;
    let i = 0;
    if (!this.started) {
      while (i < chunk.length && SPACE.has(chunk[i] as number)) i++;
      if (i === chunk.length) return undefined;
      this.started = true;
      if (chunk[i] !== 0x5b) return chunk.subarray(i);
      this.streaming = true;
      i++;
    }
    const n = chunk.length;
    /** Where the element in progress starts in this chunk (0: it began in an earlier one). */
    let from = this.depth > 0 ? 0 : -1;
    /** The run of elements both started and completed in this chunk: parsed in one call. */
    let runStart = -1;
    let runEnd = -1;
    while (i < n) {
      if (this.inString) {
        // Most bytes of an answer are inside strings: jump to the next quote, and tell from the
        // backslashes before it (and one carried over from the last chunk) whether it ends the string.
        const q = chunk.indexOf(0x22, i);
        const stop = q < 0 ? n : q;
        let k = stop - 1;
        while (k >= i && chunk[k] === 0x5c) k--;
        const odd = (stop - 1 - k) % 2 === 1;
        const escapedHere = k < i && this.escaped ? !odd : odd;
        if (q < 0) {
          this.escaped = escapedHere;
          i = n;
          break;
        }
        this.escaped = false;
        if (!escapedHere) this.inString = false;
        i = q + 1;
        continue;
      }
      const b = chunk[i] as number;
      i++;
      if (this.depth === 0) {
        if (SPACE.has(b)) continue;
        if (this.done) throw new SyntaxError("data after the end of the list");
        if (b === 0x2c) continue; // ","
        if (b === 0x5d) {
          this.done = true; // "]"
          continue;
        }
        if (b !== 0x7b) throw new NotAList("a list element that is not an object");
        this.depth = 1;
        from = i - 1;
        continue;
      }
      if (b === 0x22) this.inString = true;
      else if (b === 0x7b || b === 0x5b) this.depth++;
      else if (b === 0x7d || b === 0x5d) {
        this.depth--;
        if (this.depth > 0) continue;
        if (this.pending.length > 0) {
          // An element split across chunks: joined and parsed on its own.
          const text = Buffer.concat([...this.pending, chunk.subarray(0, i)]).toString("utf8");
          this.pending = [];
          this.onItem(JSON.parse(text));
        } else {
          if (runStart < 0) runStart = from;
          runEnd = i;
        }
        from = -1;
      }
    }
    if (runStart >= 0) {
      // Only commas and white space lie between the elements of the run.
      for (const item of JSON.parse(`[${chunk.toString("utf8", runStart, runEnd)}]`) as unknown[]) this.onItem(item);
    }
    if (this.depth > 0) this.pending.push(chunk.subarray(from));
    return undefined;
  }

  /** The answer is complete: it must have closed the list. */
  end(): void {
    if (!this.done) throw new SyntaxError("the list ended before its closing bracket");
  }
}

function plainConnection(o: http.ClientRequestArgs): net.Socket {
  return net.createConnection(o as net.NetConnectOpts);
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "TimeoutError";
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
