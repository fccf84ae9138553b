/**
 * providers/cloudflare/http-fetch.ts, the `fetch` the Cloudflare SDK is given: for everything the
 * SDK relies on it must answer as Node's global fetch does. Each case sends the same request
 * through both to a real loopback HTTP server and compares what comes back (status, headers,
 * body, which error and with what name); then keep-alive (one connection for many requests)
 * and TLS (verification on, NODE_EXTRA_CA_CERTS honoured) in child processes.
 */
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keepAliveFetch } from "../../providers/cloudflare/http-fetch.js";
import { testCertificate } from "../fakes/azure/tls.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let base: string;
const seen: Seen[] = [];
let connections = 0;

/** Routes: what the SDK meets from Cloudflare (JSON, 429 with retry-after, 204) and two stalls. */
function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
  if (req.url === "/json") {
    res.writeHead(200, { "content-type": "application/json", "x-two": ["a", "b"] });
    res.end(JSON.stringify({ success: true, result: [{ id: "1" }], echo: body }));
  } else if (req.url === "/limited") {
    res.writeHead(429, { "content-type": "application/json", "retry-after": "7" });
    res.end('{"success":false,"errors":[{"code":971,"message":"slow down"}]}');
  } else if (req.url === "/empty") {
    res.writeHead(204);
    res.end();
  } else if (req.url === "/stall-headers") {
    // never answers
  } else if (req.url === "/stall-body") {
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"success":');
  } else {
    res.writeHead(404);
    res.end("no");
  }
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => handle(req, res, body));
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const fetchers: [string, typeof fetch][] = [
  ["global fetch", fetch],
  ["keepAliveFetch", keepAliveFetch()],
];

async function outcome(
  f: typeof fetch,
  url: string,
  init?: RequestInit,
): Promise<{ status?: number; ok?: boolean; headers?: Record<string, string | null>; body?: string; error?: string }> {
  let res: Response;
  try {
    res = await f(url, init);
  } catch (e) {
    return { error: `request: ${(e as Error).name}` };
  }
  const headers = {
    "content-type": res.headers.get("content-type"),
    "retry-after": res.headers.get("retry-after"),
    "x-two": res.headers.get("x-two"),
  };
  try {
    return { status: res.status, ok: res.ok, headers, body: await res.text() };
  } catch (e) {
    return { status: res.status, error: `body: ${(e as Error).name}` };
  }
}

