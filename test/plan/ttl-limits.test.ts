/**
 * Provider TTL limits are data (Capabilities.ttl) that the planner checks at plan time: a
 * Cloudflare domain with `ttl: 45` is refused before anything is read or written, with the
 * config line and the rule (Cloudflare API reference, DNS records, `ttl`: "Value must be between
 * 60 and 86400, with the minimum reduced to 30 for Enterprise zones"). Real provider, real SDK,
 * loopback Cloudflare server.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { buildPlan, closeProviders } from "../../src/plan/build.js";
import { planToJson } from "../../src/render/json.js";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";

let dir: string;
let fake: CloudflareFake;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-ttl-"));
  fake = await startCloudflareFake({ seed: { zones: [{ name: "example.com" }, { name: "example.org" }] } });
});
afterEach(async () => {
  await fake.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

async function plan(domains: string, extra = "") {
  const file = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(
    file,
    `tenant: contoso
providers:
  cf: { type: cloudflare, token: env/CF_TOKEN, base_url: "${fake.baseURL}"${extra} }
domains:
${domains}`,
  );
  const { plan: p, providers } = await buildPlan({ config: loadConfig(file), env: { CF_TOKEN: fake.token } });
  await closeProviders(providers);
  return p;
}

describe("provider TTL limits at plan time", () => {
  it("refuses ttl 45 for a Cloudflare domain, naming the line and the rule, and plans the others", async () => {
    const p = await plan("  example.com:\n    provider: cf\n    ttl: 45\n  example.org:\n    provider: cf\n");
    expect(p.errors).toHaveLength(1);
    expect(p.errors[0]).toMatchObject({ provider: "cf", domain: "example.com", zone: "example.com" });
    expect(p.errors[0]?.message).toMatch(
      /dkim\.zones\.yaml:5: ttl 45 is outside what provider "cf" accepts \(60-86400 s\): Cloudflare refuses TTLs under 60/,
    );
    expect(p.errors[0]?.message).toContain("set ttl: under domain example.com to a value from 60 to 86400");
    expect(p.zones.map((z) => z.zone)).toEqual(["example.org"]);
    // Nothing was read for the refused domain: the check needs no request.
    expect(fake.log.filter((l) => l.operation === "listRecords")).toHaveLength(1);
    expect(planToJson(p).errors?.[0]?.message).toContain("ttl 45");
  });

  it("names the top-level ttl when that is where the value comes from", async () => {
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(
      file,
      `tenant: contoso\nttl: 90000\nproviders:\n  cf: { type: cloudflare, token: env/CF_TOKEN, base_url: "${fake.baseURL}" }\ndomains:\n  example.com:\n    provider: cf\n`,
    );
    const { plan: p, providers } = await buildPlan({ config: loadConfig(file), env: { CF_TOKEN: fake.token } });
    await closeProviders(providers);
    expect(p.errors[0]?.message).toMatch(/ttl 90000 is outside .*; set the top-level ttl: to a value from 60 to 86400/);
  });

  it("accepts 30 on an Enterprise zone once min_ttl says so", async () => {
    const p = await plan("  example.com:\n    provider: cf\n    ttl: 30\n", ", min_ttl: 30");
    expect(p.errors).toEqual([]);
    expect(p.zones[0]?.changes.map((c) => c.after?.ttl)).toEqual([30, 30]);
  });
});
