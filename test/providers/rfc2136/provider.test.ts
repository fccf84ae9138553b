import dgram from "node:dgram";
import net from "node:net";
import dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, it, expect, vi } from "vitest";
import { createRfc2136Provider } from "../../../providers/rfc2136/index.js";
import { InputError } from "../../../src/core/errors.js";
import { providerFailure } from "../../helpers/records.js";
import type { OptionsReader } from "../../../src/config/options.js";
import { optionsReader } from "../../helpers/options.js";
import type { Change, Provider, RecordSet } from "../../../src/core/types.js";
import { digAxfr, nsupdate, putRecordSet, startBind, type BindServer, type BindTsig } from "../../servers/bind.js";
import { cname, create, update } from "../../helpers/records.js";

const ZONE = "example.com";
const S1 = "selector1._domainkey.example.com";
const S2 = "selector2._domainkey.example.com";
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";
const LONG_KEY = `v=DKIM1; k=rsa; p=${"M".repeat(400)}`;

function reader(values: Record<string, unknown>, env: Record<string, string> = {}): OptionsReader {
  return optionsReader("rfc2136", values, env, { provider: "bind", line: 7 });
}

function provider(
  server: BindServer,
  opts: { tsig?: BindTsig | null; secret?: string; extra?: Record<string, unknown> } = {},
): Provider {
  const key = opts.tsig === undefined ? server.tsig : opts.tsig;
  const values: Record<string, unknown> = {
    server: `127.0.0.1:${server.port}`,
    zones: [ZONE, "other.test"],
    ...opts.extra,
  };
  if (key) values.tsig = { name: key.name, algorithm: key.algorithm, secret: "env/TSIG_SECRET" };
  return createRfc2136Provider(reader(values, { TSIG_SECRET: opts.secret ?? key?.secret ?? "" }), {});
}

const del = (before: RecordSet): Change => ({
  action: "delete",
  name: before.name,
  type: before.type,
  before,
  after: null,
});

let server: BindServer;
beforeAll(async () => {
  server = await startBind({
    zones: [
      {
        name: ZONE,
        records: [
          { name: "www.example.com", type: "A", ttl: 300, values: ["192.0.2.1"] },
          { name: "selector1._domainkey.sub.example.com", type: "TXT", ttl: 3600, values: [LONG_KEY] },
        ],
      },
      { name: "other.test" },
    ],
  });
});
afterAll(async () => {
  await server?.stop();
});

describe("options", () => {
  it("requires server and names the provider and option", () => {
    expect(() => createRfc2136Provider(reader({}), {})).toThrow(InputError);
    expect(() => createRfc2136Provider(reader({}), {})).toThrow(
      /provider "bind" \(rfc2136\): option "server" is required/,
    );
  });
  it("refuses an inline secret, a non-base64 secret, an unknown algorithm and unknown keys", () => {
    expect(() => createRfc2136Provider(reader({ server: "ns1", tsig: { name: "k", secret: "c2VjcmV0" } }), {})).toThrow(
      /inline secret/,
    );
    expect(() =>
      createRfc2136Provider(reader({ server: "ns1", tsig: { name: "k", secret: "env/S" } }, { S: "no way!" }), {}),
    ).toThrow(/not base64/);
    expect(() =>
      createRfc2136Provider(
        reader({ server: "ns1", tsig: { name: "k", algorithm: "hmac-md5", secret: "env/S" } }, { S: "c2VjcmV0" }),
        {},
      ),
    ).toThrow(/hmac-sha256, hmac-sha512/);
    expect(() => createRfc2136Provider(reader({ server: "ns1", zone: "x" }), {})).toThrow(/"zone" is not an option/);
    expect(() => createRfc2136Provider(reader({ server: "ns1:99999" }), {})).toThrow(
      /option "server" has port 99999, which is not 1-65535/,
    );
  });
  it("declares atomic writes, and whole-zone reads with AXFR", () => {
    const p = provider(server);
    expect(p.capabilities.atomicWrites.can).toBe(true);
    expect(p.capabilities.readsOnlyNames.can).toBe(false);
    expect(provider(server, { extra: { transfer: "query" } }).capabilities.readsOnlyNames.can).toBe(true);
  });
});

