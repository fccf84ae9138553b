/**
 * `dkimsync validate` (no credentials, no network, every problem at once, file:line) and the
 * JSON Schema for editors (schema/dkim.zones.schema.json), which must agree with the loader on
 * every fixture and on a corpus of good and bad configs.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import yaml from "js-yaml";
import { Ajv2020 } from "ajv/dist/2020.js";
import { main, type Io } from "../../src/cli.js";
import { validateConfig } from "../../src/commands/validate.js";
import { providerTypes } from "../../providers/index.js";

const root = path.resolve(import.meta.dirname, "../..");
const schemaFile = path.join(root, "schema/dkim.zones.schema.json");

function capture(): { io: Io; out: { stdout: string; stderr: string } } {
  const out = { stdout: "", stderr: "" };
  return {
    out,
    io: {
      stdout: (s) => void (out.stdout += s),
      stderr: (s) => void (out.stderr += s),
      color: false,
      progress: () => {},
    },
  };
}

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, ...c.out };
}

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-validate-"));
  for (const part of ["dkim.zones.yaml", "zones", "m365"])
    await fs.cp(path.join(root, part), path.join(dir, part), { recursive: true });
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  return file;
}

describe("dkimsync validate", () => {
  it("accepts the bundled example and says what it read", async () => {
    const r = await run(["validate", "-c", path.join(dir, "dkim.zones.yaml")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dkim\.zones\.yaml: valid \(6 domains, 1 provider, 5 zone files read\)/);
  });

  it("needs no secret: env/NAME is checked as a reference, the variable is not read", async () => {
    delete process.env.DKIMSYNC_TEST_UNSET_TOKEN;
    const file = await write(
      "secrets.yaml",
      [
        "providers:",
        "  cf: { type: cloudflare, token: env/DKIMSYNC_TEST_UNSET_TOKEN }",
        "  pdns: { type: powerdns, url: 'http://127.0.0.1:8081', api_key: env/PDNS_KEY_UNSET }",
        "  bind:",
        "    type: rfc2136",
        "    server: 127.0.0.1:53",
        "    tsig: { name: k, secret: env/TSIG_UNSET }",
        "  aws: { type: route53 }",
        "  gc: { type: gcloud, credentials: env/GC_KEY_UNSET }",
        "domains:",
        "  example.com:",
        "    providers: [cf, pdns, bind, aws, gc]",
        "    selector1: selector1-example-com._domainkey.contoso.onmicrosoft.com",
        "    selector2: selector2-example-com._domainkey.contoso.onmicrosoft.com",
        "",
      ].join("\n"),
    );
    const r = await run(["validate", "-c", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "secrets referenced (not read): DKIMSYNC_TEST_UNSET_TOKEN, GC_KEY_UNSET, PDNS_KEY_UNSET, TSIG_UNSET",
    );
  });

  it("reports every problem at once, each with file:line, and exits 1", async () => {
    const file = await write(
      "bad.yaml",
      [
        "tenant: contoso", // 1
        "ttl: 1h", // 2
        "providers:", // 3
        "  zones: { type: yaml, directory: ./zones }", // 4
        "  cf:", // 5
        "    type: cloudflare", // 6
        "    token: abcdef123456", // 7: an inline secret
        "  pdns:", // 8
        "    type: powerdns", // 9
        "    url: http://127.0.0.1:8081", // 10
        "    api_key: env/K", // 11
        "    raed: zone", // 12: a typo
        "domain:", // 13
        "  x: 1", // 14
        "",
      ].join("\n"),
    );
    const r = await run(["validate", "-c", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${file}:2: ttl must be a whole number of seconds`);
    expect(r.stderr).toContain(`${file}:13: unknown top-level key "domain"; did you mean "domains"?`);
    expect(r.stderr).toContain(`${file}:7: provider "cf" (cloudflare): option "token" looks like an inline secret`);
    expect(r.stderr).not.toContain("abcdef123456");
    expect(r.stderr).toContain(
      `${file}:12: provider "pdns" (powerdns): option "raed" is not an option of provider type powerdns`,
    );
    expect(r.stderr).toMatch(/4 problems/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it("finds a broken zone file and a domain without a zone file, with file:line", async () => {
    const zones = path.join(dir, "zones-bad");
    await fs.mkdir(zones, { recursive: true });
    await fs.writeFile(path.join(zones, "example.com.yaml"), "---\nwww:\n  type: A\n  value: [1.2.3.4\n");
    const file = await write(
      "zonefiles.yaml",
      [
        "providers:",
        "  zones: { type: yaml, directory: ./zones-bad }",
        "domains:",
        "  example.com:",
        "    provider: zones",
        "    selector1: selector1-example-com._domainkey.contoso.onmicrosoft.com",
        "    selector2: selector2-example-com._domainkey.contoso.onmicrosoft.com",
        "  example.org:",
        "    provider: zones",
        "    selector1: selector1-example-org._domainkey.contoso.onmicrosoft.com",
        "    selector2: selector2-example-org._domainkey.contoso.onmicrosoft.com",
        "",
      ].join("\n"),
    );
    const r = await run(["validate", "-c", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${path.join(zones, "example.com.yaml").replace(/[.\\/]/g, "\\$&")}:\\d+: `));
    expect(r.stderr).toContain(`${file}:8: domain "example.org": provider "zones" has no zone file for it`);
  });

  it("names a missing signing_config and a missing zone folder at their config lines", async () => {
    const file = await write(
      "missing.yaml",
      [
        "signing_config: m365/nope.json",
        "providers:",
        "  zones:",
        "    type: yaml",
        "    directory: ./no-such-folder",
        "domains: {}",
        "",
      ].join("\n"),
    );
    const r = await run(["validate", "-c", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:1: signing_config cannot read`);
    expect(r.stderr).toContain(`${file}:5: [zones] zone directory`);
  });

  it("has a JSON form for machines", async () => {
    const r = await run(["validate", "-c", path.join(dir, "dkim.zones.yaml"), "--format", "json"]);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.stdout) as { ok: boolean; problems: unknown[]; domains: number };
    expect(body).toMatchObject({ version: 1, ok: true, problems: [], domains: 6 });
  });

  it("a missing config file is one clear error", async () => {
    const r = await run(["validate", "-c", path.join(dir, "nope.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot read the config file");
  });
});

// -------------------------------------------------------------------------------------------
// The schema

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
let validateSchema: ReturnType<typeof ajv.compile>;
beforeAll(async () => {
  validateSchema = ajv.compile(JSON.parse(await fs.readFile(schemaFile, "utf8")) as object);
});

function schemaSays(text: string): { ok: boolean; errors: string } {
  let data: unknown;
  try {
    data = yaml.load(text);
  } catch {
    return { ok: false, errors: "YAML syntax" };
  }
  const ok = validateSchema(data) as boolean;
  return { ok, errors: ajv.errorsText(validateSchema.errors) };
}

async function loaderSays(file: string): Promise<{ ok: boolean; errors: string }> {
  // The schema's ground: the config and the provider options, not the zone files it points to.
  const r = await validateConfig(file, { zoneFiles: false });
  return { ok: r.ok, errors: r.problems.map((p) => p.message).join("\n") };
}

const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";
const N1 = "selector1-example-com._domainkey.contoso.r-v1.dkim.mail.microsoft";
const N2 = "selector2-example-com._domainkey.contoso.r-v1.dkim.mail.microsoft";
const ZONES = "providers:\n  zones: { type: yaml, directory: ./zones }\n";
const one = (extra = "", domain = "example.com") =>
  `${ZONES}domains:\n  ${domain}:\n    provider: zones\n    selector1: ${T1}\n    selector2: ${T2}\n${extra}`;

/** [name, config text, valid?]: both the loader and the schema must give this verdict. */
const CORPUS: [string, string, boolean][] = [
  ["minimal", one(), true],
  ["tenant derivation", `tenant: contoso\n${ZONES}domains:\n  example.com: { provider: zones }\n`, true],
  [
    "tenant written in full",
    `tenant: Contoso.onmicrosoft.com\n${ZONES}domains:\n  example.com: { provider: zones }\n`,
    true,
  ],
  [
    "new-format targets, upper case, trailing dot",
    `${ZONES}domains:\n  Example.COM.:\n    provider: zones\n    selector1: ${N1.toUpperCase()}.\n    selector2: ${N2}\n`,
    true,
  ],
  [
    "IDN domain",
    `tenant: contoso\n${ZONES}domains:\n  bücher.example:\n    provider: zones\n    selector1: selector1-xn--bcher-kva-example._domainkey.contoso.onmicrosoft.com\n    selector2: selector2-xn--bcher-kva-example._domainkey.contoso.onmicrosoft.com\n`,
    true,
  ],
  [
    "ensure absent",
    `tenant: contoso\n${ZONES}domains:\n  old.example.com: { provider: zones, ensure: absent }\n`,
    true,
  ],
  [
    "several providers and ttls",
    `ttl: 300\n${ZONES}  aws: { type: route53, region: eu-west-1, wait: true, max_rps: 2.5 }\ndomains:\n  example.com:\n    providers: [zones, aws]\n    ttl: 60\n    zone_id: "Z0123"\n    selector1: ${T1}\n    selector2: ${T2}\n`,
    true,
  ],
  [
    "every provider type with options",
    `providers:\n  z: { type: yaml, directory: ./zones }\n  p: { type: powerdns, url: "https://pdns.example:8081/api/v1", api_key: env/K, server_id: localhost, timeout_ms: 500, read: zone, max_attempts: 2 }\n  r: { type: route53, endpoint: "http://127.0.0.1:9", profile: dns, zone_id: /hostedzone/Z1, private_zones: false, max_attempts: 3, wait_timeout: 60 }\n  c: { type: cloudflare, token: env/T, base_url: "http://127.0.0.1:8787/client/v4", account_id: abc, max_requests_per_5min: 100, max_retries: 0, batch_size: 3500 }\n  b: { type: rfc2136, server: "[::1]:5353", zones: [example.com], tsig: { name: key., algorithm: hmac-sha512, secret: env/S }, transfer: query, timeout_ms: 100 }\ndomains: {}\n`,
    true,
  ],
  [
    "optional options left empty (null)",
    `providers:\n  r:\n    type: route53\n    region:\n  b:\n    type: rfc2136\n    server: 127.0.0.1\n    zones: example.com\n    tsig:\ndomains:\n`,
    true,
  ],
  ["empty providers and domains", "providers:\ndomains:\n", true],

  ["unknown top-level key", `${one()}domain: {}\n`, false],
  ["ttl with a unit", `ttl: 1h\n${one()}`, false],
  ["ttl zero", `ttl: 0\n${one()}`, false],
  ["ttl over 2^31-1", `ttl: 2147483648\n${one()}`, false],
  ["ttl not whole", `ttl: 1.5\n${one()}`, false],
  ["tenant with a dot", `tenant: con.toso\n${one()}`, false],
  ["tenant a number", `tenant: 42\n${one()}`, false],
  ["signing_config not a string", `signing_config: [a]\n${one()}`, false],
  ["provider without type", `providers:\n  zones: { directory: ./zones }\ndomains: {}\n`, false],
  ["unknown provider type", `providers:\n  zones: { type: yml, directory: ./zones }\ndomains: {}\n`, false],
  ["provider name with a space", `providers:\n  "my zones": { type: yaml, directory: ./zones }\ndomains: {}\n`, false],
  ["yaml without directory", `providers:\n  zones: { type: yaml }\ndomains: {}\n`, false],
  ["option typo", `providers:\n  zones: { type: yaml, directory: ./zones, dir: x }\ndomains: {}\n`, false],
  ["inline cloudflare token", `providers:\n  cf: { type: cloudflare, token: abc123 }\ndomains: {}\n`, false],
  ["cloudflare without token", `providers:\n  cf: { type: cloudflare }\ndomains: {}\n`, false],
  [
    "cloudflare batch_size too large",
    `providers:\n  cf: { type: cloudflare, token: env/T, batch_size: 3501 }\ndomains: {}\n`,
    false,
  ],
  [
    "powerdns url not http",
    `providers:\n  p: { type: powerdns, url: "ftp://x", api_key: env/K }\ndomains: {}\n`,
    false,
  ],
  [
    "powerdns read mode",
    `providers:\n  p: { type: powerdns, url: "http://x", api_key: env/K, read: all }\ndomains: {}\n`,
    false,
  ],
  [
    "route53 inline credentials",
    `providers:\n  aws: { type: route53, aws_secret_access_key: x }\ndomains: {}\n`,
    false,
  ],
  ["route53 max_rps too low", `providers:\n  aws: { type: route53, max_rps: 0.01 }\ndomains: {}\n`, false],
  [
    "route53 private_zones a string",
    `providers:\n  aws: { type: route53, private_zones: "yes" }\ndomains: {}\n`,
    false,
  ],
  ["rfc2136 without server", `providers:\n  b: { type: rfc2136 }\ndomains: {}\n`, false],
  ["rfc2136 port out of range", `providers:\n  b: { type: rfc2136, server: "127.0.0.1:70000" }\ndomains: {}\n`, false],
  [
    "rfc2136 tsig without secret",
    `providers:\n  b: { type: rfc2136, server: ns1, tsig: { name: k } }\ndomains: {}\n`,
    false,
  ],
  [
    "rfc2136 tsig algorithm",
    `providers:\n  b: { type: rfc2136, server: ns1, tsig: { name: k, secret: env/S, algorithm: hmac-md5 } }\ndomains: {}\n`,
    false,
  ],
  ["domain without provider", `tenant: contoso\n${ZONES}domains:\n  example.com: { ensure: absent }\n`, false],
  [
    "both provider and providers",
    `tenant: contoso\n${ZONES}domains:\n  example.com: { provider: zones, providers: [zones] }\n`,
    false,
  ],
  ["providers empty list", `tenant: contoso\n${ZONES}domains:\n  example.com: { providers: [] }\n`, false],
  ["provider listed twice", `tenant: contoso\n${ZONES}domains:\n  example.com: { providers: [zones, zones] }\n`, false],
  ["provider as a list", `tenant: contoso\n${ZONES}domains:\n  example.com: { provider: [zones] }\n`, false],
  ["ensure maybe", `tenant: contoso\n${ZONES}domains:\n  example.com: { provider: zones, ensure: maybe }\n`, false],
  ["selector1 only", `${ZONES}domains:\n  example.com: { provider: zones, selector1: ${T1} }\n`, false],
  [
    "selector1 not a Microsoft target",
    `${ZONES}domains:\n  example.com: { provider: zones, selector1: example.com, selector2: ${T2} }\n`,
    false,
  ],
  [
    "selectors swapped",
    `${ZONES}domains:\n  example.com: { provider: zones, selector1: ${T2}, selector2: ${T1} }\n`,
    false,
  ],
  [
    "zone_id a number",
    `tenant: contoso\n${ZONES}  aws: { type: route53 }\ndomains:\n  example.com: { provider: aws, zone_id: 123 }\n`,
    false,
  ],
  ["unknown domain key", `${one("    ttl_seconds: 5\n")}`, false],
  ["single-label domain", `tenant: contoso\n${ZONES}domains:\n  localhost: { provider: zones }\n`, false],
  ["domain with an empty label", `tenant: contoso\n${ZONES}domains:\n  example..com: { provider: zones }\n`, false],
  ["domains a list", `${ZONES}domains: [example.com]\n`, false],
  ["top level a list", "- a\n", false],
];

