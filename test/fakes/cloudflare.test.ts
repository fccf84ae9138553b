/**
 * The Cloudflare loopback server, driven through the real `cloudflare` SDK: if the SDK accepts
 * its answers (envelope, paging, errors, retry-after), the provider tests against it mean
 * something.
 */
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import Cloudflare from "cloudflare";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { readFile, mkdir, symlink } from "node:fs/promises";
import ts from "typescript";
import { RequestWindow, startCloudflareFake, type CloudflareFake } from "./cloudflare/server.js";

let fake: CloudflareFake;
let cf: Cloudflare;

function client(opts: { token?: string; maxRetries?: number } = {}): Cloudflare {
  return new Cloudflare({
    apiToken: opts.token ?? fake.token,
    apiKey: null,
    apiEmail: null,
    baseURL: fake.baseURL,
    maxRetries: opts.maxRetries ?? 2,
    logLevel: "off",
  });
}

async function zoneId(name: string): Promise<string> {
  return fake.state.zone(name).id;
}

beforeEach(async () => {
  fake = await startCloudflareFake({
    seed: {
      zones: [
        {
          name: "example.com",
          records: [
            { name: "www.example.com", type: "A", content: "192.0.2.1", ttl: 300 },
            { name: "example.com", type: "TXT", content: "v=spf1 include:spf.protection.outlook.com -all", ttl: 3600 },
          ],
        },
        { name: "example.net", flatten_all_cnames: true },
      ],
    },
  });
  cf = client();
});

afterEach(async () => {
  await fake.stop();
});

describe("cloudflare fake: zones", () => {
  it("lists zones with an exact name filter and serves one zone", async () => {
    const page = await cf.zones.list({ name: "example.com" });
    expect(page.result.map((z) => z.name)).toEqual(["example.com"]);
    const z = await cf.zones.get({ zone_id: page.result[0]!.id });
    expect(z.name).toBe("example.com");
  });

  it("pages zones and the SDK's auto-pagination stops on the empty page past the end", async () => {
    for (let i = 0; i < 12; i++) fake.state.addZone({ name: `z${String(i).padStart(2, "0")}.example.org` });
    const names: string[] = [];
    for await (const z of cf.zones.list({ per_page: 5 })) names.push(z.name);
    expect(names).toHaveLength(14);
    expect(new Set(names).size).toBe(14);
    // 14 zones in pages of 5: pages 1-3 hold them, page 4 is empty and ends the iteration.
    expect(fake.counts["listZones"]).toBe(4);
    expect(fake.log.at(-1)?.query["page"]).toBe("4");
  });

  it("filters zones by account id", async () => {
    fake.state.addZone({ name: "other.example", account_id: "ffffffffffffffffffffffffffffffff" });
    const page = await cf.zones.list({ account: { id: "ffffffffffffffffffffffffffffffff" } });
    expect(page.result.map((z) => z.name)).toEqual(["other.example"]);
  });

  it("reports flatten_all_cnames through the DNS settings and the deprecated zone setting", async () => {
    const net = await zoneId("example.net");
    const com = await zoneId("example.com");
    expect((await cf.dns.settings.zone.get({ zone_id: net })).flatten_all_cnames).toBe(true);
    expect((await cf.dns.settings.zone.get({ zone_id: com })).flatten_all_cnames).toBe(false);
    const setting = await cf.zones.settings.get("cname_flattening", { zone_id: net });
    expect(setting).toMatchObject({ id: "cname_flattening", value: "flatten_all" });
  });
});

