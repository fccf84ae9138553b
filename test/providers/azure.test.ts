/**
 * Provider `azure`: the real dkimsync provider, `@azure/arm-dns` and `@azure/identity` against
 * the loopback HTTPS server in test/fakes/azure. What is special to Azure lives here; the shared
 * behaviour is in the conformance suite (test/conformance/backends/azure.ts).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, ProviderError } from "../../src/core/errors.js";
import { OptionsReader } from "../../src/config/options.js";
import type { Change, RecordSet } from "../../src/core/types.js";
import { AzureStaleError, createAzureProvider } from "../../providers/azure/index.js";
import { nameSuffix } from "../../providers/azure/convert.js";
import { startAzureFake, type AzureFake } from "../fakes/azure/server.js";
import type { FakeZone } from "../fakes/azure/state.js";
import { create, failure, remove, update } from "../helpers/records.js";

const ZONE = "example.com";
const RG = "dns-prod";
const S1 = "selector1._domainkey.example.com";
const S2 = "selector2._domainkey.example.com";
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";

let fake: AzureFake;
let dir: string;
let caFile: string;
let zone: FakeZone;

const cname = (name: string, target: string, ttl = 3600): RecordSet => ({ name, type: "CNAME", ttl, values: [target] });

function reader(values: Record<string, unknown> = {}, env: Record<string, string> = {}): OptionsReader {
  return new OptionsReader({
    provider: "az",
    type: "azure",
    values: {
      subscription_id: fake.subscriptionId,
      tenant_id: fake.tenantId,
      client_id: fake.clientId,
      client_secret: "env/AZ_TEST_SECRET",
      endpoint: fake.endpoint,
      authority_host: fake.authorityHost,
      ca_file: caFile,
      max_attempts: 2,
      ...values,
    },
    where: { file: "dkim.zones.yaml", line: 3 },
    lineOf: () => undefined,
    configDir: dir,
    env: { AZ_TEST_SECRET: fake.clientSecret, ...env },
  });
}

const provider = (values: Record<string, unknown> = {}, env: Record<string, string> = {}) =>
  createAzureProvider(reader(values, env), {});

function putCname(rel: string, target: string, ttl = 3600) {
  return fake.state.put(zone, rel, "CNAME", { ttl, data: { CNAMERecord: { cname: target } } }).set;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "dkimsync-az-"));
  fake = await startAzureFake();
  caFile = path.join(dir, "ca.pem");
  await writeFile(caFile, fake.ca);
  zone = fake.state.createZone(fake.subscriptionId, RG, ZONE);
  fake.state.put(zone, "www", "A", { ttl: 300, data: { ARecords: [{ ipv4Address: "192.0.2.1" }] } });
  fake.state.put(zone, "google._domainkey", "TXT", {
    ttl: 3600,
    data: { TXTRecords: [{ value: ["v=DKIM1; p=foreign"] }] },
  });
});

afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("azure provider: options", () => {
  it("refuses an inline client secret without echoing it", async () => {
    const err = await failure<InputError>((async () => provider({ client_secret: "Zx8Q~inline-secret-value" }))());
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(
      /dkim\.zones\.yaml:3: provider "az" \(azure\): option "client_secret" looks like an inline secret/,
    );
    expect(`${err.message} ${err.hint}`).not.toContain("inline-secret-value");
  });

  it("refuses a bad subscription id, a plain-http endpoint, an unknown option, and a secret without tenant_id", async () => {
    await expect((async () => provider({ subscription_id: "my-sub" }))()).rejects.toThrow(
      /option "subscription_id" must be a subscription id/,
    );
    await expect((async () => provider({ endpoint: "http://127.0.0.1:1" }))()).rejects.toThrow(
      /option "endpoint" must be an https URL/,
    );
    await expect((async () => provider({ zone_id: "x" }))()).rejects.toThrow(
      /option "zone_id" is not an option of provider type azure/,
    );
    await expect((async () => provider({ tenant_id: undefined }))()).rejects.toThrow(
      /option "tenant_id" is required with client_secret/,
    );
  });

  it("declares that writes are not atomic across record sets, and that reads are name-filtered", () => {
    const p = provider();
    expect(p.capabilities.atomicWrites.can).toBe(false);
    expect(p.capabilities.atomicWrites.reason).toMatch(/no transaction across record sets/);
    expect(p.capabilities.readsOnlyNames.can).toBe(true);
  });
});

describe("azure provider: zones and reads", () => {
  it("finds zones across the subscription's resource groups, or in resource_group only", async () => {
    fake.state.createZone(fake.subscriptionId, "other-rg", "example.org");
    expect(await provider().zones()).toEqual(["example.com", "example.org"]);
    expect(await provider({ resource_group: "other-rg" }).zones()).toEqual(["example.org"]);
  });

  it("refuses a zone name found in two resource groups until resource_group picks one", async () => {
    fake.state.createZone(fake.subscriptionId, "copy-rg", ZONE);
    const err = await failure<ProviderError>(provider().list(ZONE, [S1]));
    expect(err.message).toMatch(
      /\[az\] zone example\.com: a zone of this name exists in 2 resource groups \(dns-prod, copy-rg\)/,
    );
    expect(err.hint).toMatch(/set resource_group/);
    expect(await provider({ resource_group: "copy-rg" }).list(ZONE, [S1])).toEqual([]);
  });

  it("refuses a private zone: DKIM selectors must be public", async () => {
    fake.state.createZone(fake.subscriptionId, RG, "corp.example", { zoneType: "Private" });
    const err = await failure<ProviderError>(provider().list("corp.example", ["selector1._domainkey.corp.example"]));
    expect(err.message).toMatch(/\[az\] zone corp\.example: is a private zone/);
  });

  it("reads a zone's selectors with one listing filtered by $recordsetnamesuffix, and only the names asked for", async () => {
    putCname("selector1._domainkey", T1);
    fake.state.put(zone, "selector2._domainkey", "TXT", {
      ttl: 60,
      data: { TXTRecords: [{ value: ["v=DKIM1; k=rsa; ", "p=old"] }] },
    });
    const p = provider();
    await p.zones();
    fake.resetCounts();
    const sets = await p.list(ZONE, [S1, S2]);
    expect(sets.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      cname(S1, T1),
      { name: S2, type: "TXT", ttl: 60, values: ["v=DKIM1; k=rsa; p=old"] },
    ]);
    const reads = fake.log.filter((e) => e.operation === "listRecordSets");
    expect(reads).toHaveLength(1);
    expect(reads[0]?.query["$recordsetnamesuffix"]).toBe("_domainkey");
    expect(fake.counts).toEqual({ listRecordSets: 1 });
  });

  it("reads a zone with apex and subdomain selectors whole, page_size record sets a page", async () => {
    for (let i = 0; i < 250; i++)
      fake.state.put(zone, `h${i}`, "A", { ttl: 300, data: { ARecords: [{ ipv4Address: "192.0.2.1" }] } });
    const names = [S1, S2, "selector1._domainkey.mkt.example.com", "selector2._domainkey.mkt.example.com"];
    const small = provider();
    await small.zones();
    fake.resetCounts();
    await small.list(ZONE, names);
    // 256 record sets (250 hosts, www, google._domainkey, SOA, NS, and no filter) at 100 a page.
    expect(fake.log.map((e) => [e.operation, e.query["$top"], e.query["$recordsetnamesuffix"] ?? null])).toEqual([
      ["listRecordSets", "100", null],
      ["listRecordSets", "100", null],
      ["listRecordSets", "100", null],
    ]);
    const big = provider({ page_size: 1000 });
    await big.zones();
    fake.resetCounts();
    await big.list(ZONE, names);
    expect(fake.counts).toEqual({ listRecordSets: 1 });
    await expect((async () => provider({ page_size: 1001 }))()).rejects.toThrow(
      /option "page_size" must be at most 1000/,
    );
  });

  it("picks the longest shared label suffix, or none for the apex and names without a common tail", () => {
    expect(nameSuffix(["selector1._domainkey", "selector2._domainkey"])).toBe("_domainkey");
    expect(nameSuffix(["selector1._domainkey.mkt", "selector2._domainkey.mkt"])).toBe("_domainkey.mkt");
    expect(nameSuffix(["selector1._domainkey", "selector1._domainkey.mkt"])).toBeUndefined();
    expect(nameSuffix(["@"])).toBeUndefined();
  });
});

describe("azure provider: writes", () => {
  it("creates with If-None-Match: *, updates and deletes with If-Match of the etag read, one request per record set", async () => {
    const old = putCname("selector1._domainkey", "old.example.net", 300);
    old.metadata = { owner: "mail-team" };
    fake.state.put(zone, "selector2._domainkey", "TXT", {
      ttl: 3600,
      data: { TXTRecords: [{ value: ["v=DKIM1; p=onprem"] }] },
    });
    const oldTxt = fake.state.find(zone, "selector2._domainkey", "TXT")!;
    const p = provider();
    await p.list(ZONE, [S1, S2]);
    fake.resetCounts();
    const changes: Change[] = [
      remove({ name: S2, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=onprem"] }),
      update(cname(S1, "old.example.net", 300), cname(S1, T1)),
      create(cname(S2, T2)),
    ];
    await p.apply(ZONE, changes);
    expect(
      fake.log.map((e) => [e.method, e.path.split("/").slice(-2).join("/"), e.ifMatch ?? null, e.ifNoneMatch ?? null]),
    ).toEqual([
      ["DELETE", "TXT/selector2._domainkey", oldTxt.etag, null],
      ["PUT", "CNAME/selector1._domainkey", old.etag, null],
      ["PUT", "CNAME/selector2._domainkey", null, "*"],
    ]);
    expect(fake.state.find(zone, "selector1._domainkey", "CNAME")).toMatchObject({
      ttl: 3600,
      data: { CNAMERecord: { cname: T1 } },
      metadata: { owner: "mail-team" },
    });
    expect(fake.state.find(zone, "selector2._domainkey", "CNAME")?.data).toEqual({ CNAMERecord: { cname: T2 } });
    expect(fake.state.find(zone, "google._domainkey", "TXT")).toBeDefined();
  });

  it("reads the etags first when applying a saved plan in a fresh process", async () => {
    putCname("selector1._domainkey", "old.example.net");
    await provider().apply(ZONE, [update(cname(S1, "old.example.net"), cname(S1, T1))]);
    expect(
      fake.log.filter((e) => e.operation !== "token" && e.operation !== "openidConfiguration").map((e) => e.operation),
    ).toEqual(["listZones", "listRecordSets", "putRecordSet"]);
    expect(fake.state.find(zone, "selector1._domainkey", "CNAME")?.data).toEqual({ CNAMERecord: { cname: T1 } });
  });

  it("reports a record set changed since it was read as stale (Azure's 412), naming what was and was not written", async () => {
    putCname("selector1._domainkey", "old.example.net");
    const p = provider();
    await p.list(ZONE, [S1, S2]);
    putCname("selector1._domainkey", "someone-else.example.net");
    const err = await failure<AzureStaleError>(
      p.apply(ZONE, [create(cname(S2, T2)), update(cname(S1, "old.example.net"), cname(S1, T1))]),
    );
    expect(err).toBeInstanceOf(AzureStaleError);
    expect(err.stale).toBe(true);
    expect(err.message).toMatch(
      /^\[az\] zone example\.com: updating selector1\._domainkey\.example\.com CNAME: Azure refused the write because the record set changed since it was read \(412 PreconditionFailed\); 1 of 2 record sets were written \(creating selector2\._domainkey\.example\.com CNAME\), the rest were not \(Azure DNS has no transaction across record sets\)/,
    );
    expect(err.written).toBe(1);
    expect(fake.state.find(zone, "selector1._domainkey", "CNAME")?.data).toEqual({
      CNAMERecord: { cname: "someone-else.example.net" },
    });
  });

  it("says which record sets were written when a later write fails for good (5xx beyond max_attempts)", async () => {
    const p = provider({ max_attempts: 2 });
    await p.list(ZONE, [S1, S2]);
    // The first PUT goes through; every attempt of the second then fails with 500.
    const original = fake.state.put.bind(fake.state);
    let puts = 0;
    fake.state.put = (...args: Parameters<typeof original>) => {
      if (++puts === 1) fake.faults.failNext(2, 500, "putRecordSet");
      return original(...args);
    };
    const err = await failure<ProviderError>(p.apply(ZONE, [create(cname(S1, T1)), create(cname(S2, T2))]));
    expect(err.message).toMatch(
      /^\[az\] zone example\.com: creating selector2\._domainkey\.example\.com CNAME: Azure did not answer properly after 2 attempts \(InternalServerError: .*\); 1 of 2 record sets were written \(creating selector1\._domainkey\.example\.com CNAME\), the rest were not/,
    );
    expect(err.transient).toBe(true);
    expect(err).toMatchObject({
      written: 1,
      status: "500",
      retryable: true,
      operation: "creating selector2._domainkey.example.com CNAME",
    });
    expect(fake.state.find(zone, "selector1._domainkey", "CNAME")).toBeDefined();
    expect(fake.state.find(zone, "selector2._domainkey", "CNAME")).toBeUndefined();
  });

  it("refuses to create over a record set that appeared since the read (If-None-Match: *)", async () => {
    const p = provider();
    await p.list(ZONE, [S1]);
    putCname("selector1._domainkey", "sneaky.example.net");
    const err = await failure<AzureStaleError>(p.apply(ZONE, [create(cname(S1, T1))]));
    expect(err.stale).toBe(true);
    expect(err.message).toMatch(/creating selector1\._domainkey\.example\.com CNAME: Azure refused the write/);
  });

  it("treats a write whose answer was lost as written when the SDK's retry meets its own etag", async () => {
    const p = provider();
    await p.list(ZONE, [S1]);
    fake.faults.dropNext(1, "putRecordSet", { afterApply: true });
    await p.apply(ZONE, [create(cname(S1, T1))]);
    expect(fake.log.filter((e) => e.operation === "putRecordSet").map((e) => e.status)).toEqual([-1, 412]);
    expect(fake.log.filter((e) => e.operation === "getRecordSet")).toHaveLength(1);
  });

  it("names the conflict when Azure refuses a CNAME beside another type (409)", async () => {
    fake.state.put(zone, "selector1._domainkey", "TXT", { ttl: 3600, data: { TXTRecords: [{ value: ["x"] }] } });
    const p = provider();
    await p.list(ZONE, [S1]);
    const err = await failure<ProviderError>(p.apply(ZONE, [create(cname(S1, T1))]));
    expect(err.message).toMatch(
      /^\[az\] zone example\.com: creating selector1\._domainkey\.example\.com CNAME: Conflict: The CNAME record could not be created/,
    );
  });
});

describe("azure provider: failures", () => {
  it("waits out 429 throttling (Retry-After) and carries on", async () => {
    const p = provider({ max_attempts: 3 });
    fake.faults.throttleNext(2, 0, "listRecordSets");
    expect(await p.list(ZONE, [S1])).toEqual([]);
    expect(fake.log.filter((e) => e.operation === "listRecordSets").map((e) => e.status)).toEqual([429, 429, 200]);
  });

  it("gives up on throttling beyond max_attempts with a message naming provider, zone and operation", async () => {
    const p = provider({ max_attempts: 2 });
    await p.zones();
    fake.faults.throttleNext(5, 0, "listRecordSets");
    const err = await failure<ProviderError>(p.list(ZONE, [S1]));
    expect(err.message).toBe(
      "[az] zone example.com: reading record sets (RecordSets ListAllByDnsZone): still throttled by Azure Resource Manager after 2 attempts (SubscriptionRequestsThrottled)",
    );
    expect(err.transient).toBe(true);
    expect(fake.counts.listRecordSets).toBe(2);
  });

  it("ends at once, saying so, when throttling asks for a longer wait than it allows", async () => {
    const p = provider({ max_attempts: 4 });
    await p.zones();
    fake.faults.throttleNext(1, 120, "listRecordSets");
    const err = await failure<ProviderError>(p.list(ZONE, [S1]));
    expect(err.message).toBe(
      "[az] zone example.com: reading record sets (RecordSets ListAllByDnsZone): throttled by Azure Resource Manager, which asks to wait 120 s (dkimsync waits at most 30 s)",
    );
    expect(fake.counts.listRecordSets).toBe(1);
  });

  it("gives up on 5xx after max_attempts", async () => {
    const p = provider({ max_attempts: 2 });
    await p.zones();
    fake.faults.failNext(2, 500, "listRecordSets");
    const err = await failure<ProviderError>(p.list(ZONE, [S1]));
    expect(err.message).toMatch(
      /^\[az\] zone example\.com: reading record sets \(RecordSets ListAllByDnsZone\): Azure did not answer properly after 2 attempts/,
    );
    expect(err.transient).toBe(true);
  });

  it("ends a call to a stalled server at timeout_ms, naming provider, zone and operation", async () => {
    const p = provider({ timeout_ms: 300, max_attempts: 2 });
    await p.zones();
    fake.faults.stallNext(5, "listRecordSets");
    const err = await failure<ProviderError>(p.list(ZONE, [S1]));
    expect(err.message).toBe(
      "[az] zone example.com: reading record sets (RecordSets ListAllByDnsZone): no answer within the time limit (timeout_ms 300, max_attempts 2)",
    );
    await expect.poll(() => fake.abandoned).toBeGreaterThanOrEqual(1);
  }, 15_000);

  it("ends a stalled sign-in at timeout_ms too", async () => {
    fake.faults.stallNext(5, "token");
    const err = await failure<ProviderError>(provider({ timeout_ms: 300, max_attempts: 2 }).zones());
    expect(err.message).toBe(
      "[az] listing the DNS zones of the subscription: could not reach the Microsoft Entra sign-in endpoint (a network error, or no answer within timeout_ms 300)",
    );
    expect(err.transient).toBe(true);
    await expect.poll(() => fake.abandoned).toBeGreaterThanOrEqual(1);
  }, 15_000);

  it("reports a refused client secret, a missing subscription and a 403 clearly, never printing secret or token", async () => {
    const bad = await failure<ProviderError>(provider({}, { AZ_TEST_SECRET: "wrong-secret-value" }).zones());
    expect(bad.message).toMatch(
      /^\[az\] listing the DNS zones of the subscription: Microsoft Entra ID refused the credentials \(.*AADSTS7000215/,
    );
    expect(bad.message).not.toContain("wrong-secret-value");

    const missing = await failure<ProviderError>(
      provider({ subscription_id: "00000000-0000-0000-0000-000000000001" }).zones(),
    );
    expect(missing.message).toBe(
      "[az] listing the DNS zones of the subscription: subscription 00000000-0000-0000-0000-000000000001 was not found (SubscriptionNotFound)",
    );

    const noGroup = await failure<ProviderError>(provider({ resource_group: "nope" }).zones());
    expect(noGroup.message).toMatch(/resource group nope: Resource group 'nope' could not be found/);

    fake.faults.forbid(/CNAME\/write$/);
    const p = provider();
    await p.list(ZONE, [S1]);
    const denied = await failure<ProviderError>(p.apply(ZONE, [create(cname(S1, T1))]));
    expect(denied.message).toMatch(
      /^\[az\] zone example\.com: creating selector1\._domainkey\.example\.com CNAME: access denied \(AuthorizationFailed: .*Microsoft\.Network\/dnszones\/CNAME\/write/,
    );
    expect(denied.hint).toMatch(/DNS Zone Contributor/);
    for (const e of [bad, missing, noGroup, denied]) {
      const text = `${e.message} ${e.hint ?? ""}`;
      expect(text).not.toContain(fake.clientSecret);
      for (const t of fake.issuedTokens) expect(text).not.toContain(t);
    }
  });
});

describe("azure provider: DefaultAzureCredential", () => {
  const saved: Record<string, string | undefined> = {};
  const setEnv = (vars: Record<string, string>) => {
    for (const [k, v] of Object.entries(vars)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
      delete saved[k];
    }
  });
  const noSecret = { client_secret: undefined, client_id: undefined, tenant_id: undefined };

  it("uses an environment service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)", async () => {
    setEnv({
      AZURE_TENANT_ID: fake.tenantId,
      AZURE_CLIENT_ID: fake.clientId,
      AZURE_CLIENT_SECRET: fake.clientSecret,
      AZURE_AUTHORITY_HOST: fake.authorityHost,
    });
    expect(await provider(noSecret).zones()).toEqual([ZONE]);
    expect(fake.counts.token).toBe(1);
  });

  it("says so when no credential of the chain is configured", async () => {
    setEnv({ AZURE_TOKEN_CREDENTIALS: "EnvironmentCredential" });
    for (const k of ["AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH"]) {
      if (!(k in saved)) saved[k] = process.env[k];
      delete process.env[k];
    }
    const err = await failure<ProviderError>(provider(noSecret).zones());
    expect(err.message).toMatch(
      /^\[az\] listing the DNS zones of the subscription: no Azure credential available \(EnvironmentCredential is unavailable/,
    );
    expect(err.hint).toMatch(/AZURE_TENANT_ID/);
  });

  it("uses workload identity federation (AZURE_FEDERATED_TOKEN_FILE), as from GitHub Actions OIDC", async () => {
    const tokenFile = path.join(dir, "federated-token");
    await writeFile(tokenFile, fake.federatedToken);
    setEnv({
      AZURE_TENANT_ID: fake.tenantId,
      AZURE_CLIENT_ID: fake.clientId,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
      AZURE_AUTHORITY_HOST: fake.authorityHost,
    });
    if (!("AZURE_CLIENT_SECRET" in saved)) saved["AZURE_CLIENT_SECRET"] = process.env["AZURE_CLIENT_SECRET"];
    delete process.env["AZURE_CLIENT_SECRET"];
    expect(await provider(noSecret).zones()).toEqual([ZONE]);
    expect(fake.counts.token).toBe(1);
  });
});
