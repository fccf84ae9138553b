/**
 * How many requests the rfc2136 provider keeps in flight, against the real servers the
 * conformance suite starts (BIND 9, Knot DNS, PowerDNS with dnsupdate): the adaptive limits of
 * providers/rfc2136/limit.ts, read from their own state (counts, never timing), and the bounded
 * tries of reads against loopback servers that only fail.
 */
import dgram from "node:dgram";
import net from "node:net";
import dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRfc2136Provider, type Rfc2136Provider } from "../../../providers/rfc2136/index.js";
import { READ_ATTEMPTS } from "../../../providers/rfc2136/api.js";
import { AdaptiveLimit } from "../../../src/util/adaptive-limit.js";
import { optionsReader } from "../../helpers/options.js";
import { providerFailure } from "../../helpers/records.js";
import type { ConformanceBackend, ConformanceTarget } from "../../conformance/backend.js";
import { knotTarget, powerdnsDnsupdateTarget, rfc2136Target } from "../../conformance/backends/rfc2136.js";
import { cname, create } from "../../helpers/records.js";

const T1 = "selector1-limits-test._domainkey.contoso.onmicrosoft.com";

function make(values: Record<string, unknown>, env: Record<string, string> = {}): Rfc2136Provider {
  return createRfc2136Provider(
    optionsReader("rfc2136", values, env, { provider: "dns", line: 7 }),
    {},
  ) as Rfc2136Provider;
}

describe("the adaptive limit itself", () => {
  it("starts low, grows by one per 8 clean answers up to its ceiling, halves and lowers the ceiling on overload", async () => {
    const limit = new AdaptiveLimit(2, 4);
    for (let i = 0; i < 8; i++) {
      await limit.acquire();
      limit.release("ok");
    }
    expect(limit.state.limit).toBe(3);
    for (let i = 0; i < 40; i++) {
      await limit.acquire();
      limit.release("ok");
    }
    expect(limit.state).toMatchObject({ limit: 4, max: 4 });
    await limit.acquire();
    limit.release("overloaded");
    expect(limit.state).toMatchObject({ limit: 2, max: 2, overloaded: 1 });
    for (let i = 0; i < 40; i++) {
      await limit.acquire();
      limit.release("ok");
    }
    expect(limit.state.limit).toBe(2);
    // A REFUSED or NOTAUTH says nothing about load: no change.
    await limit.acquire();
    limit.release("other");
    expect(limit.state).toMatchObject({ limit: 2, max: 2 });
  });

  it("never has more in flight than the limit, and hands on every slot a grown limit allows", async () => {
    const limit = new AdaptiveLimit(1, 3, 1);
    const order: string[] = [];
    const tasks = Array.from({ length: 12 }, async (_, i) => {
      await limit.acquire();
      order.push(`start ${i}`);
      expect(limit.state.active).toBeLessThanOrEqual(limit.state.limit);
      await new Promise((r) => setImmediate(r));
      limit.release("ok");
    });
    await Promise.all(tasks);
    expect(limit.state.peak).toBe(3);
    expect(order).toHaveLength(12);
  });
});

