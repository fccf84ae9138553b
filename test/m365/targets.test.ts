import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Config, DomainConfig } from "../../src/config/types.js";
import { InputError } from "../../src/core/errors.js";
import {
  activeSelector,
  dashedDomain,
  deriveLegacyTargets,
  parseMsDate,
  parseSigningConfig,
  resolveTargets,
  targetWarnings,
  validateTargets,
  type SigningConfigEntry,
} from "../../src/m365/targets.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "m365");
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), "utf8");

const legacy = (d: string, tenant = "contoso") =>
  [1, 2].map((n) => `selector${n}-${d}._domainkey.${tenant}.onmicrosoft.com`) as [string, string];
const modern = (d: string, letter = "r") =>
  [1, 2].map((n) => `selector${n}-${d}._domainkey.contoso.${letter}-v1.dkim.mail.microsoft`) as [string, string];

describe("validateTargets", () => {
  const valid: [string, string, string, string][] = [
    ["legacy", "contoso.com", ...legacy("contoso-com")],
    ["new format", "fabrikam.com", ...modern("fabrikam-com", "y")],
    [
      "trailing dots and upper case",
      "contoso.com",
      "SELECTOR1-contoso-com._domainkey.Contoso.onmicrosoft.com.",
      "selector2-contoso-com._domainkey.contoso.ONMICROSOFT.com.",
    ],
    // Microsoft shortens or varies the dashed part for hyphenated and long names: valid, warned.
    ["dashed part differs from the domain", "my-shop.com", ...legacy("myshop-com")],
  ];
  it.each(valid)("accepts %s", (_, domain, s1, s2) => {
    expect(validateTargets(domain, s1, s2)).toBeUndefined();
  });

  const invalid: [string, string, string, RegExp][] = [
    ["mismatched suffix (two tenants)", legacy("contoso-com")[0], legacy("contoso-com", "fabrikam")[1], /same suffix/],
    ["mixed formats between the selectors", legacy("contoso-com")[0], modern("contoso-com")[1], /same suffix/],
    [
      "selector1 with selector2's prefix",
      legacy("contoso-com")[1],
      legacy("contoso-com")[1],
      /selector1 target .* must start with "selector1-/,
    ],
    [
      "selector2 with a wrong prefix",
      legacy("contoso-com")[0],
      "key2-contoso-com._domainkey.contoso.onmicrosoft.com",
      /selector2 target .* must start with "selector2-/,
    ],
    ["bad letter partition ab-v1", ...modern("contoso-com", "ab"), /must end in/],
    ["digit partition 1-v1", ...modern("contoso-com", "1"), /must end in/],
    [
      "unknown suffix",
      "selector1-contoso-com._domainkey.contoso.example.net",
      "selector2-contoso-com._domainkey.contoso.example.net",
      /must end in/,
    ],
    [
      "no _domainkey part",
      "selector1-contoso-com.contoso.onmicrosoft.com",
      "selector2-contoso-com.contoso.onmicrosoft.com",
      /no "\._domainkey\." part/,
    ],
    ["overlong label", ...legacy("a".repeat(60) + "-com"), /label of 74 octets; at most 63/],
    [
      "empty label",
      "selector1-contoso-com._domainkey..contoso.onmicrosoft.com",
      legacy("contoso-com")[1],
      /empty label/,
    ],
    ["values of two domains", legacy("contoso-com")[0], legacy("fabrikam-com")[1], /name the same domain/],
    [
      "nothing after the prefix",
      "selector1-._domainkey.contoso.onmicrosoft.com",
      "selector2-._domainkey.contoso.onmicrosoft.com",
      /must start with/,
    ],
  ];
  it.each(invalid)("rejects %s", (_, s1, s2, message) => {
    expect(validateTargets("contoso.com", s1, s2)).toMatch(message);
  });

  it("warns when the dashed part does not spell the domain, and only then", () => {
    expect(targetWarnings("my-shop.com", legacy("myshop-com")[0])).toEqual([
      expect.stringMatching(/name "myshop-com", not "my-shop-com".*Get-DkimSigningConfig -Identity my-shop.com/),
    ]);
    expect(targetWarnings("contoso.com", legacy("contoso-com")[0])).toEqual([]);
  });
});

describe("deriveLegacyTargets", () => {
  it.each([
    [
      "contoso.com",
      "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
      "selector2-contoso-com._domainkey.contoso.onmicrosoft.com",
    ],
    [
      "marketing.contoso.com",
      "selector1-marketing-contoso-com._domainkey.contoso.onmicrosoft.com",
      "selector2-marketing-contoso-com._domainkey.contoso.onmicrosoft.com",
    ],
    // 63 octets exactly: "selector1-" (10) + 53.
    [
      `${"a".repeat(49)}.com`,
      `selector1-${"a".repeat(49)}-com._domainkey.contoso.onmicrosoft.com`,
      `selector2-${"a".repeat(49)}-com._domainkey.contoso.onmicrosoft.com`,
    ],
  ])("derives %s", (domain, selector1, selector2) => {
    expect(deriveLegacyTargets(domain, "contoso")).toEqual({ selector1, selector2 });
  });

  it.each([
    ["hyphenated", "my-shop.com", /my-shop\.com: it contains a hyphen/],
    ["hyphen in a parent label", "shop.contoso-eu.com", /contains a hyphen/],
    ["xn-- (IDN)", "xn--bcher-kva.example", /internationalised \(xn--\) name/],
    ["too long", `${"a".repeat(50)}.com`, /would be 64 octets, more than 63/],
  ])("refuses %s", (_, domain, message) => {
    const got = deriveLegacyTargets(domain, "contoso");
    expect(got).toEqual({ error: expect.stringMatching(message) });
  });

  it("spells a domain with dashes for dots", () => {
    expect(dashedDomain("Marketing.Contoso.com.")).toBe("marketing-contoso-com");
  });
});

