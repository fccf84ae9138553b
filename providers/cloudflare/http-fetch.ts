/**
 * A `fetch` for the Cloudflare SDK (its `fetch` client option) built on `node:http` /
 * `node:https` with one keep-alive agent per client, answering with a standard `Response`.
 *
 * Why: Node's global fetch (undici) spends far more CPU per request than the request itself
 * needs; per small JSON request against a loopback server it cost several times what
 * `node:http` with a keep-alive agent does (figures in bench/README.md). The SDK only needs
 * what the Fetch standard promises of the answer: `status`, `ok`, `headers.get`, `body` and
 * `text()`/`json()`.
 *
 * What stays as with the global fetch:
 * - The AbortSignal (and the time limit, below): it aborts the connection before the headers
 *   and the body after them; the request or the body read then fails with the signal's reason,
 *   as with the global fetch (Fetch standard, "abort the fetch() call"), so the SDK counts the
 *   time limit's TimeoutError as a timeout and retries it as before.
 * - The body streams: the `Response` is handed over once the headers are in, so a body that
 *   stalls fails the body read (not the request), and the SDK does not retry a request whose
 *   answer had begun, as with the global fetch.
 * - TLS: the https agent verifies with Node's default CAs plus NODE_EXTRA_CA_CERTS, as the
 *   global fetch does; neither reads a proxy from the environment on Node 20.
 * - Connection errors reject with Node's error (ECONNREFUSED, ...), which the SDK wraps in its
 *   APIConnectionError as it wraps undici's "fetch failed".
 * One difference, unseen by the SDK (it reads every body at once): an answer that has fully
 * arrived stays readable after the signal fires, where the global fetch fails a body not yet
 * read.
 * Anything else the SDK might send (a body that is a stream, a Blob or FormData, which the
 * provider's calls never are) goes to the global fetch unchanged.
 */
import http from "node:http";
import https from "node:https";

type Body = string | Uint8Array | undefined;

function plainBody(body: unknown): { ok: true; body: Body } | { ok: false } {
  if (body === undefined || body === null) return { ok: true, body: undefined };
  if (typeof body === "string" || body instanceof Uint8Array) return { ok: true, body };
  if (body instanceof ArrayBuffer) return { ok: true, body: new Uint8Array(body) };
  return { ok: false };
}

/** Statuses whose answer has no body (Fetch standard, "null body status"), and HEAD's. */
function nullBody(status: number, method: string): boolean {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304 || method === "HEAD";
}

/**
 * The request's headers as a plain object for `node:http`. The SDK hands over a `Headers`
 * (lower-case names, repeated values already joined), which is read as it is: copying it into
 * a second `Headers` first cost an object, a sort and a validation of every header per request.
 * Other forms go through `Headers` for its name and value rules.
 */
