/**
 * The planner over real zone files: several providers per domain, filters, and failures that
 * stay with the domains they belong to.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { buildPlan, closeProviders, fingerprint, summarise } from "../../src/plan/build.js";
import { renderJson } from "../../src/render/json.js";

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-plan-"));
  for (const d of ["a", "b"]) await fs.mkdir(path.join(dir, d));
  await fs.writeFile(path.join(dir, "a", "example.com.yaml"), "---\n'':\n  type: TXT\n  value: v=spf1 -all\n");
  await fs.writeFile(path.join(dir, "b", "example.com.yaml"), "---\n{}\n");
  await fs.writeFile(path.join(dir, "b", "example.org.yaml"), "---\n{}\n");
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function plan(configText: string, opts: { domains?: string[]; providers?: string[] } = {}) {
  const file = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(file, configText);
  const config = loadConfig(file);
  const { plan: p, providers } = await buildPlan({ config, ...opts });
  await closeProviders(providers);
  return p;
}

const TWO_PROVIDERS = `tenant: contoso
providers:
  primary: { type: yaml, directory: ./a }
  secondary: { type: yaml, directory: ./b }
domains:
  example.com:
    providers: [primary, secondary]
  example.org:
    provider: secondary
`;

describe("buildPlan", () => {
  it("plans a domain in every provider it names, each in its own zone plan", async () => {
    const p = await plan(TWO_PROVIDERS);
    expect(p.errors).toEqual([]);
    expect(p.zones.map((z) => `${z.provider}/${z.zone}: ${z.changes.length}`)).toEqual([
      "primary/example.com: 2",
      "secondary/example.com: 2",
      "secondary/example.org: 2",
    ]);
  });

  it("limits the plan with --provider and --domain", async () => {
    expect((await plan(TWO_PROVIDERS, { providers: ["secondary"] })).zones.map((z) => z.zone)).toEqual([
      "example.com",
      "example.org",
    ]);
    expect(
      (await plan(TWO_PROVIDERS, { domains: ["EXAMPLE.ORG."] })).zones.map((z) => `${z.provider}/${z.zone}`),
    ).toEqual(["secondary/example.org"]);
    await expect(plan(TWO_PROVIDERS, { providers: ["tertiary"] })).rejects.toThrow(
      /--provider tertiary: no provider of that name/,
    );
    await expect(plan(TWO_PROVIDERS, { domains: ["example.net"] })).rejects.toThrow(
      /--domain example.net: not configured/,
    );
  });

  it("keeps a provider's failure with its own domains; the rest of the plan stands", async () => {
    await fs.rm(path.join(dir, "a"), { recursive: true });
    const p = await plan(TWO_PROVIDERS);
    expect(p.errors.map((e) => `${e.provider} ${e.domain}`)).toEqual(["primary example.com"]);
    expect(p.errors[0]?.message).toContain("cannot list zones");
    expect(p.zones.map((z) => `${z.provider}/${z.zone}`)).toEqual(["secondary/example.com", "secondary/example.org"]);
    // The JSON carries the errors, so a pipeline reading it sees why the run failed.
    expect(JSON.parse(renderJson(p)).errors).toHaveLength(1);
  });

  it("says which provider and zone failed once, in the error's own fields, not again in its message", async () => {
    await fs.writeFile(path.join(dir, "b", "example.org.yaml"), "www:\n  type: [CNAME\n");
    const p = await plan(TWO_PROVIDERS);
    expect(p.errors.map((e) => `${e.provider} ${e.zone} ${e.domain}`)).toEqual(["secondary example.org example.org"]);
    expect(p.errors[0]?.message).toMatch(/^\S*example\.org\.yaml:\d+: YAML syntax error/);
  });

  it("makes the same plan, byte for byte, from the same input", async () => {
    const one = renderJson(await plan(TWO_PROVIDERS));
    const two = renderJson(await plan(TWO_PROVIDERS));
    expect(two).toBe(one);
    expect(summarise(await plan(TWO_PROVIDERS))).toEqual({
      create: 6,
      update: 0,
      delete: 0,
      unchanged: 0,
      conflicts: 0,
    });
  });

  it("fingerprints what it read, so a change at a managed name changes the fingerprint and nothing else does", async () => {
    const before = (await plan(TWO_PROVIDERS)).zones[0]?.fingerprint;
    await fs.appendFile(path.join(dir, "a", "example.com.yaml"), "www:\n  type: CNAME\n  value: example.net.\n");
    expect((await plan(TWO_PROVIDERS)).zones[0]?.fingerprint).toBe(before);
    await fs.appendFile(
      path.join(dir, "a", "example.com.yaml"),
      "selector1._domainkey:\n  type: TXT\n  value: v=DKIM1\\; p=x\n",
    );
    expect((await plan(TWO_PROVIDERS)).zones[0]?.fingerprint).not.toBe(before);
  });

  it("the fingerprint is the hash of what was read, in its place among the keys", async () => {
    await fs.appendFile(
      path.join(dir, "a", "example.com.yaml"),
      "selector1._domainkey:\n  type: TXT\n  value: v=DKIM1\\; p=x\n",
    );
    const z = (await plan(TWO_PROVIDERS)).zones.find((x) => x.provider === "primary");
    if (z === undefined) throw new Error("no zone planned at primary");
    // What was read at the managed names: the TXT in conflict, nothing else.
    const read = z.conflicts.map((c) => ({ name: c.name, type: c.type, ttl: c.ttl, values: c.values }));
    expect(read).toHaveLength(1);
    const expected = fingerprint(read);
    expect(z.fingerprint).toBe(expected);
    // Saved plans are JSON.stringify of the zone: the key keeps its place and its value.
    expect(Object.keys(z)).toEqual([
      "provider",
      "zone",
      "domains",
      "changes",
      "conflicts",
      "unchanged",
      "warnings",
      "names",
      "fingerprint",
      "notes",
    ]);
    expect(JSON.parse(JSON.stringify(z)).fingerprint).toBe(expected);
    expect({ ...z }.fingerprint).toBe(expected);
  });
});