describe("parseMsDate", () => {
  it.each([
    ["/Date(1708100000000)/", "2024-02-16T16:13:20.000Z"],
    ["/Date(1708100000000+0000)/", "2024-02-16T16:13:20.000Z"],
    // The offset is informational: the milliseconds are UTC.
    ["/Date(1708100000000-0500)/", "2024-02-16T16:13:20.000Z"],
    ["2024-02-16T16:13:20Z", "2024-02-16T16:13:20.000Z"],
    ["2024-02-16T17:13:20+01:00", "2024-02-16T16:13:20.000Z"],
    ["2024-02-16T16:13:20.1234567+00:00", "2024-02-16T16:13:20.123Z"],
    // No offset: read as UTC so the result does not depend on this machine's time zone.
    ["2024-02-16T16:13:20", "2024-02-16T16:13:20.000Z"],
  ])("reads %s", (input, iso) => {
    expect(parseMsDate(input)?.toISOString()).toBe(iso);
  });

  it.each(["", "yesterday", "/Date(abc)/", "2024-13-45T99:00:00Z"])("gives undefined for %j", (input) => {
    expect(parseMsDate(input)).toBeUndefined();
  });
});

describe("parseSigningConfig", () => {
  it("reads a PowerShell 7 array with ISO dates, odata sidecars and a NoDKIMKeys entry", () => {
    const entries = parseSigningConfig(fixture("ps7-array.json"), "m365/dkim.json");
    expect(entries).toEqual([
      {
        domain: "contoso.com",
        selector1: "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
        selector2: "selector2-contoso-com._domainkey.contoso.onmicrosoft.com",
        selector1KeySize: 2048,
        selector2KeySize: 1024,
        enabled: true,
        status: "Valid",
        keyCreationTime: new Date("2024-02-16T16:13:20.123Z"),
        rotateOnDate: new Date("2024-06-01T00:00:00Z"),
        selectorBeforeRotateOnDate: "selector1",
        selectorAfterRotateOnDate: "selector2",
      },
      {
        // Canonical: lowercase, no trailing dot, for the domain and both targets.
        domain: "fabrikam.com",
        selector1: "selector1-fabrikam-com._domainkey.contoso.y-v1.dkim.mail.microsoft",
        selector2: "selector2-fabrikam-com._domainkey.contoso.y-v1.dkim.mail.microsoft",
        selector1KeySize: 2048,
        selector2KeySize: 2048,
        enabled: false,
        status: "CnameMissing",
        keyCreationTime: new Date("2025-06-02T09:30:00Z"),
        rotateOnDate: new Date("2025-06-02T09:30:00Z"),
        selectorBeforeRotateOnDate: "selector2",
        selectorAfterRotateOnDate: "selector1",
      },
      { domain: "new.contoso.com", enabled: false, status: "NoDKIMKeys", selector1KeySize: 0, selector2KeySize: 0 },
    ]);
  });

  it("reads one Windows PowerShell 5.1 object with a byte order mark and /Date()/ dates", () => {
    const text = fixture("ps51-single.json");
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const [entry, ...rest] = parseSigningConfig(text, "m365/dkim.json");
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      domain: "contoso.com",
      selector1: "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
      keyCreationTime: new Date(1708100000000),
      rotateOnDate: new Date(1717200000000),
      selectorBeforeRotateOnDate: "selector1",
    });
  });

  it("takes the domain from Name, else Identity", () => {
    expect(parseSigningConfig(fixture("name-only.json"), "x.json").map((e) => e.domain)).toEqual([
      "tailspin.example",
      "woodgrove.example",
    ]);
  });

  it("names the file and the entry that has no domain", () => {
    expect(() => parseSigningConfig(fixture("no-domain.json"), "m365/dkim.json")).toThrowError(
      expect.objectContaining({
        name: "InputError",
        message: "m365/dkim.json: entry 2 of 2 has no Domain, Name or Identity",
      }),
    );
  });

  it("names the file on bad JSON and says how to export it again", () => {
    let err: unknown;
    try {
      parseSigningConfig(fixture("truncated.json"), "m365/dkim.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(/^m365\/dkim\.json: is not valid JSON/);
    expect((err as InputError).hint).toContain("Get-DkimSigningConfig | ConvertTo-Json");
    expect((err as InputError).cause).toBeInstanceOf(SyntaxError);
  });

  it("rejects an entry that is not an object and targets that are not Microsoft's", () => {
    expect(() => parseSigningConfig("[1]", "f.json")).toThrow(/^f\.json: the entry is not an object/);
    const bad = JSON.stringify({
      Domain: "contoso.com",
      Selector1CNAME: legacy("contoso-com")[0],
      Selector2CNAME: modern("contoso-com")[1],
    });
    // Only that entry is unusable: its domain is reported when planned, the other entries still count.
    const [entry] = parseSigningConfig(bad, "f.json");
    expect(entry?.problem).toMatch(/^f\.json: the entry \(contoso\.com\): .*same suffix/);
  });
});

