/**
 * A loopback HTTP proxy in front of a test server's API, for what the real server cannot do on
 * demand: count requests by kind, rewrite a request body (to make the real server fail a write
 * it has received), or answer a request itself (an injected error that never reaches the
 * server). Other responses pass through unchanged.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ProxyOptions {
  /** Called for every request before it is forwarded; may return a replacement body. */
  onRequest?: (method: string, url: string, body: Buffer | null) => Buffer | null | undefined;
  /** Called first for every request; an answer it returns is sent as JSON instead of forwarding. */
  answer?: (method: string, url: string) => { status: number; body: unknown } | undefined;
}

export interface HttpProxy {
  url: string;
  close(): Promise<void>;
}

export async function startHttpProxy(target: string, opts: ProxyOptions = {}): Promise<HttpProxy> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const method = req.method ?? "GET";
        const url = req.url ?? "/";
        const own = opts.answer?.(method, url);
        if (own !== undefined) {
          res.writeHead(own.status, { "content-type": "application/json" });
          res.end(JSON.stringify(own.body));
          return;
        }
        const received = chunks.length > 0 ? Buffer.concat(chunks) : null;
        const body = opts.onRequest?.(method, url, received) ?? received;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) {
          if (typeof v === "string" && !["host", "content-length", "connection"].includes(k)) headers[k] = v;
        }
        const upstream = await fetch(`${target}${url}`, { method, headers, body });
        const answer = Buffer.from(await upstream.arrayBuffer());
        const type = upstream.headers.get("content-type");
        res.writeHead(upstream.status, type === null ? {} : { "content-type": type });
        res.end(answer);
      })().catch((err: unknown) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `proxy: ${String(err)}` }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