describe("zones", () => {
  it("returns the configured zones, canonical", async () => {
    const p = createRfc2136Provider(reader({ server: "127.0.0.1", zones: ["Example.COM.", "b.test"] }), {});
    expect(await p.zones()).toEqual(["b.test", "example.com"]);
  });
  it("says how to configure zones when there are none", async () => {
    const err = await providerFailure(createRfc2136Provider(reader({ server: "127.0.0.1" }), {}).zones());
    expect(err.hint).toMatch(/zones:/);
  });
});

describe.each(["axfr", "query"])("list with transfer: %s", (transfer) => {
  it("returns every type at the asked names only, canonical, TXT strings joined", async () => {
    const p = provider(server, { extra: { transfer } });
    const sets = await p.list(ZONE, [
      "selector1._domainkey.sub.example.com",
      "WWW.example.com.",
      "nothing.example.com",
    ]);
    expect(sets).toEqual([
      { name: "selector1._domainkey.sub.example.com", type: "TXT", ttl: 3600, values: [LONG_KEY] },
      { name: "www.example.com", type: "A", ttl: 300, values: ["192.0.2.1"] },
    ]);
  });
});

describe("apply against named", () => {
  it("creates, updates (target and TTL) and deletes the selector CNAMEs in one UPDATE each", async () => {
    const p = provider(server);
    await p.apply(ZONE, [create(cname(S1, T1)), create(cname(S2, T2))]);
    expect(await digAxfr(server, ZONE)).toEqual(expect.arrayContaining([cname(S1, T1), cname(S2, T2)]));
    expect(await p.list(ZONE, [S1, S2])).toEqual([cname(S1, T1), cname(S2, T2)]);

    const newT1 = "selector1-example-com._domainkey.contoso.y-v1.dkim.mail.microsoft";
    await p.apply(ZONE, [update(cname(S1, T1), cname(S1, newT1)), update(cname(S2, T2), cname(S2, T2, 300))]);
    expect(await p.list(ZONE, [S1, S2])).toEqual([cname(S1, newT1), cname(S2, T2, 300)]);

    await p.apply(ZONE, [del(cname(S1, newT1)), del(cname(S2, T2, 300))]);
    expect(await p.list(ZONE, [S1, S2])).toEqual([]);
    // Foreign records are untouched.
    expect(await digAxfr(server, ZONE)).toContainEqual({
      name: "www.example.com",
      type: "A",
      ttl: 300,
      values: ["192.0.2.1"],
    });
  });

  it("writes and reads back a long, mixed-case TXT exactly (split into 255-octet strings)", async () => {
    const name = "selector2._domainkey.txt.example.com";
    const value = `v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A${"AbC".repeat(120)}`;
    const p = provider(server);
    await p.apply(ZONE, [create({ name, type: "TXT", ttl: 3600, values: [value] })]);
    expect(await digAxfr(server, ZONE)).toContainEqual({ name, type: "TXT", ttl: 3600, values: [value] });
  });

  it("fails a create when the CNAME appeared since it was read (prerequisite: RRset does not exist)", async () => {
    const name = "selector1._domainkey.race1.example.com";
    const p = provider(server);
    expect(await p.list(ZONE, [name])).toEqual([]);
    await putRecordSet(server, ZONE, cname(name, "someone-else.example.net"));
    const err = await providerFailure(p.apply(ZONE, [create(cname(name, T1))]));
    expect(err.message).toMatch(/the records changed since they were read: run plan again \(YXRRSET, signed\)/);
    expect(await digAxfr(server, ZONE)).toContainEqual(cname(name, "someone-else.example.net"));
  });

  it("fails an update when the values changed since they were read (RFC 2136 2.4.2), but not on a TTL change alone", async () => {
    const name = "selector1._domainkey.race2.example.com";
    const p = provider(server);
    await p.apply(ZONE, [create(cname(name, T1))]);
    const [read] = await p.list(ZONE, [name]);
    await putRecordSet(server, ZONE, cname(name, "moved.example.net"));
    const err = await providerFailure(p.apply(ZONE, [update(read as RecordSet, cname(name, T2))]));
    expect(err.message).toMatch(/changed since they were read.*\(NXRRSET, signed\)/);
    expect(err.message).toMatch(/^\[bind\] zone example.com: update failed/);

    await putRecordSet(server, ZONE, cname(name, T1, 60));
    await p.apply(ZONE, [update(read as RecordSet, cname(name, T2))]);
    expect(await p.list(ZONE, [name])).toEqual([cname(name, T2)]);
  });

  it("matches an upper-case CNAME target in the prerequisite (names in RDATA compare case-insensitively)", async () => {
    const name = "selector1._domainkey.upper.example.com";
    await nsupdate(server, ZONE, [`update add ${name}. 3600 CNAME ${T1.toUpperCase()}.`]);
    const p = provider(server);
    const [read] = await p.list(ZONE, [name]);
    expect(read).toEqual(cname(name, T1));
    await p.apply(ZONE, [update(read as RecordSet, cname(name, T2))]);
    expect(await p.list(ZONE, [name])).toEqual([cname(name, T2)]);
  });

  it("deletes a TXT that another tool split into strings differently (the RDATA read is reused)", async () => {
    const name = "selector2._domainkey.split.example.com";
    await nsupdate(server, ZONE, [`update add ${name}. 3600 TXT "v=DKIM1; " "p=abc"`]);
    const p = provider(server);
    const [read] = await p.list(ZONE, [name]);
    expect(read).toEqual({ name, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=abc"] });
    await p.apply(ZONE, [del(read as RecordSet)]);
    expect(await p.list(ZONE, [name])).toEqual([]);
  });

  it("a create at a name that holds data it did not read fails on 'name is not in use' (YXDOMAIN), naming the data; BIND would drop the CNAME silently", async () => {
    const name = "selector1._domainkey.legacy.example.com";
    const other = "selector2._domainkey.legacy.example.com";
    await putRecordSet(server, ZONE, { name, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] });
    const err = await providerFailure(
      provider(server).apply(ZONE, [create(cname(name, T1)), create(cname(other, T2))]),
    );
    expect(err.message).toMatch(
      /update failed: the server answered YXDOMAIN, signed: selector1._domainkey.legacy.example.com holds TXT, written since the plan read the zone; .*RFC 1034 3.6.2\), so nothing was written/,
    );
    expect(err.hint).toMatch(/run plan again: the records show as a conflict/);
    // The update is atomic: the other selector was not written either.
    expect((await digAxfr(server, ZONE)).filter((s) => s.name === name || s.name === other)).toEqual([
      { name, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] },
    ]);
  });

  it("replaces a conflicting TXT with the CNAME in one UPDATE (the --force path)", async () => {
    const name = "selector1._domainkey.forced.example.com";
    const txt = { name, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] };
    await putRecordSet(server, ZONE, txt);
    const p = provider(server);
    const [read] = await p.list(ZONE, [name]);
    await p.apply(ZONE, [
      { ...del(read as RecordSet), reason: "replaced by CNAME (--force)" },
      create(cname(name, T1)),
    ]);
    const zone = await digAxfr(server, ZONE);
    expect(zone.filter((s) => s.name === name)).toEqual([cname(name, T1)]);
  });

  it("reads a zone that takes several AXFR messages (RFC 8945 5.3.1 MAC chaining)", async () => {
    const zone = "big.test";
    const records = Array.from({ length: 1500 }, (_, i) => ({
      name: `r${i}.${zone}`,
      type: "TXT",
      ttl: 60,
      values: [`${i} ${"x".repeat(100)}`],
    }));
    await server.addZone({ name: zone, records });
    const p = createRfc2136Provider(
      reader(
        { server: `127.0.0.1:${server.port}`, zones: [zone], tsig: { name: server.tsig.name, secret: "env/S" } },
        { S: server.tsig.secret },
      ),
      {},
    );
    expect(await p.list(zone, ["r0.big.test", "r1499.big.test"])).toEqual([records[0], records[1499]]);
  });
});