describe("activeSelector", () => {
  const entry: SigningConfigEntry = {
    domain: "contoso.com",
    rotateOnDate: new Date("2024-06-01T00:00:00Z"),
    selectorBeforeRotateOnDate: "selector1",
    selectorAfterRotateOnDate: "selector2",
  };
  it("is the before-selector until RotateOnDate and the after-selector from then on", () => {
    expect(activeSelector(entry, new Date("2024-05-31T23:59:59Z"))).toBe("selector1");
    expect(activeSelector(entry, new Date("2024-06-01T00:00:00Z"))).toBe("selector2");
  });
  it("is unknown without a date unless both fields agree", () => {
    expect(
      activeSelector(
        { domain: "contoso.com", selectorBeforeRotateOnDate: "selector1", selectorAfterRotateOnDate: "selector2" },
        new Date(),
      ),
    ).toBeUndefined();
    expect(
      activeSelector(
        { domain: "contoso.com", selectorBeforeRotateOnDate: "selector2", selectorAfterRotateOnDate: "selector2" },
        new Date(),
      ),
    ).toBe("selector2");
    expect(activeSelector({ domain: "contoso.com" }, new Date())).toBeUndefined();
  });
});

describe("resolveTargets", () => {
  const where = { file: "dkim.zones.yaml", line: 7 };
  const domain = (name: string, extra: Partial<DomainConfig> = {}): DomainConfig => ({
    name,
    providers: ["zones"],
    ensure: "present",
    where,
    ...extra,
  });
  const entries = new Map<string, SigningConfigEntry>([
    [
      "contoso.com",
      { domain: "contoso.com", selector1: modern("contoso-com", "a")[0], selector2: modern("contoso-com", "a")[1] },
    ],
    ["new.contoso.com", { domain: "new.contoso.com", status: "NoDKIMKeys" }],
  ]);
  const config = (extra: Partial<Config> = {}): Config => ({
    file: "/work/dkim.zones.yaml",
    displayFile: "dkim.zones.yaml",
    dir: "/work",
    hash: "0",
    ttl: 3600,
    providers: new Map(),
    domains: [],
    ...extra,
  });
  const full = config({ tenant: "contoso", signingConfig: { file: "/work/m365/dkim.json", entries } });

  it("prefers explicit targets over the export and derivation", () => {
    const [s1, s2] = legacy("contoso-com", "explicit");
    expect(resolveTargets(full, domain("contoso.com", { selector1: s1, selector2: s2 }))).toEqual({
      selector1: s1,
      selector2: s2,
      source: "config",
    });
  });

  it("prefers the export over derivation", () => {
    expect(resolveTargets(full, domain("contoso.com"))).toEqual({
      selector1: modern("contoso-com", "a")[0],
      selector2: modern("contoso-com", "a")[1],
      source: "signing_config",
    });
  });

  it("derives from the tenant when nothing else applies", () => {
    expect(resolveTargets(full, domain("marketing.contoso.com"))).toEqual({
      ...deriveLegacyTargets("marketing.contoso.com", "contoso"),
      source: "derived",
    });
  });

  it("does not derive past an export entry without keys, and says to create them", () => {
    expect(() => resolveTargets(full, domain("new.contoso.com"))).toThrowError(
      expect.objectContaining({
        message: expect.stringMatching(
          /^dkim\.zones\.yaml:7: domain "new\.contoso\.com": the signing_config export \/work\/m365\/dkim\.json has no DKIM keys for it yet \(Status NoDKIMKeys/,
        ),
        hint: expect.stringContaining("New-DkimSigningConfig -DomainName new.contoso.com -Enabled $false"),
      }),
    );
  });

  it("explains why a hyphenated domain has no targets and how to get them", () => {
    expect(() => resolveTargets(full, domain("my-shop.com"))).toThrowError(
      expect.objectContaining({
        message: expect.stringMatching(
          /^dkim\.zones\.yaml:7: domain "my-shop\.com": no selector targets: .*contains a hyphen.*\/work\/m365\/dkim\.json has no entry for it/,
        ),
        hint: expect.stringContaining("Get-DkimSigningConfig -Identity my-shop.com | Format-List"),
      }),
    );
  });

  it("says there is no tenant and no signing_config", () => {
    expect(() => resolveTargets(config(), domain("contoso.com"))).toThrow(
      /no selector targets: .*no tenant is set to derive them from; no signing_config is set/,
    );
  });
});
