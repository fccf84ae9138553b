/**
 * verify and headers --verify against a real PowerDNS (test/servers/pdns.ts) on loopback. The
 * same server is both the authoritative server and the "resolver": PowerDNS answers CNAME and
 * TXT questions for every zone it hosts and follows CNAMEs across its own zones.
 */
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { dkimSign } from "mailauth/lib/dkim/sign.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headersCommand } from "../src/commands/headers.js";
import { verifyCommand } from "../src/commands/verify.js";
import { loadConfig } from "../src/config.js";
import { parseHostPort, queryAuthoritative, verifyConfig, type Check, type VerifyReport } from "../src/verify.js";
import type { RecordSet } from "../src/types.js";
import { createZone, startPowerDns, type PdnsServer } from "./servers/pdns.js";
import { freePort } from "./servers/ports.js";

const TENANT = "contoso.onmicrosoft.com";
const target = (sel: string, domain: string) => `${sel}-${domain.replace(/\./g, "-")}._domainkey.${TENANT}`;

function rsa(bits: number) {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return { p: publicKey.export({ format: "der", type: "spki" }).toString("base64"), pem: privateKey.export({ format: "pem", type: "pkcs8" }).toString() };
}

const KEY2048 = rsa(2048);
const KEY1024 = rsa(1024);
const KEY_REVOKED_SIGNER = rsa(2048);

function cnames(domain: string, opts: { ttl2?: number; target1?: string } = {}): RecordSet[] {
  return [
    { name: `selector1._domainkey.${domain}`, type: "CNAME", ttl: 3600, values: [opts.target1 ?? target("selector1", domain)] },
    { name: `selector2._domainkey.${domain}`, type: "CNAME", ttl: opts.ttl2 ?? 3600, values: [target("selector2", domain)] },
  ];
}

const txt = (name: string, value: string): RecordSet => ({ name, type: "TXT", ttl: 3600, values: [value] });

let server: PdnsServer;
let dir: string;
let configFile: string;
const io = () => {
  const out = { stdout: "", stderr: "" };
  return { out, io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s), color: false } };
};