describe("cloudflare fake: records", () => {
  it("creates, reads with name.exact and type filters, patches and deletes", async () => {
    const zone_id = await zoneId("example.com");
    const created = await cf.dns.records.create({
      zone_id,
      name: "selector1._domainkey.example.com.",
      type: "CNAME",
      content: "selector1-example-com._domainkey.contoso.onmicrosoft.com.",
      ttl: 3600,
      proxied: false,
    });
    // Cloudflare strips the trailing dot from names and CNAME content.
    expect(created).toMatchObject({
      name: "selector1._domainkey.example.com",
      content: "selector1-example-com._domainkey.contoso.onmicrosoft.com",
      ttl: 3600,
      proxied: false,
    });

    const byName = await cf.dns.records.list({ zone_id, name: { exact: "SELECTOR1._domainkey.example.com" } });
    expect(byName.result.map((r) => r.id)).toEqual([created.id]);
    expect(fake.log.at(-1)?.query["name.exact"]).toBe("SELECTOR1._domainkey.example.com");
    const txt = await cf.dns.records.list({ zone_id, type: "TXT" });
    expect(txt.result.map((r) => r.name)).toEqual(["example.com"]);

    const patched = await cf.dns.records.edit(created.id, {
      zone_id,
      name: created.name,
      type: "CNAME",
      ttl: 1,
      proxied: true,
    });
    expect(patched).toMatchObject({ ttl: 1, proxied: true, content: created.content });

    await cf.dns.records.delete(created.id, { zone_id });
    const after = await cf.dns.records.list({ zone_id, name: { exact: "selector1._domainkey.example.com" } });
    expect(after.result).toEqual([]);
  });

  it("filters names by prefix and suffix together (match=all), case-insensitively, as the SDK sends them", async () => {
    const zone_id = await zoneId("example.com");
    const z = fake.state.zone("example.com");
    for (const name of [
      "selector1._domainkey.example.com",
      "selector2._domainkey.example.com",
      "selector1._domainkey.mkt.example.com",
      "google._domainkey.example.com",
      "selectorx.example.com",
    ])
      fake.state.createRecord(z, { name, type: "CNAME", content: `t.${name}`, ttl: 3600 });

    const both = await cf.dns.records.list({
      zone_id,
      name: { startswith: "SELECTOR", endswith: "._DomainKey.Example.com" },
      match: "all",
      per_page: 5000,
    });
    expect(both.result.map((r) => r.name).sort()).toEqual([
      "selector1._domainkey.example.com",
      "selector2._domainkey.example.com",
    ]);
    // The SDK sends nested filters as dotted query keys, which is what the server reads.
    expect(fake.log.at(-1)?.query).toMatchObject({
      "name.startswith": "SELECTOR",
      "name.endswith": "._DomainKey.Example.com",
      match: "all",
      per_page: "5000",
    });

    const prefixOnly = await cf.dns.records.list({ zone_id, name: { startswith: "selector" } });
    expect(prefixOnly.result.map((r) => r.name).sort()).toEqual([
      "selector1._domainkey.example.com",
      "selector1._domainkey.mkt.example.com",
      "selector2._domainkey.example.com",
      "selectorx.example.com",
    ]);
    const contains = await cf.dns.records.list({ zone_id, name: { contains: "._domainkey." } });
    expect(contains.result).toHaveLength(4);
    // match=any ORs the filters: every name with either affix.
    const any = await cf.dns.records.list({
      zone_id,
      name: { startswith: "google", endswith: ".mkt.example.com" },
      match: "any",
    });
    expect(any.result.map((r) => r.name).sort()).toEqual([
      "google._domainkey.example.com",
      "selector1._domainkey.mkt.example.com",
    ]);
  });

  it("serves the pages of a filtered listing with result_info counting only the matches", async () => {
    const zone_id = await zoneId("example.com");
    const z = fake.state.zone("example.com");
    for (let i = 0; i < 12; i++)
      fake.state.createRecord(z, {
        name: `selector1._domainkey.d${i}.example.com`,
        type: "CNAME",
        content: "t.example.net",
        ttl: 3600,
      });
    const first = await cf.dns.records.list({ zone_id, name: { startswith: "selector" }, per_page: 5 });
    expect(first.result).toHaveLength(5);
    expect(first.result_info).toMatchObject({ page: 1, per_page: 5, count: 5, total_count: 12, total_pages: 3 });
    const last = await cf.dns.records.list({ zone_id, name: { startswith: "selector" }, per_page: 5, page: 3 });
    expect(last.result).toHaveLength(2);
  });

  it("refuses a CNAME next to other records (81053), other records next to a CNAME (81054), and duplicates (81057)", async () => {
    const zone_id = await zoneId("example.com");
    const cname = cf.dns.records.create({
      zone_id,
      name: "www.example.com",
      type: "CNAME",
      content: "target.example.net",
      ttl: 300,
    });
    await expect(cname).rejects.toMatchObject({ status: 400, errors: [{ code: 81053 }] });
    await cf.dns.records.create({
      zone_id,
      name: "alias.example.com",
      type: "CNAME",
      content: "target.example.net",
      ttl: 300,
    });
    const txt = cf.dns.records.create({ zone_id, name: "alias.example.com", type: "TXT", content: "x", ttl: 300 });
    await expect(txt).rejects.toMatchObject({ status: 400, errors: [{ code: 81054 }] });
    const dup = cf.dns.records.create({ zone_id, name: "www.example.com", type: "A", content: "192.0.2.1", ttl: 300 });
    await expect(dup).rejects.toMatchObject({ status: 400, errors: [{ code: 81057 }] });
  });

  it("answers 404 with code 81044 for a record that does not exist", async () => {
    const zone_id = await zoneId("example.com");
    await expect(cf.dns.records.delete("0000", { zone_id })).rejects.toMatchObject({
      status: 404,
      errors: [{ code: 81044 }],
    });
  });

  it("pages records; a page past the end is an empty 200", async () => {
    const zone_id = await zoneId("example.com");
    for (let i = 0; i < 7; i++) {
      await cf.dns.records.create({
        zone_id,
        name: `h${i}.example.com`,
        type: "A",
        content: `192.0.2.${10 + i}`,
        ttl: 300,
      });
    }
    const names: string[] = [];
    for await (const r of cf.dns.records.list({ zone_id, per_page: 5 })) names.push(r.name);
    expect(names).toHaveLength(9);
    const past = await cf.dns.records.list({ zone_id, per_page: 5, page: 9 });
    expect(past.result).toEqual([]);
  });
});

