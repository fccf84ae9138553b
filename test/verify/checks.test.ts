/**
 * verify and headers --verify against a real PowerDNS (test/servers/pdns.ts) on loopback. The
 * same server is both the authoritative server and the "resolver": PowerDNS answers CNAME and
 * TXT questions for every zone it hosts and follows CNAMEs across its own zones.
 */
import { generateKeyPairSync, randomInt } from "node:crypto";
import dgram from "node:dgram";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headersCommand } from "../../src/commands/headers.js";
import { verifyCommand } from "../../src/commands/verify.js";
import { loadConfig } from "../../src/config/load.js";
import {
  parseHostPort,
  queryAuthoritative,
  verifyConfig,
  type Check,
  type VerifyReport,
} from "../../src/verify/checks.js";
import type { RecordSet } from "../../src/core/types.js";
import { createZone, startPowerDns, type PdnsServer } from "../servers/pdns.js";
import { freePort } from "../servers/ports.js";

const TENANT = "contoso.onmicrosoft.com";
const target = (sel: string, domain: string) => `${sel}-${domain.replace(/\./g, "-")}._domainkey.${TENANT}`;

function rsa(bits: number) {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return {
    p: publicKey.export({ format: "der", type: "spki" }).toString("base64"),
    pem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
  };
}

const KEY2048 = rsa(2048);
const KEY1024 = rsa(1024);
const KEY_REVOKED_SIGNER = rsa(2048);

function cnames(domain: string, opts: { ttl2?: number; target1?: string } = {}): RecordSet[] {
  return [
    {
      name: `selector1._domainkey.${domain}`,
      type: "CNAME",
      ttl: 3600,
      values: [opts.target1 ?? target("selector1", domain)],
    },
    {
      name: `selector2._domainkey.${domain}`,
      type: "CNAME",
      ttl: opts.ttl2 ?? 3600,
      values: [target("selector2", domain)],
    },
  ];
}

const txt = (name: string, value: string): RecordSet => ({ name, type: "TXT", ttl: 3600, values: [value] });

let server: PdnsServer;
let dir: string;
let configFile: string;
const io = () => {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s), color: false },
  };
};

