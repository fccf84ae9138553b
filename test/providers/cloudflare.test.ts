/**
 * Provider `cloudflare`: the real dkimsync provider and the real `cloudflare` SDK against the
 * loopback server in test/fakes/cloudflare. What is special to Cloudflare lives here; the
 * shared behaviour is in the conformance suite (test/conformance/backends/cloudflare.ts).
 */
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { OptionsReader } from "../../src/config/options.js";
import { InputError, ProviderError } from "../../src/core/errors.js";
import type { Change, RecordSet } from "../../src/core/types.js";
import { createCloudflareProvider } from "../../providers/cloudflare/index.js";
import { CloudflareApi, SlidingWindowLimiter, isLastPage, worstCaseMs } from "../../providers/cloudflare/api.js";
import { nameFilter } from "../../providers/cloudflare/convert.js";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";

const ZONE = "example.com";
const S1 = "selector1._domainkey.example.com";
const S2 = "selector2._domainkey.example.com";
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";

let fake: CloudflareFake;
let dir: string;

function provider(values: Record<string, unknown> = {}, env: Record<string, string> = {}, readOnly = false) {
  const reader = new OptionsReader({
    provider: "cf",
    type: "cloudflare",
    values: { token: "env/CF_TEST_TOKEN", base_url: fake.baseURL, ...values },
    where: { file: "dkim.zones.yaml", line: 3 },
    lineOf: () => undefined,
    configDir: dir,
    env: { CF_TEST_TOKEN: fake.token, ...env },
  });
  const logs: string[] = [];
  const p = createCloudflareProvider(reader, { log: (m) => logs.push(m), ...(readOnly ? { readOnly } : {}) });
  return Object.assign(p, { logs });
}

function cname(name: string, target: string, ttl = 3600): RecordSet {
  return { name, type: "CNAME", ttl, values: [target] };
}

function recordsAt(name: string) {
  return fake.state.zone(ZONE).records.filter((r) => r.name === name);
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "dkimsync-cf-"));
  fake = await startCloudflareFake({
    seed: {
      zones: [
        {
          name: ZONE,
          records: [
            { name: "www.example.com", type: "A", content: "192.0.2.1", ttl: 300 },
            {
              name: "example.com",
              type: "MX",
              content: "example-com.mail.protection.outlook.com",
              priority: 0,
              ttl: 3600,
            },
            { name: "google._domainkey.example.com", type: "TXT", content: "v=DKIM1; p=foreign", ttl: 3600 },
          ],
        },
        { name: "flat.example", flatten_all_cnames: true },
      ],
    },
  });
});

afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("cloudflare provider: options", () => {
  it("refuses an inline token without echoing it", () => {
    let err: unknown;
    try {
      provider({ token: "abcdef-inline-secret" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain('option "token"');
    expect((err as Error).message).not.toContain("abcdef-inline-secret");
  });

  it("refuses an unknown option and a batch_size over 3500", () => {
    expect(() => provider({ batchsize: 10 })).toThrow(/option "batchsize" is not an option/);
    expect(() => provider({ batch_size: 5000 })).toThrow(/batch_size" must be at most 3500/);
  });

  it("declares atomic writes only within one batch, and name-only reads", () => {
    const p = provider({ batch_size: 50 });
    expect(p.capabilities.atomicWrites.can).toBe(true);
    expect(p.capabilities.atomicWrites.reason).toContain("50 records");
    expect(p.capabilities.readsOnlyNames.can).toBe(true);
    expect(p.capabilities.readsOnlyNames.reason).toMatch(/one paged listing per zone/);
  });
});

describe("cloudflare provider: reading", () => {
  it("lists every zone across pages", async () => {
    for (let i = 0; i < 118; i++) fake.state.addZone({ name: `z${String(i).padStart(3, "0")}.example.org` });
    const zones = await provider().zones();
    expect(zones).toHaveLength(120);
    expect(zones).toContain("flat.example");
    expect(zones).toContain("z117.example.org");
    // 120 zones at 50 a page: three requests, and no extra request for an empty fourth page.
    expect(fake.counts["listZones"]).toBe(3);
  });

  it("restricts zones to account_id", async () => {
    fake.state.addZone({ name: "other.example", account_id: "ffffffffffffffffffffffffffffffff" });
    expect(await provider({ account_id: "ffffffffffffffffffffffffffffffff" }).zones()).toEqual(["other.example"]);
  });

  it("reads a zone's selector names in one filtered call, never the whole zone", async () => {
    fake.state.createRecord(fake.state.zone(ZONE), {
      name: S1,
      type: "CNAME",
      content: `${T1.toUpperCase()}.`,
      ttl: 3600,
    });
    const p = provider();
    const sets = await p.list(ZONE, [S1, `${S2.toUpperCase()}.`]);
    expect(sets).toEqual([cname(S1, T1)]);
    const reads = fake.log.filter((l) => l.operation === "listRecords");
    expect(reads).toHaveLength(1);
    expect(reads[0]?.query).toMatchObject({
      "name.startswith": "selector",
      "name.endswith": "._domainkey.example.com",
      match: "all",
      per_page: "5000",
    });
    expect(reads[0]?.query["name.exact"]).toBeUndefined();
  });

  it("reads the selectors of several domains of one zone in one call, and only the names asked for", async () => {
    const zone = fake.state.zone(ZONE);
    const domains = ["example.com", "mkt.example.com", "eu.mkt.example.com"];
    for (const d of domains) {
      fake.state.createRecord(zone, {
        name: `selector1._domainkey.${d}`,
        type: "CNAME",
        content: `s1.${d}.example.net`,
        ttl: 3600,
      });
    }
    // Pass the filter but are not asked for: an unmanaged domain's selector, a longer name.
    fake.state.createRecord(zone, {
      name: "selector1._domainkey.other.example.com",
      type: "CNAME",
      content: "x.example.net",
      ttl: 3600,
    });
    fake.state.createRecord(zone, {
      name: "selector1x._domainkey.example.com",
      type: "TXT",
      content: "v=DKIM1; p=x",
      ttl: 3600,
    });
    const names = domains.flatMap((d) => [`selector1._domainkey.${d}`, `selector2._domainkey.${d}`]);
    const sets = await provider().list(ZONE, names);
    expect(sets.map((s) => s.name)).toEqual([
      "selector1._domainkey.eu.mkt.example.com",
      "selector1._domainkey.example.com",
      "selector1._domainkey.mkt.example.com",
    ]);
    expect(fake.counts["listRecords"]).toBe(1);
    expect(fake.log.find((l) => l.operation === "listRecords")?.query).toMatchObject({
      "name.startswith": "selector",
      "name.endswith": ".example.com",
    });
  });

  it("reads one name with name.exact", async () => {
    await provider().list(ZONE, [S1]);
    const [read] = fake.log.filter((l) => l.operation === "listRecords");
    expect(read?.query["name.exact"]).toBe(S1);
    expect(read?.query["name.startswith"]).toBeUndefined();
  });

  it("pages a filtered read past 5000 matches, with no request for an empty page", async () => {
    const zone = fake.state.zone(ZONE);
    // A SaaS-shaped zone: the selectors of 2600 customer subdomains nobody asked for.
    for (let i = 0; i < 2600; i++) {
      for (const sel of ["selector1", "selector2"]) {
        fake.state.createRecord(zone, {
          name: `${sel}._domainkey.c${String(i).padStart(4, "0")}.example.com`,
          type: "CNAME",
          content: "t.example.net",
          ttl: 3600,
        });
      }
    }
    // Sorts after every c#### name, so it is on the second page.
    const late = "selector2._domainkey.zz.example.com";
    fake.state.createRecord(zone, { name: late, type: "CNAME", content: T2, ttl: 3600 });
    const sets = await provider().list(ZONE, [S1, late]);
    expect(sets).toEqual([cname(late, T2)]);
    // 5201 matches at 5000 a page: two requests, stopped by result_info.total_pages.
    expect(fake.log.filter((l) => l.operation === "listRecords").map((l) => l.query["page"])).toEqual(["1", "2"]);
  });

  it("reports ttl 1 (automatic) as 1 and a proxied CNAME as drift", async () => {
    fake.state.createRecord(fake.state.zone(ZONE), { name: S1, type: "CNAME", content: T1, ttl: 3600, proxied: true });
    const [set] = await provider().list(ZONE, [S1]);
    // A proxied record always has ttl 1 on Cloudflare, so it differs from 3600 as well.
    expect(set).toEqual({ name: S1, type: "CNAME", ttl: 1, values: [T1], drift: ["proxied (must be DNS only)"] });
  });

  it("reports a flattened CNAME as drift", async () => {
    fake.state.createRecord(fake.state.zone(ZONE), {
      name: S1,
      type: "CNAME",
      content: T1,
      ttl: 3600,
      settings: { flatten_cname: true },
    });
    const [set] = await provider().list(ZONE, [S1]);
    expect(set?.drift).toEqual(["flattened"]);
  });

  it("reports a TXT at a selector name with its strings joined", async () => {
    fake.state.createRecord(fake.state.zone(ZONE), {
      name: S2,
      type: "TXT",
      content: '"v=DKIM1; k=rsa; " "p=MIIB"',
      ttl: 3600,
    });
    expect(await provider().list(ZONE, [S2])).toEqual([
      { name: S2, type: "TXT", ttl: 3600, values: ["v=DKIM1; k=rsa; p=MIIB"] },
    ]);
  });

  it("warns about zone-wide flatten all CNAMEs, and only there", async () => {
    const p = provider();
    const [warning] = await p.zoneWarnings!("flat.example");
    expect(warning).toMatch(/flatten all CNAMEs/);
    expect(warning).toMatch(/DKIM fails for every selector/);
    expect(warning).toMatch(/flatten_all_cnames": false/);
    expect(await p.zoneWarnings!(ZONE)).toEqual([]);
  });

  it("names the zone when it does not exist", async () => {
    await expect(provider().list("missing.example", [S1])).rejects.toThrow(/\[cf\] zone missing.example: no such zone/);
  });
});

describe("cloudflare provider: writing", () => {
  it("writes create, update and delete of one zone in one batch call", async () => {
    const zone = fake.state.zone(ZONE);
    fake.state.createRecord(zone, { name: S1, type: "CNAME", content: "old.example.net", ttl: 300 });
    fake.state.createRecord(zone, {
      name: "selector1._domainkey.retired.example.com",
      type: "CNAME",
      content: "gone.example.net",
      ttl: 3600,
    });
    const p = provider();
    const names = [S1, S2, "selector1._domainkey.retired.example.com"];
    const existing = await p.list(ZONE, names);
    const old = existing.find((r) => r.name === S1)!;
    const retired = existing.find((r) => r.name.includes("retired"))!;
    fake.resetCounts();

    const changes: Change[] = [
      { action: "delete", name: retired.name, type: "CNAME", before: retired, after: null },
      { action: "update", name: S1, type: "CNAME", before: old, after: cname(S1, T1) },
      { action: "create", name: S2, type: "CNAME", before: null, after: cname(S2, T2) },
    ];
    await p.apply(ZONE, changes);

    expect(fake.counts).toEqual({ batch: 1 });
    const [s1] = recordsAt(S1);
    expect(s1).toMatchObject({
      content: T1,
      ttl: 3600,
      proxied: false,
      settings: { flatten_cname: false },
      comment: "managed by dkimsync",
    });
    expect(recordsAt(S2)).toMatchObject([{ content: T2, ttl: 3600, proxied: false }]);
    expect(recordsAt("selector1._domainkey.retired.example.com")).toEqual([]);
    // Foreign records stay as they were.
    expect(fake.state.zone(ZONE).records.map((r) => r.name)).toEqual(
      expect.arrayContaining(["www.example.com", "google._domainkey.example.com", "example.com"]),
    );
    expect(await p.list(ZONE, [S1, S2])).toEqual([cname(S1, T1), cname(S2, T2)]);
  });

  it("an apply uses the ids of every read of its zone, in one call or several; after its write it reads again", async () => {
    const zone = fake.state.zone(ZONE);
    const rec = fake.state.createRecord(zone, { name: S1, type: "CNAME", content: "old.example.net", ttl: 300 });
    const p = provider();
    const [old] = await p.list(ZONE, [S1]);
    expect(await p.list(ZONE, [S2])).toEqual([]);
    fake.resetCounts();
    await p.apply(ZONE, [
      { action: "update", name: S1, type: "CNAME", before: old!, after: cname(S1, T1) },
      { action: "create", name: S2, type: "CNAME", before: null, after: cname(S2, T2) },
    ]);
    // Both names were known from the two reads: no read before the write.
    expect(fake.counts).toEqual({ batch: 1 });
    expect(recordsAt(S1)).toMatchObject([{ id: rec.id, content: T1 }]);
    fake.resetCounts();
    await p.apply(ZONE, [{ action: "update", name: S1, type: "CNAME", before: cname(S1, T1), after: cname(S1, T2) }]);
    // The write forgot what was read (a post makes new ids): read again, then write.
    expect(fake.counts).toEqual({ listRecords: 1, batch: 1 });
    expect(recordsAt(S1)).toMatchObject([{ id: rec.id, content: T2 }]);
  });

  it("keeps nothing from the read-back after a write: a second write to the zone reads its ids again", async () => {
    const p = provider();
    expect(await p.list(ZONE, [S1])).toEqual([]);
    await p.apply(ZONE, [{ action: "create", name: S1, type: "CNAME", before: null, after: cname(S1, T1) }]);
    const [id] = recordsAt(S1).map((r) => r.id);
    // The read-back after the write (what apply does next) reads the record as written...
    fake.resetCounts();
    const [back] = await p.list(ZONE, [S1]);
    expect(back).toEqual(cname(S1, T1));
    expect(fake.counts).toEqual({ listRecords: 1 });
    // ...and keeps no id: a write after it reads the name first, then patches the same record.
    fake.resetCounts();
    await p.apply(ZONE, [{ action: "update", name: S1, type: "CNAME", before: back!, after: cname(S1, T2) }]);
    expect(fake.counts).toEqual({ listRecords: 1, batch: 1 });
    expect(recordsAt(S1)).toMatchObject([{ id, content: T2 }]);
    // A zone not written keeps what its read found: its write needs no read.
    const other = fake.state.addZone({ name: "other.example" });
    const o1 = "selector1._domainkey.other.example";
    const rec = fake.state.createRecord(other, { name: o1, type: "CNAME", content: "old.example.net", ttl: 300 });
    const [old] = await p.list("other.example", [o1]);
    fake.resetCounts();
    await p.apply("other.example", [{ action: "update", name: o1, type: "CNAME", before: old!, after: cname(o1, T1) }]);
    expect(fake.counts).toEqual({ batch: 1 });
    expect(fake.state.zone("other.example").records.filter((r) => r.name === o1)).toMatchObject([
      { id: rec.id, content: T1 },
    ]);
  });

  it("pairs the records of a set with the new values in the order of their values, patching each in place", async () => {
    const zone = fake.state.zone(ZONE);
    // Created out of value order: the ids kept must follow the values, not the answer's order.
    const c = fake.state.createRecord(zone, { name: S1, type: "TXT", content: "c", ttl: 3600 });
    const a = fake.state.createRecord(zone, { name: S1, type: "TXT", content: "a", ttl: 3600 });
    const b = fake.state.createRecord(zone, { name: S1, type: "TXT", content: "b", ttl: 3600 });
    const p = provider();
    const [before] = await p.list(ZONE, [S1]);
    expect(before?.values).toEqual(["a", "b", "c"]);
    fake.resetCounts();
    const after: RecordSet = { name: S1, type: "TXT", ttl: 3600, values: ["x", "y"] };
    await p.apply(ZONE, [{ action: "update", name: S1, type: "TXT", before: before!, after }]);
    expect(fake.counts).toEqual({ batch: 1 });
    const now = recordsAt(S1).map((r) => [r.id, r.content]);
    // a -> x and b -> y in place; c, left over, is deleted.
    expect(now).toEqual(
      expect.arrayContaining([
        [a.id, "x"],
        [b.id, "y"],
      ]),
    );
    expect(now).toHaveLength(2);
    expect(now.map(([id]) => id)).not.toContain(c.id);
  });

  it("a read that keeps nothing also drops the ids an earlier read kept at those names", async () => {
    const zone = fake.state.zone(ZONE);
    const rec = fake.state.createRecord(zone, { name: S1, type: "CNAME", content: "old.example.net", ttl: 300 });
    const p = provider();
    const [old] = await p.list(ZONE, [S1, S2]);
    // A write of S2 only: the zone is written, S1's id is still kept from the read above.
    await p.apply(ZONE, [{ action: "create", name: S2, type: "CNAME", before: null, after: cname(S2, T2) }]);
    // Read again after the write: the id kept for S1 is dropped, so its write reads first.
    await p.list(ZONE, [S1, S2]);
    fake.resetCounts();
    await p.apply(ZONE, [{ action: "update", name: S1, type: "CNAME", before: old!, after: cname(S1, T1) }]);
    expect(fake.counts).toEqual({ listRecords: 1, batch: 1 });
    expect(recordsAt(S1)).toMatchObject([{ id: rec.id, content: T1 }]);
  });

  it("keeps no record ids in a run that never writes (plan); a write all the same reads them first", async () => {
    const zone = fake.state.zone(ZONE);
    const rec = fake.state.createRecord(zone, { name: S1, type: "CNAME", content: "old.example.net", ttl: 300 });
    const p = provider({}, {}, true);
    const [old] = await p.list(ZONE, [S1]);
    expect(old).toEqual(cname(S1, "old.example.net", 300));
    fake.resetCounts();
    await p.apply(ZONE, [{ action: "update", name: S1, type: "CNAME", before: old!, after: cname(S1, T1) }]);
    expect(fake.counts).toEqual({ listRecords: 1, batch: 1 });
    expect(recordsAt(S1)).toMatchObject([{ id: rec.id, content: T1 }]);
  });

  it("close drops the zone and record ids kept for writes; a later call looks them up again", async () => {
    const zone = fake.state.zone(ZONE);
    fake.state.createRecord(zone, { name: S1, type: "CNAME", content: "old.example.net", ttl: 300 });
    const p = provider();
    await p.zones();
    const [old] = await p.list(ZONE, [S1]);
    await p.close?.();
    fake.resetCounts();
    await p.apply(ZONE, [{ action: "update", name: S1, type: "CNAME", before: old!, after: cname(S1, T1) }]);
    // The zone's id (one List Zones by name) and the record's id (one read), then the write.
    expect(fake.counts).toEqual({ listZones: 1, listRecords: 1, batch: 1 });
    expect(recordsAt(S1)).toMatchObject([{ content: T1 }]);
  });

  it("fixes a proxied, flattened CNAME with an update in place", async () => {
    const zone = fake.state.zone(ZONE);
    const rec = fake.state.createRecord(zone, {
      name: S1,
      type: "CNAME",
      content: T1,
      ttl: 3600,
      proxied: true,
      settings: { flatten_cname: true },
    });
    const p = provider();
    const [before] = await p.list(ZONE, [S1]);
    expect(before?.drift).toEqual(["proxied (must be DNS only)", "flattened"]);
    await p.apply(ZONE, [{ action: "update", name: S1, type: "CNAME", before: before!, after: cname(S1, T1) }]);
    expect(recordsAt(S1)).toMatchObject([
      { id: rec.id, proxied: false, ttl: 3600, settings: { flatten_cname: false } },
    ]);
    expect(await p.list(ZONE, [S1])).toEqual([cname(S1, T1)]);
  });

  it("replaces a conflicting TXT by the CNAME in one batch (delete first)", async () => {
    fake.state.createRecord(fake.state.zone(ZONE), { name: S1, type: "TXT", content: "v=DKIM1; p=onprem", ttl: 3600 });
    const p = provider();
    const [txt] = await p.list(ZONE, [S1]);
    fake.resetCounts();
    await p.apply(ZONE, [
      { action: "delete", name: S1, type: "TXT", before: txt!, after: null },
      {
        action: "create",
        name: S1,
        type: "CNAME",
        before: null,
        after: cname(S1, T1),
        reason: "replaces conflicting TXT (--force)",
      },
    ]);
    expect(fake.counts).toEqual({ batch: 1 });
    expect(recordsAt(S1).map((r) => r.type)).toEqual(["CNAME"]);
  });

  it("applies a saved plan in a fresh process by reading the ids first", async () => {
    fake.state.createRecord(fake.state.zone(ZONE), { name: S1, type: "CNAME", content: "old.example.net", ttl: 3600 });
    const before = cname(S1, "old.example.net");
    const fresh = provider();
    await fresh.apply(ZONE, [{ action: "update", name: S1, type: "CNAME", before, after: cname(S1, T1) }]);
    expect(fake.counts["listRecords"]).toBe(1);
    expect(fake.counts["batch"]).toBe(1);
    expect(recordsAt(S1)).toMatchObject([{ content: T1 }]);
  });

  it("splits writes into batches of batch_size", async () => {
    const p = provider({ batch_size: 2 });
    const domains = ["a", "b", "c", "d", "e"].map((d) => `selector1._domainkey.${d}.example.com`);
    await p.list(ZONE, domains);
    fake.resetCounts();
    await p.apply(
      ZONE,
      domains.map((n) => ({ action: "create" as const, name: n, type: "CNAME", before: null, after: cname(n, T1) })),
    );
    expect(fake.counts).toEqual({ batch: 3 });
    expect(domains.every((n) => recordsAt(n).length === 1)).toBe(true);
    expect(p.logs).toContain("[cf] zone example.com: batch 3 of 3");
  });

  it("says which batch failed and that the earlier ones were written, when a split apply fails part-way", async () => {
    const p = provider({ batch_size: 2 });
    const names = ["a", "b", "c", "d", "e"].map((d) => `selector1._domainkey.${d}.example.com`);
    await p.list(ZONE, names);
    // A TXT appears at the last name after the plan: the third batch is refused (81053).
    fake.state.createRecord(fake.state.zone(ZONE), {
      name: names[4]!,
      type: "TXT",
      content: "v=DKIM1; p=late",
      ttl: 3600,
    });
    const err = await p
      .apply(
        ZONE,
        names.map((n) => ({ action: "create" as const, name: n, type: "CNAME", before: null, after: cname(n, T1) })),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(recordsAt(names[0]!)).toHaveLength(1);
    expect((err as ProviderError).message).toMatch(
      /^\[cf\] zone example.com: batch 3 of 3 was not written; batches 1-2 \(4 records\) were written: a record already holds that name/,
    );
    expect((err as ProviderError).hint).toMatch(/plan again/);
    // The same facts as fields, for callers that do not parse text.
    expect(err).toMatchObject({
      provider: "cf",
      zone: ZONE,
      written: 4,
      operation: "writing the batch",
      status: "400",
      retryable: false,
    });
    expect((err as ProviderError).detail).toMatch(
      /^batch 3 of 3 was not written; batches 1-2 \(4 records\) were written: a record/,
    );
  });

  it("says to lower batch_size when Cloudflare refuses a batch as too large", async () => {
    const p = provider({ batch_size: 300 });
    const names = Array.from({ length: 250 }, (_, i) => `selector1._domainkey.d${i}.example.com`);
    await p.list(ZONE, names);
    const err = await p
      .apply(
        ZONE,
        names.map((n) => ({ action: "create" as const, name: n, type: "CNAME", before: null, after: cname(n, T1) })),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain("HTTP 400");
    expect((err as ProviderError).hint).toContain("batch_size");
    expect(recordsAt(names[0]!)).toEqual([]);
  });

  it("a failed batch changes nothing and says what Cloudflare answered", async () => {
    const p = provider({ max_retries: 0 });
    await p.list(ZONE, [S1, S2]);
    fake.faults.failNext(1, 500, "batch");
    const err = await p
      .apply(ZONE, [
        { action: "create", name: S1, type: "CNAME", before: null, after: cname(S1, T1) },
        { action: "create", name: S2, type: "CNAME", before: null, after: cname(S2, T2) },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toMatch(/^\[cf\] zone example.com: Cloudflare answered HTTP 500/);
    expect((err as ProviderError).transient).toBe(true);
    expect(recordsAt(S1)).toEqual([]);
    expect(recordsAt(S2)).toEqual([]);
  });

  it("turns 81053 into 'a record already holds that name' when the zone changed behind its back", async () => {
    const p = provider();
    await p.list(ZONE, [S1]);
    fake.state.createRecord(fake.state.zone(ZONE), { name: S1, type: "TXT", content: "v=DKIM1; p=late", ttl: 3600 });
    const err = await p
      .apply(ZONE, [{ action: "create", name: S1, type: "CNAME", before: null, after: cname(S1, T1) }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain("a record already holds that name");
    expect((err as ProviderError).message).toContain("81053");
    expect((err as ProviderError).hint).toMatch(/plan again/);
  });
});

describe("cloudflare provider: limits and credentials", () => {
  it("waits out a 429 for retry-after seconds and carries on", async () => {
    fake.faults.rateLimitNext(1, 1);
    const started = Date.now();
    const zones = await provider().zones();
    expect(zones).toContain(ZONE);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.log.map((l) => l.status)).toEqual([429, 200]);
  });

  it("gives up after max_retries with a rate-limit error", async () => {
    fake.faults.rateLimitNext(10, 0);
    const err = await provider({ max_retries: 2 })
      .zones()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toMatch(/rate limited by Cloudflare .* after 2 retries: .*code 971/);
    expect((err as ProviderError).transient).toBe(true);
    expect(fake.counts["listZones"]).toBe(3);
  });

  it("ends a stalled API in a timeout error naming provider, zone and operation, within attempts x timeout_ms", async () => {
    const p = provider({ timeout_ms: 300, max_attempts: 2 });
    await p.zones();
    fake.faults.stall();
    fake.resetCounts();
    const started = Date.now();
    const err = await p.list(ZONE, [S1]).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).transient).toBe(true);
    expect((err as ProviderError).message).toMatch(
      /^\[cf\] zone example\.com: the Cloudflare API at http:\/\/127\.0\.0\.1:\d+\/client\/v4 did not answer within 300 ms while reading the selector names, 2 attempt\(s\)/,
    );
    expect(fake.counts["listRecords"]).toBe(2);
    // A bound, not a benchmark: the documented worst case plus generous slack for a busy machine.
    expect(took).toBeLessThan(worstCaseMs({ maxRetries: 1, timeoutMs: 300 }) + 5000);
  });

  it("bounds a batch write on a stalled API, and says nothing is known to be written", async () => {
    const p = provider({ timeout_ms: 200, max_attempts: 1 });
    await p.list(ZONE, [S1]);
    fake.faults.stall();
    const err = await p
      .apply(ZONE, [{ action: "create", name: S1, type: "CNAME", before: null, after: cname(S1, T1) }])
      .catch((e: unknown) => e);
    expect((err as ProviderError).message).toContain(
      "did not answer within 200 ms while writing the batch, 1 attempt(s)",
    );
    expect((err as ProviderError).hint).toContain("reads the records again");
  });

  it("bounds an answer whose body stalls after the headers, which the SDK's own timer does not cover", async () => {
    const p = provider({ timeout_ms: 300, max_attempts: 1 });
    await p.zones();
    fake.faults.stallBody("listRecords");
    const started = Date.now();
    const err = await p.list(ZONE, [S1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toMatch(
      /^\[cf\] zone example\.com: the Cloudflare API at .* did not (finish its answer|answer) within 300 ms while reading the selector names/,
    );
    expect(Date.now() - started).toBeLessThan(worstCaseMs({ maxRetries: 0, timeoutMs: 300 }) + 5000);
  });

  it("names the cause Cloudflare nests under 1004 in error_chain (here 9300, tags over the Free plan's quota of 0)", async () => {
    const p = provider();
    await p.list(ZONE, [S1]);
    // The body the real API sends for tags over a Free zone's quota (1004 "DNS Validation
    // Error" with error_chain 9300). dkimsync never sends tags itself, so the fake is told to
    // fail the batch with that body.
    fake.faults.failNext(1, 400, "batch", {
      errors: [
        {
          code: 1004,
          message: "DNS Validation Error",
          error_chain: [{ code: 9300, message: "DNS record has 1 tags, exceeding the quota of 0." }],
        },
      ],
    });
    const err = await p
      .apply(ZONE, [{ action: "create", name: S1, type: "CNAME", before: null, after: cname(S1, T1) }])
      .catch((e: unknown) => e);
    expect((err as ProviderError).message).toContain(
      "DNS Validation Error (code 1004): DNS record has 1 tags, exceeding the quota of 0. (code 9300)",
    );
  });

  it("refuses max_attempts together with max_retries", () => {
    expect(() => provider({ max_attempts: 3, max_retries: 2 })).toThrow(InputError);
  });

  it("reports a refused token without printing it", async () => {
    const secret = "wrong-token-value-1234567890";
    const err = await provider({}, { CF_TEST_TOKEN: secret })
      .zones()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    const text = `${(err as ProviderError).message}\n${(err as ProviderError).hint}`;
    expect(text).toContain("9109");
    expect(text).toContain("env/CF_TEST_TOKEN");
    expect(text).not.toContain(secret);
    // 403 is not retried.
    expect(fake.counts["listZones"]).toBe(1);
  });

  it("the client-side limiter holds requests beyond the window's allowance, and counts a request until it is answered", async () => {
    const limiter = new SlidingWindowLimiter(2, 50);
    const first = await limiter.acquire();
    const second = await limiter.acquire();
    let thirdGranted = false;
    const third = limiter.acquire().then((answered) => {
      thirdGranted = true;
      return answered;
    });
    // Eight windows pass, but the first two are still in flight: they may not have reached the
    // server yet, so they still count.
    await new Promise((r) => setTimeout(r, 400));
    expect(thirdGranted).toBe(false);
    expect(limiter.inWindow).toBe(2);
    first();
    second();
    (await third)();
    expect(thirdGranted).toBe(true);
  });

  it("the limiter still counts a request in flight after thousands of answered ones have left the window", async () => {
    const limiter = new SlidingWindowLimiter(3000, 30);
    for (let i = 0; i < 2500; i++) (await limiter.acquire())();
    const slow = await limiter.acquire();
    // The window passes: the 2,500 answered requests leave it and are cut off the front of the
    // queue when the next request asks; the one in flight stays, counted.
    await new Promise((r) => setTimeout(r, 60));
    const late = await limiter.acquire();
    expect(limiter.inWindow).toBe(2);
    // Answered after the cut, each still marks its own entry (a second call changes nothing),
    // and both leave with the window.
    slow();
    slow();
    late();
    expect(limiter.inWindow).toBe(2);
    await new Promise((r) => setTimeout(r, 60));
    expect(limiter.inWindow).toBe(0);
  });

  /** The fake with a window of `limit` requests per `windowMs`, and an API client limited the same. */
  async function windowed(limit: number, windowMs: number) {
    const limited = await startCloudflareFake({
      rateLimit: limit,
      rateLimitWindowMs: windowMs,
      seed: { zones: [{ name: ZONE }] },
    });
    const api = new CloudflareApi({
      provider: "cf",
      token: limited.token,
      tokenRef: "env/CF_TEST_TOKEN",
      baseURL: limited.baseURL,
      maxRequestsPer5Min: limit,
      maxRetries: 0,
      timeoutMs: 5000,
      limitWindowMs: windowMs,
    });
    return { limited, api };
  }

  it("a request slow to reach the server still counts when it arrives: no 429 under the fake's window", async () => {
    // The fake counts a request when it handles it; delayNext holds the first request before
    // that, like a slow connection. A limiter that counted from the moment it let the request go
    // would send the second one a window later, while the fake still counts the first (429).
    const { limited, api } = await windowed(1, 1000);
    try {
      limited.faults.delayNext(600);
      await Promise.all([api.listZones(), api.listZones(), api.listZones()]);
      expect(limited.log.map((l) => l.status)).toEqual([200, 200, 200]);
    } finally {
      await limited.stop();
    }
  });

  it("30 requests through the real API client and SDK under a window of 5, some slow to arrive: none refused", async () => {
    const { limited, api } = await windowed(5, 500);
    try {
      // The first four requests are held 50 to 200 ms before the fake counts them.
      for (const ms of [50, 110, 170, 200]) limited.faults.delayNext(ms);
      await Promise.all(Array.from({ length: 30 }, () => api.listZones()));
      expect(limited.log.length).toBe(30);
      expect(limited.log.filter((l) => l.status !== 200)).toEqual([]);
    } finally {
      await limited.stop();
    }
  });

  it("gives up on an API answering only 500 after max_retries + 1 requests, with a transient error", async () => {
    fake.faults.failNext(100, 500, "listZones", { retryAfterSeconds: 0 });
    const err = await provider({ max_attempts: 3 })
      .zones()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain("Cloudflare answered HTTP 500 while listing zones");
    expect((err as ProviderError).transient).toBe(true);
    expect(fake.counts["listZones"]).toBe(3);
  });
});

describe("cloudflare provider: the read filter and paging rule", () => {
  it("filters on the prefix and suffix all names share, or the exact name for one", () => {
    expect(nameFilter([S1, S2])).toEqual({ startswith: "selector", endswith: "._domainkey.example.com" });
    expect(nameFilter([S1, "selector2._domainkey.a.example.com", "selector1._domainkey.b.example.com"])).toEqual({
      startswith: "selector",
      endswith: ".example.com",
    });
    // Affixes are strings, not labels: ab.example.com and b.example.com share "b.example.com".
    expect(nameFilter(["selector1._domainkey.ab.example.com", "selector1._domainkey.b.example.com"])).toEqual({
      startswith: "selector1._domainkey.",
      endswith: "b.example.com",
    });
    expect(nameFilter([S1, `${S1.toUpperCase()}.`])).toEqual({ exact: S1 });
    expect(nameFilter(["www.example.com", "mail.example.com"])).toEqual({ endswith: ".example.com" });
    expect(nameFilter([])).toEqual({});
  });

  it("trusts the server's total_pages, else stops on an empty or short page", () => {
    expect(isLastPage(1, 5000, { total_pages: 2, per_page: 5000 }, 5000)).toBe(false);
    expect(isLastPage(2, 201, { total_pages: 2, per_page: 5000 }, 5000)).toBe(true);
    // A server that serves 100 although 5000 were asked still reports total_pages: read on.
    expect(isLastPage(1, 100, { total_pages: 3, per_page: 100 }, 5000)).toBe(false);
    expect(isLastPage(1, 100, { per_page: 100 }, 5000)).toBe(false);
    expect(isLastPage(1, 99, { per_page: 100 }, 5000)).toBe(true);
    expect(isLastPage(3, 0, undefined, 5000)).toBe(true);
  });
});