describe("cloudflare fake: batch", () => {
  it("runs deletes, patches, posts in that order, so a TXT can be replaced by a CNAME", async () => {
    const zone_id = await zoneId("example.com");
    const txt = await cf.dns.records.create({
      zone_id,
      name: "selector1._domainkey.example.com",
      type: "TXT",
      content: "v=DKIM1; p=old",
      ttl: 3600,
    });
    const www = fake.state.zone("example.com").records.find((r) => r.name === "www.example.com")!;
    const result = await cf.dns.records.batch({
      zone_id,
      deletes: [{ id: txt.id }],
      patches: [{ id: www.id, name: www.name, type: "A", content: "192.0.2.99", ttl: 600 }],
      posts: [
        {
          name: "selector1._domainkey.example.com",
          type: "CNAME",
          content: "s1.example.net",
          ttl: 3600,
          proxied: false,
          settings: { flatten_cname: false },
        },
      ],
    });
    expect(result.deletes?.map((r) => r.id)).toEqual([txt.id]);
    expect(result.patches?.[0]).toMatchObject({ id: www.id, content: "192.0.2.99", ttl: 600 });
    expect(result.posts?.[0]).toMatchObject({
      type: "CNAME",
      content: "s1.example.net",
      settings: { flatten_cname: false },
    });
    expect(fake.counts["batch"]).toBe(1);
  });

  it("is all or nothing: a failing post undoes the delete before it", async () => {
    const zone_id = await zoneId("example.com");
    const before = structuredClone(fake.state.zone("example.com").records);
    const www = before.find((r) => r.name === "www.example.com")!;
    const call = cf.dns.records.batch({
      zone_id,
      deletes: [{ id: www.id }],
      posts: [
        { name: "a.example.com", type: "CNAME", content: "t.example.net", ttl: 300 },
        { name: "a.example.com", type: "TXT", content: "blocked by the CNAME", ttl: 300 },
      ],
    });
    await expect(call).rejects.toMatchObject({ status: 400, errors: [{ code: 81054 }] });
    expect(fake.state.zone("example.com").records).toEqual(before);
  });

  it("refuses more records than the batch limit", async () => {
    const zone_id = await zoneId("example.com");
    fake.state.maxBatchRecords = 3;
    const posts = [1, 2, 3, 4].map((i) => ({
      name: `b${i}.example.com`,
      type: "A" as const,
      content: `192.0.2.${i}`,
      ttl: 300,
    }));
    await expect(cf.dns.records.batch({ zone_id, posts })).rejects.toMatchObject({ status: 400 });
    expect(fake.state.zone("example.com").records).toHaveLength(2);
  });
});

