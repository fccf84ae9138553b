/**
 * The powerdns provider reads search-data answers element by element as they arrive
 * (`ListScanner`), so a 10,000-zone answer is never held whole. These tests split answers at
 * every byte, put the characters the scanner must step over (quotes, backslashes, brackets,
 * multi-byte UTF-8) inside strings, and send bad answers over a real loopback HTTP server to
 * the real client: each must end in the same clear error as a whole-text parse gave.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ListScanner, PdnsClient } from "../../providers/powerdns/api.js";
import { ProviderError } from "../../src/core/errors.js";

/** Feeds `text` to a scanner in pieces cut at `cuts` (byte offsets); returns what it parsed. */
function scan(text: string, cuts: number[] = []): unknown[] {
  const bytes = Buffer.from(text, "utf8");
  const items: unknown[] = [];
  const s = new ListScanner((item) => items.push(item));
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    expect(s.push(bytes.subarray(from, cut))).toBeUndefined();
    from = cut;
  }
  s.end();
  return items;
}

const records = [
  { object_type: "record", name: 'a"b}\\.example.', content: '"v=DKIM1; p=}{][\\"\\\\"', ttl: 1, disabled: false },
  // Strings that end in backslashes (an even run before the closing quote) and hold only one.
  { object_type: "record", name: "ü.example.", content: "ëxämple — ✓ 😀 \\", ttl: 2, disabled: true, x: "\\\\" },
  { object_type: "record", name: "\\", content: "", ttl: 3, disabled: false },
  { object_type: "zone", name: "x.example.", nested: { a: [1, { b: "}" }] } },
];

describe("ListScanner", () => {
  it("parses every element of a list, whatever byte the chunks are cut at", () => {
    const text = ` \n[ ${JSON.stringify(records[0])} ,\n${records
      .slice(1)
      .map((r) => JSON.stringify(r))
      .join(",")} ] \n`;
    const n = Buffer.byteLength(text);
    expect(scan(text)).toEqual(records);
    for (let cut = 0; cut <= n; cut++) expect(scan(text, [cut])).toEqual(records);
    // One byte at a time: every element, and every multi-byte character, split everywhere.
    expect(
      scan(
        text,
        Array.from({ length: n }, (_, i) => i),
      ),
    ).toEqual(records);
  });

  it("reads an empty list as no elements", () => {
    expect(scan("[]")).toEqual([]);
    expect(scan(" [ \n ] ", [2, 4])).toEqual([]);
  });

  it("hands back what is not a list, for the caller to keep as text", () => {
    const s = new ListScanner(() => {
      throw new Error("no element expected");
    });
    expect(s.push(Buffer.from("  "))).toBeUndefined();
    expect(s.push(Buffer.from(' {"error": "x"}'))?.toString()).toBe('{"error": "x"}');
    expect(s.push(Buffer.from(" more"))?.toString()).toBe(" more");
    expect(s.streaming).toBe(false);
  });

  it("refuses a list that is cut short, has data after it, holds a non-object, or invalid JSON", () => {
    expect(() => scan(`[${JSON.stringify(records[0])}`)).toThrow(SyntaxError);
    expect(() => scan(`[${JSON.stringify(records[0])},`)).toThrow(SyntaxError);
    expect(() => scan("[] x")).toThrow(SyntaxError);
    expect(() => scan("[1]")).toThrow(/not an object/);
    expect(() => scan('["a"]')).toThrow(/not an object/);
    expect(() => scan("[{nope}]")).toThrow(SyntaxError);
  });
});

describe("PdnsClient.searchEach against a loopback HTTP server", () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A server that answers every request with `body` in the given pieces, a pause between. */
  async function serve(status: number, pieces: string[]): Promise<string> {
    server = http.createServer(async (_req, res) => {
      res.writeHead(status, { "Content-Type": "application/json", Connection: "close" });
      for (const p of pieces) {
        res.write(p);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      res.end();
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const client = (url: string) =>
    new PdnsClient({ provider: "pdns", url, apiKey: "k", serverId: "localhost", timeoutMs: 2000, maxAttempts: 1 });

  it("hands each record to the sink, skips other objects, and counts only records", async () => {
    const body = JSON.stringify(records);
    const url = await serve(200, [body.slice(0, 7), body.slice(7, 80), body.slice(80)]);
    const got: unknown[] = [];
    const n = await client(url).searchEach("selector1._domainkey.*", 10, () => (r) => got.push(r));
    expect(n).toBe(3);
    expect(got).toEqual(records.slice(0, 3));
    expect(await client(url).search("x", 10)).toEqual(records.slice(0, 3));
  });

  for (const [what, pieces, message] of [
    ["an object", ['{"result": ', "[]}"], "[pdns] search-data answered something that is not a list"],
    ["an empty body", [], "[pdns] search-data answered something that is not a list"],
    ["a list of numbers", ["[1, 2]"], "[pdns] search-data answered something that is not a list"],
    ["an HTML page", ["<html>", "</html>"], "answered 200 with something that is not JSON (search records)"],
    [
      "a list cut short",
      ['[{"object_type": "record"', "}, {"],
      "answered 200 with something that is not JSON (search records)",
    ],
  ] as const) {
    it(`ends in a clear error, not a stack trace, when search-data answers ${what}`, async () => {
      const url = await serve(200, [...pieces]);
      const err = await client(url)
        .searchEach("x", 10, () => () => {})
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toContain(message);
      expect((err as ProviderError).hint).toContain("PowerDNS webserver");
    });
  }

  it("starts a new sink for each attempt, so a retried search does not count a record twice", async () => {
    let calls = 0;
    server = http.createServer((_req, res) => {
      calls++;
      res.writeHead(200, { "Content-Type": "application/json" });
      // The first answer breaks off after one record (the connection is reset); the second is whole.
      if (calls === 1) {
        res.write(`[${JSON.stringify(records[0])},`);
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.end(JSON.stringify(records.slice(0, 2)));
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sinks: unknown[][] = [];
    const c = new PdnsClient({
      provider: "pdns",
      url,
      apiKey: "k",
      serverId: "localhost",
      timeoutMs: 2000,
      maxAttempts: 3,
    });
    const n = await c.searchEach("x", 10, () => {
      const got: unknown[] = [];
      sinks.push(got);
      return (r) => got.push(r);
    });
    expect(calls).toBe(2);
    expect(n).toBe(2);
    expect(sinks.map((s) => s.length)).toEqual([1, 2]);
  });
});
