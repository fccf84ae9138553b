/**
 * Provider `route53`: the real provider code and the real AWS SDK against the loopback Route 53
 * fake (test/fakes/route53). Request counts come from the fake, so "reads one page" and "one
 * POST per batch" are asserted on what actually went over the wire.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InputError, ProviderError } from "../../src/core/errors.js";
import { OptionsReader } from "../../src/config/options.js";
import type { Provider, RecordSet } from "../../src/core/types.js";
import { createRoute53Provider } from "../../providers/route53/index.js";
import { loadConfig } from "../../src/config/load.js";
import { buildPlan, closeProviders } from "../../src/plan/build.js";
import { PACING_MARGIN, Route53Api, worstCaseMs } from "../../providers/route53/api.js";
import { startRoute53Fake, type Route53Fake } from "../fakes/route53/server.js";
import { cname, create, failure, remove, update } from "../helpers/records.js";

const ZONE = "example.com";
const T1 = "selector1-d1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-d1-example-com._domainkey.contoso.onmicrosoft.com";

// The provider uses the SDK's default credential chain, which reads process.env: these test
// values (and config files that do not exist, and no instance metadata) keep the tests hermetic.
const savedEnv = { ...process.env };
let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-r53-"));
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: "AKIDTESTFAKE",
    AWS_SECRET_ACCESS_KEY: "test-secret-not-real",
    AWS_CONFIG_FILE: path.join(tmp, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, "no-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
  });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
});
afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  await fs.rm(tmp, { recursive: true, force: true });
});

function reader(values: Record<string, unknown>): OptionsReader {
  return new OptionsReader({
    provider: "aws",
    type: "route53",
    values,
    where: { file: "dkim.zones.yaml", line: 7 },
    lineOf: (key) => (key in values ? 8 : undefined),
    configDir: tmp,
    env: process.env,
  });
}

const logs: string[] = [];
function provider(fake: Route53Fake, extra: Record<string, unknown> = {}): Provider {
  return createRoute53Provider(reader({ endpoint: fake.endpoint, ...extra }), { log: (m) => logs.push(m) });
}

describe("provider route53", () => {
  let fake: Route53Fake;
  let zoneId: string;
  let p: Provider;

  beforeEach(async () => {
    fake = await startRoute53Fake({ rateLimit: false });
    zoneId = fake.state.createZone(ZONE).id;
    p = provider(fake);
    logs.length = 0;
  });
  afterEach(async () => {
    await p.close?.();
    await fake.stop();
  });

  it("discovers zones across ListHostedZonesByName pages, public ones only by default", async () => {
    for (let i = 0; i < 150; i++) fake.state.createZone(`z${i}.example.org`);
    fake.state.createZone("internal.example", { private: true });
    const zones = await p.zones();
    expect(zones).toHaveLength(151);
    expect(zones).toContain("example.com");
    expect(zones).toContain("z149.example.org");
    expect(zones).not.toContain("internal.example");
    expect(fake.counts.ListHostedZonesByName).toBe(2);

    const withPrivate = provider(fake, { private_zones: true });
    try {
      expect(await withPrivate.zones()).toContain("internal.example");
    } finally {
      await withPrivate.close?.();
    }
  });

  it("lets a domain's zone_id pick one of two hosted zones of one name, even a private one", async () => {
    fake.state.createZone("split.example", { id: "ZSPLITPUB" });
    const priv = fake.state.createZone("split.example", { id: "ZSPLITPRIV", private: true });
    fake.state.put(priv.id, cname("selector1._domainkey.split.example", "inside.example.net."));
    const pinned = provider(fake);
    try {
      pinned.pinZoneId?.("split.example", "/hostedzone/zsplitpriv");
      expect(await pinned.zones()).toContain("split.example");
      expect(await pinned.list("split.example", ["selector1._domainkey.split.example"])).toEqual([
        cname("selector1._domainkey.split.example", "inside.example.net"),
      ]);
    } finally {
      await pinned.close?.();
    }
    const unknown = provider(fake);
    try {
      unknown.pinZoneId?.("split.example", "ZNOTTHERE");
      const err = await failure(unknown.zones());
      expect(err.message).toBe("[aws] hosted zone ZNOTTHERE (zone_id of domain split.example) was not found");
    } finally {
      await unknown.close?.();
    }
  });

  it("pins only the domain with zone_id: another domain of the same zone name stays in the public zone, reads and writes", async () => {
    const pub = fake.state.createZone("split.example", { id: "ZSPLITPUB" });
    const priv = fake.state.createZone("split.example", { id: "ZSPLITPRIV", private: true });
    fake.state.put(pub.id, cname("selector1._domainkey.b.split.example", "public.example.net."));
    fake.state.put(priv.id, cname("selector1._domainkey.a.split.example", "inside.example.net."));
    const pinned = provider(fake);
    try {
      pinned.pinZoneId?.("a.split.example", "ZSPLITPRIV");
      expect(await pinned.zoneOf?.("a.split.example")).toBe("split.example");
      expect(await pinned.zoneOf?.("b.split.example")).toBe("split.example");
      const read = await pinned.list("split.example", [
        "selector1._domainkey.a.split.example",
        "selector1._domainkey.b.split.example",
      ]);
      expect(read).toEqual(
        expect.arrayContaining([
          cname("selector1._domainkey.a.split.example", "inside.example.net"),
          cname("selector1._domainkey.b.split.example", "public.example.net"),
        ]),
      );
      await pinned.apply("split.example", [
        create(cname("selector2._domainkey.a.split.example", T2)),
        create(cname("selector2._domainkey.b.split.example", T2)),
      ]);
      expect(fake.state.get(priv.id, "selector2._domainkey.a.split.example", "CNAME")).toBeDefined();
      expect(fake.state.get(priv.id, "selector2._domainkey.b.split.example", "CNAME")).toBeUndefined();
      expect(fake.state.get(pub.id, "selector2._domainkey.b.split.example", "CNAME")).toBeDefined();
      expect(fake.state.get(pub.id, "selector2._domainkey.a.split.example", "CNAME")).toBeUndefined();
    } finally {
      await pinned.close?.();
    }
  });

  it("refuses a zone_id whose hosted zone has another name, for that domain only", async () => {
    fake.state.createZone("other.example", { id: "ZOTHER" });
    const pinned = provider(fake);
    try {
      pinned.pinZoneId?.("d1.example.com", "ZOTHER");
      const err = await failure(pinned.zoneOf!("d1.example.com"));
      expect(err.message).toBe(
        "[aws] zone_id ZOTHER of domain d1.example.com is the hosted zone other.example, which cannot hold d1.example.com",
      );
      expect((err as ProviderError).hint).toContain(
        "set zone_id to the id of a hosted zone named d1.example.com or one of its parents",
      );
      expect(await pinned.zoneOf?.("d2.example.com")).toBe("example.com");
    } finally {
      await pinned.close?.();
    }
  });

  it("plans the zone_id error at the domain's line in dkim.zones.yaml, and the other domains normally", async () => {
    fake.state.createZone("other.example", { id: "ZOTHER" });
    const file = path.join(tmp, "dkim.zones.yaml");
    await fs.writeFile(
      file,
      `tenant: contoso\nproviders:\n  aws: { type: route53, endpoint: "${fake.endpoint}" }\ndomains:\n  d1.example.com:\n    provider: aws\n    zone_id: ZOTHER\n  d2.example.com:\n    provider: aws\n`,
    );
    const { plan, providers } = await buildPlan({ config: loadConfig(file) });
    await closeProviders(providers);
    expect(plan.errors).toHaveLength(1);
    expect(plan.errors[0]?.domain).toBe("d1.example.com");
    expect(plan.errors[0]?.message).toMatch(
      /dkim\.zones\.yaml:5: cannot find the zone of d1\.example\.com: zone_id ZOTHER of domain d1\.example\.com is the hosted zone other\.example/,
    );
    expect(plan.zones.map((z) => `${z.zone} ${z.domains.join(",")}`)).toEqual(["example.com d2.example.com"]);
  });

  it("reads an alias record set at a selector name as drift and replaces it, deleting it with its AliasTarget", async () => {
    const name = "selector1._domainkey.d1.example.com";
    fake.state.put(zoneId, {
      name,
      type: "CNAME",
      ttl: 0,
      values: [],
      alias: { hostedZoneId: zoneId, dnsName: "elsewhere.example.com.", evaluateTargetHealth: false },
    });
    const [read] = await p.list(ZONE, [name]);
    expect(read).toEqual({
      name,
      type: "CNAME",
      ttl: 0,
      values: ["elsewhere.example.com"],
      drift: ["alias to elsewhere.example.com"],
    });
    await p.apply(ZONE, [update(read as RecordSet, cname(name, T1))]);
    const now = fake.state.get(zoneId, name, "CNAME");
    expect(now).toMatchObject({ ttl: 3600, values: [`${T1}.`] });
    expect(now?.alias).toBeUndefined();
  });

  it("deletes a conflicting alias A record at a selector name exactly (--force)", async () => {
    const name = "selector2._domainkey.d1.example.com";
    fake.state.put(zoneId, {
      name,
      type: "A",
      ttl: 0,
      values: [],
      alias: { hostedZoneId: "Z2FDTNDATAQYW2", dnsName: "d111.cloudfront.net.", evaluateTargetHealth: false },
    });
    const [read] = await p.list(ZONE, [name]);
    // The conflict carries ttl and values, not the drift: still matched to the alias as read.
    await p.apply(ZONE, [
      remove({ name, type: "A", ttl: read?.ttl ?? -1, values: read?.values ?? [] }),
      create(cname(name, T2)),
    ]);
    expect(fake.state.get(zoneId, name, "A")).toBeUndefined();
    expect(fake.state.get(zoneId, name, "CNAME")?.values).toEqual([`${T2}.`]);
  });

  it("refuses weighted record sets at a selector name with a message saying which and what to do", async () => {
    const name = "selector1._domainkey.d1.example.com";
    fake.state.put(zoneId, {
      name,
      type: "CNAME",
      ttl: 300,
      values: ["a.example.net."],
      setIdentifier: "blue",
      weight: 10,
    });
    fake.state.put(zoneId, {
      name,
      type: "CNAME",
      ttl: 300,
      values: ["b.example.net."],
      setIdentifier: "green",
      weight: 90,
    });
    const err = await failure(p.list(ZONE, [name, "selector2._domainkey.d1.example.com"]));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe(
      `[aws] zone example.com: routing-policy record sets at selector names: ${name} CNAME (SetIdentifier blue, weight 10), ${name} CNAME (SetIdentifier green, weight 90); dkimsync writes one simple CNAME per selector and does not replace routing-policy records`,
    );
    expect((err as ProviderError).hint).toContain("naming SetIdentifier");
    // Nothing was written.
    expect(fake.counts.ChangeResourceRecordSets).toBe(0);
  });

  it("refuses a zone name held by two hosted zones until zone_id picks one", async () => {
    const a = fake.state.createZone("dup.example", { id: "ZDUPA" });
    fake.state.createZone("dup.example", { id: "ZDUPB" });
    fake.state.put(a.id, cname("selector1._domainkey.dup.example", "t.example.net."));
    expect(await p.zones()).toContain("dup.example");
    const err = await failure(p.list("dup.example", ["selector1._domainkey.dup.example"]));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("[aws] zone dup.example: 2 hosted zones have this name: ZDUPA, ZDUPB");
    expect((err as ProviderError).hint).toContain("zone_id");

    const pinned = provider(fake, { zone_id: "/hostedzone/ZDUPA" });
    try {
      expect(await pinned.zones()).toEqual(["dup.example"]);
      expect(await pinned.list("dup.example", ["selector1._domainkey.dup.example"])).toEqual([
        cname("selector1._domainkey.dup.example", "t.example.net"),
      ]);
    } finally {
      await pinned.close?.();
    }
  });

  it("lists every type at the requested names only, in one ranged read per zone", async () => {
    // Foreign records sort before (a*) and after (h*) the selectors of d1 and d2.
    for (let i = 0; i < 200; i++)
      fake.state.put(zoneId, { name: `a${i}.example.com`, type: "A", ttl: 60, values: ["192.0.2.1"] });
    for (let i = 0; i < 400; i++)
      fake.state.put(zoneId, { name: `h${i}.example.com`, type: "A", ttl: 60, values: ["192.0.2.1"] });
    fake.state.put(zoneId, {
      name: "selector1._domainkey.d1.example.com",
      type: "CNAME",
      ttl: 3600,
      values: [`${T1.toUpperCase()}.`],
    });
    fake.state.put(zoneId, {
      name: "selector2._domainkey.d2.example.com",
      type: "TXT",
      ttl: 300,
      values: ['"v=DKIM1; k=rsa; " "p=MIGf"'],
    });
    fake.state.put(zoneId, { name: "other._domainkey.d1.example.com", type: "TXT", ttl: 300, values: ['"foreign"'] });
    const names = [
      "selector2._domainkey.d2.example.com",
      "selector1._domainkey.d1.example.com",
      "selector2._domainkey.d1.example.com",
      "Selector1._domainkey.D2.example.com.",
    ];
    const got = await p.list(ZONE, names);
    expect(got).toEqual([
      { name: "selector1._domainkey.d1.example.com", type: "CNAME", ttl: 3600, values: [T1] },
      { name: "selector2._domainkey.d2.example.com", type: "TXT", ttl: 300, values: ["v=DKIM1; k=rsa; p=MIGf"] },
    ]);
    expect(fake.counts.ListResourceRecordSets).toBe(1);
  });

  it("reads the selectors of domains whose labels differ only by a hyphenated suffix (mail, mail-eu)", async () => {
    // Route 53 sorts `com.example.mail-eu.` before `com.example.mail.` ('-' < '.'): a client
    // that orders label by label starts past mail-eu and never sees its records.
    const names = ["mail", "mail-eu"].flatMap((d) => [1, 2].map((s) => `selector${s}._domainkey.${d}.example.com`));
    for (const n of names) fake.state.put(zoneId, cname(n, "t.example.net."));
    fake.state.put(zoneId, { name: "www.example.com", type: "A", ttl: 60, values: ["192.0.2.1"] });
    const got = await p.list(ZONE, names);
    expect(got.map((r) => r.name).sort()).toEqual([...names].sort());
    expect(fake.counts.ListResourceRecordSets).toBe(1);
  });

  it("skips a long run of foreign records between wanted names instead of paging through it", async () => {
    for (let i = 0; i < 700; i++)
      fake.state.put(zoneId, { name: `m${i}.example.com`, type: "A", ttl: 60, values: ["192.0.2.1"] });
    fake.state.put(zoneId, cname("selector1._domainkey.z.example.com", "t.example.net."));
    const got = await p.list(ZONE, ["selector1._domainkey.a.example.com", "selector1._domainkey.z.example.com"]);
    expect(got.map((r) => r.name)).toEqual(["selector1._domainkey.z.example.com"]);
    // One read starting at a's selector, one jumping straight to z's (not through m0..m699).
    expect(fake.counts.ListResourceRecordSets).toBe(2);
  });

  it("creates, updates and deletes in one change batch per apply", async () => {
    const s1 = cname("selector1._domainkey.d1.example.com", T1);
    const s2 = cname("selector2._domainkey.d1.example.com", T2);
    await p.apply(ZONE, [create(s1), create(s2)]);
    expect(fake.counts.ChangeResourceRecordSets).toBe(1);
    // Written as absolute names with the trailing dot.
    expect(fake.state.get(zoneId, s1.name, "CNAME")).toEqual({
      name: `${s1.name}.`,
      type: "CNAME",
      ttl: 3600,
      values: [`${T1}.`],
    });
    expect(await p.list(ZONE, [s1.name, s2.name])).toEqual([s1, s2]);

    const s1b = cname(s1.name, T1.replace("contoso.onmicrosoft.com", "contoso.y-v1.dkim.mail.microsoft"), 600);
    await p.apply(ZONE, [update(s1, s1b), remove(s2)]);
    expect(fake.counts.ChangeResourceRecordSets).toBe(2);
    expect(await p.list(ZONE, [s1.name, s2.name])).toEqual([s1b]);
  });

  it("deletes a record exactly as Route 53 holds it, whatever case and dots it was sent with", async () => {
    fake.state.put(zoneId, {
      name: "selector1._domainkey.d1.example.com",
      type: "CNAME",
      ttl: 3600,
      values: [T1.toUpperCase()],
    });
    const [before] = await p.list(ZONE, ["selector1._domainkey.d1.example.com"]);
    expect(before).toEqual(cname("selector1._domainkey.d1.example.com", T1));
    await p.apply(ZONE, [update(before as RecordSet, cname(before!.name, T2))]);
    expect(fake.state.get(zoneId, before!.name, "CNAME")?.values).toEqual([`${T2}.`]);
  });

  it("keeps Route 53's own copy of a record set only where dkimsync's form differs, and deletes both exactly", async () => {
    const plain = "selector1._domainkey.d1.example.com";
    const odd = "selector2._domainkey.d1.example.com";
    fake.state.put(zoneId, { name: plain, type: "CNAME", ttl: 3600, values: [`${T1}.`] });
    fake.state.put(zoneId, { name: odd, type: "CNAME", ttl: 3600, values: [T2.toUpperCase()] });
    const read = await p.list(ZONE, [plain, odd]);
    expect(read).toEqual([cname(plain, T1), cname(odd, T2)]);
    // The plain one is exactly what dkimsync would send; the upper-case one is not.
    expect((p as unknown as { rawHeld: number }).rawHeld).toBe(1);
    await p.apply(
      ZONE,
      read.map((r) => remove(r)),
    );
    expect(fake.state.get(zoneId, plain, "CNAME")).toBeUndefined();
    expect(fake.state.get(zoneId, odd, "CNAME")).toBeUndefined();
    expect((p as unknown as { rawHeld: number }).rawHeld).toBe(0);
  });

  it("close drops the raw record sets kept for writes", async () => {
    const odd = "selector2._domainkey.d1.example.com";
    fake.state.put(zoneId, { name: odd, type: "CNAME", ttl: 3600, values: [T2.toUpperCase()] });
    await p.list(ZONE, [odd]);
    expect((p as unknown as { rawHeld: number }).rawHeld).toBe(1);
    await p.close?.();
    expect((p as unknown as { rawHeld: number }).rawHeld).toBe(0);
  });

  it("splits an apply over 1000 values, or over 32000 characters, into several batches", async () => {
    const short = Array.from({ length: 1200 }, (_, i) =>
      create(cname(`selector1._domainkey.d${i}.example.com`, "t.example.net")),
    );
    await p.apply(ZONE, short);
    expect(fake.counts.ChangeResourceRecordSets).toBe(2);
    expect(fake.state.get(zoneId, "selector1._domainkey.d1199.example.com", "CNAME")).toBeDefined();
    expect(logs.join("\n")).toContain("writing 2 batches");

    // 100-character targets: 320 values reach 32000 characters (the trailing dot counts too).
    const long = Array.from({ length: 700 }, (_, i) =>
      create(cname(`selector2._domainkey.d${i}.example.com`, `${"x".repeat(87)}.example.net`)),
    );
    await p.apply(ZONE, long);
    expect(fake.counts.ChangeResourceRecordSets).toBe(2 + 3);
    expect(fake.state.sorted(zoneId).filter((r) => r.name.startsWith("selector2."))).toHaveLength(700);
  });

  it("does not claim 'nothing was written' when a later batch of a split apply fails", async () => {
    fake.state.put(zoneId, {
      name: "selector1._domainkey.d1100.example.com",
      type: "TXT",
      ttl: 300,
      values: ['"v=DKIM1; p=old"'],
    });
    const changes = Array.from({ length: 1200 }, (_, i) =>
      create(cname(`selector1._domainkey.d${i}.example.com`, "t.example.net")),
    );
    const err = await failure(p.apply(ZONE, changes));
    expect(err).toBeInstanceOf(ProviderError);
    // The first batch (d0..d999) landed; only the second was rejected as a whole.
    expect(fake.state.get(zoneId, "selector1._domainkey.d0.example.com", "CNAME")).toBeDefined();
    expect(fake.state.get(zoneId, "selector1._domainkey.d1000.example.com", "CNAME")).toBeUndefined();
    expect(err.message).not.toContain("nothing was written");
    expect(err.message).toContain("batch 2 of 2 was not written; batch 1 (1000 changes) was written");
    expect((err as ProviderError).hint).toContain("RFC 1034 3.6.2");
  });

  it("retries throttling with backoff and succeeds", async () => {
    await p.zones();
    fake.faults.throttleNext(2);
    await p.apply(ZONE, [create(cname("selector1._domainkey.d1.example.com", T1))]);
    expect(fake.counts.ChangeResourceRecordSets).toBe(3);
    expect(fake.state.get(zoneId, "selector1._domainkey.d1.example.com", "CNAME")).toBeDefined();
  });

  it("retries PriorRequestNotComplete (400) like throttling, so a busy zone does not fail the apply", async () => {
    fake.faults.failNext(2, 400, {
      op: "ChangeResourceRecordSets",
      code: "PriorRequestNotComplete",
      message: "The request was rejected because Route 53 was still processing a prior request.",
    });
    await p.apply(ZONE, [create(cname("selector1._domainkey.d1.example.com", T1))]);
    expect(fake.counts.ChangeResourceRecordSets).toBe(3);
    expect(fake.state.get(zoneId, "selector1._domainkey.d1.example.com", "CNAME")?.values).toEqual([`${T1}.`]);
  });

  it("gives up on persistent throttling with a transient error after max_attempts", async () => {
    const two = provider(fake, { max_attempts: 2 });
    try {
      fake.faults.throttleNext(5);
      const err = await failure(two.list(ZONE, ["selector1._domainkey.d1.example.com"]));
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).transient).toBe(true);
      expect(err.message).toContain("still throttled by Route 53 after 2 attempts");
      // Zone discovery met the throttling first: two attempts, then the error.
      expect(fake.counts.ListHostedZonesByName).toBe(2);
      expect(fake.counts.ListResourceRecordSets).toBe(0);
    } finally {
      await two.close?.();
    }
  });

  it("ends a stalled endpoint in a timeout error naming provider, zone and operation, within attempts x timeout_ms", async () => {
    const opts = { timeoutMs: 300, maxAttempts: 2 };
    const stalled = provider(fake, { timeout_ms: opts.timeoutMs, max_attempts: opts.maxAttempts });
    try {
      await stalled.zones();
      fake.faults.stall();
      const started = Date.now();
      const err = await failure(stalled.list(ZONE, ["selector1._domainkey.d1.example.com"]));
      const took = Date.now() - started;
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).transient).toBe(true);
      expect(err.message).toMatch(
        /^\[aws\] zone example\.com: reading records \(ListResourceRecordSets\): Route 53 at http:\/\/127\.0\.0\.1:\d+ did not answer within 300 ms, 2 attempt\(s\)/,
      );
      // Both attempts reached the server: the limit is per attempt, and retries are bounded.
      expect(fake.counts.ListResourceRecordSets).toBe(2);
      // A bound, not a benchmark: the documented worst case plus generous slack for a busy machine.
      expect(took).toBeLessThan(worstCaseMs(opts) + 5000);
    } finally {
      await stalled.close?.();
    }
  });

  it("bounds an answer whose body stalls after the headers", async () => {
    const stalled = provider(fake, { timeout_ms: 300, max_attempts: 1 });
    try {
      await stalled.zones();
      fake.faults.stallBody();
      const started = Date.now();
      const err = await failure(stalled.list(ZONE, ["selector1._domainkey.d1.example.com"]));
      expect(err.message).toMatch(
        /^\[aws\] zone example\.com: reading records \(ListResourceRecordSets\): Route 53 at .* did not answer within 300 ms/,
      );
      expect(Date.now() - started).toBeLessThan(worstCaseMs({ timeoutMs: 300, maxAttempts: 1 }) + 5000);
    } finally {
      await stalled.close?.();
    }
  });

  it("bounds hosted zone discovery on a stalled endpoint too", async () => {
    fake.faults.stall();
    const stalled = provider(fake, { timeout_ms: 200, max_attempts: 1 });
    try {
      const started = Date.now();
      const err = await failure(stalled.zones());
      expect(err.message).toContain("listing hosted zones (ListHostedZonesByName): Route 53 at");
      expect(err.message).toContain("did not answer within 200 ms, 1 attempt(s)");
      expect(Date.now() - started).toBeLessThan(worstCaseMs({ timeoutMs: 200, maxAttempts: 1 }) + 5000);
    } finally {
      await stalled.close?.();
    }
  });

  it("stays under the server's rate limit with its own limiter", async () => {
    const limited = await startRoute53Fake({ rateLimit: { rps: 5, burst: 5 } });
    const id = limited.state.createZone(ZONE).id;
    const lp = provider(limited, { max_attempts: 1 });
    try {
      // 12 reads in parallel with no retries: without the client-side limiter, 7 would fail.
      const names = (i: number) => [`selector1._domainkey.d${i}.example.com`];
      await Promise.all(Array.from({ length: 12 }, (_, i) => lp.list(ZONE, names(i))));
      expect(limited.counts.ListResourceRecordSets).toBe(12);
      expect(limited.state.zone(id)).toBeDefined();
    } finally {
      await lp.close?.();
      await limited.stop();
    }
  });

  it("shares one request rate between providers of the same account (same endpoint and profile)", async () => {
    const limited = await startRoute53Fake({ rateLimit: { rps: 5, burst: 5 } });
    limited.state.createZone(ZONE);
    // Two providers of one account, as for a public and a private zone of one name.
    const a = provider(limited, { max_attempts: 1 });
    const b = provider(limited, { max_attempts: 1 });
    try {
      const names = (i: number) => [`selector1._domainkey.d${i}.example.com`];
      // 7 reads each in parallel, no retries: at 5 per second each (10 together) the server's
      // bucket (5/s, burst 5) would throttle some of them.
      await Promise.all([
        ...Array.from({ length: 7 }, (_, i) => a.list(ZONE, names(i))),
        ...Array.from({ length: 7 }, (_, i) => b.list(ZONE, names(i))),
      ]);
      expect(limited.counts.ListResourceRecordSets).toBe(14);
    } finally {
      await a.close?.();
      await b.close?.();
      await limited.stop();
    }
  });

  it("paces at the moment of sending: 40 reads and writes against a bucket with a burst of 1, none throttled", async () => {
    // Route 53 documents the rate (5/s per account), not a burst: the fake's smallest possible
    // burst is the judge, and max_attempts 1 would turn any Throttling into a failed call. The
    // fake runs in this process and stamps each request when its event loop gets to it: on a
    // loaded machine one request is stamped late and the next on time, so the judge forgives
    // a request 20 ms early (a tenth of a gap); a client faster than the rate still empties the
    // bucket within a few requests (the "judge is live" test below).
    const limited = await startRoute53Fake({ rateLimit: { rps: 5, burst: 1, jitterMs: 20 } });
    limited.state.createZone(ZONE);
    const lp = provider(limited, { max_attempts: 1 });
    try {
      const name = (i: number) => `selector1._domainkey.d${i}.example.com`;
      await lp.zones();
      await Promise.all([
        ...Array.from({ length: 30 }, (_, i) => lp.list(ZONE, [name(i)])),
        ...Array.from({ length: 10 }, (_, i) => lp.apply(ZONE, [create(cname(name(100 + i), T1))])),
      ]);
      expect(limited.counts.ListResourceRecordSets).toBe(30);
      expect(limited.counts.ChangeResourceRecordSets).toBe(10);
      expect(limited.throttled.count).toBe(0);
    } finally {
      await lp.close?.();
      await limited.stop();
    }
  });

  it("never lets requests out together after the event loop was blocked (timers firing late)", async () => {
    // A limiter that books slots when requests queue lets every overdue request out at once
    // when the process wakes up; pacing from the real moment of sending does not. (jitterMs: see
    // the test above; requests let out together are hundreds of ms early, not 20.)
    const limited = await startRoute53Fake({ rateLimit: { rps: 5, burst: 1, jitterMs: 20 } });
    limited.state.createZone(ZONE);
    const lp = provider(limited, { max_attempts: 1 });
    try {
      await lp.zones();
      const reads = Array.from({ length: 12 }, (_, i) => lp.list(ZONE, [`selector1._domainkey.d${i}.example.com`]));
      await new Promise((r) => setTimeout(r, 300));
      // Block this process (client and fake alike) for five intervals: five requests overdue.
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        /* busy: no timer can fire */
      }
      await Promise.all(reads);
      expect(limited.counts.ListResourceRecordSets).toBe(12);
      expect(limited.throttled.count).toBe(0);
    } finally {
      await lp.close?.();
      await limited.stop();
    }
  });

  it("the burst-1 judge is live: a client paced faster than the bucket is throttled", async () => {
    const limited = await startRoute53Fake({ rateLimit: { rps: 20, burst: 1, jitterMs: 20 } });
    limited.state.createZone(ZONE);
    const fast = provider(limited, { max_attempts: 1, max_rps: 40 });
    try {
      await fast.zones();
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => fast.list(ZONE, [`selector1._domainkey.d${i}.example.com`])),
      );
      expect(limited.throttled.count).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === "rejected").length).toBe(limited.throttled.count);
    } finally {
      await fast.close?.();
      await limited.stop();
    }
  });

  it("slows down on a throttle answer, then returns step by step to the configured rate", async () => {
    // A fake of its own: the provider made in beforeEach shares the endpoint's limiter at 5/s.
    const own = await startRoute53Fake({ rateLimit: false });
    const api = new Route53Api({
      provider: "aws",
      region: "us-east-1",
      endpoint: own.endpoint,
      maxRps: 50,
      maxAttempts: 3,
      timeoutMs: 5000,
    });
    try {
      const base = (1000 / 50) * PACING_MARGIN;
      expect(api.limiter.gapMs).toBeCloseTo(base);
      own.faults.throttleNext(2);
      await api.hostedZones();
      // Two throttles, each halving the rate; the SDK's third attempt got through.
      expect(api.limiter.stats.throttled).toBe(2);
      expect(api.limiter.gapMs).toBeCloseTo(base * 3.9);
      for (let i = 0; i < 10; i++) await api.hostedZones();
      expect(api.limiter.gapMs).toBeCloseTo(base * 2.9);
      for (let i = 0; i < 30; i++) await api.hostedZones();
      expect(api.limiter.gapMs).toBeCloseTo(base);
      // Every attempt, the SDK's retries included, went through the limiter.
      expect(api.limiter.stats.sent).toBe(own.counts.ListHostedZonesByName);
      expect(api.limiter.stats.sent).toBe(43);
    } finally {
      api.close();
      await own.stop();
    }
  });

  it("gives up on a server answering only 500 after max_attempts requests, with a transient error", async () => {
    const three = provider(fake, { max_attempts: 3 });
    try {
      await three.zones();
      fake.faults.failNext(100, 500);
      const err = await failure(three.list(ZONE, ["selector1._domainkey.d1.example.com"]));
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).transient).toBe(true);
      expect(err.message).toContain("Route 53 did not answer properly after 3 attempts");
      expect(fake.counts.ListResourceRecordSets).toBe(3);
    } finally {
      await three.close?.();
    }
  });

  it("converges when a POST was applied but answered 500 and the SDK's retry meets 'already exists'", async () => {
    const s1 = cname("selector1._domainkey.d1.example.com", T1);
    fake.faults.failAfterApplyNext();
    await p.apply(ZONE, [create(s1)]);
    expect(fake.counts.ChangeResourceRecordSets).toBe(2);
    expect(await p.list(ZONE, [s1.name])).toEqual([s1]);

    // The same for an update: the retried DELETE no longer matches, yet the zone holds `after`.
    const s1b = cname(s1.name, T2);
    fake.faults.failAfterApplyNext();
    await p.apply(ZONE, [update(s1, s1b)]);
    expect(fake.counts.ChangeResourceRecordSets).toBe(4);
    expect(await p.list(ZONE, [s1.name])).toEqual([s1b]);
  });

  it("fails the whole batch with a clear message when a record changed since it was read", async () => {
    const s1 = cname("selector1._domainkey.d1.example.com", T1);
    const s2 = cname("selector2._domainkey.d1.example.com", T2);
    fake.state.put(zoneId, s1);
    const [read] = await p.list(ZONE, [s1.name]);
    // Someone else edits the record between plan and apply.
    fake.state.put(zoneId, cname(s1.name, "someone-else.example.net."));
    const err = await failure(p.apply(ZONE, [update(read as RecordSet, cname(s1.name, T2)), create(s2)]));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain(
      "[aws] zone example.com: Route 53 rejected the change batch (update selector1._domainkey.d1.example.com CNAME, create selector2._domainkey.d1.example.com CNAME), nothing was written",
    );
    expect(err.message).toContain(
      "Tried to delete resource record set [name='selector1._domainkey.d1.example.com.', type='CNAME'] but the values provided do not match the current values",
    );
    expect((err as ProviderError).hint).toContain("changed since they were read");
    expect(fake.state.get(zoneId, s1.name, "CNAME")?.values).toEqual(["someone-else.example.net."]);
    expect(fake.state.get(zoneId, s2.name, "CNAME")).toBeUndefined();
  });

  it("reports a TXT blocking the CNAME as a conflict (RFC 1034 3.6.2)", async () => {
    fake.state.put(zoneId, {
      name: "selector1._domainkey.d1.example.com",
      type: "TXT",
      ttl: 300,
      values: ['"v=DKIM1; p=old"'],
    });
    const err = await failure(p.apply(ZONE, [create(cname("selector1._domainkey.d1.example.com", T1))]));
    expect(err.message).toContain(
      "RRSet of type CNAME with DNS name selector1._domainkey.d1.example.com. is not permitted as it conflicts with other records",
    );
    expect((err as ProviderError).hint).toContain("RFC 1034 3.6.2");
  });

  it("waits for INSYNC with wait: true", async () => {
    const waiting = provider(fake, { wait: true });
    try {
      await waiting.apply(ZONE, [create(cname("selector1._domainkey.d1.example.com", T1))]);
      // The fake answers PENDING once, then INSYNC.
      expect(fake.counts.GetChange).toBe(2);
    } finally {
      await waiting.close?.();
    }
  });

  it("waits for INSYNC when apply --wait asks (the provider context), without the option", async () => {
    const waiting = createRoute53Provider(reader({ endpoint: fake.endpoint }), { wait: true });
    try {
      await waiting.apply(ZONE, [create(cname("selector2._domainkey.d1.example.com", T2))]);
      expect(fake.counts.GetChange).toBe(2);
    } finally {
      await waiting.close?.();
    }
  });

  it("turns AccessDenied and a vanished hosted zone into errors that say what to do", async () => {
    fake.faults.failNext(1, 403, {
      code: "AccessDenied",
      message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: route53:ListHostedZonesByName",
    });
    const denied = await failure(p.zones());
    expect(denied).toBeInstanceOf(ProviderError);
    expect(denied.message).toContain("[aws] listing hosted zones (ListHostedZonesByName): access denied");
    expect((denied as ProviderError).hint).toContain("route53:ListResourceRecordSets");

    await p.zones();
    fake.state.zones.delete(zoneId);
    const gone = await failure(p.list(ZONE, ["selector1._domainkey.d1.example.com"]));
    expect(gone.message).toBe(
      `[aws] zone example.com: reading records (ListResourceRecordSets): No hosted zone found with ID: ${zoneId}`,
    );
  });

  it("says how to provide credentials when the AWS chain finds none", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const bare = provider(fake, { max_attempts: 1 });
    try {
      const err = await failure(bare.zones());
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.message).toContain("no AWS credentials found");
      expect((err as ProviderError).hint).toContain("AWS_ACCESS_KEY_ID");
      expect(fake.counts.ListHostedZonesByName).toBe(0);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      await bare.close?.();
    }
  });

  it("rejects credentials written in the config, without echoing them", () => {
    const err = (() => {
      try {
        createRoute53Provider(reader({ access_key_id: "AKIAREALLOOKINGKEY", secret_access_key: "s3cr3t" }), {});
      } catch (e) {
        return e as InputError;
      }
      throw new Error("expected an InputError");
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(
      'dkim.zones.yaml:8: provider "aws" (route53): option "access_key_id" is not supported: Route 53 credentials come only from the standard AWS chain',
    );
    expect(err.hint).toContain("AWS_ACCESS_KEY_ID");
    expect(`${err.message} ${err.hint}`).not.toContain("AKIAREALLOOKINGKEY");
  });

  it("validates its options", () => {
    expect(() => createRoute53Provider(reader({ max_rps: "fast" }), {})).toThrow(/option "max_rps" must be a number/);
    expect(() => createRoute53Provider(reader({ zone_id: "not a zone" }), {})).toThrow(
      /option "zone_id" must be a hosted zone id/,
    );
    expect(() => createRoute53Provider(reader({ zoneid: "Z1" }), {})).toThrow(
      /option "zoneid" is not an option of provider type route53/,
    );
  });

  it("declares atomic writes and name-only reads as capabilities", () => {
    expect(p.capabilities.atomicWrites.can).toBe(true);
    expect(p.capabilities.readsOnlyNames.can).toBe(true);
    expect(p.type).toBe("route53");
    expect(p.name).toBe("aws");
  });
});