for (const target of [rfc2136Target, knotTarget, powerdnsDnsupdateTarget] as ConformanceTarget[]) {
  describe(`concurrency against ${target.variant}`, () => {
    let backend: ConformanceBackend;
    const zone = "limits.test";
    beforeAll(async () => {
      backend = await target.start();
      await backend.createZone(zone, []);
    }, 60_000);
    afterAll(async () => {
      await backend?.close();
    });

    const provider = (extra: Record<string, unknown> = {}) =>
      make({ ...backend.providerOptions, ...extra }, backend.env as Record<string, string>);

    it("reads: a query-mode read of 12 names (108 queries) grows past the start of 4, within the ceiling of 32", async () => {
      const p = provider({ transfer: "query" });
      const names = Array.from({ length: 12 }, (_, i) => `selector1._domainkey.d${i}.${zone}`);
      expect(await p.list(zone, names)).toEqual([]);
      const s = p.client.reads.state;
      expect(s.ok).toBe(108);
      expect(s.overloaded).toBe(0);
      expect(s.limit).toBeGreaterThan(4);
      expect(s.peak).toBeGreaterThan(4);
      expect(s.peak).toBeLessThanOrEqual(s.limit);
      expect(s.max).toBe(32);
    });

    it("writes: 16 applies at once start one at a time and grow, never past the ceiling of 4", async () => {
      const p = provider();
      const names = Array.from({ length: 16 }, (_, i) => `selector1._domainkey.w${i}.${zone}`);
      await Promise.all(names.map((n) => p.apply(zone, [create(cname(n, T1))])));
      const s = p.client.writes.state;
      expect(s.ok).toBe(16);
      expect(s.overloaded).toBe(0);
      expect(s.limit).toBeGreaterThanOrEqual(2);
      expect(s.peak).toBeGreaterThanOrEqual(2);
      expect(s.peak).toBeLessThanOrEqual(4);
      const held = (await backend.readZone(zone)).filter((r) => names.includes(r.name));
      expect(held).toHaveLength(16);
    });

    if (target.variant !== "Knot DNS") {
      it("writes: a SERVFAIL from inside the server halves the limit and lowers the ceiling; the UPDATE is sent once", async () => {
        const p = provider();
        // Grow the limit first: 16 clean writes, one after another.
        for (let i = 0; i < 16; i++) await p.apply(zone, [create(cname(`selector2._domainkey.g${i}.${zone}`, T1))]);
        const grown = p.client.writes.state.limit;
        expect(grown).toBe(3);
        await backend.failNextWrite?.(zone);
        const err = await providerFailure(p.apply(zone, [create(cname(`selector2._domainkey.fail.${zone}`, T1))]));
        expect(err.message).toMatch(/SERVFAIL/);
        expect(err.transient).toBe(true);
        expect(p.client.writes.state).toMatchObject({ limit: 1, max: 1, overloaded: 1, ok: 16 });
      });
    }
  });
}

describe("bounded tries on a server that only fails", () => {
  it(`a server answering every query SERVFAIL: ${READ_ATTEMPTS} tries, then a transient error naming SERVFAIL`, async () => {
    const udp = dgram.createSocket("udp4");
    let queries = 0;
    udp.on("message", (msg, rinfo) => {
      queries++;
      const q = dnsPacket.decode(msg);
      udp.send(
        dnsPacket.encode({ type: "response", id: q.id, flags: 2, questions: q.questions }),
        rinfo.port,
        rinfo.address,
      );
    });
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
    try {
      const p = make({ server: `127.0.0.1:${udp.address().port}` });
      const err = await providerFailure(p.zoneOf("limits.test"));
      expect(err.message).toMatch(/\(SERVFAIL\)/);
      expect(err.transient).toBe(true);
      expect(queries).toBe(READ_ATTEMPTS);
      expect(p.client.reads.state).toMatchObject({ overloaded: READ_ATTEMPTS, limit: 1, max: 1 });
    } finally {
      udp.close();
    }
  });

  it(`a server refusing connections: a zone transfer is tried ${READ_ATTEMPTS} times, then a transient error saying so`, async () => {
    // A port that was free a moment ago: nothing listens, so every TCP connect is refused.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const p = make({ server: `127.0.0.1:${port}`, zones: ["limits.test"] });
    const err = await providerFailure(p.list("limits.test", ["selector1._domainkey.limits.test"]));
    expect(err.message).toMatch(
      /^\[dns\] zone limits\.test: zone transfer failed: cannot reach 127\.0\.0\.1:\d+: .*\(3 attempts\)$/,
    );
    expect(err.transient).toBe(true);
    expect(p.client.reads.state).toMatchObject({ overloaded: READ_ATTEMPTS, ok: 0 });
  });

  it("an UPDATE answered SERVFAIL is sent once", async () => {
    const tcp = net.createServer((socket) =>
      socket.once("data", (chunk: Buffer) => {
        updates++;
        const answer = Buffer.alloc(12);
        chunk.copy(answer, 0, 2, 4);
        answer.writeUInt16BE(0x8000 | (5 << 11) | 2, 2);
        socket.end(Buffer.concat([Buffer.from([0, 12]), answer]));
      }),
    );
    let updates = 0;
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (tcp.address() as net.AddressInfo).port;
      const p = make({ server: `127.0.0.1:${port}`, zones: ["limits.test"] });
      const err = await providerFailure(
        p.apply("limits.test", [create(cname("selector1._domainkey.limits.test", T1))]),
      );
      expect(err.message).toMatch(/update failed: the server failed \(SERVFAIL\)/);
      expect(updates).toBe(1);
      expect(p.client.writes.state).toMatchObject({ overloaded: 1, limit: 1, max: 1 });
    } finally {
      tcp.close();
    }
  });
});