describe("keepAliveFetch answers as the global fetch does", () => {
  it("a JSON answer, a POST with a body and headers, a 429 with retry-after, a 204", async () => {
    const cases: [string, RequestInit | undefined][] = [
      ["/json", undefined],
      [
        "/json",
        {
          method: "POST",
          headers: new Headers({ "content-type": "application/json", authorization: "Bearer t", "x-n": "1" }),
          body: '{"posts":[{"name":"s"}]}',
        },
      ],
      ["/limited", { method: "GET" }],
      ["/empty", { method: "DELETE" }],
      ["/missing", undefined],
    ];
    for (const [p, init] of cases) {
      const results = [];
      for (const [, f] of fetchers) {
        seen.length = 0;
        const r = await outcome(f, `${base}${p}`, init);
        results.push({ r, sent: seen.map((s) => ({ ...s, headers: pick(s.headers) })) });
      }
      expect(results[1], `${init?.method ?? "GET"} ${p}`).toEqual(results[0]);
    }
    // What the comparison covered, so a vacuous one would fail.
    const post = await outcome(fetchers[1]![1], `${base}/json`, cases[1]![1]);
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body!).echo).toBe('{"posts":[{"name":"s"}]}');
    const limited = await outcome(fetchers[1]![1], `${base}/limited`);
    expect(limited).toMatchObject({ status: 429, ok: false, headers: { "retry-after": "7" } });
    expect((await outcome(fetchers[1]![1], `${base}/json`)).headers!["x-two"]).toBe("a, b");
  });

  it("a time limit before the headers rejects the request with the signal's reason", async () => {
    for (const [name, f] of fetchers) {
      const r = await outcome(f, `${base}/stall-headers`, { signal: AbortSignal.timeout(200) });
      expect(r, name).toEqual({ error: "request: TimeoutError" });
    }
  });

  it("a time limit while the body is read fails the body read, not the request", async () => {
    for (const [name, f] of fetchers) {
      const r = await outcome(f, `${base}/stall-body`, { signal: AbortSignal.timeout(300) });
      expect(r, name).toEqual({ status: 200, error: "body: TimeoutError" });
    }
  });

  it("an abort by the caller's own controller rejects with AbortError", async () => {
    for (const [name, f] of fetchers) {
      const c = new AbortController();
      setTimeout(() => c.abort(), 100);
      const r = await outcome(f, `${base}/stall-headers`, { signal: c.signal });
      expect(r, name).toEqual({ error: "request: AbortError" });
    }
  });

  it("its own time limit (timeoutMs) acts as AbortSignal.timeout joined to the caller's signal", async () => {
    const limited = keepAliveFetch({ timeoutMs: 300 });
    const viaSignal: typeof fetch = (url, init) => {
      const limit = AbortSignal.timeout(300);
      return fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, limit]) : limit });
    };
    for (const [name, f] of [
      ["global fetch with AbortSignal.timeout", viaSignal],
      ["keepAliveFetch({ timeoutMs })", limited],
    ] as [string, typeof fetch][]) {
      expect(await outcome(f, `${base}/stall-headers`), name).toEqual({ error: "request: TimeoutError" });
      expect(await outcome(f, `${base}/stall-body`), name).toEqual({ status: 200, error: "body: TimeoutError" });
      const c = new AbortController();
      setTimeout(() => c.abort(), 50);
      expect(await outcome(f, `${base}/stall-headers`, { signal: c.signal }), name).toEqual({
        error: "request: AbortError",
      });
    }
  });

  it("with timeoutMs, an answer that arrived in time stays whole when its body is read after the limit", async () => {
    // Here it differs from the global fetch, which fails a body not yet read when its signal
    // fires even though the answer is all in; the SDK reads each body at once, so it never sees
    // either.
    const res = await keepAliveFetch({ timeoutMs: 200 })(`${base}/json`);
    await new Promise((r) => setTimeout(r, 400));
    expect(JSON.parse(await res.text())).toMatchObject({ success: true, result: [{ id: "1" }] });
  });

  it("its answer is a Response whose body reads as the global fetch's: json, arrayBuffer, blob, the stream, once only", async () => {
    // keepAliveFetch reads a body asked for whole straight from Node's stream, and makes a web
    // stream only when `body` is taken; both ways must give what the global fetch gives.
    const reads: [string, (r: Response) => Promise<unknown>][] = [
      ["json", (r) => r.json()],
      ["arrayBuffer", async (r) => Buffer.from(await r.arrayBuffer()).toString("utf8")],
      [
        "blob",
        async (r) => {
          const b = await r.blob();
          return [b.type, await b.text()];
        },
      ],
      [
        "body stream",
        async (r) => {
          let t = "";
          for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) t += Buffer.from(c).toString("utf8");
          return t;
        },
      ],
      [
        "body, then text",
        async (r) => {
          void r.body;
          return r.text();
        },
      ],
      [
        "clone",
        async (r) => {
          const c = r.clone();
          return [await c.text(), await r.text()];
        },
      ],
      [
        "read twice",
        async (r) => {
          await r.text();
          return [r.bodyUsed, await r.text().catch((e: Error) => e.name)];
        },
      ],
      [
        "read after the answer ended",
        async (r) => {
          await new Promise((w) => setTimeout(w, 50));
          return r.json();
        },
      ],
    ];
    for (const [what, read] of reads) {
      const got = [];
      for (const [, f] of fetchers) {
        const r = await f(`${base}/json`);
        got.push({ isResponse: r instanceof Response, used: r.bodyUsed, value: await read(r) });
      }
      expect(got[1], what).toEqual(got[0]);
    }
    const r = await fetchers[1]![1](`${base}/json`);
    expect(await r.json()).toMatchObject({ success: true, result: [{ id: "1" }] });
    expect(r.bodyUsed).toBe(true);
    await expect(r.text()).rejects.toThrow(TypeError);
  });

  it("a body cancelled unread (the SDK before a retry) closes that connection and fails nothing", async () => {
    const f = keepAliveFetch({ timeoutMs: 300 });
    const before = connections;
    const r = await f(`${base}/stall-body`);
    await r.body!.cancel();
    expect(r.status).toBe(200);
    // The stalled connection is gone; the next request needs a new one and is answered.
    const next = await f(`${base}/json`);
    expect(await next.json()).toMatchObject({ success: true });
    expect(connections - before).toBe(2);
  });

  it("a refused connection rejects the request", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    for (const [name, f] of fetchers) {
      const err = await f(`http://127.0.0.1:${port}/`).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(Error);
    }
  });

  it("keeps one connection alive for sequential requests", async () => {
    const f = keepAliveFetch();
    const before = connections;
    for (let i = 0; i < 20; i++) expect((await f(`${base}/json`)).status).toBe(200);
    // Bodies left unread above: the socket is reused once the answer has ended anyway.
    expect(connections - before).toBe(1);
  });
});

function pick(h: http.IncomingHttpHeaders): Record<string, unknown> {
  // The headers the SDK sets and Cloudflare reads; the user-agent and connection headers of
  // the two clients differ by design.
  return {
    authorization: h.authorization,
    "content-type": h["content-type"],
    "content-length": h["content-length"],
    "x-n": h["x-n"],
  };
}

describe("keepAliveFetch over TLS", () => {
  let dir: string;
  let tls: import("node:https").Server;
  let url: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-cf-tls-"));
    // The loopback servers' certificate (made with openssl, for 127.0.0.1 and localhost).
    const { cert, key } = testCertificate();
    await fs.writeFile(path.join(dir, "cert.pem"), cert);
    const https = await import("node:https");
    tls = https.createServer({ key, cert }, (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"success":true}');
    });
    await new Promise<void>((r) => tls.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    tls?.closeAllConnections();
    await new Promise((r) => tls?.close(r));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /**
   * Runs keepAliveFetch in a child process (NODE_EXTRA_CA_CERTS is read at start-up), from the
   * source transpiled into the temp folder, so the test never runs an old build. The module
   * imports only node: built-ins, so it runs there as it is.
   */
  async function child(env: Record<string, string>): Promise<string> {
    const src = await fs.readFile(path.join(root, "providers", "cloudflare", "http-fetch.ts"), "utf8");
    const js = ts.transpileModule(src, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const built = path.join(dir, "http-fetch.mjs");
    await fs.writeFile(built, js);
    const script = `const { keepAliveFetch } = await import(${JSON.stringify(pathToFileURL(built).href)});
try { const r = await keepAliveFetch()(${JSON.stringify(url)}); console.log("status " + r.status + " " + (await r.text())); }
catch (e) { console.log("error " + (e.code ?? e.cause?.code ?? e.name)); }`;
    return new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: "", ...env }, timeout: 30_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout.trim())),
      ),
    );
  }

  it("verifies the server's certificate, and trusts one added with NODE_EXTRA_CA_CERTS", async () => {
    expect(await child({})).toBe("error DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(await child({ NODE_EXTRA_CA_CERTS: path.join(dir, "cert.pem") })).toBe('status 200 {"success":true}');
  });
});