describe("cloudflare fake: auth, rate limits and faults", () => {
  it("refuses a wrong token with 403 code 9109", async () => {
    const bad = client({ token: "not-the-token" });
    await expect(bad.zones.list()).rejects.toMatchObject({ status: 403, errors: [{ code: 9109 }] });
  });

  it("answers 429 code 971 with retry-after once over the limit, and the SDK honours it", async () => {
    await fake.stop();
    fake = await startCloudflareFake({
      rateLimit: 3,
      rateLimitWindowMs: 1200,
      seed: { zones: [{ name: "example.com" }] },
    });
    const noRetry = client({ maxRetries: 0 });
    for (let i = 0; i < 3; i++) await noRetry.zones.list();
    const limited = noRetry.zones.list();
    await expect(limited).rejects.toMatchObject({ status: 429, errors: [{ code: 971 }] });
    expect(fake.log.at(-1)?.status).toBe(429);

    // With retries, the SDK waits the retry-after seconds (1 s here) and gets through.
    const started = Date.now();
    const page = await client({ maxRetries: 2 }).zones.list();
    expect(page.result).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("rateLimitNext and failNext(operation) inject failures the SDK retries", async () => {
    fake.faults.rateLimitNext(1, 0);
    fake.faults.failNext(1, 503, "listZones", { retryAfterSeconds: 0 });
    const page = await cf.zones.list();
    expect(page.result.length).toBe(2);
    expect(fake.counts["listZones"]).toBe(3);
    expect(fake.log.map((l) => l.status)).toEqual([429, 503, 200]);
  });

  it("failNext for the batch leaves the zone unchanged", async () => {
    const zone_id = await zoneId("example.com");
    fake.faults.failNext(1, 500, "batch");
    const call = client({ maxRetries: 0 }).dns.records.batch({
      zone_id,
      posts: [{ name: "n.example.com", type: "A", content: "192.0.2.7", ttl: 300 }],
    });
    await expect(call).rejects.toMatchObject({ status: 500 });
    expect(fake.state.zone("example.com").records.map((r) => r.name)).not.toContain("n.example.com");
  });

  it("dropNext closes the connection and the SDK retries; delayNext holds the answer", async () => {
    fake.faults.dropNext(1);
    const page = await client({ maxRetries: 1 }).zones.list();
    expect(page.result.length).toBe(2);
    expect(fake.log[0]?.status).toBe(-1);
    fake.faults.delayNext(300);
    const started = Date.now();
    await cf.zones.list();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe("cloudflare fake: command line", () => {
  it("serves a YAML seed on the given port", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "dkimsync-cf-cli-"));
    try {
      const seed = path.join(dir, "seed.yaml");
      await writeFile(
        seed,
        "zones:\n  - name: seeded.example\n    records:\n      - { name: selector1._domainkey.seeded.example, type: CNAME, content: s1.example.net, ttl: 3600 }\n",
      );
      const port = fake.port; // a port known free once this fake stops
      await fake.stop();
      const cli = await buildCli(dir);
      const child = spawn(process.execPath, [cli, "--port", String(port), "--seed", seed, "--token", "cli-token"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        const out = await new Promise<string>((resolve, reject) => {
          let buf = "";
          child.stdout.on("data", (d: Buffer) => {
            buf += d.toString();
            if (buf.includes("token:")) resolve(buf);
          });
          child.on("exit", (code) => reject(new Error(`cli exited ${code}`)));
        });
        expect(out).toContain(`http://127.0.0.1:${port}/client/v4`);
        const c = new Cloudflare({
          apiToken: "cli-token",
          apiKey: null,
          apiEmail: null,
          baseURL: `http://127.0.0.1:${port}/client/v4`,
          logLevel: "off",
        });
        const zones = await c.zones.list({ name: "seeded.example" });
        const records = await c.dns.records.list({ zone_id: zones.result[0]!.id });
        expect(records.result.map((r) => r.content)).toEqual(["s1.example.net"]);
      } finally {
        child.kill();
      }
      fake = await startCloudflareFake();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The CLI as `npm run build` would emit it (dist/test/fakes/cloudflare/cli.js), transpiled
 * into the temp folder so the test does not depend on a prior build. Node 20 cannot run .ts.
 */
async function buildCli(dir: string): Promise<string> {
  const out = path.join(dir, "cli");
  await mkdir(out);
  await writeFile(path.join(out, "package.json"), '{"type":"module"}');
  await symlink(path.resolve("node_modules"), path.join(out, "node_modules"), "dir");
  for (const file of ["cli", "server", "state"]) {
    const source = await readFile(path.resolve(`test/fakes/cloudflare/${file}.ts`), "utf8");
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(path.join(out, `${file}.js`), js.outputText);
  }
  return path.join(out, "cli.js");
}

/**
 * Where the loopback server used to deviate from the documented API in ways that hid client
 * bugs. Each case cites the Cloudflare documentation it follows.
 */
describe("cloudflare fake: documented behaviour", () => {
  async function apiError(p: Promise<unknown>): Promise<InstanceType<typeof Cloudflare.APIError>> {
    try {
      await p;
    } catch (err) {
      if (err instanceof Cloudflare.APIError) return err;
      throw err;
    }
    throw new Error("expected an API error");
  }

  it("refuses TTL under 60 on a Free zone, 30 only on Enterprise; 1 is automatic (API reference, DNS records, ttl)", async () => {
    // "Setting to 1 means 'automatic'. Value must be between 60 and 86400, with the minimum
    // reduced to 30 for Enterprise zones."
    const zone_id = await zoneId("example.com");
    for (const ttl of [30, 45, 59, 86401]) {
      const err = await apiError(
        cf.dns.records.create({ zone_id, type: "CNAME", name: `t${ttl}.example.com`, content: "x.example.net", ttl }),
      );
      expect(err.status).toBe(400);
      expect(err.errors[0]).toMatchObject({ code: 9021 });
    }
    expect(
      (
        await cf.dns.records.create({
          zone_id,
          type: "CNAME",
          name: "t60.example.com",
          content: "x.example.net",
          ttl: 60,
        })
      ).ttl,
    ).toBe(60);
    expect(
      (
        await cf.dns.records.create({
          zone_id,
          type: "CNAME",
          name: "t1.example.com",
          content: "x.example.net",
          ttl: 1,
        })
      ).ttl,
    ).toBe(1);
    fake.state.addZone({ name: "big.example", plan: "enterprise" });
    const ent = await zoneId("big.example");
    expect(
      (
        await cf.dns.records.create({
          zone_id: ent,
          type: "CNAME",
          name: "t30.big.example",
          content: "x.example.net",
          ttl: 30,
        })
      ).ttl,
    ).toBe(30);
  });

  it("refuses tags on a Free zone with 1004 and error_chain 9300, quota 0 (DNS docs, Record attributes: record tags)", async () => {
    const zone_id = await zoneId("example.com");
    const err = await apiError(
      cf.dns.records.create({
        zone_id,
        type: "TXT",
        name: "tagged.example.com",
        content: "x",
        ttl: 300,
        tags: ["owner:dns"],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.errors[0]).toMatchObject({
      code: 1004,
      message: "DNS Validation Error",
      error_chain: [{ code: 9300, message: "DNS record has 1 tags, exceeding the quota of 0." }],
    });
    expect(fake.state.zone("example.com").records.some((r) => r.name === "tagged.example.com")).toBe(false);
  });

  it("strips the trailing dot of MX and NS content, as of CNAME content", async () => {
    const zone_id = await zoneId("example.com");
    const mx = await cf.dns.records.create({
      zone_id,
      type: "MX",
      name: "example.com",
      content: "mx1.example.net.",
      priority: 10,
      ttl: 300,
    });
    const ns = await cf.dns.records.create({
      zone_id,
      type: "NS",
      name: "sub.example.com",
      content: "ns1.example.net.",
      ttl: 300,
    });
    expect([mx.content, ns.content]).toEqual(["mx1.example.net", "ns1.example.net"]);
  });

  it("accepts CAA and SRV as structured data and derives content (API reference, DNS records: CAA and SRV bodies)", async () => {
    const zone_id = await zoneId("example.com");
    const caa = await cf.dns.records.create({
      zone_id,
      type: "CAA",
      name: "example.com",
      ttl: 300,
      data: { flags: 0, tag: "issue", value: "letsencrypt.org" },
    });
    expect(caa.content).toBe('0 issue "letsencrypt.org"');
    const srv = await cf.dns.records.create({
      zone_id,
      type: "SRV",
      name: "_sip._tcp.example.com",
      ttl: 300,
      data: { priority: 10, weight: 5, port: 5060, target: "sip.example.net." },
    });
    expect(srv).toMatchObject({ content: "5 5060 sip.example.net", priority: 10 });
  });

  it("sends Ratelimit and Ratelimit-Policy on every answer (API docs, Rate limits: rate limiting headers)", async () => {
    const res = await fetch(`${fake.baseURL}/zones`, { headers: { authorization: `Bearer ${fake.token}` } });
    expect(res.headers.get("ratelimit")).toMatch(/^"default";r=\d+;t=\d+$/);
    expect(res.headers.get("ratelimit-policy")).toBe('"default";q=1200;w=300');
    const before = Number(/r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1]);
    const again = await fetch(`${fake.baseURL}/zones`, { headers: { authorization: `Bearer ${fake.token}` } });
    expect(Number(/r=(\d+)/.exec(again.headers.get("ratelimit") ?? "")?.[1])).toBe(before - 1);
  });
});

describe("cloudflare fake: the sliding window as a queue", () => {
  it("counts what the old filter counted (arrivals after the cutoff), over 40,000 requests", () => {
    // The reference is the rule the fake enforced before (filter every arrival > now - window),
    // computed here on the same arrivals; the queue must agree with it at every step.
    const window = new RequestWindow();
    const windowMs = 300;
    const arrivals: number[] = [];
    let t = 0;
    for (let i = 0; i < 40_000; i++) {
      t += i % 7 === 0 ? 0 : (i * 13) % 5;
      window.expire(t - windowMs);
      window.push(t);
      arrivals.push(t);
      if (i % 997 === 0) {
        const reference = arrivals.filter((a) => a > t - windowMs);
        expect(window.size).toBe(reference.length);
        expect(window.oldest).toBe(reference[0]);
      }
    }
  });
});
