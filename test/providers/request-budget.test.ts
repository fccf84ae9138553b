/**
 * The request budget of plan and apply over many domains, counted by the loopback servers:
 * a plan makes one record read per zone that holds configured domains (more only where a zone's
 * size needs more pages, counted exactly below) plus the zone-discovery pages; an apply makes one
 * write per zone with changes and reads each written zone back once. Runs the real path:
 * dkim.zones.yaml in a temp folder -> loadConfig -> buildPlan -> applyPlan -> a second plan.
 *
 * The layout (105 zones, 40 of them holding 130 configured domains):
 * - f00..f19.example: a parent and four subdomains each (eu, mkt, news, shop), 100 domains.
 *   f00, f01 and f02 are the big ones:
 *   - f00: 400 other DKIM keys `kNNN._domainkey.mkt.f00.example` (TXT);
 *   - f01: 2600 unmanaged customer subdomains, each with both selector CNAMEs (5200 records
 *     whose names start with `selector`);
 *   - f02: 1000 host records `hNNNN.f02.example`.
 * - p00..p09.example: a parent to create and `news.pNN` with `ensure: absent` whose selectors
 *   exist (deletes), 20 domains.
 * - s00..s09.example: one domain each; s00..s04 already correct (no change), s05..s09 hold a
 *   wrong selector1 target (update) and no selector2 (create).
 * - idle00..idle64.example: zones with no configured domain, only seen by zone discovery.
 * Every configured zone also holds the usual foreign records (MX, SPF, DMARC, another DKIM key,
 * www), which neither provider may read past.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyPlan, isApplyFailure } from "../../src/plan/apply.js";
import { loadConfig } from "../../src/config/load.js";
import { buildPlan, closeProviders, hasChanges, summarise } from "../../src/plan/build.js";
import type { Plan, RecordSet } from "../../src/core/types.js";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";
import { startRoute53Fake, type Route53Fake } from "../fakes/route53/server.js";
import { useTestCredentials, type TestCredentials } from "../fakes/route53/credentials.js";
import { startGcloudFake, type GcloudFake } from "../fakes/gcloud/server.js";
import { startAzureFake, type AzureFake } from "../fakes/azure/server.js";
import { wireData } from "../fakes/azure/state.js";

const TENANT = "contoso";
const target = (sel: 1 | 2, domain: string) =>
  `selector${sel}-${domain.replace(/\./g, "-")}._domainkey.${TENANT}.onmicrosoft.com`;
const cname = (name: string, value: string): RecordSet => ({ name, type: "CNAME", ttl: 3600, values: [value] });
const pad = (n: number, w = 2) => String(n).padStart(w, "0");

interface Layout {
  /** Every zone, configured or idle, with the records it starts with. */
  zones: Map<string, RecordSet[]>;
  /** Configured domains: name -> ensure. */
  domains: Map<string, "present" | "absent">;
  /** Zones holding configured domains, and those the plan will change. */
  configuredZones: string[];
  changedZones: string[];
}

function foreign(zone: string): RecordSet[] {
  return [
    { name: zone, type: "MX", ttl: 3600, values: [`10 ${zone.replace(/\./g, "-")}.mail.protection.outlook.com`] },
    { name: zone, type: "TXT", ttl: 3600, values: ["v=spf1 include:spf.protection.outlook.com -all"] },
    { name: `_dmarc.${zone}`, type: "TXT", ttl: 3600, values: ["v=DMARC1; p=none"] },
    {
      name: `google._domainkey.${zone}`,
      type: "TXT",
      ttl: 3600,
      values: ["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"],
    },
    { name: `www.${zone}`, type: "A", ttl: 300, values: ["192.0.2.80"] },
  ];
}

