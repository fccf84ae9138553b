/**
 * The validation rules of docs/safety.md, one by one: host names (CNAME targets) and domains
 * at the edge, and the final guard every apply passes before a provider is called.
 */
import { describe, expect, it } from "vitest";
import { excerpt, hostNameProblem, normaliseDomain } from "../../src/core/names.js";
import { guardWrites } from "../../src/plan/safety.js";
import { redact, registerSecret } from "../../src/core/errors.js";
import type { Change, ZonePlan } from "../../src/core/types.js";
import type { Config, DomainConfig } from "../../src/config/types.js";

describe("hostNameProblem (CNAME targets)", () => {
  it.each([
    "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
    "selector2-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft",
    "selector1-xn--bcher-kva-example._domainkey.contoso.onmicrosoft.com",
    "a.b",
  ])("accepts %s", (name) => {
    expect(hostNameProblem(name)).toBeUndefined();
  });
  it.each([
    ["a space", "sel ector1.contoso.onmicrosoft.com"],
    ["a quote", 'sel"ector1.contoso.onmicrosoft.com'],
    ["a backslash-escaped semicolon", "sel\\;ector1.contoso.onmicrosoft.com"],
    ["NUL", "sel\u0000ector1.contoso.onmicrosoft.com"],
    ["#", "sel#ector1.contoso.onmicrosoft.com"],
    ["a newline", "selector1.contoso.onmicrosoft.com\nwww 300 IN A 192.0.2.1"],
    ["a non-ASCII label", "sélector1.contoso.onmicrosoft.com"],
    ["invalid punycode", "xn--zz.contoso.onmicrosoft.com"],
    ["an all-numeric TLD", "selector1.contoso.123"],
    ["a trailing hyphen", "selector1-.contoso.onmicrosoft.com"],
    ["an empty label", "selector1..contoso.onmicrosoft.com"],
    ["a 64-octet label", `${"a".repeat(64)}.contoso.onmicrosoft.com`],
    ["254 octets", `${"a.".repeat(126)}co`],
  ])("refuses %s", (_what, name) => {
    expect(hostNameProblem(name)).toBeDefined();
  });
});

