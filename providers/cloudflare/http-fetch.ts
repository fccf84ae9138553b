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
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
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
          let stream: ReadableStream<Uint8Array> | null = null;
          if (nullBody(status, method)) {
            settle();
            res.resume();
          } else
            stream = new ReadableStream<Uint8Array>({
              start(controller) {
                let open = true;
                const fail = (err: Error) => {
                  settle();
                  if (open) controller.error(reason ?? err);
                  open = false;
                };
                res.on("data", (chunk: Buffer) => {
                  if (open) controller.enqueue(chunk);
                });
                res.on("end", () => {
                  settle();
                  if (open) controller.close();
                  open = false;
                });
                // An abort (the time limit) or a connection lost mid-body fails the body read.
                res.on("error", fail);
                res.on("close", () => {
                  if (!res.complete)
                    fail(
                      Object.assign(new Error("the connection closed before the answer ended"), { name: "AbortError" }),
                    );
                });
              },
              cancel() {
                settle();
                res.destroy();
              },
            });
          resolve(new Response(stream, { status, statusText: res.statusMessage ?? "", headers: out }));
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