function layout(): Layout {
  const zones = new Map<string, RecordSet[]>();
  const domains = new Map<string, "present" | "absent">();
  const configuredZones: string[] = [];
  const changedZones: string[] = [];

  for (let i = 0; i < 20; i++) {
    const zone = `f${pad(i)}.example`;
    const records = foreign(zone);
    for (const sub of ["", "eu.", "mkt.", "news.", "shop."]) domains.set(`${sub}${zone}`, "present");
    if (i === 0) {
      for (let k = 0; k < 400; k++)
        records.push({
          name: `k${pad(k, 3)}._domainkey.mkt.${zone}`,
          type: "TXT",
          ttl: 3600,
          values: [`v=DKIM1; p=other${k}`],
        });
    }
    if (i === 1) {
      for (let c = 0; c < 2600; c++) {
        const customer = `c${pad(c, 4)}.${zone}`;
        records.push(
          cname(`selector1._domainkey.${customer}`, target(1, customer)),
          cname(`selector2._domainkey.${customer}`, target(2, customer)),
        );
      }
    }
    if (i === 2) {
      for (let h = 0; h < 1000; h++)
        records.push({ name: `h${pad(h, 4)}.${zone}`, type: "A", ttl: 300, values: [`192.0.2.${h % 250}`] });
    }
    zones.set(zone, records);
    configuredZones.push(zone);
    changedZones.push(zone);
  }
  for (let i = 0; i < 10; i++) {
    const zone = `p${pad(i)}.example`;
    const retired = `news.${zone}`;
    domains.set(zone, "present");
    domains.set(retired, "absent");
    zones.set(zone, [
      ...foreign(zone),
      cname(`selector1._domainkey.${retired}`, target(1, retired)),
      cname(`selector2._domainkey.${retired}`, target(2, retired)),
    ]);
    configuredZones.push(zone);
    changedZones.push(zone);
  }
  for (let i = 0; i < 10; i++) {
    const zone = `s${pad(i)}.example`;
    domains.set(zone, "present");
    const selectors =
      i < 5
        ? [
            cname(`selector1._domainkey.${zone}`, target(1, zone)),
            cname(`selector2._domainkey.${zone}`, target(2, zone)),
          ]
        : [
            cname(
              `selector1._domainkey.${zone}`,
              `selector1-${zone.replace(/\./g, "-")}._domainkey.fabrikam.onmicrosoft.com`,
            ),
          ];
    zones.set(zone, [...foreign(zone), ...selectors]);
    configuredZones.push(zone);
    if (i >= 5) changedZones.push(zone);
  }
  for (let i = 0; i < 65; i++) zones.set(`idle${pad(i)}.example`, foreign(`idle${pad(i)}.example`));
  return { zones, domains, configuredZones, changedZones };
}

/** The provider block (without its name line) and the env it needs. */
interface Backend {
  type: string;
  options: Record<string, unknown>;
  env: Record<string, string>;
}

async function writeConfig(dir: string, l: Layout, b: Backend): Promise<string> {
  const opts = Object.entries(b.options)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join("\n");
  const doms = [...l.domains]
    .map(([d, ensure]) => `  ${d}:\n    provider: dns${ensure === "absent" ? "\n    ensure: absent" : ""}`)
    .join("\n");
  const file = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(
    file,
    `tenant: ${TENANT}\nttl: 3600\nproviders:\n  dns:\n    type: ${b.type}\n${opts}\ndomains:\n${doms}\n`,
  );
  return file;
}

async function plan(
  file: string,
  env: Record<string, string>,
): Promise<{ plan: Plan; close: () => Promise<void>; providers: Awaited<ReturnType<typeof buildPlan>>["providers"] }> {
  const fullEnv = { ...process.env, ...env };
  const config = loadConfig(file, { env: fullEnv });
  const { plan: p, providers } = await buildPlan({ config, env: fullEnv });
  return { plan: p, providers, close: () => closeProviders(providers) };
}

/** The summary every run of this layout must show on its first plan (see the header). */
const FIRST_SUMMARY = {
  // f: 100 domains x 2; p: 10 parents x 2; s05..s09: selector2.
  create: 200 + 20 + 5,
  // s05..s09: selector1 points at another tenant.
  update: 5,
  // news.p00..news.p09: ensure absent, both selectors.
  delete: 20,
  // s00..s04: both selectors already right.
  unchanged: 10,
  conflicts: 0,
};