beforeAll(async () => {
  server = await startPowerDns();
  // good.test: right CNAMEs; selector1 (active per signing_config) has a 2048-bit key, selector2 none yet.
  await createZone(server, "good.test", cnames("good.test"));
  // mixed.test: selector1 points elsewhere, selector2 has TTL 300; keys 1024-bit and testing.
  await createZone(
    server,
    "mixed.test",
    cnames("mixed.test", { ttl2: 300, target1: "selector1-other-test._domainkey.fabrikam.onmicrosoft.com" }),
  );
  await createZone(server, "revoked.test", cnames("revoked.test"));
  await createZone(server, "nokeys.test", cnames("nokeys.test"));
  // oldkey.test: an on-premises TXT key where the CNAME should be.
  await createZone(server, "oldkey.test", [
    txt("selector1._domainkey.oldkey.test", `v=DKIM1; k=rsa; p=${KEY1024.p}`),
    cnames("oldkey.test")[1] as RecordSet,
  ]);
  await createZone(server, "gone.test", []);
  // hashes.test: keys that limit their hash algorithms (h=).
  await createZone(server, "hashes.test", cnames("hashes.test"));
  await createZone(server, TENANT, [
    txt(target("selector1", "good.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
    txt(target("selector1", "mixed.test"), `v=DKIM1; k=rsa; p=${KEY1024.p}`),
    txt(target("selector2", "mixed.test"), `v=DKIM1; k=rsa; t=y; p=${KEY2048.p}`),
    txt(target("selector1", "revoked.test"), "v=DKIM1; k=rsa; p="),
    txt(target("selector2", "revoked.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
    txt(target("selector1", "hashes.test"), `v=DKIM1; k=rsa; h=sha1; p=${KEY2048.p}`),
    txt(target("selector2", "hashes.test"), `v=DKIM1; k=rsa; h=sha1:SHA256; p=${KEY2048.p}`),
  ]);

  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-verify-"));
  await fs.mkdir(path.join(dir, "zones"));
  await fs.writeFile(
    path.join(dir, "dkim.json"),
    JSON.stringify([
      {
        Domain: "good.test",
        Selector1CNAME: target("selector1", "good.test"),
        Selector2CNAME: target("selector2", "good.test"),
        Selector1KeySize: 2048,
        Selector2KeySize: 2048,
        Enabled: true,
        Status: "Valid",
        RotateOnDate: "2025-01-01T00:00:00Z",
        SelectorBeforeRotateOnDate: "selector2",
        SelectorAfterRotateOnDate: "selector1",
      },
    ]),
  );
  const domain = (d: string) => [
    `  ${d}:`,
    "    provider: zones",
    `    selector1: ${target("selector1", d)}`,
    `    selector2: ${target("selector2", d)}`,
  ];
  configFile = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(
    configFile,
    [
      "signing_config: dkim.json",
      "providers:",
      "  zones:",
      "    type: yaml",
      "    directory: ./zones",
      "domains:",
      "  good.test:",
      "    provider: zones",
      ...domain("mixed.test"),
      ...domain("revoked.test"),
      ...domain("nokeys.test"),
      ...domain("oldkey.test"),
      ...domain("hashes.test"),
      "  gone.test:",
      "    provider: zones",
      "    ensure: absent",
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  await server?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const dnsAt = () => `127.0.0.1:${server.dnsPort}`;

async function run(domains?: string[]): Promise<VerifyReport> {
  const hp = parseHostPort(dnsAt(), "--nameserver");
  return verifyConfig(loadConfig(configFile), {
    nameserver: hp,
    resolver: hp,
    ...(domains ? { domains } : {}),
    now: new Date("2025-06-01T00:00:00Z"),
  });
}

function statuses(report: VerifyReport, domain: string): Record<string, string> {
  const d = report.domains.find((x) => x.domain === domain);
  if (!d) throw new Error(`${domain} not in the report`);
  return Object.fromEntries(d.checks.map((c: Check) => [c.check, c.status]));
}

function message(report: VerifyReport, domain: string, check: string): string {
  return report.domains.find((x) => x.domain === domain)?.checks.find((c) => c.check === check)?.message ?? "";
}

describe("queryAuthoritative (dns-packet over UDP, TCP after truncation)", () => {
  it("reads the CNAME with its TTL, and tells NXDOMAIN from REFUSED", async () => {
    const hp = parseHostPort(dnsAt(), "x");
    const a = await queryAuthoritative(hp, "selector2._domainkey.mixed.test", "CNAME");
    expect(a).toMatchObject({
      rcode: "NOERROR",
      aa: true,
      records: [{ type: "CNAME", ttl: 300, data: target("selector2", "mixed.test") }],
    });
    expect((await queryAuthoritative(hp, "selector1._domainkey.gone.test", "CNAME")).rcode).toBe("NXDOMAIN");
    expect((await queryAuthoritative(hp, "selector1._domainkey.elsewhere.example", "CNAME")).rcode).toBe("REFUSED");
  });
});

describe("verify against PowerDNS", () => {
  let report: VerifyReport;
  beforeAll(async () => {
    report = await run();
  });

  it("passes a correct domain; the missing key behind the inactive selector is info; signing config is Valid", () => {
    expect(statuses(report, "good.test")).toEqual({
      "selector1 cname (authoritative)": "pass",
      "selector1 cname (resolver)": "pass",
      "selector2 cname (authoritative)": "pass",
      "selector2 cname (resolver)": "pass",
      "selector1 key": "pass",
      "selector2 key": "info",
      "signing config": "pass",
    });
    expect(report.domains.find((d) => d.domain === "good.test")?.activeSelector).toBe("selector1");
    expect(message(report, "good.test", "selector1 key")).toMatch(/rsa 2048-bit key .*\(active\)/);
    expect(message(report, "good.test", "signing config")).toMatch(/last rotation 2025-01-01/);
  });

  it("fails a wrong target, warns on a wrong TTL, a 1024-bit key and a testing key", () => {
    expect(statuses(report, "mixed.test")).toMatchObject({
      "selector1 cname (authoritative)": "fail",
      "selector1 cname (resolver)": "fail",
      "selector2 cname (authoritative)": "warn",
      "selector2 cname (resolver)": "pass",
      "selector1 key": "warn",
      "selector2 key": "warn",
      "signing config": "info",
    });
    expect(message(report, "mixed.test", "selector1 cname (authoritative)")).toMatch(
      /points to selector1-other-test\._domainkey\.fabrikam\.onmicrosoft\.com/,
    );
    expect(message(report, "mixed.test", "selector2 cname (authoritative)")).toMatch(/TTL 300, expected 3600/);
    expect(message(report, "mixed.test", "selector1 key")).toMatch(/1024-bit/);
    expect(message(report, "mixed.test", "selector2 key")).toMatch(/t=y/);
  });

  it("fails a revoked key", () => {
    expect(statuses(report, "revoked.test")).toMatchObject({ "selector1 key": "fail", "selector2 key": "pass" });
    expect(message(report, "revoked.test", "selector1 key")).toMatch(/revoked/);
  });

  it("fails a key whose h= excludes sha256, the hash Microsoft 365 signs with", () => {
    expect(statuses(report, "hashes.test")).toMatchObject({ "selector1 key": "fail", "selector2 key": "pass" });
    expect(message(report, "hashes.test", "selector1 key")).toMatch(/h=sha1 excludes sha256/);
  });

  it("warns when neither selector has a key and the active one is unknown", () => {
    expect(statuses(report, "nokeys.test")).toMatchObject({
      "selector1 key": "warn",
      "selector2 key": "warn",
      "selector1 cname (authoritative)": "pass",
    });
    expect(message(report, "nokeys.test", "selector1 key")).toMatch(/DKIM not yet enabled in Microsoft 365\?/);
  });

  it("reports a TXT record at the selector name as wrong, not as missing", () => {
    expect(statuses(report, "oldkey.test")["selector1 cname (authoritative)"]).toBe("fail");
    expect(message(report, "oldkey.test", "selector1 cname (authoritative)")).toMatch(
      /a TXT record is published there/,
    );
  });

  it("passes ensure: absent when both names are gone", () => {
    expect(statuses(report, "gone.test")).toEqual({
      "selector1 cname (authoritative)": "pass",
      "selector1 cname (resolver)": "pass",
      "selector2 cname (authoritative)": "pass",
      "selector2 cname (resolver)": "pass",
    });
  });

  it("counts the summary over every check", () => {
    const all = report.domains.flatMap((d) => d.checks);
    expect(report.summary).toEqual({
      pass: all.filter((c) => c.status === "pass").length,
      warn: all.filter((c) => c.status === "warn").length,
      info: all.filter((c) => c.status === "info").length,
      fail: all.filter((c) => c.status === "fail").length,
    });
    expect(report.summary.fail).toBeGreaterThan(0);
  });
});

describe("verifyCommand exit codes", () => {
  it("exits 0 when every check of the chosen domains passes (info and warnings allowed)", async () => {
    const { out, io: sink } = io();
    const code = await verifyCommand(
      {
        config: configFile,
        domains: ["GOOD.test."],
        nameserver: dnsAt(),
        resolver: dnsAt(),
        format: "json",
        now: new Date("2025-06-01T00:00:00Z"),
      },
      sink,
    );
    expect(code).toBe(0);
    const json = JSON.parse(out.stdout) as {
      version: number;
      domains: { domain: string }[];
      summary: Record<string, number>;
    };
    expect(json.version).toBe(1);
    expect(json.domains.map((d) => d.domain)).toEqual(["good.test"]);
    expect(json.summary.fail).toBe(0);
  });

  it("exits 2 when a check fails, and prints a text and a markdown report", async () => {
    const text = io();
    expect(
      await verifyCommand(
        { config: configFile, domains: [], nameserver: dnsAt(), resolver: dnsAt(), format: "text" },
        text.io,
      ),
    ).toBe(2);
    expect(text.out.stdout).toMatch(/✗ fail\s+selector1 cname \(authoritative\)\s+points to/);
    const md = io();
    expect(
      await verifyCommand(
        { config: configFile, domains: ["mixed.test"], nameserver: dnsAt(), resolver: dnsAt(), format: "markdown" },
        md.io,
      ),
    ).toBe(2);
    expect(md.out.stdout).toMatch(/^### ❌ dkimsync verify/);
    expect(md.out.stdout).toMatch(/\| ❌ \| selector1 cname \(authoritative\) \|/);
  });

  it("throws for a domain that is not configured", async () => {
    await expect(
      verifyCommand(
        { config: configFile, domains: ["other.test"], nameserver: dnsAt(), resolver: dnsAt(), format: "text" },
        io().io,
      ),
    ).rejects.toThrow(/--domain other.test is not configured/);
  });

  it("exits 1 when the resolver and nameserver do not answer at all", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const { out, io: sink } = io();
    const code = await verifyCommand(
      { config: configFile, domains: ["good.test"], nameserver: dead, resolver: dead, format: "text", timeoutMs: 300 },
      sink,
    );
    expect(code).toBe(1);
    expect(out.stderr).toMatch(/could not verify: the resolver 127\.0\.0\.1:\d+ did not answer/);
  });
});

describe("--resolver given as a host name", () => {
  // node:dns Resolver#setServers takes IP addresses only; a name used to crash with
  // "internal error: Invalid IP address". /etc/hosts maps localhost to loopback.
  it("verify looks the name up and asks its address", async () => {
    const { out, io: sink } = io();
    const code = await verifyCommand(
      {
        config: configFile,
        domains: ["good.test"],
        nameserver: dnsAt(),
        resolver: `localhost:${server.dnsPort}`,
        format: "json",
        now: new Date("2025-06-01T00:00:00Z"),
      },
      sink,
    );
    const json = JSON.parse(out.stdout) as { domains: { checks: Check[] }[] };
    expect(json.domains[0]?.checks.find((c) => c.check === "selector1 cname (resolver)")?.status).toBe("pass");
    expect(code).toBe(0);
  });
});

describe("verify: published but not yet visible", () => {
  it("warns (not fails) when the resolver has not seen the record yet", async () => {
    const stale = await startPowerDns({ zones: { "good.test": [] } });
    try {
      const r = await verifyConfig(loadConfig(configFile), {
        domains: ["good.test"],
        nameserver: parseHostPort(dnsAt(), "--nameserver"),
        resolver: { host: "127.0.0.1", port: stale.dnsPort },
        now: new Date("2025-06-01T00:00:00Z"),
      });
      expect(statuses(r, "good.test")["selector1 cname (authoritative)"]).toBe("pass");
      expect(statuses(r, "good.test")["selector1 cname (resolver)"]).toBe("warn");
      expect(message(r, "good.test", "selector1 cname (resolver)")).toMatch(/not yet visible/);
    } finally {
      await stale.stop();
    }
  });
});

describe("headers --verify against PowerDNS", () => {
  const body = "Hello,\r\n\r\nThe numbers are attached.\r\n";
  const head =
    "From: Adele <adele@good.test>\r\nTo: bob@example.org\r\nSubject: Numbers\r\nDate: Sun, 01 Jun 2025 00:00:00 +0000\r\nMessage-ID: <1@good.test>\r\n";

  async function signed(domain: string, pem: string): Promise<string> {
    const msg = head.replace(/good\.test/g, domain) + "\r\n" + body;
    // mailauth 4.13 signs only what is listed in signatureData; the top-level fields are the type's.
    const key = { signingDomain: domain, selector: "selector1", privateKey: pem, canonicalization: "relaxed/relaxed" };
    const res = await dkimSign(msg, { ...key, signatureData: [key] });
    expect(res.errors).toEqual([]);
    expect(res.signatures.match(/^DKIM-Signature:/gm)).toHaveLength(1);
    return res.signatures + msg;
  }

  async function check(
    message: string,
  ): Promise<{ code: number; json: { verified: { result: string; domain: string; comment?: string }[] } }> {
    const file = path.join(dir, `m-${Math.random().toString(36).slice(2)}.eml`);
    await fs.writeFile(file, message);
    const { out, io: sink } = io();
    const code = await headersCommand(
      { message: file, config: configFile, verify: true, resolver: dnsAt(), format: "json" },
      sink,
    );
    return { code, json: JSON.parse(out.stdout) };
  }

  it("passes a message signed with the published key", async () => {
    const { code, json } = await check(await signed("good.test", KEY2048.pem));
    expect(json.verified).toMatchObject([{ result: "pass", domain: "good.test" }]);
    expect(code).toBe(0);
  });

  it("fails when the body was changed after signing", async () => {
    const { code, json } = await check((await signed("good.test", KEY2048.pem)).replace("attached", "ATTACHED"));
    expect(json.verified).toMatchObject([{ result: "fail", comment: "body hash did not verify" }]);
    expect(code).toBe(2);
  });

  it("takes --resolver as a host name", async () => {
    const file = path.join(dir, `m-${Math.random().toString(36).slice(2)}.eml`);
    await fs.writeFile(file, await signed("good.test", KEY2048.pem));
    const { out, io: sink } = io();
    const code = await headersCommand(
      { message: file, config: configFile, verify: true, resolver: `localhost:${server.dnsPort}`, format: "json" },
      sink,
    );
    expect((JSON.parse(out.stdout) as { verified: { result: string }[] }).verified).toMatchObject([{ result: "pass" }]);
    expect(code).toBe(0);
  });

  it("reports a revoked key as a permanent error", async () => {
    const { code, json } = await check(await signed("revoked.test", KEY_REVOKED_SIGNER.pem));
    expect(json.verified).toMatchObject([
      { result: "permerror", domain: "revoked.test", comment: "key revoked (empty p=)" },
    ]);
    expect(code).toBe(2);
  });
});

describe("queryAuthoritative falls back to TCP when the UDP answer is truncated", () => {
  // Strings of a TXT record are at most 255 octets (RFC 1035 3.3.14); createZone splits them.
  const LONG = Array.from({ length: 3 }, (_, i) => `v=spf1 ${`include:part${i}.example.org `.repeat(70)}-all`);
  const KEY_TXT = `v=DKIM1; k=rsa; p=${rsa(4096).p}`;
  beforeAll(async () => {
    await createZone(server, "big.test", [
      txt("key.big.test", KEY_TXT),
      { name: "many.big.test", type: "TXT", ttl: 3600, values: LONG },
      // An oversized TXT where selector1's CNAME belongs: must still be seen as a TXT conflict.
      { name: "selector1._domainkey.big.test", type: "TXT", ttl: 3600, values: LONG },
    ]);
  });

  it("reads a 4096-bit key over TCP when only 512 bytes are advertised, and over UDP by default", async () => {
    const hp = parseHostPort(dnsAt(), "x");
    // The key record alone is about 750 bytes: over 512, under PowerDNS's 1232-byte threshold.
    expect(KEY_TXT.length).toBeGreaterThan(512);
    const small = await queryAuthoritative(hp, "key.big.test", "TXT", { udpPayloadSize: 512 });
    expect(small).toMatchObject({
      rcode: "NOERROR",
      aa: true,
      transport: "tcp",
      records: [{ type: "TXT", ttl: 3600, data: KEY_TXT }],
    });
    const normal = await queryAuthoritative(hp, "key.big.test", "TXT");
    expect(normal).toMatchObject({ transport: "udp", records: [{ data: KEY_TXT }] });
  });

  it("reads a TXT set larger than 4096 bytes whole over TCP with the default buffer", async () => {
    expect(LONG.join("").length).toBeGreaterThan(4096);
    const a = await queryAuthoritative(parseHostPort(dnsAt(), "x"), "many.big.test", "TXT");
    expect(a.transport).toBe("tcp");
    expect(a.rcode).toBe("NOERROR");
    expect(a.records.map((r) => r.data).sort()).toEqual([...LONG].sort());
  });

  it("reports an oversized TXT at a selector name as a TXT conflict, not as NODATA", async () => {
    const file = path.join(dir, "big.zones.yaml");
    await fs.writeFile(
      file,
      [
        "providers:",
        "  zones:",
        "    type: yaml",
        "    directory: ./zones",
        "domains:",
        ...[
          "  big.test:",
          "    provider: zones",
          `    selector1: ${target("selector1", "big.test")}`,
          `    selector2: ${target("selector2", "big.test")}`,
        ],
        "",
      ].join("\n"),
    );
    const hp = parseHostPort(dnsAt(), "x");
    const r = await verifyConfig(loadConfig(file), { nameserver: hp, resolver: hp });
    expect(statuses(r, "big.test")["selector1 cname (authoritative)"]).toBe("fail");
    expect(message(r, "big.test", "selector1 cname (authoritative)")).toMatch(
      /a TXT record is published there instead of the CNAME/,
    );
  });

  it("says TCP failed when the UDP answer is truncated and nothing listens on TCP", async () => {
    // A UDP-only stand-in: it answers every query with TC set and no records, like PowerDNS does
    // for an answer over its threshold; its TCP port is closed.
    const udp = dgram.createSocket("udp4");
    udp.on("message", (msg, from) => {
      const reply = Buffer.from(msg.subarray(0, 12));
      reply.writeUInt16BE(0x8000 | 0x0400 | 0x0200, 2); // QR, AA, TC
      reply.writeUInt16BE(0, 4); // no question echoed, no records
      reply.writeUInt32BE(0, 6);
      reply.writeUInt16BE(0, 10);
      udp.send(reply, from.port, from.address);
    });
    const port = await new Promise<number>((resolve) =>
      udp.bind({ address: "127.0.0.1", port: 0 }, () => resolve(udp.address().port)),
    );
    try {
      const a = await queryAuthoritative({ host: "127.0.0.1", port }, "many.big.test", "TXT", { timeoutMs: 500 });
      expect(a).toMatchObject({ rcode: "NETWORK", transport: "tcp" });
      expect(a.error).toMatch(/truncated and TCP failed: .*ECONNREFUSED/);
    } finally {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
  });
});

/**
 * A loopback address other than 127.0.0.1 whose port 53 is free for UDP and TCP. Linux routes all
 * of 127.0.0.0/8 to `lo`, so any such address can be bound without configuration; we check that
 * rather than assume it. Binding port 53 needs root (or CAP_NET_BIND_SERVICE).
 */
async function freeLoopbackAddress(avoid: string[] = []): Promise<string> {
  const problems: string[] = [];
  for (let i = 0; i < 8; i++) {
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    if (avoid.includes(address)) continue;
    const udp = await bindable(address, "udp");
    const tcp = udp === "ok" ? await bindable(address, "tcp") : udp;
    if (tcp === "ok") return address;
    if (tcp === "EADDRNOTAVAIL") {
      throw new Error(
        `cannot bind ${address}: this test needs every 127.0.0.0/8 address to be local, as on Linux (on other systems add it: ip addr add ${address}/8 dev lo)`,
      );
    }
    if (tcp === "EACCES" || tcp === "EPERM")
      throw new Error(
        `binding ${address}:53 was refused (${tcp}): run the tests as root, or give node CAP_NET_BIND_SERVICE`,
      );
    problems.push(`${address}:53 ${tcp}`);
  }
  throw new Error(
    `no free loopback address for port 53 (${problems.join("; ")}): is a DNS server listening on 0.0.0.0:53?`,
  );
}

function bindable(address: string, proto: "udp" | "tcp"): Promise<string> {
  return new Promise((resolve) => {
    if (proto === "udp") {
      const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        socket.close();
        resolve(err.code ?? err.message);
      });
      socket.bind({ address, port: 53, exclusive: true }, () => socket.close(() => resolve("ok")));
      return;
    }
    const srv = net.createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host: address, port: 53, exclusive: true }, () => srv.close(() => resolve("ok")));
  });
}

describe("verify without --nameserver finds the authoritative servers through NS records", () => {
  // disco.test delegates to ns1.disco.test, whose A record is the address PowerDNS listens on
  // (port 53, as NS records carry no port); lame.test's ns1 points at an address where nothing
  // listens. The same server is the resolver. marketing.disco.test is no zone of its own: the NS
  // lookup walks up to disco.test (RFC 1034 4.3.2).
  let auth: PdnsServer;
  let address: string;
  let dead: string;
  let file: string;

  beforeAll(async () => {
    address = await freeLoopbackAddress();
    dead = await freeLoopbackAddress([address]);
    const ns = (zone: string, at: string): RecordSet[] => [
      { name: zone, type: "NS", ttl: 3600, values: [`ns1.${zone}`] },
      { name: `ns1.${zone}`, type: "A", ttl: 3600, values: [at] },
    ];
    auth = await startPowerDns({
      address,
      dnsPort: 53,
      zones: {
        "disco.test": [...ns("disco.test", address), ...cnames("disco.test"), ...cnames("marketing.disco.test")],
        "lame.test": [...ns("lame.test", dead), ...cnames("lame.test")],
        [TENANT]: [
          txt(target("selector1", "disco.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
          txt(target("selector2", "disco.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
          txt(target("selector1", "marketing.disco.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
          txt(target("selector2", "marketing.disco.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
        ],
      },
    });
    expect(auth.dnsHost).toBe(address);
    const domain = (d: string) => [
      `  ${d}:`,
      "    provider: zones",
      `    selector1: ${target("selector1", d)}`,
      `    selector2: ${target("selector2", d)}`,
    ];
    file = path.join(dir, "disco.zones.yaml");
    await fs.writeFile(
      file,
      [
        "providers:",
        "  zones:",
        "    type: yaml",
        "    directory: ./zones",
        "domains:",
        ...domain("disco.test"),
        ...domain("marketing.disco.test"),
        ...domain("lame.test"),
        "",
      ].join("\n"),
    );
  });

  afterAll(async () => {
    await auth?.stop();
  });

  it("asks the NS record's address on port 53 and passes (exit 0)", async () => {
    const { out, io: sink } = io();
    const code = await verifyCommand(
      { config: file, domains: ["disco.test", "marketing.disco.test"], resolver: `${address}:53`, format: "json" },
      sink,
    );
    const json = JSON.parse(out.stdout) as VerifyReport;
    expect(json.summary.fail).toBe(0);
    expect(code).toBe(0);
    for (const d of json.domains) {
      const authChecks = d.checks.filter((c) => c.check.endsWith("cname (authoritative)"));
      expect(authChecks.map((c) => c.status)).toEqual(["pass", "pass"]);
      for (const c of authChecks)
        expect(c.details?.servers).toMatchObject([{ server: `${address}:53`, status: "pass" }]);
      expect(d.checks.some((c) => c.check === "nameservers")).toBe(false);
    }
  });

  it("fails a domain whose NS address does not answer, naming that server", async () => {
    const r = await verifyConfig(loadConfig(file), {
      domains: ["lame.test"],
      resolver: { host: address, port: 53 },
      timeoutMs: 300,
    });
    expect(r.unreachable).toBeUndefined();
    expect(statuses(r, "lame.test")).toMatchObject({
      "selector1 cname (authoritative)": "fail",
      "selector2 cname (authoritative)": "fail",
      // The resolver still sees what the zone holds: only the delegation is broken.
      "selector1 cname (resolver)": "pass",
    });
    expect(message(r, "lame.test", "selector1 cname (authoritative)")).toBe(
      `no answer from ${dead}:53 (no answer within 300 ms)`,
    );
  });
});