function plainHeaders(init: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  const out: Record<string, string> = {};
  if (init === undefined) return out;
  (init instanceof Headers ? init : new Headers(init)).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** Why a body read failed when the connection closed before the answer ended. */
function closedEarly(): Error {
  return Object.assign(new Error("the connection closed before the answer ended"), { name: "AbortError" });
}

/**
 * A standard `Response` (a subclass, so `instanceof Response` holds) whose body is read from
 * Node's stream directly when the caller asks for all of it at once (`text()`, `json()`,
 * `arrayBuffer()`, `blob()`), which is what the SDK does with every answer
 * (cloudflare/internal/parse.js, defaultParseResponse). A `Response` built on a web
 * `ReadableStream` pays for the stream, a promise per chunk and the body mixin's copies on
 * every request: SDK calls alone against the loopback fake, 0.45 -> 0.37 ms CPU and 91 -> 78 KB
 * allocated per request with this class (bench/README.md, "Cloudflare per request and per zone").
 *
 * What stays as with a stream body:
 * - The answer is handed over once its headers are in, and the body is taken in as it arrives
 *   (so the connection goes back to the keep-alive pool, and the time limit is cleared, once
 *   the body has ended, whether or not it is read).
 * - A body that stalls or a connection lost mid-body fails the body read (not the request),
 *   with the abort's reason (the time limit's TimeoutError) or an AbortError.
 * - `body` is a `ReadableStream` on demand (the SDK cancels it before a retry,
 *   cloudflare/internal/shims.js CancelReadableStream), `bodyUsed` and a second read's
 *   TypeError follow the Fetch standard, and `clone()` tees that stream.
 */
/**
 * `Response` as a base class: Node's types declare its members as properties, which a subclass
 * may not override with methods and accessors; at run time they are methods and accessors on
 * `Response.prototype`, as the Fetch standard defines them.
 */
const ResponseBase = Response as unknown as new (
  body: null,
  init: ResponseInit,
) => Pick<Response, "headers" | "status" | "statusText">;

class NodeBodyResponse extends ResponseBase {
  readonly #res: http.IncomingMessage;
  readonly #settle: () => void;
  /** Chunks taken in and not yet handed to a reader. */
  #chunks: Buffer[] = [];
  #ended = false;
  #failed: { error: unknown } | undefined;
  #used = false;
  #stream: ReadableStream<Uint8Array> | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #waiter: { resolve: (b: Buffer) => void; reject: (e: unknown) => void } | undefined;

  constructor(res: http.IncomingMessage, init: ResponseInit, reason: () => unknown, settle: () => void) {
    super(null, init);
    this.#res = res;
    this.#settle = settle;
    res.on("data", (chunk: Buffer) => {
      if (this.#controller) this.#controller.enqueue(chunk);
      else this.#chunks.push(chunk);
    });
    res.on("end", () => {
      settle();
      this.#ended = true;
      this.#controller?.close();
      this.#controller = undefined;
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.resolve(this.#take());
    });
    const fail = (err: Error) => {
      settle();
      if (this.#ended || this.#failed) return;
      // The abort's reason (the time limit), as the global fetch fails a body read.
      const error = reason() ?? err;
      this.#failed = { error };
      this.#controller?.error(error);
      this.#controller = undefined;
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.reject(error);
    };
    res.on("error", fail);
    res.on("close", () => {
      if (!res.complete) fail(closedEarly());
    });
  }

  #take(): Buffer {
    const chunks = this.#chunks;
    this.#chunks = [];
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  get body(): ReadableStream<Uint8Array> {
    if (this.#stream === undefined) {
      // Read whole already (or being read): what is left is nothing.
      const rest = this.#used ? [] : this.#chunks;
      this.#chunks = [];
      this.#stream = new ReadableStream<Uint8Array>({
        start: (controller) => {
          for (const c of rest) controller.enqueue(c);
          if (this.#failed) controller.error(this.#failed.error);
          else if (this.#ended || this.#used) controller.close();
          else this.#controller = controller;
        },
        cancel: () => {
          this.#controller = undefined;
          this.#settle();
          this.#res.destroy();
        },
      });
    }
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used || (this.#stream?.locked ?? false);
  }

  /** The whole body, once: from the stream if `body` was taken first, else as it arrives. */
  async #bytes(): Promise<Buffer> {
    if (this.bodyUsed) throw new TypeError("Body is unusable: Body has already been read");
    this.#used = true;
    if (this.#stream !== undefined) return Buffer.from(await new Response(this.#stream).arrayBuffer());
    if (this.#failed) throw this.#failed.error;
    if (this.#ended) return this.#take();
    return new Promise<Buffer>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  async text(): Promise<string> {
    const text = (await this.#bytes()).toString("utf8");
    // UTF-8 decode drops a leading byte order mark (Encoding standard, as Response.text does).
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.#bytes();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }

  async blob(): Promise<Blob> {
    return new Blob([await this.#bytes()], { type: this.headers.get("content-type") ?? "" });
  }

  async formData(): Promise<FormData> {
    return new Response(await this.arrayBuffer(), { headers: this.headers }).formData();
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError("Response.clone: Body has already been consumed.");
    const [mine, theirs] = this.body.tee();
    this.#stream = mine;
    return new Response(theirs, { status: this.status, statusText: this.statusText, headers: this.headers });
  }
}

/**
 * `timeoutMs`: a time limit per call that covers the answer's body too, as an
 * `AbortSignal.timeout` combined with the caller's signal would, without creating two signals
 * and a timer that outlives the request for every call: the timer is cleared once the body has
 * been read, failed or been cancelled. It fails the call with a `TimeoutError`, the reason
 * `AbortSignal.timeout` gives.
 */
export function keepAliveFetch(opts: { timeoutMs?: number } = {}): typeof fetch {
  const timeoutMs = opts.timeoutMs;
  // Free sockets of a keep-alive agent are unref'd by Node, so they never keep a run alive.
  const agents = {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true }),
  };
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : undefined;
    const body = plainBody(init?.body);
    const protocol = url?.startsWith("https:") ? "https:" : url?.startsWith("http:") ? "http:" : undefined;
    if (url === undefined || !body.ok || protocol === undefined) {
      if (timeoutMs === undefined) return fetch(input, init);
      const limit = AbortSignal.timeout(timeoutMs);
      return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, limit]) : limit });
    }
    const method = (init?.method ?? "GET").toUpperCase();
    const headers = plainHeaders(init?.headers);
    if (body.body !== undefined) headers["content-length"] = String(Buffer.byteLength(body.body));
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Response>((resolve, reject) => {
      /** Why the call was aborted (the caller's signal's reason, or the time limit's). */
      let reason: unknown;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => abort(signal?.reason);
      const settle = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const abort = (why: unknown) => {
        if (reason !== undefined) return;
        reason = why;
        settle();
        // As the global fetch: the request, or the body read once the headers are in, fails
        // with the abort's reason (Fetch standard, "abort the fetch() call").
        request.destroy(why instanceof Error ? why : new Error(String(why)));
      };
      const request = (protocol === "https:" ? https : http).request(
        url,
        { method, headers, agent: agents[protocol] },
        (res) => {
          const out = new Headers();
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) out.append(raw[i]!, raw[i + 1]!);
          const status = res.statusCode ?? 0;
          const init = { status, statusText: res.statusMessage ?? "", headers: out };
          if (nullBody(status, method)) {
            settle();
            res.resume();
            resolve(new Response(null, init));
          } else resolve(new NodeBodyResponse(res, init, () => reason, settle) as unknown as Response);
        },
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
          timeoutMs,
        );
        // Like AbortSignal.timeout's timer: it never keeps the process alive by itself.
        timer.unref();
      }
      request.on("error", (err) => {
        settle();
        reject(reason ?? err);
      });
      request.end(body.body);
    });
  };
}