describe("normaliseDomain", () => {
  it.each([
    ["bücher.example", "xn--bcher-kva.example"],
    ["Example.COM.", "example.com"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
  ])("%s -> %s", (input, out) => {
    expect(normaliseDomain(input)).toEqual({ name: out });
  });
  it.each([
    "xn--zz.example.com",
    "xn--a.com",
    "123.456",
    "1.2.3.4",
    "example.123",
    "_dmarc.example.com",
    "exa mple.com",
    "ex\u0000ample.com",
  ])("refuses %j", (input) => {
    expect(normaliseDomain(input)).toHaveProperty("error");
  });
});

describe("excerpt", () => {
  it("quotes at most 80 characters and escapes controls and non-ASCII", () => {
    const e = excerpt(`${"x".repeat(200)}`);
    expect(e.length).toBeLessThan(90);
    expect(excerpt("a\u0000b\u001b[31mc\u202ed")).toBe('"a\\u0000b\\u001b[31mc\\u202ed"');
  });
});

describe("redact", () => {
  it("removes a registered secret in its plain, URL-encoded and Base64 forms", () => {
    const secret = "s3cr3t/+value=with:chars";
    registerSecret(secret);
    const b64 = Buffer.from(secret).toString("base64").replace(/=+$/, "");
    const out = redact(`a ${secret} b ${encodeURIComponent(secret)} c ${b64}`);
    expect(out).toBe("a [redacted] b [redacted] c [redacted]");
  });
  it("reads the AWS credential variables from the environment", () => {
    const before = process.env.AWS_SESSION_TOKEN;
    process.env.AWS_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN";
    try {
      expect(redact("token IQoJb3JpZ2luX2VjEXAMPLETOKEN here")).toBe("token [redacted] here");
    } finally {
      if (before === undefined) delete process.env.AWS_SESSION_TOKEN;
      else process.env.AWS_SESSION_TOKEN = before;
    }
  });
});

describe("guardWrites (the last check before a provider is called)", () => {
  const zone: ZonePlan = {
    provider: "p",
    zone: "contoso.com",
    domains: ["contoso.com"],
    changes: [],
    conflicts: [],
    unchanged: [],
    warnings: [],
    names: ["selector1._domainkey.contoso.com", "selector2._domainkey.contoso.com"],
    fingerprint: "x",
  };
  const good = "selector1-contoso-com._domainkey.contoso.onmicrosoft.com";
  const cname = (name: string, value = good) => ({ name, type: "CNAME", ttl: 3600, values: [value] });
  const ok: Change = {
    action: "create",
    name: "selector1._domainkey.contoso.com",
    type: "CNAME",
    before: null,
    after: cname("selector1._domainkey.contoso.com"),
  };

  it("passes the selector CNAME", () => {
    expect(guardWrites(zone, [ok], { force: false })).toEqual([]);
  });
  it.each<[string, Change, boolean]>([
    [
      "a CNAME at _dmarc",
      { ...ok, name: "_dmarc.contoso.com", after: cname("_dmarc.contoso.com", "attacker.example.net") },
      true,
    ],
    [
      "a delete of www",
      {
        action: "delete",
        name: "www.contoso.com",
        type: "A",
        before: { name: "www.contoso.com", type: "A", ttl: 1, values: ["192.0.2.1"] },
        after: null,
      },
      true,
    ],
    [
      "an update whose before is the apex MX",
      {
        action: "update",
        name: "selector1._domainkey.contoso.com",
        type: "CNAME",
        before: { name: "contoso.com", type: "MX", ttl: 1, values: ["10 mx"] },
        after: cname("selector1._domainkey.contoso.com"),
      },
      true,
    ],
    [
      "a TXT write at a selector",
      {
        action: "create",
        name: "selector1._domainkey.contoso.com",
        type: "TXT",
        before: null,
        after: { name: "selector1._domainkey.contoso.com", type: "TXT", ttl: 1, values: ["x"] },
      },
      true,
    ],
    [
      "a TXT delete without --force",
      {
        action: "delete",
        name: "selector1._domainkey.contoso.com",
        type: "TXT",
        before: { name: "selector1._domainkey.contoso.com", type: "TXT", ttl: 1, values: ["x"] },
        after: null,
      },
      false,
    ],
    ["a target with a newline", { ...ok, after: cname(ok.name, "a.example.net\nwww IN A 192.0.2.1") }, true],
    ["two targets", { ...ok, after: { ...cname(ok.name), values: [good, good] } }, true],
    ["a negative ttl", { ...ok, after: { ...cname(ok.name), ttl: -1 } }, true],
    [
      "a selector of an unconfigured domain",
      { ...ok, name: "selector1._domainkey.evil.contoso.com", after: cname("selector1._domainkey.evil.contoso.com") },
      true,
    ],
  ])("refuses %s", (_what, change, force) => {
    expect(guardWrites(zone, [change], { force }).length).toBeGreaterThan(0);
  });

  describe("with the config: a domain must be configured with the zone's provider", () => {
    const domain = (name: string, providers: string[], replace?: string[]): DomainConfig => ({
      name,
      providers,
      ensure: "present",
      where: { file: "dkim.zones.yaml", line: 1 },
      ...(replace ? { replace: { types: replace, where: { file: "dkim.zones.yaml", line: 2 } } } : {}),
    });
    const config = (domains: DomainConfig[]) => ({ domains }) as unknown as Config;
    const others = Array.from({ length: 500 }, (_, i) => domain(`d${i}.example`, ["p"]));
    const deleteTxt: Change = {
      action: "delete",
      name: "selector1._domainkey.contoso.com",
      type: "TXT",
      before: { name: "selector1._domainkey.contoso.com", type: "TXT", ttl: 1, values: ["x"] },
      after: null,
    };

    it("finds the domain among many, and refuses it when it is configured with another provider", () => {
      expect(
        guardWrites(zone, [ok], { force: false, config: config([...others, domain("contoso.com", ["p"])]) }),
      ).toEqual([]);
      const elsewhere = guardWrites(zone, [ok], {
        force: false,
        config: config([...others, domain("contoso.com", ["q"])]),
      });
      expect(elsewhere.join("\n")).toMatch(/not a selector name of a domain configured with provider "p"/);
      expect(guardWrites(zone, [ok], { force: false, config: config(others) }).length).toBe(1);
    });

    it("reads a config's replace: from its first entry for the domain, and sees a domain added to the same list later", () => {
      const list = [...others, domain("contoso.com", ["p"], ["TXT"]), domain("contoso.com", ["p"])];
      expect(guardWrites(zone, [deleteTxt], { force: false, config: config(list) })).toEqual([]);
      const growing = [...others];
      const c = config(growing);
      expect(guardWrites(zone, [ok], { force: false, config: c }).length).toBe(1);
      growing.push(domain("contoso.com", ["p"]));
      expect(guardWrites(zone, [ok], { force: false, config: c })).toEqual([]);
    });
  });
});
