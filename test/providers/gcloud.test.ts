/**
 * Provider `gcloud`: the real provider code and the real google-auth-library (service-account JWT
 * grant, Application Default Credentials) against the loopback Cloud DNS fake
 * (test/fakes/gcloud). Request counts come from the fake, so "one change per zone" and "one read
 * per selector name" are asserted on what went over the wire.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InputError, ProviderError } from "../../src/core/errors.js";
import { OptionsReader } from "../../src/config/options.js";
import type { RecordSet } from "../../src/core/types.js";
import { createGcloudProvider, type GcloudProvider } from "../../providers/gcloud/index.js";
import { fromRrset, toChangeBody, toRrset } from "../../providers/gcloud/convert.js";
import { startGcloudFake, type GcloudFake, type ServiceAccountKeyFile } from "../fakes/gcloud/server.js";
import { cname, create, failure, remove, txt, update } from "../helpers/records.js";

const PROJECT = "dkim-project";
const ZONE = "example.com";
const S1 = `selector1._domainkey.${ZONE}`;
const S2 = `selector2._domainkey.${ZONE}`;
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";

let fake: GcloudFake;
let key: ServiceAccountKeyFile;
let tmp: string;
const saved = { ...process.env };

beforeAll(async () => {
  fake = await startGcloudFake();
  key = fake.createServiceAccount(`dkimsync@${PROJECT}.iam.gserviceaccount.com`, { project: PROJECT });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-gcloud-"));
});
afterAll(async () => {
  await fake?.stop();
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  fake.faults.clear();
  fake.state.projects.clear();
  fake.state.pendingGets = 1;
  fake.state.perChangeLimit = 1000;
  fake.resetCounts();
});

function reader(values: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): OptionsReader {
  return new OptionsReader({
    provider: "gdns",
    type: "gcloud",
    values,
    where: { file: "dkim.zones.yaml", line: 7 },
    lineOf: (k) => (k in values ? 8 : undefined),
    configDir: tmp,
    env,
  });
}

function provider(extra: Record<string, unknown> = {}, k: ServiceAccountKeyFile = key, ctx = {}): GcloudProvider {
  const env = { GCLOUD_TEST_KEY: JSON.stringify(k) };
  return createGcloudProvider(
    reader(
      {
        credentials: "env/GCLOUD_TEST_KEY",
        endpoint: fake.endpoint,
        token_url: fake.tokenUrl,
        timeout_ms: 2000,
        max_attempts: 3,
        ...extra,
      },
      env,
    ),
    ctx,
  ) as GcloudProvider;
}

const wire = (r: RecordSet) => ({
  name: r.name,
  type: r.type,
  ttl: r.ttl,
  rrdatas: r.values.map((v) => (r.type === "CNAME" ? `${v}.` : r.type === "TXT" ? `"${v}"` : v)),
});

function seed(zone = ZONE, records: RecordSet[] = [], project = PROJECT) {
  return fake.state.createZone(project, zone, { rrsets: records.map(wire) });
}

describe("provider gcloud: zones and reads", () => {
  it("discovers the project's public zones across pages, with the key's project_id", async () => {
    for (let i = 0; i < 130; i++) seed(`z${String(i).padStart(3, "0")}.example`);
    fake.state.createZone(PROJECT, "internal.example", { visibility: "private" });
    const p = provider();
    const zones = await p.zones();
    expect(zones).toHaveLength(130);
    expect(zones).not.toContain("internal.example");
    // Default page of the fake is 100: two pages, followed by nextPageToken.
    expect(fake.counts["listZones"]).toBe(2);
    expect(fake.log.find((e) => e.operation === "listZones")?.path).toBe(`/dns/v1/projects/${PROJECT}/managedZones`);
    expect(await provider({ private_zones: true }).zones()).toContain("internal.example");
  });

  it("refuses to pick between two managed zones of one DNS name", async () => {
    seed(ZONE);
    fake.state.createZone(PROJECT, ZONE, { name: "example-com-internal", visibility: "private" });
    expect(await provider().list(ZONE, [S1])).toEqual([]);
    const err = await failure<ProviderError>(provider({ private_zones: true }).list(ZONE, [S1]));
    expect(err.message).toBe(
      `[gdns] zone ${ZONE}: 2 managed zones have this DNS name: example-com, example-com-internal (private)`,
    );
  });

  it("reads only the selector names, one name-filtered rrsets.list each, every type there", async () => {
    seed(ZONE, [
      cname(S1, T1),
      txt(S2, "v=DKIM1; k=rsa; p=MIGf"),
      txt(ZONE, "v=spf1 -all"),
      cname(`s1._domainkey.${ZONE}`, "s1.example.net"),
    ]);
    const p = provider();
    const sets = await p.list(ZONE, [S1, S2, S1.toUpperCase()]);
    expect(sets).toEqual([cname(S1, T1, 3600), txt(S2, "v=DKIM1; k=rsa; p=MIGf")]);
    const reads = fake.log.filter((e) => e.operation === "listRrsets");
    expect(reads.map((e) => e.query["name"]).sort()).toEqual([`${S1}.`, `${S2}.`]);
    expect(reads.every((e) => e.path === `/dns/v1/projects/${PROJECT}/managedZones/example-com/rrsets`)).toBe(true);
  });

  it("with read: zone, reads the whole zone in one paged listing and keeps only the selector names", async () => {
    const z = seed(ZONE, [cname(S1, T1), txt(S2, "v=DKIM1; p=MIGf")]);
    for (let i = 0; i < 250; i++)
      fake.state.put(z, { name: `h${i}.${ZONE}`, type: "A", ttl: 300, rrdatas: ["192.0.2.1"] });
    const p = provider({ read: "zone" });
    expect(p.capabilities.readsOnlyNames.can).toBe(false);
    expect(await p.list(ZONE, [S1, S2])).toEqual([cname(S1, T1), txt(S2, "v=DKIM1; p=MIGf")]);
    // 254 rrsets (SOA, NS, 2 selectors, 250 hosts) at the server's page of 100: three pages.
    const reads = fake.log.filter((e) => e.operation === "listRrsets");
    expect(reads.map((e) => [e.query["name"], e.query["pageToken"] === undefined])).toEqual([
      [undefined, true],
      [undefined, false],
      [undefined, false],
    ]);
    await p.apply(ZONE, [update(cname(S1, T1), cname(S1, T2))]);
    expect(await p.list(ZONE, [S1])).toEqual([cname(S1, T2)]);
  });

  it("joins TXT character-strings and reads decimal escapes", async () => {
    const z = seed(ZONE);
    fake.state.put(z, { name: S1, type: "TXT", ttl: 300, rrdatas: ['"v=DKIM1; k=rsa; " "p=MIG\\059f"'] });
    expect((await provider().list(ZONE, [S1]))[0]?.values).toEqual(["v=DKIM1; k=rsa; p=MIG;f"]);
  });

  it("names the zone when the project has no managed zone of that name", async () => {
    seed("other.example");
    const err = await failure<ProviderError>(provider().list(ZONE, [S1]));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe(`[gdns] zone ${ZONE}: no managed zone with this DNS name in the project`);
  });
});

describe("provider gcloud: conversions", () => {
  it("writes names and CNAME targets absolute, TXT as quoted strings of at most 255 octets", () => {
    const long = "v=DKIM1; k=rsa; p=" + "A".repeat(400);
    expect(toRrset(cname(S1, T1))).toEqual({
      kind: "dns#resourceRecordSet",
      name: `${S1}.`,
      type: "CNAME",
      ttl: 3600,
      rrdatas: [`${T1}.`],
    });
    const [rrdata] = toRrset(txt(S1, long)).rrdatas ?? [];
    expect(rrdata?.match(/"[^"]*"/g)?.map((q) => q.length - 2)).toEqual([255, long.length - 255]);
    expect(fromRrset(toRrset(txt(S1, long))).values).toEqual([long]);
  });

  it("reads a routing-policy rrset as drift, and deletes it exactly as read", () => {
    const raw = { name: `${S1}.`, type: "CNAME", ttl: 300, rrdatas: [], routingPolicy: { geo: { items: [] } } };
    const read = fromRrset(raw);
    expect(read.drift).toEqual(["routing policy record set"]);
    const body = toChangeBody([update(read, cname(S1, T1))], () => raw);
    expect(body.deletions).toEqual([raw]);
    expect(body.additions.map((a) => a.rrdatas)).toEqual([[`${T1}.`]]);
  });
});

describe("provider gcloud: writing", () => {
  it("writes creates, updates and deletes of one zone as one change, deletions exactly as read", async () => {
    const z = seed(ZONE, [cname(S1, "OLD.Example.NET", 300), cname(`selector1._domainkey.old.${ZONE}`, T1)]);
    const p = provider();
    const before = await p.list(ZONE, [S1, S2, `selector1._domainkey.old.${ZONE}`]);
    fake.resetCounts();
    await p.apply(ZONE, [
      update(before[1] as RecordSet, cname(S1, T1)),
      create(cname(S2, T2)),
      remove(before[0] as RecordSet),
    ]);
    expect({ ...fake.counts }).toEqual({ createChange: 1 });
    const [change] = z.changes;
    // The deletion is the rrset as Cloud DNS holds it (case and all), so it matches exactly.
    expect(change?.deletions.map((d) => [d.name, d.rrdatas]).sort()).toEqual(
      [
        [`${S1}.`, ["OLD.Example.NET."]],
        [`selector1._domainkey.old.${ZONE}.`, [`${T1}.`]],
      ].sort(),
    );
    expect(change?.additions.map((a) => [a.name, a.type, a.ttl, a.rrdatas])).toEqual([
      [`${S1}.`, "CNAME", 3600, [`${T1}.`]],
      [`${S2}.`, "CNAME", 3600, [`${T2}.`]],
    ]);
    expect(await p.list(ZONE, [S1, S2])).toEqual([cname(S1, T1), cname(S2, T2)]);
  });

  it("replaces a TXT by the CNAME in one change (deletion first, CNAME exclusivity holds)", async () => {
    seed(ZONE, [txt(S1, "v=DKIM1; p=old")]);
    const p = provider();
    const [old] = await p.list(ZONE, [S1]);
    await p.apply(ZONE, [remove(old as RecordSet), create(cname(S1, T1))]);
    expect(await p.list(ZONE, [S1])).toEqual([cname(S1, T1)]);
  });

  it("fails the whole change with 412 when a record changed since it was read, writing nothing", async () => {
    const z = seed(ZONE, [cname(S1, "old.example.net", 300)]);
    const p = provider();
    const [old] = await p.list(ZONE, [S1]);
    fake.state.put(z, { name: S1, type: "CNAME", ttl: 60, rrdatas: ["someone-else.example.net."] });
    const err = await failure<ProviderError>(
      p.apply(ZONE, [update(old as RecordSet, cname(S1, T1)), create(cname(S2, T2))]),
    );
    expect(err.message).toMatch(
      /^\[gdns\] zone example\.com: writing 2 change\(s\) \(changes\.create\): a record set to delete or replace no longer matches what was read.*nothing was written.*conditionNotMet/,
    );
    expect(err.hint).toMatch(/run plan again/);
    expect(
      fake.state
        .sorted(z)
        .filter((r) => r.name.startsWith("selector"))
        .map((r) => [r.name, r.rrdatas]),
    ).toEqual([[`${S1}.`, ["someone-else.example.net."]]]);
  });

  it("reports a record added behind its back as 409 alreadyExists", async () => {
    const z = seed(ZONE);
    const p = provider();
    await p.list(ZONE, [S2]);
    fake.state.put(z, { name: S2, type: "CNAME", ttl: 60, rrdatas: ["x.example.net."] });
    const err = await failure<ProviderError>(p.apply(ZONE, [create(cname(S2, T2))]));
    expect(err.message).toMatch(/already there.*alreadyExists/);
  });

  it("polls the change until done with wait: true, and with apply --wait (the context)", async () => {
    seed(ZONE);
    fake.state.pendingGets = 2;
    await provider({ wait: true }).apply(ZONE, [create(cname(S1, T1))]);
    expect(fake.counts["getChange"]).toBe(3);
    fake.resetCounts();
    await provider({}, key, { wait: true }).apply(ZONE, [create(cname(S2, T2))]);
    expect(fake.counts["getChange"]).toBe(3);
    fake.resetCounts();
    await provider().apply(ZONE, [remove(cname(S2, T2))]);
    expect(fake.counts["getChange"]).toBeUndefined();
  });
});

describe("provider gcloud: retries, faults and time limits", () => {
  it("retries 429 and 403 rateLimitExceeded after Retry-After, and 5xx, within max_attempts", async () => {
    seed(ZONE);
    const p = provider({ max_attempts: 3 });
    fake.faults.throttleNext(1, { status: 429, retryAfterSeconds: 0, op: "listRrsets" });
    fake.faults.throttleNext(1, { status: 403, retryAfterSeconds: 0, op: "listRrsets" });
    expect(await p.list(ZONE, [S1])).toEqual([]);
    expect(fake.counts["listRrsets"]).toBe(3);
    fake.faults.failNext(2, 503, "createChange");
    await p.apply(ZONE, [create(cname(S1, T1))]);
    expect(fake.counts["createChange"]).toBe(3);
  });

  it("gives up on throttling beyond max_attempts with one message naming provider, zone and operation", async () => {
    seed(ZONE);
    fake.faults.throttleNext(5, { retryAfterSeconds: 0, op: "listRrsets" });
    const err = await failure<ProviderError>(provider({ max_attempts: 2 }).list(ZONE, [S1]));
    expect(err.message).toMatch(
      /^\[gdns\] zone example\.com: reading selector1\._domainkey\.example\.com \(resourceRecordSets\.list\): still rate limited by Cloud DNS after 2 attempts/,
    );
    expect(err.transient).toBe(true);
    expect(fake.counts["listRrsets"]).toBe(2);
  });

  it("does not wait out a Retry-After longer than a minute", async () => {
    seed(ZONE);
    fake.faults.throttleNext(1, { retryAfterSeconds: 3600, op: "listRrsets" });
    const err = await failure<ProviderError>(provider({ max_attempts: 5 }).list(ZONE, [S1]));
    expect(err.message).toMatch(/still rate limited by Cloud DNS after 1 attempt /);
  });

  it("ends a stalled request (accepted, never answered) within timeout_ms x max_attempts, naming provider, zone and operation", async () => {
    seed(ZONE);
    fake.faults.stallNext(10, "createChange");
    const p = provider({ timeout_ms: 1000, max_attempts: 2 });
    await p.zones(); // the token, fetched before the clock starts
    const started = Date.now();
    const err = await failure<ProviderError>(p.apply(ZONE, [create(cname(S1, T1))]));
    // The bound: 2 attempts x timeout_ms plus one backoff of at most 500 ms (with slack for a
    // loaded machine; a provider without time limits would never end at all).
    expect(Date.now() - started).toBeLessThan(2 * 1000 + 500 + 1500);
    expect(err.message).toMatch(
      /^\[gdns\] zone example\.com: writing 1 change\(s\) \(changes\.create\): no answer within 1000 ms from http:\/\/127\.0\.0\.1:\d+ \(2 attempts, timeout_ms 1000\)/,
    );
    expect(fake.counts["createChange"]).toBe(2);
  });

  it("counts a token request that gets no answer as an attempt, and names the token endpoint", async () => {
    seed(ZONE);
    fake.faults.stallNext(10, "token");
    const err = await failure<ProviderError>(provider({ timeout_ms: 1000, max_attempts: 2 }).zones());
    expect(err.message).toMatch(
      /^\[gdns\] listing managed zones \(managedZones\.list\): no answer within 1000 ms while obtaining an access token from http:\/\/127\.0\.0\.1:\d+\/token \(2 attempts, timeout_ms 1000\)/,
    );
    expect(fake.counts["token"]).toBe(2);
    expect(fake.counts["listZones"]).toBeUndefined();
  });

  it("retries a slow answer that outlasts timeout_ms, and a dropped connection", async () => {
    seed(ZONE, [cname(S1, T1)]);
    fake.faults.delayNext(600, "listRrsets");
    fake.faults.dropNext(1, "listRrsets");
    expect(await provider({ timeout_ms: 300, max_attempts: 3 }).list(ZONE, [S1])).toEqual([cname(S1, T1)]);
    expect(fake.counts["listRrsets"]).toBe(3);
  });

  it("a change whose answer was lost and whose retry meets alreadyExists is reported, and the zone holds it", async () => {
    const z = seed(ZONE);
    fake.faults.loseAnswerNext(1, "createChange");
    const err = await failure<ProviderError>(provider().apply(ZONE, [create(cname(S1, T1))]));
    // The first attempt landed: apply() in src/apply.ts reads back and reports it applied.
    expect(err.message).toMatch(/alreadyExists/);
    expect(z.changes).toHaveLength(1);
  });
});

describe("provider gcloud: credentials, projects and permissions", () => {
  it("uses Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS) when no credentials option is set", async () => {
    seed(ZONE, [cname(S1, T1)]);
    const file = path.join(tmp, "adc.json");
    await fs.writeFile(file, JSON.stringify(key));
    process.env["GOOGLE_APPLICATION_CREDENTIALS"] = file;
    try {
      const p = createGcloudProvider(
        reader({ endpoint: fake.endpoint, token_url: fake.tokenUrl, timeout_ms: 2000 }),
        {},
      ) as GcloudProvider;
      expect(await p.list(ZONE, [S1])).toEqual([cname(S1, T1)]);
      expect(fake.counts["token"]).toBe(1);
    } finally {
      delete process.env["GOOGLE_APPLICATION_CREDENTIALS"];
    }
  });

  it("says how to set up credentials when ADC finds none", async () => {
    seed(ZONE);
    const keep = {
      HOME: process.env["HOME"],
      GAC: process.env["GOOGLE_APPLICATION_CREDENTIALS"],
      MSD: process.env["METADATA_SERVER_DETECTION"],
      CFG: process.env["CLOUDSDK_CONFIG"],
    };
    delete process.env["GOOGLE_APPLICATION_CREDENTIALS"];
    process.env["HOME"] = tmp;
    process.env["CLOUDSDK_CONFIG"] = path.join(tmp, "no-gcloud");
    // No metadata server here: gcp-metadata's documented switch skips probing 169.254.169.254.
    process.env["METADATA_SERVER_DETECTION"] = "none";
    try {
      const p = createGcloudProvider(
        reader({ project: PROJECT, endpoint: fake.endpoint, token_url: fake.tokenUrl, timeout_ms: 2000 }),
        {},
      ) as GcloudProvider;
      const err = await failure<ProviderError>(p.zones());
      expect(err.message).toBe("[gdns] listing managed zones (managedZones.list): no Google credentials found");
      expect(err.hint).toMatch(/credentials: env\/NAME.*Application Default Credentials/);
      expect(fake.counts["listZones"]).toBeUndefined();
    } finally {
      for (const [k, v] of [
        ["HOME", keep.HOME],
        ["GOOGLE_APPLICATION_CREDENTIALS", keep.GAC],
        ["METADATA_SERVER_DETECTION", keep.MSD],
        ["CLOUDSDK_CONFIG", keep.CFG],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("refuses a key the token endpoint does not accept, without printing key or token", async () => {
    seed(ZONE);
    const other = fake.createServiceAccount("other@dkim-project.iam.gserviceaccount.com", { project: PROJECT });
    const forged = { ...key, private_key: other.private_key };
    const err = await failure<ProviderError>(provider({}, forged).list(ZONE, [S1]));
    // Zone discovery is the first call; the planner files it under each domain of this provider.
    expect(err.message).toMatch(
      /^\[gdns\] listing managed zones \(managedZones\.list\): Google refused the credentials \(invalid_grant: Invalid JWT Signature\.\)/,
    );
    expect(err.hint).toMatch(/GCLOUD_TEST_KEY/);
    const shown = `${err.message} ${err.hint ?? ""}`;
    expect(shown).not.toContain("PRIVATE KEY");
    for (const t of fake.issuedTokens()) expect(shown).not.toContain(t);
  });

  it("says which project is missing (404) and which is forbidden (403)", async () => {
    seed(ZONE);
    let err = await failure<ProviderError>(provider({ project: "no-such-project" }).zones());
    expect(err.message).toMatch(/^\[gdns\] listing managed zones \(managedZones\.list\): not found .*no-such-project/);
    expect(err.hint).toMatch(/check `project:`/);
    fake.state.project("not-mine-project");
    const limited = fake.createServiceAccount("limited@dkim-project.iam.gserviceaccount.com", { projects: [PROJECT] });
    err = await failure<ProviderError>(provider({ project: "not-mine-project" }, limited).zones());
    expect(err.message).toMatch(/access denied .*forbidden/i);
    expect(err.hint).toMatch(/roles\/dns\.admin.*dns\.changes\.create/);
  });

  it("refuses bad options with file:line, never echoing a secret", () => {
    const leak = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----";
    expect(() => createGcloudProvider(reader({ credentials: leak }), {})).toThrow(InputError);
    try {
      createGcloudProvider(reader({ credentials: leak }), {});
    } catch (err) {
      expect((err as Error).message).toMatch(
        /^dkim\.zones\.yaml:8: provider "gdns" \(gcloud\): option "credentials" looks like an inline secret/,
      );
      expect((err as Error).message).not.toContain("MIIEv");
    }
    expect(() =>
      createGcloudProvider(reader({ credentials: "env/NOT_JSON" }, { NOT_JSON: "secret-bytes-123" }), {}),
    ).toThrow(/refers to NOT_JSON, which does not hold JSON/);
    expect(() =>
      createGcloudProvider(reader({ credentials: "env/NOT_SA" }, { NOT_SA: '{"type":"authorized_user"}' }), {}),
    ).toThrow(/not a service account key/);
    expect(() => createGcloudProvider(reader({ private_key: "x" }), {})).toThrow(
      /option "private_key" is not supported/,
    );
    expect(() => createGcloudProvider(reader({ project: "My Project" }), {})).toThrow(/must be a project id/);
    expect(() => createGcloudProvider(reader({ timeout_ms: 10 }), {})).toThrow(/timeout_ms" must be at least 100/);
    expect(() => createGcloudProvider(reader({ zone: "x" }), {})).toThrow(
      /option "zone" is not an option of provider type gcloud/,
    );
    expect(() => createGcloudProvider(reader({ read: "all" }), {})).toThrow(
      /option "read" must be one of names, zone, not "all"/,
    );
  });

  it("declares atomic writes and name-only reads as capabilities", () => {
    const p = provider();
    expect(p.capabilities.atomicWrites.can).toBe(true);
    expect(p.capabilities.readsOnlyNames.can).toBe(true);
  });
});
