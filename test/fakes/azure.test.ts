/**
 * The loopback Azure server against the official SDKs (`@azure/arm-dns`, `@azure/identity`),
 * without dkimsync in between: it must speak the wire protocol they expect and enforce the rules
 * Azure DNS documents, or the provider tests built on it prove nothing.
 */
import https from "node:https";
import tls from "node:tls";
import { DnsManagementClient } from "@azure/arm-dns";
import { ClientSecretCredential } from "@azure/identity";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAzureFake, type AzureFake } from "./azure/server.js";
import type { FakeZone } from "./azure/state.js";
import { failure } from "../helpers/records.js";

const RG = "rg-fake";
let fake: AzureFake;
let zone: FakeZone;

function client(opts: { secret?: string; maxRetries?: number } = {}): DnsManagementClient {
  const tlsOptions = { ca: [...tls.rootCertificates, fake.ca] };
  const credential = new ClientSecretCredential(fake.tenantId, fake.clientId, opts.secret ?? fake.clientSecret, {
    authorityHost: fake.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions,
  });
  return new DnsManagementClient(credential, fake.subscriptionId, {
    endpoint: fake.endpoint,
    $host: fake.endpoint,
    tlsOptions,
    retryOptions: { maxRetries: opts.maxRetries ?? 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });
}

/** A raw HTTPS request, for what the SDK would never send. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${fake.endpoint}${path}`, { method, headers, ca: fake.ca }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const cnameBody = (target: string, ttl = 3600) => ({ ttl, cnameRecord: { cname: target } });

beforeAll(async () => {
  fake = await startAzureFake();
});
afterAll(async () => {
  await fake?.stop();
});
beforeEach(() => {
  fake.faults.clear();
  fake.state.zones.length = 0;
  zone = fake.state.createZone(fake.subscriptionId, RG, "example.com");
  fake.resetCounts();
});

describe("azure fake: identity and ARM front door", () => {
  it("issues a token for the client secret and refuses a wrong one with AADSTS7000215", async () => {
    const zones = await client().zones.list().byPage().next();
    expect(zones.value.map((z: { name?: string }) => z.name)).toEqual(["example.com"]);
    expect(fake.counts).toMatchObject({ openidConfiguration: 1, token: 1, listZones: 1 });
    const err = await failure(client({ secret: "wrong" }).zones.list().byPage().next());
    expect(err.name).toMatch(/^Authentication(Required)?Error$/);
    expect(err.message).toMatch(/AADSTS7000215/);
    expect(err.message).not.toContain(fake.clientSecret);
  });

  it("answers 401 without a bearer token, 400 for another api-version, 404 SubscriptionNotFound", async () => {
    const path = `/subscriptions/${fake.subscriptionId}/providers/Microsoft.Network/dnszones?api-version=2018-05-01`;
    const noToken = await raw("GET", path);
    expect(noToken.status).toBe(401);
    expect(JSON.parse(noToken.body)).toMatchObject({ error: { code: "AuthenticationFailed" } });
    const c = client();
    await c.zones.list().byPage().next();
    const token = fake.issuedTokens.at(-1) as string;
    expect(
      (await raw("GET", path.replace("2018-05-01", "2099-01-01"), { authorization: `Bearer ${token}` })).status,
    ).toBe(400);
    const missing = await raw("GET", path.replace(fake.subscriptionId, "00000000-0000-0000-0000-000000000000"), {
      authorization: `Bearer ${token}`,
    });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: "SubscriptionNotFound" } });
  });

  it("refuses a forbidden action with 403 AuthorizationFailed naming the action", async () => {
    fake.faults.forbid(/CNAME\/write$/);
    const err = await failure<Error & { statusCode?: number; code?: string }>(
      client().recordSets.createOrUpdate(
        RG,
        "example.com",
        "selector1._domainkey",
        "CNAME",
        cnameBody("a.example.net"),
      ),
    );
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe("AuthorizationFailed");
    expect(err.message).toContain("Microsoft.Network/dnszones/CNAME/write");
  });
});

describe("azure fake: record sets", () => {
  it("pages with $top and nextLink, and filters with $recordsetnamesuffix", async () => {
    for (let i = 0; i < 250; i++)
      fake.state.put(zone, `h${i}`, "A", { ttl: 300, data: { ARecords: [{ ipv4Address: "192.0.2.1" }] } });
    fake.state.put(zone, "selector1._domainkey", "CNAME", {
      ttl: 3600,
      data: { CNAMERecord: { cname: "a.example.net" } },
    });
    fake.state.put(zone, "selector1._domainkey.sub", "CNAME", {
      ttl: 3600,
      data: { CNAMERecord: { cname: "b.example.net" } },
    });
    const c = client();
    const all = [];
    for await (const s of c.recordSets.listAllByDnsZone(RG, "example.com")) all.push(s);
    expect(all).toHaveLength(254); // 250 + 2 + SOA + NS
    expect(fake.counts.listRecordSets).toBe(3);
    const outOfRange = await failure<Error & { statusCode?: number; message: string }>(
      c.recordSets.listAllByDnsZone(RG, "example.com", { top: 1001 }).byPage().next(),
    );
    expect([outOfRange.statusCode, outOfRange.message]).toEqual([
      400,
      "Invalid $top value: '1001'. It must be a number between '1' and '1000'.",
    ]);
    const filtered = [];
    for await (const s of c.recordSets.listAllByDnsZone(RG, "example.com", { recordSetNameSuffix: "_domainkey" }))
      filtered.push(s);
    expect(filtered.map((s) => [s.name, s.type, s.cnameRecord?.cname])).toEqual([
      ["selector1._domainkey", "Microsoft.Network/dnszones/CNAME", "a.example.net"],
    ]);
  });

  it("enforces If-None-Match: * and If-Match with 412 PreconditionFailed, and gives each write a new etag", async () => {
    const c = client();
    const created = await c.recordSets.createOrUpdate(
      RG,
      "example.com",
      "selector1._domainkey",
      "CNAME",
      cnameBody("a.example.net"),
      { ifNoneMatch: "*" },
    );
    expect(created.etag).toMatch(/^[0-9a-f-]{36}$/);
    const again = await failure<Error & { statusCode?: number; code?: string }>(
      c.recordSets.createOrUpdate(RG, "example.com", "selector1._domainkey", "CNAME", cnameBody("b.example.net"), {
        ifNoneMatch: "*",
      }),
    );
    expect([again.statusCode, again.code]).toEqual([412, "PreconditionFailed"]);
    const updated = await c.recordSets.createOrUpdate(
      RG,
      "example.com",
      "selector1._domainkey",
      "CNAME",
      cnameBody("b.example.net"),
      { ifMatch: created.etag as string },
    );
    expect(updated.etag).not.toBe(created.etag);
    const stale = await failure<Error & { statusCode?: number }>(
      c.recordSets.createOrUpdate(RG, "example.com", "selector1._domainkey", "CNAME", cnameBody("c.example.net"), {
        ifMatch: created.etag as string,
      }),
    );
    expect(stale.statusCode).toBe(412);
    const staleDelete = await failure<Error & { statusCode?: number }>(
      c.recordSets.delete(RG, "example.com", "selector1._domainkey", "CNAME", { ifMatch: created.etag as string }),
    );
    expect(staleDelete.statusCode).toBe(412);
    expect(fake.state.find(zone, "selector1._domainkey", "CNAME")?.data).toEqual({
      CNAMERecord: { cname: "b.example.net" },
    });
    await c.recordSets.delete(RG, "example.com", "selector1._domainkey", "CNAME", { ifMatch: updated.etag as string });
    expect(fake.state.find(zone, "selector1._domainkey", "CNAME")).toBeUndefined();
  });

  it("deletes a missing record set with 204 and nothing changed, but 412 with If-Match", async () => {
    const c = client();
    const before = zone.sets.length;
    await c.recordSets.delete(RG, "example.com", "nothing", "CNAME");
    expect(fake.log.at(-1)?.status).toBe(204);
    expect(zone.sets.length).toBe(before);
    const err = await failure<Error & { statusCode?: number }>(
      c.recordSets.delete(RG, "example.com", "nothing", "CNAME", { ifMatch: "00000000-0000-0000-0000-000000000000" }),
    );
    expect(err.statusCode).toBe(412);
  });

  it("keeps a CNAME alone at its name (409 Conflict both ways) and off the apex (400)", async () => {
    const c = client();
    fake.state.put(zone, "selector1._domainkey", "TXT", {
      ttl: 3600,
      data: { TXTRecords: [{ value: ["v=DKIM1; p=old"] }] },
    });
    const cnameOverTxt = await failure<Error & { statusCode?: number; code?: string }>(
      c.recordSets.createOrUpdate(RG, "example.com", "selector1._domainkey", "CNAME", cnameBody("a.example.net")),
    );
    expect([cnameOverTxt.statusCode, cnameOverTxt.code]).toEqual([409, "Conflict"]);
    await c.recordSets.createOrUpdate(RG, "example.com", "selector2._domainkey", "CNAME", cnameBody("b.example.net"));
    const txtOverCname = await failure<Error & { statusCode?: number; message: string }>(
      c.recordSets.createOrUpdate(RG, "example.com", "selector2._domainkey", "TXT", {
        ttl: 60,
        txtRecords: [{ value: ["x"] }],
      }),
    );
    expect(txtOverCname.statusCode).toBe(409);
    expect(txtOverCname.message).toMatch(/a CNAME record with the same name already exists/);
    const apex = await failure<Error & { statusCode?: number }>(
      c.recordSets.createOrUpdate(RG, "example.com", "@", "CNAME", cnameBody("c.example.net")),
    );
    expect(apex.statusCode).toBe(400);
  });
});

describe("azure fake: faults", () => {
  it("throttles with 429 and Retry-After, which the SDK waits out and retries", async () => {
    const c = client();
    await c.zones.list().byPage().next();
    fake.resetCounts();
    fake.faults.throttleNext(1, 1, "listRecordSets");
    const sets = [];
    for await (const s of c.recordSets.listAllByDnsZone(RG, "example.com")) sets.push(s);
    expect(sets.length).toBe(2);
    expect(fake.log.map((e) => e.status)).toEqual([429, 200]);
  });

  it("spends a per-subscription read budget, then throttles until the window refills", async () => {
    const small = await startAzureFake({ budget: { reads: 2, writes: 1, windowMs: 3000 } });
    try {
      small.state.createZone(small.subscriptionId, RG, "example.com");
      const tlsOptions = { ca: [...tls.rootCertificates, small.ca] };
      const credential = new ClientSecretCredential(small.tenantId, small.clientId, small.clientSecret, {
        authorityHost: small.authorityHost,
        disableInstanceDiscovery: true,
        tlsOptions,
      });
      const c = new DnsManagementClient(credential, small.subscriptionId, {
        endpoint: small.endpoint,
        $host: small.endpoint,
        tlsOptions,
        retryOptions: { maxRetries: 3 },
      });
      for (let i = 0; i < 3; i++) await c.zones.get(RG, "example.com");
      expect(small.log.filter((e) => e.operation === "getZone").map((e) => e.status)).toEqual([200, 200, 429, 200]);
      // Two writes in a window of one: the second is throttled, waits out Retry-After, and lands.
      await c.recordSets.createOrUpdate(RG, "example.com", "a", "CNAME", cnameBody("x.example.net"));
      await c.recordSets.createOrUpdate(RG, "example.com", "b", "CNAME", cnameBody("y.example.net"));
      expect(small.log.filter((e) => e.operation === "putRecordSet").map((e) => e.status)).toEqual([201, 429, 201]);
    } finally {
      await small.stop();
    }
  });

  it("fails with 5xx (retried by the SDK), loses answers, and stalls until the client gives up", async () => {
    const c = client({ maxRetries: 1 });
    fake.faults.failNext(1, 503, "getZone");
    expect((await c.zones.get(RG, "example.com")).name).toBe("example.com");
    fake.faults.dropNext(1, "putRecordSet", { afterApply: true });
    const lost = await failure<Error & { statusCode?: number }>(
      c.recordSets.createOrUpdate(RG, "example.com", "s1", "CNAME", cnameBody("a.example.net"), { ifNoneMatch: "*" }),
    );
    // The first PUT landed, its answer was lost; the SDK's retry then meets its own record set.
    expect(lost.statusCode).toBe(412);
    expect(fake.state.find(zone, "s1", "CNAME")).toBeDefined();
    fake.faults.stallNext(1, "getZone");
    const stalled = await failure(c.zones.get(RG, "example.com", { requestOptions: { timeout: 300 } }));
    expect(stalled.name).toBe("AbortError");
    await expect.poll(() => fake.abandoned).toBe(1);
  });
});
