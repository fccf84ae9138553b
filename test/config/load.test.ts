import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfig } from "../../src/config/load.js";
import { InputError } from "../../src/core/errors.js";
import { OptionsReader } from "../../src/config/options.js";
import { desiredState } from "../../src/core/desired.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "config");
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "dkimsync-config-"));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

let dirCount = 0;
/** A fresh folder holding dkim.zones.yaml (and any other files given); returns the config path. */
function writeConfig(text: string, files: Record<string, string> = {}): string {
  const dir = path.join(tmpRoot, String(dirCount++));
  fs.mkdirSync(dir);
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), body);
  }
  const file = path.join(dir, "dkim.zones.yaml");
  fs.writeFileSync(file, text);
  return file;
}

function loadError(text: string, files: Record<string, string> = {}): InputError {
  const file = writeConfig(text, files);
  try {
    loadConfig(file, { displayFile: "dkim.zones.yaml" });
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("expected loadConfig to fail");
}

const PROVIDERS = "providers:\n  zones:\n    type: yaml\n    directory: ./zones\n  aws:\n    type: route53\n";
const S1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const S2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";

describe("loadConfig: a good file", () => {
  const file = path.join(fixtures, "full.yaml");
  const config = loadConfig(file, { displayFile: "dkim.zones.yaml" });

  it("records where it came from and a hash of its bytes", () => {
    expect(config.file).toBe(file);
    expect(config.displayFile).toBe("dkim.zones.yaml");
    expect(config.dir).toBe(fixtures);
    expect(config.hash).toBe(createHash("sha256").update(fs.readFileSync(file)).digest("hex"));
  });

  it("fills defaults and strips .onmicrosoft.com from the tenant", () => {
    expect(config.tenant).toBe("contoso");
    expect(config.ttl).toBe(3600);
  });

  it("normalises domain names (IDN to A-labels, case, trailing dot) and sorts them", () => {
    expect(config.domains.map((d) => d.name)).toEqual([
      "example.com",
      "fabrikam.com",
      "marketing.example.com",
      "retired.example.net",
      "xn--bcher-kva.example",
    ]);
  });

  it("reads every domain key, canonicalising explicit targets", () => {
    const byName = new Map(config.domains.map((d) => [d.name, d]));
    expect(byName.get("example.com")).toEqual({
      name: "example.com",
      providers: ["zones"],
      ensure: "present",
      where: { file: "dkim.zones.yaml", line: 21 },
    });
    expect(byName.get("marketing.example.com")?.ttl).toBe(300);
    expect(byName.get("fabrikam.com")).toMatchObject({
      providers: ["aws"],
      zoneId: "Z0123456789ABCDEFGHIJ",
      selector1: "selector1-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft",
      selector2: "selector2-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft",
    });
    expect(byName.get("retired.example.net")?.ensure).toBe("absent");
    expect(byName.get("xn--bcher-kva.example")).toMatchObject({ providers: ["zones", "bind"], where: { line: 34 } });
  });

  it("reads the signing_config export relative to the config's folder", () => {
    expect(config.signingConfig?.file).toBe(path.join(fixtures, "m365", "dkim.json"));
    expect([...(config.signingConfig?.entries.keys() ?? [])]).toEqual(["xn--bcher-kva.example"]);
  });

  it("keeps providers in the order written, with their options and the line of each key", () => {
    expect([...config.providers.keys()]).toEqual(["zones", "aws", "cf", "bind"]);
    const bind = config.providers.get("bind");
    expect(bind).toMatchObject({
      name: "bind",
      type: "rfc2136",
      options: {
        server: "127.0.0.1:53",
        tsig: { name: "dkimsync", algorithm: "hmac-sha256", secret: "env/TSIG_SECRET" },
      },
      where: { file: "dkim.zones.yaml", line: 13 },
    });
    expect(bind?.lineOf("server")).toBe(15);
    expect(bind?.lineOf("tsig")).toBe(16);
    expect(bind?.lineOf("tsig.secret")).toBe(19);
    expect(bind?.lineOf("tsig.nope")).toBeUndefined();
    expect(config.providers.get("zones")?.lineOf("directory")).toBe(7);
  });

  it("gives OptionsReader the lines it needs to point at a nested option", () => {
    const bind = config.providers.get("bind");
    if (bind === undefined) throw new Error("no bind provider");
    const reader = new OptionsReader({
      provider: bind.name,
      type: bind.type,
      values: bind.options,
      where: bind.where,
      lineOf: bind.lineOf,
      configDir: config.dir,
      env: {},
    });
    // TSIG_SECRET is not set in this env: the error must point at tsig.secret's own line.
    expect(() => reader.object("tsig")?.secret("secret")).toThrow(
      /^dkim\.zones\.yaml:19: provider "bind" \(rfc2136\): option "secret" refers to the environment variable TSIG_SECRET/,
    );
  });

  it("parses the same from a string", () => {
    const text = fs.readFileSync(path.join(fixtures, "minimal.yaml"), "utf8");
    const c = parseConfig(text, path.join(fixtures, "minimal.yaml"));
    expect(c.displayFile).toBe(path.join(fixtures, "minimal.yaml"));
    expect(c.domains).toEqual([
      {
        name: "example.com",
        providers: ["zones"],
        ensure: "present",
        selector1: S1,
        selector2: S2,
        where: { file: c.displayFile, line: 4 },
      },
    ]);
    expect(c.providers.get("zones")?.lineOf("directory")).toBe(2);
    expect(c.hash).toBe(createHash("sha256").update(text).digest("hex"));
  });

  it("accepts a file without domains, a ttl at the limit, and derivable domains", () => {
    expect(parseConfig("providers: {}\n", "a.yaml").domains).toEqual([]);
    const c = parseConfig(
      `tenant: contoso\nttl: 2147483647\n${PROVIDERS}domains:\n  marketing.example.com: { provider: zones }\n`,
      "b.yaml",
    );
    expect(c.ttl).toBe(2147483647);
    expect(c.domains[0]?.name).toBe("marketing.example.com");
  });
});

interface BadCase {
  name: string;
  text: string;
  files?: Record<string, string>;
  /** The start of the message: file:line and what is wrong. */
  message: RegExp;
  /** The advice. */
  hint: RegExp;
}

const domainsWith = (body: string) => `${PROVIDERS}domains:\n${body}`;
// PROVIDERS takes lines 1-6, `domains:` is line 7, so the first domain key is on line 8.

const badCases: BadCase[] = [
  {
    name: "YAML syntax error",
    text: "providers:\n  zones:\n    type: yaml\n   directory: ./zones\n",
    message: /^dkim\.zones\.yaml:4: YAML syntax error: bad indentation of a mapping entry/,
    hint: /indentation/,
  },
  {
    name: "unterminated quote",
    text: 'tenant: "contoso\nproviders: {}\n',
    message: /^dkim\.zones\.yaml:\d+: YAML syntax error: unexpected end of the stream within a double quoted scalar/,
    hint: /quoting/,
  },
  {
    name: "duplicate key",
    text: domainsWith(`  example.com:\n    provider: zones\n  example.com:\n    provider: aws\n`),
    message: /^dkim\.zones\.yaml:10: duplicate key "example\.com"/,
    hint: /remove one/,
  },
  { name: "empty file", text: "", message: /^dkim\.zones\.yaml:1: the file is empty/, hint: /providers: and domains:/ },
  {
    name: "only comments",
    text: "# nothing yet\n",
    message: /^dkim\.zones\.yaml:1: the file is empty/,
    hint: /providers: and domains:/,
  },
  {
    name: "top level a list",
    text: "- example.com\n",
    message:
      /^dkim\.zones\.yaml:1: the top level must be a mapping of tenant, ttl, signing_config, providers, domains, not a list/,
    hint: /left margin/,
  },
  {
    name: "top level a string",
    text: "example.com\n",
    message: /^dkim\.zones\.yaml:1: the top level must be a mapping .*not the string "example\.com"/,
    hint: /left margin/,
  },
  {
    name: "unknown top-level key",
    text: `${PROVIDERS}domain:\n  example.com: { provider: zones }\n`,
    message: /^dkim\.zones\.yaml:7: unknown top-level key "domain"; did you mean "domains"\?/,
    hint: /known keys: tenant, ttl, signing_config, providers, domains/,
  },
  {
    name: "ttl as a duration",
    text: "ttl: 1h\n",
    message: /^dkim\.zones\.yaml:1: ttl must be a whole number of seconds, not the string "1h"/,
    hint: /ttl: 3600/,
  },
  {
    name: "ttl zero",
    text: "ttl: 0\n",
    message: /^dkim\.zones\.yaml:1: ttl must be between 1 and 2147483647 \(RFC 2181 section 8\), not 0/,
    hint: /whole number/,
  },
  {
    name: "ttl past 31 bits",
    text: "\nttl: 2147483648\n",
    message: /^dkim\.zones\.yaml:2: ttl must be between 1 and 2147483647/,
    hint: /whole number/,
  },
  {
    name: "ttl fraction",
    text: "ttl: 1.5\n",
    message: /^dkim\.zones\.yaml:1: ttl must be a whole number of seconds, not number 1\.5/,
    hint: /whole number/,
  },
  {
    name: "tenant with bad characters",
    text: "tenant: contoso_corp\n",
    message: /^dkim\.zones\.yaml:1: tenant "contoso_corp" is not a tenant prefix/,
    hint: /tenant: contoso for contoso\.onmicrosoft\.com/,
  },
  {
    name: "tenant a number",
    text: "tenant: 1234\n",
    message: /^dkim\.zones\.yaml:1: tenant must be a string, not number 1234/,
    hint: /initial domain/,
  },
  {
    name: "providers a list",
    text: "providers:\n  - zones\n",
    message: /^dkim\.zones\.yaml:1: providers must be a mapping of names to provider settings, not a list/,
    hint: /type: yaml/,
  },
  {
    name: "provider without type",
    text: "providers:\n  zones:\n    directory: ./zones\n",
    message:
      /^dkim\.zones\.yaml:2: provider "zones" needs a type \(yaml, powerdns, route53, cloudflare, rfc2136(, [a-z0-9]+)*\)/,
    hint: /add type:/,
  },
  {
    name: "provider of unknown type",
    text: "providers:\n  zones:\n    directory: ./zones\n    type: yml\n",
    message: /^dkim\.zones\.yaml:4: provider "zones": unknown type "yml"; did you mean "yaml"\?/,
    hint: /known types: yaml, powerdns, route53, cloudflare, rfc2136/,
  },
  {
    name: "provider block a string",
    text: "providers:\n  zones: yaml\n",
    message: /^dkim\.zones\.yaml:2: provider "zones" must be a mapping with a type, not the string "yaml"/,
    hint: /type: yaml/,
  },
  {
    name: "provider name with a space",
    text: "providers:\n  my zones: { type: yaml }\n",
    message: /^dkim\.zones\.yaml:2: provider name "my zones" may hold only/,
    hint: /rename it/,
  },
  {
    name: "domains a list",
    text: `${PROVIDERS}domains:\n  - example.com\n`,
    message: /^dkim\.zones\.yaml:7: domains must be a mapping of domain names/,
    hint: /provider: zones/,
  },
  {
    name: "empty label",
    text: domainsWith("  example..com: { provider: zones, selector1: a, selector2: b }\n"),
    message: /^dkim\.zones\.yaml:8: domain "example\.\.com" has an empty label/,
    hint: /as it appears in DNS/,
  },
  {
    name: "bad character",
    text: domainsWith("  exa$mple.com: { provider: zones }\n"),
    message: /^dkim\.zones\.yaml:8: domain "exa\$mple\.com" has an invalid label "exa\$mple"/,
    hint: /as it appears in DNS/,
  },
  {
    name: "label over 63",
    text: domainsWith(`  ${"a".repeat(64)}.com: { provider: zones }\n`),
    message: /^dkim\.zones\.yaml:8: domain "a{64}\.com" has a label longer than 63 octets/,
    hint: /as it appears in DNS/,
  },
  {
    name: "name over 253",
    text: domainsWith(`  ${Array(5).fill("a".repeat(60)).join(".")}.com: { provider: zones }\n`),
    message: /^dkim\.zones\.yaml:8: domain "a{60}\..*" is 308 octets long; a domain name is at most 253/,
    hint: /as it appears in DNS/,
  },
  {
    name: "selector name over 253",
    text: domainsWith(
      `  ${Array(3).fill("a".repeat(63)).join(".")}.${"b".repeat(37)}.com: { provider: zones, ensure: absent }\n`,
    ),
    message:
      /^dkim\.zones\.yaml:8: domain "a{63}\..*" is 233 octets long, so its selector name selector2\._domainkey\.<domain> would be 254; a name is at most 253/,
    hint: /as it appears in DNS/,
  },
  {
    name: "the same domain as U-label and A-label",
    text: domainsWith(
      `  bücher.example:\n    provider: zones\n    ensure: absent\n  XN--BCHER-KVA.example:\n    provider: zones\n`,
    ),
    message:
      /^dkim\.zones\.yaml:11: domain "xn--bcher-kva\.example" is listed twice: as "bücher\.example" at line 8 and as "XN--BCHER-KVA\.example" here/,
    hint: /one entry per domain/,
  },
  {
    name: "domain without settings",
    text: domainsWith("  example.com:\n"),
    message: /^dkim\.zones\.yaml:8: domain "example\.com" must be a mapping of settings, not empty \(null\)/,
    hint: /provider: zones/,
  },
  {
    name: "domain without provider",
    text: domainsWith(`  example.com:\n    selector1: ${S1}\n    selector2: ${S2}\n`),
    message: /^dkim\.zones\.yaml:8: domain "example\.com": has no provider/,
    hint: /add provider: zones/,
  },
  {
    name: "both provider and providers",
    text: domainsWith(`  example.com:\n    provider: zones\n    providers: [aws]\n`),
    message: /^dkim\.zones\.yaml:10: domain "example\.com": has both provider and providers/,
    hint: /keep one/,
  },
  {
    name: "providers empty",
    text: domainsWith(`  example.com:\n    providers: []\n`),
    message:
      /^dkim\.zones\.yaml:9: domain "example\.com": providers must be a non-empty list of provider names, not a list/,
    hint: /providers: \[a, b\]/,
  },
  {
    name: "provider a list",
    text: domainsWith(`  example.com:\n    provider: [zones]\n`),
    message: /^dkim\.zones\.yaml:9: domain "example\.com": provider must be a provider name, not a list/,
    hint: /providers: \[a, b\]/,
  },
  {
    name: "unknown provider",
    text: domainsWith(`  example.com:\n    provider: zonez\n    selector1: ${S1}\n    selector2: ${S2}\n`),
    message: /^dkim\.zones\.yaml:9: domain "example\.com": unknown provider "zonez"; known: zones, aws$/,
    hint: /add it under providers:/,
  },
  {
    name: "unknown provider in a list, at its item's line",
    text: domainsWith(
      `  example.com:\n    providers:\n      - zones\n      - bind\n    selector1: ${S1}\n    selector2: ${S2}\n`,
    ),
    message: /^dkim\.zones\.yaml:11: domain "example\.com": unknown provider "bind"; known: zones, aws$/,
    hint: /add it under providers:/,
  },
  {
    name: "provider listed twice",
    text: domainsWith(`  example.com:\n    providers: [zones, zones]\n`),
    message: /^dkim\.zones\.yaml:9: domain "example\.com": provider "zones" is listed twice/,
    hint: /once/,
  },
  {
    name: "unknown domain key",
    text: domainsWith(`  example.com:\n    provider: zones\n    selecter1: ${S1}\n`),
    message: /^dkim\.zones\.yaml:10: domain "example\.com": unknown key "selecter1"; did you mean "selector1"\?/,
    hint: /known keys: provider, providers, ensure, selector1, selector2, ttl, zone_id/,
  },
  {
    name: "ensure typo",
    text: domainsWith(`  example.com:\n    provider: zones\n    ensure: deleted\n`),
    message: /^dkim\.zones\.yaml:10: domain "example\.com": ensure must be present or absent, not the string "deleted"/,
    hint: /ensure: absent deletes/,
  },
  {
    name: "domain ttl",
    text: domainsWith(`  example.com:\n    provider: zones\n    ensure: absent\n    ttl: -5\n`),
    message: /^dkim\.zones\.yaml:11: domain "example\.com": ttl must be between 1 and 2147483647/,
    hint: /whole number/,
  },
  {
    name: "zone_id without route53",
    text: domainsWith(`  example.com:\n    provider: zones\n    zone_id: Z123\n`),
    message: /^dkim\.zones\.yaml:10: domain "example\.com": zone_id is only used by route53 providers/,
    hint: /remove zone_id/,
  },
  {
    name: "zone_id a number",
    text: domainsWith(`  example.com:\n    provider: aws\n    zone_id: 123\n`),
    message:
      /^dkim\.zones\.yaml:10: domain "example\.com": zone_id must be a Route 53 hosted zone id string, not number 123/,
    hint: /quote it/,
  },
  {
    name: "signing_config file missing",
    text: `signing_config: m365/dkim.json\n${domainsWith("  example.com: { provider: zones }\n")}`,
    message: /^dkim\.zones\.yaml:1: signing_config cannot read m365\/dkim\.json \(ENOENT/,
    hint: /resolved from the config file's folder .*Get-DkimSigningConfig \| ConvertTo-Json \| Out-File -Encoding utf8 m365\/dkim\.json/,
  },
  {
    name: "signing_config not JSON",
    text: `signing_config: m365/dkim.json\n${domainsWith("  example.com: { provider: zones }\n")}`,
    files: { "m365/dkim.json": "Domain : example.com\nSelector1CNAME : x\n" },
    message: /^dkim\.zones\.yaml:1: signing_config is unusable: m365\/dkim\.json: is not valid JSON/,
    hint: /export it again with Get-DkimSigningConfig/,
  },
  {
    name: "signing_config entry without a domain",
    text: `signing_config: m365/dkim.json\n${PROVIDERS}`,
    files: { "m365/dkim.json": '[{"Domain": "a.example"}, {"Enabled": true}]' },
    message:
      /^dkim\.zones\.yaml:1: signing_config is unusable: m365\/dkim\.json: entry 2 of 2 has no Domain, Name or Identity/,
    hint: /export it again/,
  },
  {
    name: "signing_config not a path",
    text: "signing_config: [a]\n",
    message: /^dkim\.zones\.yaml:1: signing_config must be the path of a JSON file, not a list/,
    hint: /signing_config: m365\/dkim\.json/,
  },
];

/** Problems confined to one domain's targets: the file loads, the domain carries the problem. */
const domainCases: BadCase[] = [
  {
    name: "only selector1",
    text: domainsWith(`  example.com:\n    provider: zones\n    selector1: ${S1}\n`),
    message:
      /^dkim\.zones\.yaml:10: domain "example\.com": selector2 is missing; give both selector1 and selector2 or neither/,
    hint: /Get-DkimSigningConfig -Identity example\.com \| Format-List/,
  },
  {
    name: "selector not a string",
    text: domainsWith(`  example.com:\n    provider: zones\n    selector1: ${S1}\n    selector2: [a]\n`),
    message: /^dkim\.zones\.yaml:11: domain "example\.com": selector2 must be a host name string, not a list/,
    hint: /Selector1CNAME, Selector2CNAME/,
  },
  {
    name: "selectors in two formats",
    text: domainsWith(
      `  example.com:\n    provider: zones\n    selector1: ${S1}\n    selector2: selector2-example-com._domainkey.contoso.a-v1.dkim.mail.microsoft\n`,
    ),
    message:
      /^dkim\.zones\.yaml:10: domain "example\.com": selector1 ends in "contoso\.onmicrosoft\.com" but selector2 in "contoso\.a-v1\.dkim\.mail\.microsoft"/,
    hint: /Get-DkimSigningConfig -Identity example\.com/,
  },
  {
    name: "selector2 with a wrong prefix, at selector2's line",
    text: domainsWith(`  example.com:\n    provider: zones\n    selector1: ${S1}\n    selector2: ${S1}\n`),
    message: /^dkim\.zones\.yaml:11: domain "example\.com": selector2 target .* must start with "selector2-/,
    hint: /Get-DkimSigningConfig/,
  },
  {
    name: "no target source at all",
    text: domainsWith(`  example.com:\n    provider: zones\n`),
    message:
      /^dkim\.zones\.yaml:8: domain "example\.com": no selector targets: no selector1\/selector2 given, no tenant is set to derive them from; no signing_config is set$/,
    hint: /copy Selector1CNAME and Selector2CNAME from Get-DkimSigningConfig -Identity example\.com \| Format-List into selector1\/selector2 of this domain, or export Get-DkimSigningConfig \| ConvertTo-Json/,
  },
  {
    name: "hyphenated domain with a tenant",
    text: `tenant: contoso\n${domainsWith("  my-shop.com:\n    provider: zones\n")}`,
    message: /^dkim\.zones\.yaml:9: domain "my-shop\.com": no selector targets: .*my-shop\.com: it contains a hyphen/,
    hint: /Get-DkimSigningConfig -Identity my-shop\.com/,
  },
  {
    name: "signing_config entry without keys yet",
    text: `signing_config: m365/dkim.json\ntenant: contoso\n${domainsWith("  example.com:\n    provider: zones\n")}`,
    files: {
      "m365/dkim.json":
        '{"Domain": "example.com", "Status": "NoDKIMKeys", "Selector1CNAME": null, "Selector2CNAME": null}',
    },
    message:
      /^dkim\.zones\.yaml:10: domain "example\.com": the signing_config export .*dkim\.json has no DKIM keys for it yet \(Status NoDKIMKeys/,
    hint: /New-DkimSigningConfig -DomainName example\.com -Enabled \$false/,
  },
];

describe("a target problem stays with its domain", () => {
  it.each(domainCases)("$name", ({ text, files, message, hint }) => {
    const file = writeConfig(text, files);
    const config = loadConfig(file, { displayFile: "dkim.zones.yaml" });
    const states = desiredState(config);
    const broken = states.filter((d) => d.problem !== undefined);
    expect(broken).toHaveLength(1);
    expect(broken[0]?.records).toEqual([]);
    expect(broken[0]?.problem?.message).toMatch(message);
    expect(broken[0]?.problem?.hint ?? "").toMatch(hint);
  });
});

describe("loadConfig: bad input", () => {
  it.each(badCases)("$name", ({ text, files, message, hint }) => {
    const err = loadError(text, files);
    expect(err.message).toMatch(message);
    expect(err.hint ?? "").toMatch(hint);
    expect(err.stack).toBeDefined();
  });

  it("keeps the underlying error as cause", () => {
    const syntax = loadError("a: [\n");
    expect((syntax.cause as Error).name).toBe("YAMLException");
    const missing = loadError(`signing_config: nope.json\n${PROVIDERS}`);
    expect((missing.cause as InputError).cause).toMatchObject({ code: "ENOENT" });
  });

  it("lists every problem of the file in one error, in line order, each hint under its error", () => {
    const text =
      domainsWith(`  zz-top.com:\n    provider: zones\n    ttl: 1h\n  ok.example:\n    provider: nope\n`) +
      "colour: red\n";
    const err = loadError(text);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toHaveLength(3);
    expect(err.message.split("\n")).toEqual([
      expect.stringMatching(/^dkim\.zones\.yaml:10: domain "zz-top\.com": ttl must be a whole number/),
      "  hint: write a whole number of seconds, like ttl: 3600",
      expect.stringMatching(/^dkim\.zones\.yaml:12: domain "ok\.example": unknown provider "nope"/),
      "  hint: add it under providers: or fix the name",
      expect.stringMatching(/^dkim\.zones\.yaml:13: unknown top-level key "colour"/),
      expect.stringMatching(/^  hint: known keys: tenant/),
    ]);
    // The hints are in the message, each under its error; none is left to match by order.
    expect(err.hint).toBeUndefined();
  });

  it("shows at most 20 problems and counts the rest", () => {
    const body = Array.from({ length: 25 }, (_, i) => `  d${i}.example: { provider: zonez }\n`).join("");
    const err = loadError(domainsWith(body));
    expect((err as ConfigError).problems).toHaveLength(25);
    const lines = err.message.split("\n").filter((l) => !l.startsWith("  hint: "));
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe("... and 5 more problems");
  });

  it("reports a provider with a wrong type once, at its line, not again on every domain that uses it", () => {
    const err = loadError(
      `providers:\n  zones:\n    type: yml\n    directory: ./zones\ndomains:\n  a.example: { provider: zones }\n  b.example: { provider: zones }\n`,
    );
    expect((err as ConfigError).problems ?? [err]).toHaveLength(1);
    expect(err.message).toMatch(/^dkim\.zones\.yaml:3: provider "zones": unknown type "yml"; did you mean "yaml"\?/);
    expect(err.message).not.toContain("none defined");
    expect(err.message).not.toContain("unknown provider");
  });

  it("does not pile target errors onto a domain that already has a problem", () => {
    const err = loadError(domainsWith("  example.com:\n    provider: zonez\n"));
    expect(err.message).not.toContain("no selector targets");
  });

  it("names the file as given when it cannot be read", () => {
    const missing = path.join(tmpRoot, "nope.yaml");
    expect(() => loadConfig(missing)).toThrowError(
      expect.objectContaining({
        message: expect.stringMatching(new RegExp(`^${missing.replace(/[.]/g, "\\.")}: cannot read the config file`)),
        hint: expect.stringContaining("-c FILE"),
      }),
    );
  });
});