describe("least privilege with update-policy", () => {
  it("works with grants for the two selector names only, and anything else is REFUSED", async () => {
    const zone = "policy.test";
    const s1 = `selector1._domainkey.${zone}`;
    const s2 = `selector2._domainkey.${zone}`;
    await server.addZone({
      name: zone,
      records: [{ name: s1, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] }],
      updatePolicy: [
        `grant ${server.tsig.name} name ${s1}. CNAME TXT`,
        `grant ${server.tsig.name} name ${s2}. CNAME TXT`,
      ],
    });
    const p = createRfc2136Provider(
      reader(
        { server: `127.0.0.1:${server.port}`, zones: [zone], tsig: { name: server.tsig.name, secret: "env/S" } },
        { S: server.tsig.secret },
      ),
      {},
    );
    const [old] = await p.list(zone, [s1]);
    await p.apply(zone, [del(old as RecordSet), create(cname(s1, T1)), create(cname(s2, T2))]);
    expect(await p.list(zone, [s1, s2])).toEqual([cname(s1, T1), cname(s2, T2)]);
    const err = await providerFailure(p.apply(zone, [create(cname(`www.${zone}`, T1))]));
    expect(err.message).toMatch(/REFUSED/);
  });
});

describe("errors from named", () => {
  const change = () => [create(cname("selector1._domainkey.errors.example.com", T1))];

  it("wrong secret: BADSIG", async () => {
    const err = await providerFailure(
      provider(server, { secret: Buffer.alloc(32, 7).toString("base64") }).apply(ZONE, change()),
    );
    expect(err.message).toMatch(
      /the server answered NOTAUTH\/BADSIG, unsigned: it knows key "dkimsync" but the signature did not verify, so tsig.secret is not that key's secret/,
    );
    expect(err.hint).toMatch(/tsig.secret/);
  });

  it("unknown key name: BADKEY", async () => {
    const err = await providerFailure(
      provider(server, { tsig: { ...server.tsig, name: "nobody" } }).apply(ZONE, change()),
    );
    expect(err.message).toMatch(
      /answered NOTAUTH\/BADKEY, unsigned; a signed SOA query for example.com then got NOTAUTH\/BADKEY, unsigned: it does not know key "nobody" with algorithm hmac-sha256/,
    );
    expect(err.hint).toMatch(
      /BIND key "nobody" \{ algorithm hmac-sha256;.*Knot key:.*PowerDNS pdnsutil import-tsig-key/,
    );
    expect(`${err.message} ${err.hint}`).not.toMatch(/tsig.secret/);
  });

  it("this machine's clock 1000 s ahead: BADTIME, saying by how much and which way (RFC 8945 5.2.3: the server's time is in Other Data)", async () => {
    // Only Date is faked: the request is signed with a time 1000 s ahead, as on a skewed machine.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 1_000_000 });
    try {
      const err = await providerFailure(provider(server).apply(ZONE, change()));
      expect(err.message).toMatch(
        /\(NOTAUTH\/BADTIME, signed\): clock skew \(this machine's clock is (99\d|100\d) s ahead of the server's\)/,
      );
      expect(err.hint).toMatch(/synchronise this machine's clock/);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a key the zone does not allow: REFUSED, signed; the key verified, so the settings of each server, not the secret", async () => {
    const err = await providerFailure(provider(server, { tsig: server.otherTsig }).apply(ZONE, change()));
    expect(err.message).toMatch(
      /the server answered REFUSED, signed, though it serves zone example.com and accepts key "other-dkimsync" \(a signed SOA query verified\): the key may not update the zone/,
    );
    expect(err.hint).toMatch(
      /BIND: allow-update \{ key "other-dkimsync"; \};.*Knot: an acl with key: other-dkimsync and action: update.*PowerDNS: pdnsutil set-meta example.com TSIG-ALLOW-DNSUPDATE other-dkimsync/,
    );
    expect(`${err.message} ${err.hint}`).not.toMatch(/tsig.secret/);
  });

  it("an unsigned update: REFUSED, asking for a key", async () => {
    const err = await providerFailure(provider(server, { tsig: null }).apply(ZONE, change()));
    expect(err.message).toMatch(
      /answered REFUSED: the request was not signed, and the server takes no unsigned update for zone example.com/,
    );
    expect(err.hint).toMatch(/tsig:/);
  });

  it("a zone transfer with a key that may not transfer: REFUSED, with the allow-transfer line", async () => {
    const err = await providerFailure(provider(server, { tsig: server.otherTsig }).list(ZONE, [S1]));
    expect(err.message).toMatch(
      /zone transfer failed: the server answered REFUSED, signed, though it serves zone example.com and accepts key "other-dkimsync".*: the key may not transfer the zone/,
    );
    expect(err.hint).toMatch(
      /allow-transfer \{ key "other-dkimsync"; \};.*TSIG-ALLOW-AXFR other-dkimsync.*or set transfer: query/,
    );
  });

  it("a zone the server does not serve: NOTAUTH", async () => {
    const err = await providerFailure(
      provider(server).apply("not-here.test", [create(cname("selector1._domainkey.not-here.test", T1))]),
    );
    expect(err.message).toMatch(
      /answered NOTAUTH, signed, and REFUSED, signed to an SOA query for not-here.test: it does not serve zone not-here.test, so no zone at provider "bind" contains not-here.test/,
    );
  });

  it("a failure inside the server after it received the UPDATE: SERVFAIL, transient, nothing written", async () => {
    const a = "selector1._domainkey.atomic.example.com";
    const b = "selector2._domainkey.atomic.example.com";
    server.failNextUpdate(ZONE);
    const err = await providerFailure(provider(server).apply(ZONE, [create(cname(a, T1)), create(cname(b, T2))]));
    await server.trapsFired();
    expect(err.message).toMatch(/the server failed \(SERVFAIL, signed\)/);
    expect(err.transient).toBe(true);
    expect((await digAxfr(server, ZONE)).filter((s) => s.name === a || s.name === b)).toEqual([]);
    await provider(server).apply(ZONE, [create(cname(a, T1)), create(cname(b, T2))]);
    expect(await provider(server).list(ZONE, [a, b])).toEqual([cname(a, T1), cname(b, T2)]);
  });

  it("a zone transfer that fails after its first message is an error, not a partial zone", async () => {
    // A loopback server speaking DNS over TCP: the first AXFR message opens with the SOA and holds
    // a TXT at the selector name, the second says SERVFAIL. Reading only the first would hide the
    // TXT and plan a CNAME create next to it.
    const soa: dnsPacket.Answer = {
      name: ZONE,
      type: "SOA",
      ttl: 60,
      data: {
        mname: `ns1.${ZONE}`,
        rname: `hostmaster.${ZONE}`,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: 60,
      },
    };
    const fake = net.createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        const q = dnsPacket.decode(chunk.subarray(2));
        const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
        socket.write(
          frame(
            dnsPacket.encode({
              type: "response",
              id: q.id,
              flags: dnsPacket.AUTHORITATIVE_ANSWER,
              questions: q.questions,
              answers: [soa, { name: S1, type: "TXT", ttl: 3600, data: "v=DKIM1; p=old" }],
            }),
          ),
        );
        socket.write(
          frame(
            dnsPacket.encode({
              type: "response",
              id: q.id,
              flags: dnsPacket.AUTHORITATIVE_ANSWER | 2,
              questions: q.questions,
            }),
          ),
        );
      });
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (fake.address() as net.AddressInfo).port;
      const p = createRfc2136Provider(reader({ server: `127.0.0.1:${port}`, zones: [ZONE], timeout_ms: 2000 }), {});
      const err = await providerFailure(p.list(ZONE, [S1]));
      expect(err.message).toMatch(/zone transfer failed: the server failed \(SERVFAIL\)/);
    } finally {
      fake.close();
    }
  });

  it("a refusal the follow-up SOA query cannot explain (it times out): every cause that fits, no guess", async () => {
    // A loopback server: TCP answers any request with a bare REFUSED header (QR, opcode UPDATE,
    // RCODE 5); UDP never answers, so the SOA probe times out.
    const tcp = net.createServer((socket) =>
      socket.once("data", (chunk: Buffer) => {
        const answer = Buffer.alloc(12);
        chunk.copy(answer, 0, 2, 4);
        answer.writeUInt16BE(0x8000 | (5 << 11) | 5, 2);
        socket.end(Buffer.concat([Buffer.from([0, 12]), answer]));
      }),
    );
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
    const port = (tcp.address() as net.AddressInfo).port;
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((r) => silent.bind(port, "127.0.0.1", () => r()));
    try {
      const p = createRfc2136Provider(reader({ server: `127.0.0.1:${port}`, zones: [ZONE], timeout_ms: 200 }), {});
      const err = await providerFailure(p.apply(ZONE, [create(cname(S1, T1))]));
      expect(err.message).toMatch(
        /update failed: the server answered REFUSED, and no usable answer \(no answer from 127.0.0.1:\d+ within 200 ms \(UDP\) \(3 attempts\)\) to an SOA query for example.com, which does not tell why; it may be that the server does not serve zone example.com, or it takes no unsigned requests, or the key may not update the zone/,
      );
      expect(err.hint).toMatch(/configure tsig:.*BIND: allow-update/);
    } finally {
      silent.close();
      tcp.close();
    }
  });

  it("a server that takes UDP and TCP but never answers: every operation ends within timeout_ms, naming provider, zone and operation", async () => {
    // A silent UDP socket and a TCP listener on the same port that accepts and reads, never writes.
    const tcp = net.createServer((socket) => socket.on("data", () => {}));
    await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", () => r()));
    const port = (tcp.address() as net.AddressInfo).port;
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((r) => silent.bind(port, "127.0.0.1", () => r()));
    const open = new Set<net.Socket>();
    tcp.on("connection", (s) => open.add(s));
    try {
      const make = (transfer: string) =>
        createRfc2136Provider(
          reader(
            {
              server: `127.0.0.1:${port}`,
              zones: [ZONE],
              transfer,
              timeout_ms: 200,
              tsig: { name: "k", secret: "env/S" },
            },
            { S: server.tsig.secret },
          ),
          {},
        );
      const cases: [string, () => Promise<unknown>, RegExp][] = [
        [
          "update",
          () => make("axfr").apply(ZONE, [create(cname(S1, T1))]),
          /^\[bind\] zone example.com: update failed: no complete answer from 127.0.0.1:\d+ within 200 ms \(TCP\)/,
        ],
        [
          "axfr",
          () => make("axfr").list(ZONE, [S1]),
          /^\[bind\] zone example.com: zone transfer failed: no complete answer from 127.0.0.1:\d+ within 200 ms \(TCP\)/,
        ],
        [
          "query",
          () => make("query").list(ZONE, [S1]),
          /^\[bind\] zone example.com: query \w+ selector1._domainkey.example.com failed: no (complete )?answer from 127.0.0.1:\d+ within 200 ms/,
        ],
      ];
      for (const [, run, message] of cases) {
        const err = await providerFailure(run());
        expect(err.transient).toBe(true);
        expect(err.message).toMatch(message);
        expect(err.hint).toMatch(/timeout_ms/);
      }
      // Every TCP connection dkimsync opened was closed by dkimsync when its time ran out.
      await new Promise((r) => setTimeout(r, 50));
      expect(open.size).toBeGreaterThan(0);
      expect([...open].every((s) => s.destroyed || s.readableEnded)).toBe(true);
    } finally {
      silent.close();
      tcp.close();
    }
  });
});