beforeAll(async () => {
  server = await startPowerDns();
  // good.test: right CNAMEs; selector1 (active per signing_config) has a 2048-bit key, selector2 none yet.
  await createZone(server, "good.test", cnames("good.test"));
  // mixed.test: selector1 points elsewhere, selector2 has TTL 300; keys 1024-bit and testing.
  await createZone(server, "mixed.test", cnames("mixed.test", { ttl2: 300, target1: "selector1-other-test._domainkey.fabrikam.onmicrosoft.com" }));
  await createZone(server, "revoked.test", cnames("revoked.test"));
  await createZone(server, "nokeys.test", cnames("nokeys.test"));
  // oldkey.test: an on-premises TXT key where the CNAME should be.
  await createZone(server, "oldkey.test", [txt("selector1._domainkey.oldkey.test", `v=DKIM1; k=rsa; p=${KEY1024.p}`), cnames("oldkey.test")[1] as RecordSet]);
  await createZone(server, "gone.test", []);
  await createZone(server, TENANT, [
    txt(target("selector1", "good.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
    txt(target("selector1", "mixed.test"), `v=DKIM1; k=rsa; p=${KEY1024.p}`),
    txt(target("selector2", "mixed.test"), `v=DKIM1; k=rsa; t=y; p=${KEY2048.p}`),
    txt(target("selector1", "revoked.test"), "v=DKIM1; k=rsa; p="),
    txt(target("selector2", "revoked.test"), `v=DKIM1; k=rsa; p=${KEY2048.p}`),
  ]);

  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-verify-"));
  await fs.mkdir(path.join(dir, "zones"));
  await fs.writeFile(path.join(dir, "dkim.json"), JSON.stringify([{
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
  }]));
  const domain = (d: string) => [`  ${d}:`, "    provider: zones", `    selector1: ${target("selector1", d)}`, `    selector2: ${target("selector2", d)}`];
  configFile = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(configFile, [
    "signing_config: dkim.json",
    "providers:", "  zones:", "    type: yaml", "    directory: ./zones",
    "domains:",
    "  good.test:", "    provider: zones",
    ...domain("mixed.test"), ...domain("revoked.test"), ...domain("nokeys.test"), ...domain("oldkey.test"),
    "  gone.test:", "    provider: zones", "    ensure: absent", "",
  ].join("\n"));
});

afterAll(async () => {
  await server?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const dnsAt = () => `127.0.0.1:${server.dnsPort}`;

async function run(domains?: string[]): Promise<VerifyReport> {
  const hp = parseHostPort(dnsAt(), "--nameserver");
  return verifyConfig(loadConfig(configFile), { nameserver: hp, resolver: hp, ...(domains ? { domains } : {}), now: new Date("2025-06-01T00:00:00Z") });
}

function statuses(report: VerifyReport, domain: string): Record<string, string> {
  const d = report.domains.find((x) => x.domain === domain);
  if (!d) throw new Error(`${domain} not in the report`);
  return Object.fromEntries(d.checks.map((c: Check) => [c.check, c.status]));
}

function message(report: VerifyReport, domain: string, check: string): string {
  return report.domains.find((x) => x.domain === domain)?.checks.find((c) => c.check === check)?.message ?? "";
}

describe("queryAuthoritative (dns-packet over UDP)", () => {
  it("reads the CNAME with its TTL, and tells NXDOMAIN from REFUSED", async () => {
    const hp = parseHostPort(dnsAt(), "x");
    const a = await queryAuthoritative(hp, "selector2._domainkey.mixed.test", "CNAME");
    expect(a).toMatchObject({ rcode: "NOERROR", aa: true, records: [{ type: "CNAME", ttl: 300, data: target("selector2", "mixed.test") }] });
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
    expect(message(report, "mixed.test", "selector1 cname (authoritative)")).toMatch(/points to selector1-other-test\._domainkey\.fabrikam\.onmicrosoft\.com/);
    expect(message(report, "mixed.test", "selector2 cname (authoritative)")).toMatch(/TTL 300, expected 3600/);
    expect(message(report, "mixed.test", "selector1 key")).toMatch(/1024-bit/);
    expect(message(report, "mixed.test", "selector2 key")).toMatch(/t=y/);
  });

  it("fails a revoked key", () => {
    expect(statuses(report, "revoked.test")).toMatchObject({ "selector1 key": "fail", "selector2 key": "pass" });
    expect(message(report, "revoked.test", "selector1 key")).toMatch(/revoked/);
  });

  it("warns when neither selector has a key and the active one is unknown", () => {
    expect(statuses(report, "nokeys.test")).toMatchObject({ "selector1 key": "warn", "selector2 key": "warn", "selector1 cname (authoritative)": "pass" });
    expect(message(report, "nokeys.test", "selector1 key")).toMatch(/DKIM not yet enabled in Microsoft 365\?/);
  });

  it("reports a TXT record at the selector name as wrong, not as missing", () => {
    expect(statuses(report, "oldkey.test")["selector1 cname (authoritative)"]).toBe("fail");
    expect(message(report, "oldkey.test", "selector1 cname (authoritative)")).toMatch(/a TXT record is published there/);
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
    const code = await verifyCommand({ config: configFile, domains: ["GOOD.test."], nameserver: dnsAt(), resolver: dnsAt(), format: "json", now: new Date("2025-06-01T00:00:00Z") }, sink);
    expect(code).toBe(0);
    const json = JSON.parse(out.stdout) as { version: number; domains: { domain: string }[]; summary: Record<string, number> };
    expect(json.version).toBe(1);
    expect(json.domains.map((d) => d.domain)).toEqual(["good.test"]);
    expect(json.summary.fail).toBe(0);
  });

  it("exits 2 when a check fails, and prints a text and a markdown report", async () => {
    const text = io();
    expect(await verifyCommand({ config: configFile, domains: [], nameserver: dnsAt(), resolver: dnsAt(), format: "text" }, text.io)).toBe(2);
    expect(text.out.stdout).toMatch(/✗ fail\s+selector1 cname \(authoritative\)\s+points to/);
    const md = io();
    expect(await verifyCommand({ config: configFile, domains: ["mixed.test"], nameserver: dnsAt(), resolver: dnsAt(), format: "markdown" }, md.io)).toBe(2);
    expect(md.out.stdout).toMatch(/^### ❌ dkimsync verify/);
    expect(md.out.stdout).toMatch(/\| ❌ \| selector1 cname \(authoritative\) \|/);
  });

  it("throws for a domain that is not configured", async () => {
    await expect(verifyCommand({ config: configFile, domains: ["other.test"], nameserver: dnsAt(), resolver: dnsAt(), format: "text" }, io().io)).rejects.toThrow(/--domain other.test is not configured/);
  });

  it("exits 1 when the resolver and nameserver do not answer at all", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const { out, io: sink } = io();
    const code = await verifyCommand({ config: configFile, domains: ["good.test"], nameserver: dead, resolver: dead, format: "text", timeoutMs: 300 }, sink);
    expect(code).toBe(1);
    expect(out.stderr).toMatch(/could not verify: the resolver 127\.0\.0\.1:\d+ did not answer/);
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
  const head = "From: Adele <adele@good.test>\r\nTo: bob@example.org\r\nSubject: Numbers\r\nDate: Sun, 01 Jun 2025 00:00:00 +0000\r\nMessage-ID: <1@good.test>\r\n";

  async function signed(domain: string, pem: string): Promise<string> {
    const msg = head.replace(/good\.test/g, domain) + "\r\n" + body;
    // mailauth 4.13 signs only what is listed in signatureData; the top-level fields are the type's.
    const key = { signingDomain: domain, selector: "selector1", privateKey: pem, canonicalization: "relaxed/relaxed" };
    const res = await dkimSign(msg, { ...key, signatureData: [key] });
    expect(res.errors).toEqual([]);
    expect(res.signatures.match(/^DKIM-Signature:/gm)).toHaveLength(1);
    return res.signatures + msg;
  }

  async function check(message: string): Promise<{ code: number; json: { verified: { result: string; domain: string; comment?: string }[] } }> {
    const file = path.join(dir, `m-${Math.random().toString(36).slice(2)}.eml`);
    await fs.writeFile(file, message);
    const { out, io: sink } = io();
    const code = await headersCommand({ message: file, config: configFile, verify: true, resolver: dnsAt(), format: "json" }, sink);
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

  it("reports a revoked key as a permanent error", async () => {
    const { code, json } = await check(await signed("revoked.test", KEY_REVOKED_SIGNER.pem));
    expect(json.verified).toMatchObject([{ result: "permerror", domain: "revoked.test", comment: "key revoked (empty p=)" }]);
    expect(code).toBe(2);
  });
});