describe("request budget: route53", () => {
  const l = layout();
  let fake: Route53Fake;
  let dir: string;
  let credentials: TestCredentials | undefined;

  beforeAll(async () => {
    // The fake's token bucket would add throttled retries to the counts; this test counts the
    // requests dkimsync decides to make, so the server does not limit and the client runs fast.
    fake = await startRoute53Fake({ rateLimit: false });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-budget-r53-"));
    credentials = useTestCredentials(dir, "budget");
    for (const [zone, records] of l.zones) {
      const z = fake.state.createZone(zone);
      for (const r of records) {
        fake.state.put(z.id, { ...r, values: r.type === "TXT" ? r.values.map((v) => `"${v}"`) : r.values });
      }
    }
  });

  afterAll(async () => {
    await fake?.stop();
    credentials?.restore();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("plans with one read per zone, applies with one batch per changed zone, and re-plans empty", async () => {
    const file = await writeConfig(dir, l, {
      type: "route53",
      options: { endpoint: fake.endpoint, region: "us-east-1", max_rps: 100, max_attempts: 2 },
      env: {},
    });
    // 105 zones at 100 a page (ListHostedZonesByName).
    const discoveryPages = 2;
    // Record sets are listed 300 a page in reversed-label order; a page ends inside a gap of
    // foreign records and the next one jumps to the next wanted name. f00: 400 `k*._domainkey.mkt`
    // keys lie between eu's and mkt's selectors; f01: 5200 `*.c####` records between the
    // parent's and eu's; f02: 1000 `h####` hosts between eu's and mkt's. One extra page each.
    const zoneReads = l.configuredZones.length + 3;

    fake.counts.reset();
    const first = await plan(file, {});
    try {
      expect(first.plan.errors).toEqual([]);
      expect(first.plan.zones).toHaveLength(40);
      expect(summarise(first.plan)).toEqual(FIRST_SUMMARY);
      expect({ ...fake.counts }).toEqual({
        ListHostedZones: 0,
        ListHostedZonesByName: discoveryPages,
        GetHostedZone: 0,
        ListResourceRecordSets: zoneReads,
        ChangeResourceRecordSets: 0,
        GetChange: 0,
        Unknown: 0,
      });

      fake.counts.reset();
      const result = await applyPlan({ plan: first.plan, providers: first.providers, force: false, checkStale: false });
      expect(isApplyFailure(result)).toBe(false);
      expect(
        result.zones
          .filter((z) => z.outcome === "applied")
          .map((z) => z.zone)
          .sort(),
      ).toEqual([...l.changedZones].sort());
      // One batch per changed zone; apply's own verification reads each written zone back once
      // (the three big zones with their extra page; all three have changes).
      expect({ ...fake.counts }).toEqual({
        ListHostedZones: 0,
        ListHostedZonesByName: 0,
        GetHostedZone: 0,
        ListResourceRecordSets: l.changedZones.length + 3,
        ChangeResourceRecordSets: l.changedZones.length,
        GetChange: 0,
        Unknown: 0,
      });
    } finally {
      await first.close();
    }

    fake.counts.reset();
    const second = await plan(file, {});
    try {
      expect(second.plan.errors).toEqual([]);
      expect(hasChanges(second.plan)).toBe(false);
      expect(summarise(second.plan)).toEqual({ create: 0, update: 0, delete: 0, unchanged: 240, conflicts: 0 });
      expect(fake.counts.ListResourceRecordSets).toBe(zoneReads);
      expect(fake.counts.ListHostedZonesByName).toBe(discoveryPages);
      expect(fake.counts.ChangeResourceRecordSets).toBe(0);
    } finally {
      await second.close();
    }
  });
});

describe("request budget: cloudflare", () => {
  const l = layout();
  let fake: CloudflareFake;
  let dir: string;

  beforeAll(async () => {
    fake = await startCloudflareFake();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-budget-cf-"));
    for (const [zone, records] of l.zones) {
      const z = fake.state.addZone({ name: zone });
      for (const r of records) {
        for (const v of r.values) {
          const [priority, exchange] = v.split(" ");
          if (r.type === "MX")
            fake.state.createRecord(z, {
              name: r.name,
              type: "MX",
              content: exchange,
              priority: Number(priority),
              ttl: r.ttl,
            });
          else fake.state.createRecord(z, { name: r.name, type: r.type, content: v, ttl: r.ttl });
        }
      }
    }
  });

  afterAll(async () => {
    await fake?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** listRecords requests per zone name, from the server's log. */
  function readsPerZone(): Map<string, number> {
    const byId = new Map(fake.state.zones.map((z) => [z.id, z.name]));
    const out = new Map<string, number>();
    for (const entry of fake.log.filter((e) => e.operation === "listRecords")) {
      const name = byId.get(entry.path.split("/")[4] ?? "") ?? "?";
      out.set(name, (out.get(name) ?? 0) + 1);
    }
    return out;
  }

  it("plans with one filtered read per zone, applies with one batch per changed zone, and re-plans empty", async () => {
    const env = { CF_BUDGET_TOKEN: fake.token };
    const file = await writeConfig(dir, l, {
      type: "cloudflare",
      options: { token: "env/CF_BUDGET_TOKEN", base_url: fake.baseURL },
      env,
    });
    // 105 zones at 50 a page (List Zones maximum), stopped by result_info.total_pages.
    const discoveryPages = 3;
    // The read filters on `name.startswith=selector`, so f00's 400 other DKIM keys and f02's
    // 1000 hosts are never sent; f01's 5200 customer selectors do pass it: 5200 matches (5210
    // once its own 10 exist) at 5000 a page is two pages.
    const expectedReads = (zones: readonly string[]) => new Map(zones.map((z) => [z, z === "f01.example" ? 2 : 1]));

    fake.resetCounts();
    const first = await plan(file, env);
    try {
      expect(first.plan.errors).toEqual([]);
      expect(first.plan.zones).toHaveLength(40);
      expect(summarise(first.plan)).toEqual(FIRST_SUMMARY);
      expect(readsPerZone()).toEqual(expectedReads(l.configuredZones));
      // getDnsSettings: the zone-wide "flatten all CNAMEs" check, one per configured zone; not
      // a record read, but part of the plan's requests.
      expect({ ...fake.counts }).toEqual({
        listZones: discoveryPages,
        listRecords: l.configuredZones.length + 1,
        getDnsSettings: l.configuredZones.length,
      });

      fake.resetCounts();
      const result = await applyPlan({ plan: first.plan, providers: first.providers, force: false, checkStale: false });
      expect(isApplyFailure(result)).toBe(false);
      expect(
        result.zones
          .filter((z) => z.outcome === "applied")
          .map((z) => z.zone)
          .sort(),
      ).toEqual([...l.changedZones].sort());
      // One batch per changed zone, no reads before writing (the plan's read kept the record
      // ids), and apply's verification reads each written zone back once (f01: two pages).
      expect(readsPerZone()).toEqual(expectedReads(l.changedZones));
      expect({ ...fake.counts }).toEqual({ batch: l.changedZones.length, listRecords: l.changedZones.length + 1 });
    } finally {
      await first.close();
    }

    fake.resetCounts();
    const second = await plan(file, env);
    try {
      expect(second.plan.errors).toEqual([]);
      expect(hasChanges(second.plan)).toBe(false);
      expect(summarise(second.plan)).toEqual({ create: 0, update: 0, delete: 0, unchanged: 240, conflicts: 0 });
      expect({ ...fake.counts }).toEqual({
        listZones: discoveryPages,
        listRecords: l.configuredZones.length + 1,
        getDnsSettings: l.configuredZones.length,
      });
    } finally {
      await second.close();
    }
    // The 2600 customer selectors in f01 and every foreign record came through untouched.
    expect(fake.state.zone("f01.example").records.filter((r) => r.name.includes(".c")).length).toBe(5200);
    expect(fake.state.zone("f00.example").records.filter((r) => r.name.startsWith("k")).length).toBe(400);
  });
});

for (const read of ["names", "zone"] as const) {
  describe(`request budget: gcloud (read: ${read})`, () => {
    const l = layout();
    let fake: GcloudFake;
    let dir: string;
    let env: Record<string, string>;
    const PROJECT = "budget-project";

    beforeAll(async () => {
      fake = await startGcloudFake();
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-budget-gc-"));
      env = {
        GC_BUDGET_KEY: JSON.stringify(
          fake.createServiceAccount(`budget@${PROJECT}.iam.gserviceaccount.com`, { projects: [PROJECT] }),
        ),
      };
      // Changes are done at once, so apply's read-back never races a pending change.
      fake.state.pendingGets = 0;
      for (const [zone, records] of l.zones) {
        fake.state.createZone(PROJECT, zone, {
          rrsets: records.map((r) => ({
            name: r.name,
            type: r.type,
            ttl: r.ttl,
            rrdatas: r.values.map((v) =>
              r.type === "CNAME" ? `${v}.` : r.type === "TXT" ? `"${v}"` : r.type === "MX" ? `${v}.` : v,
            ),
          })),
        });
      }
    });

    afterAll(async () => {
      await fake?.stop();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    /**
     * The record reads expected for these zones. read: names — rrsets.list filters on one exact
     * name per request (Cloud DNS API v1, resourceRecordSets.list: `name`), so two requests per
     * domain and never a page of the zone: f00's 400 other DKIM keys, f01's 5200 customer
     * selectors and f02's 1000 hosts are never sent. read: zone — one listing per zone plus
     * paging, at the server's page of 100 rrsets, counted on the zone as it is now.
     */
    function expectedReads(zones: readonly string[]): number {
      if (read === "names")
        return [...l.domains.keys()].filter((d) => zones.some((z) => d === z || d.endsWith(`.${z}`))).length * 2;
      return zones.reduce((n, z) => n + Math.max(1, Math.ceil(fake.state.zoneByDns(z).rrsets.size / 100)), 0);
    }

    it("plans within the read budget, applies with one change per changed zone, and re-plans empty", async () => {
      const file = await writeConfig(dir, l, {
        type: "gcloud",
        options: {
          project: PROJECT,
          credentials: "env/GC_BUDGET_KEY",
          endpoint: fake.endpoint,
          token_url: fake.tokenUrl,
          max_attempts: 2,
          read,
        },
        env,
      });
      // 105 zones at the server's page of 100 (managedZones.list, nextPageToken).
      const discoveryPages = 2;
      const readNames = () => new Set(fake.log.filter((e) => e.operation === "listRrsets").map((e) => e.query["name"]));

      fake.resetCounts();
      const planReads = expectedReads(l.configuredZones);
      const first = await plan(file, env);
      try {
        expect(first.plan.errors).toEqual([]);
        expect(first.plan.zones).toHaveLength(40);
        expect(summarise(first.plan)).toEqual(FIRST_SUMMARY);
        expect({ ...fake.counts }).toEqual({ token: 1, listZones: discoveryPages, listRrsets: planReads });
        if (read === "names")
          expect([...readNames()].every((n) => /^selector[12]\._domainkey\./.test(n ?? ""))).toBe(true);
        else expect(readNames()).toEqual(new Set([undefined]));

        fake.resetCounts();
        const result = await applyPlan({
          plan: first.plan,
          providers: first.providers,
          force: false,
          checkStale: false,
        });
        expect(isApplyFailure(result)).toBe(false);
        expect(
          result.zones
            .filter((z) => z.outcome === "applied")
            .map((z) => z.zone)
            .sort(),
        ).toEqual([...l.changedZones].sort());
        // One change per changed zone, no read before writing (the plan's read is kept), and
        // apply's verification reads each written zone back once.
        expect({ ...fake.counts }).toEqual({
          createChange: l.changedZones.length,
          listRrsets: expectedReads(l.changedZones),
        });
      } finally {
        await first.close();
      }

      fake.resetCounts();
      const second = await plan(file, env);
      try {
        expect(second.plan.errors).toEqual([]);
        expect(hasChanges(second.plan)).toBe(false);
        expect(summarise(second.plan)).toEqual({ create: 0, update: 0, delete: 0, unchanged: 240, conflicts: 0 });
        expect({ ...fake.counts }).toEqual({
          token: 1,
          listZones: discoveryPages,
          listRrsets: expectedReads(l.configuredZones),
        });
      } finally {
        await second.close();
      }
      expect([...fake.state.zoneByDns("f01.example").rrsets.keys()].filter((k) => k.includes(".c")).length).toBe(5200);
    });
  });
}
describe("request budget: azure", () => {
  const l = layout();
  let fake: AzureFake;
  let dir: string;

  beforeAll(async () => {
    fake = await startAzureFake();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-budget-az-"));
    await fs.writeFile(path.join(dir, "ca.pem"), fake.ca);
    for (const [zone, records] of l.zones) {
      const z = fake.state.createZone(fake.subscriptionId, zone.startsWith("idle") ? "idle-rg" : "dns-rg", zone);
      for (const r of records)
        fake.state.put(z, r.name === zone ? "@" : r.name.slice(0, -(zone.length + 1)), r.type, {
          ttl: r.ttl,
          data: wireData(r.type, r.values),
        });
    }
  });

  afterAll(async () => {
    await fake?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** Record set listings per zone name, from the server's log. */
  function readsPerZone(): Map<string, number> {
    const out = new Map<string, number>();
    for (const entry of fake.log.filter((e) => e.operation === "listRecordSets")) {
      const name = /\/dnszones\/([^/]+)\//i.exec(entry.path)?.[1] ?? "?";
      out.set(name, (out.get(name) ?? 0) + 1);
    }
    return out;
  }

  it("plans with one listing per zone plus its pages, writes one request per changed record set, and re-plans empty", async () => {
    const env = { AZ_BUDGET_SECRET: fake.clientSecret };
    const file = await writeConfig(dir, l, {
      type: "azure",
      options: {
        subscription_id: fake.subscriptionId,
        tenant_id: fake.tenantId,
        client_id: fake.clientId,
        client_secret: "env/AZ_BUDGET_SECRET",
        endpoint: fake.endpoint,
        authority_host: fake.authorityHost,
        ca_file: path.join(dir, "ca.pem"),
        max_attempts: 2,
      },
      env,
    });
    // 105 zones at 100 a page (Zones - List).
    const discoveryPages = 2;
    // Listings are 100 record sets a page (the API's default $top). s00..s09 hold only the apex
    // domain, so the listing is filtered on `$recordsetnamesuffix=_domainkey`: one page. The f
    // and p zones hold selectors of the apex and of subdomains, which share no label suffix, so
    // they are read whole: f00 407 record sets (5 pages), f01 5207 (53), f02 1007 (11), the
    // others under 100 (1); each stays in its page count once its 10 selectors are written.
    const pages = (zone: string) =>
      (({ "f00.example": 5, "f01.example": 53, "f02.example": 11 }) as Record<string, number>)[zone] ?? 1;
    const expectedReads = (zones: readonly string[]) => new Map(zones.map((z) => [z, pages(z)]));
    const total = (zones: readonly string[]) => zones.reduce((n, z) => n + pages(z), 0);

    fake.resetCounts();
    const first = await plan(file, env);
    try {
      expect(first.plan.errors).toEqual([]);
      expect(first.plan.zones).toHaveLength(40);
      expect(summarise(first.plan)).toEqual(FIRST_SUMMARY);
      expect(readsPerZone()).toEqual(expectedReads(l.configuredZones));
      expect({ ...fake.counts }).toEqual({
        openidConfiguration: 1,
        token: 1,
        listZones: discoveryPages,
        listRecordSets: total(l.configuredZones),
      });

      fake.resetCounts();
      const result = await applyPlan({ plan: first.plan, providers: first.providers, force: false, checkStale: false });
      expect(isApplyFailure(result)).toBe(false);
      expect(
        result.zones
          .filter((z) => z.outcome === "applied")
          .map((z) => z.zone)
          .sort(),
      ).toEqual([...l.changedZones].sort());
      // Azure DNS writes one record set per request: 225 creates and 5 updates (PUT), 20
      // deletes (DELETE), no read before writing (the plan's read kept the etags), and apply's
      // verification reads each written zone back once.
      expect(readsPerZone()).toEqual(expectedReads(l.changedZones));
      expect({ ...fake.counts }).toEqual({
        putRecordSet: 230,
        deleteRecordSet: 20,
        listRecordSets: total(l.changedZones),
      });
      expect(
        fake.log
          .filter((e) => e.operation === "putRecordSet" || e.operation === "deleteRecordSet")
          .every((e) => e.ifMatch !== undefined || e.ifNoneMatch === "*"),
      ).toBe(true);
    } finally {
      await first.close();
    }

    fake.resetCounts();
    const second = await plan(file, env);
    try {
      expect(second.plan.errors).toEqual([]);
      expect(hasChanges(second.plan)).toBe(false);
      expect(summarise(second.plan)).toEqual({ create: 0, update: 0, delete: 0, unchanged: 240, conflicts: 0 });
      expect({ ...fake.counts }).toEqual({
        openidConfiguration: 1,
        token: 1,
        listZones: discoveryPages,
        listRecordSets: total(l.configuredZones),
      });
    } finally {
      await second.close();
    }
    expect(
      fake.state.zone(fake.subscriptionId, "dns-rg", "f01.example").sets.filter((s) => s.name.includes(".c")).length,
    ).toBe(5200);
  }, 120_000);
});