/**
 * What only `validate` can know, so the schema accepts it and the loader refuses: references
 * between parts of the file, where targets come from, and facts about names. Kept here so the
 * list stays honest: if the schema learns one of these, the test fails and it moves to CORPUS.
 */
const SCHEMA_BLIND: [string, string][] = [
  ["unknown provider reference", `tenant: contoso\n${ZONES}domains:\n  example.com: { provider: zonez }\n`],
  ["no target source (no tenant, no selectors)", `${ZONES}domains:\n  example.com: { provider: zones }\n`],
  ["hyphenated domain cannot be derived", `tenant: contoso\n${ZONES}domains:\n  my-shop.com: { provider: zones }\n`],
  [
    "targets from two formats",
    `${ZONES}domains:\n  example.com: { provider: zones, selector1: ${T1}, selector2: ${N2} }\n`,
  ],
  [
    "the same domain twice after normalising",
    `tenant: contoso\n${ZONES}domains:\n  example.com: { provider: zones }\n  Example.com.: { provider: zones }\n`,
  ],
  [
    "zone_id without a route53 provider",
    `tenant: contoso\n${ZONES}domains:\n  example.com: { provider: zones, zone_id: "Z1" }\n`,
  ],
];

describe("the JSON Schema and the loader agree", () => {
  it("is a valid draft 2020-12 schema that knows every provider type", async () => {
    const schema = JSON.parse(await fs.readFile(schemaFile, "utf8")) as {
      $schema: string;
      $defs: Record<string, { enum?: string[] }>;
    };
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    // A provider type added to providers/index.ts must be added to the schema too.
    expect([...(schema.$defs.providerTypes?.enum ?? [])].sort()).toEqual(Object.keys(providerTypes).sort());
    for (const t of Object.keys(providerTypes))
      expect(schema.$defs[`provider-${t}`], `$defs/provider-${t}`).toBeDefined();
  });

  it("the example points editors at the schema", async () => {
    const first = (await fs.readFile(path.join(root, "dkim.zones.yaml"), "utf8")).split("\n")[0];
    expect(first).toBe("# yaml-language-server: $schema=./schema/dkim.zones.schema.json");
  });

  const fixtures = ["dkim.zones.yaml", "test/fixtures/config/full.yaml", "test/fixtures/config/minimal.yaml"];
  for (const f of fixtures) {
    it(`fixture ${f}`, async () => {
      const file = path.join(root, f);
      const loader = await loaderSays(file);
      const schema = schemaSays(await fs.readFile(file, "utf8"));
      expect(loader.ok, loader.errors).toBe(true);
      expect(schema.ok, schema.errors).toBe(true);
    });
  }
  // The import fixtures are configs before (and after) `dkimsync import`: they still hold an IDN
  // domain without targets, which only the loader can see (see SCHEMA_BLIND).
  for (const f of ["test/fixtures/import/dkim.zones.yaml", "test/fixtures/import/dkim.zones.after.yaml"]) {
    it(`fixture ${f} (no targets for an IDN domain yet)`, async () => {
      const file = path.join(root, f);
      const loader = await loaderSays(file);
      expect(loader.errors).toMatch(/^[^\n]*: domain "xn--bcher-kva\.example": no selector targets/);
      expect(loader.errors.split("\n")).toHaveLength(1);
      const schema = schemaSays(await fs.readFile(file, "utf8"));
      expect(schema.ok, schema.errors).toBe(true);
    });
  }

  for (const [name, text, valid] of CORPUS) {
    it(`${valid ? "good" : "bad"}: ${name}`, async () => {
      const file = await write(`corpus-${name.replace(/\W+/g, "-")}.yaml`, text);
      const loader = await loaderSays(file);
      const schema = schemaSays(text);
      expect(loader.ok, `loader: ${loader.errors}`).toBe(valid);
      expect(schema.ok, `schema: ${schema.errors}`).toBe(valid);
    });
  }

  for (const [name, text] of SCHEMA_BLIND) {
    it(`only validate knows: ${name}`, async () => {
      const file = await write(`blind-${name.replace(/\W+/g, "-")}.yaml`, text);
      expect((await loaderSays(file)).ok).toBe(false);
      expect(schemaSays(text).ok).toBe(true);
    });
  }
});
