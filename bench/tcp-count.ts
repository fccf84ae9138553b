/**
 * A counting TCP relay in front of an HTTP server that closes every connection after one
 * answer (PowerDNS 4.7 does: `Connection: close`, observed on 4.7.3). It reads only the request
 * line of each connection, to count requests by kind, and can keep PATCH bodies so the bench
 * can send the same writes again bare. Bytes are piped through unchanged, so its cost is a
 * socket hop, not an HTTP parse.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface CountingRelay {
  url: string;
  counts: Map<string, number>;
  /** `PATCH` requests seen while keepPatches is on: path and body. */
  patches: { path: string; body: Buffer }[];
  /** The request line of every request: method and path. */
  lines: { method: string; path: string }[];
  keepPatches: boolean;
  take(): Record<string, number>;
  close(): Promise<void>;
}

export function kindOf(method: string, path: string): string {
  const p = path.split("?")[0] ?? "";
  if (p.endsWith("/search-data")) return "GET search";
  if (/\/zones\/[^/]+$/.test(p)) return `${method} zone`;
  if (/\/zones$/.test(p)) return `${method} zones`;
  return `${method} other`;
}

export async function startCountingRelay(targetUrl: string): Promise<CountingRelay> {
  const target = new URL(targetUrl);
  const relay: CountingRelay = {
    url: "",
    counts: new Map(),
    patches: [],
    lines: [],
    keepPatches: false,
    take() {
      const out = Object.fromEntries([...relay.counts.entries()].sort());
      relay.counts.clear();
      return out;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    let head = Buffer.alloc(0);
    let counted = false;
    let patch: { path: string; body: Buffer; length: number } | undefined;
    client.on("data", (chunk: Buffer) => {
      upstream.write(chunk);
      if (patch) {
        patch.body = Buffer.concat([patch.body, chunk]);
      } else if (!counted) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        counted = true;
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        const [method = "?", path = "/"] = (lines[0] ?? "").split(" ");
        relay.lines.push({ method, path });
        const k = kindOf(method, path);
        relay.counts.set(k, (relay.counts.get(k) ?? 0) + 1);
        if (method === "PATCH" && relay.keepPatches) {
          const length = Number(lines.find((l) => /^content-length:/i.test(l))?.split(":")[1] ?? 0);
          patch = { path, body: head.subarray(end + 4), length };
        }
      }
      if (patch && patch.body.length >= patch.length) {
        relay.patches.push({ path: patch.path, body: patch.body.subarray(0, patch.length) });
        patch = { ...patch, length: Number.POSITIVE_INFINITY };
      }
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    upstream.on("end", () => client.end());
    client.on("end", () => upstream.end());
    upstream.on("error", done);
    client.on("error", done);
    client.on("close", done);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return relay;
}
