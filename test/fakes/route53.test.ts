/**
 * The Route 53 fake, exercised through the real `@aws-sdk/client-route-53`: if the SDK parses
 * what the fake sends (pages, errors with their codes, change infos), the provider tests that
 * run against it mean something.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import { startRoute53Fake, type Route53Fake } from "./route53/server.js";

const ZONE = "example.com";

function client(fake: Route53Fake, maxAttempts = 1): Route53Client {
  return new Route53Client({
    endpoint: fake.endpoint,
    region: "us-east-1",
    maxAttempts,
    // Test values only: the fake accepts any signature.
    credentials: { accessKeyId: "AKIDTESTFAKE", secretAccessKey: "test-secret" },
  });
}

function cname(name: string, target: string, ttl = 3600): ResourceRecordSet {
  return { Name: name, Type: "CNAME", TTL: ttl, ResourceRecords: [{ Value: target }] };
}

async function change(c: Route53Client, zoneId: string, changes: Change[]) {
  return c.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }));
}

async function rejection(
  p: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number; attempts?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    return {
      name: e.name,
      message: e.message,
      ...(e.$metadata?.httpStatusCode !== undefined ? { status: e.$metadata.httpStatusCode } : {}),
      ...(e.$metadata?.attempts !== undefined ? { attempts: e.$metadata.attempts } : {}),
    };
  }
  throw new Error("expected the call to fail");
}

describe("Route 53 fake through the real SDK", () => {
  let fake: Route53Fake;
  let r53: Route53Client;
  let zoneId: string;

  beforeEach(async () => {
    fake = await startRoute53Fake({ rateLimit: false });
    zoneId = fake.state.createZone(ZONE).id;
    r53 = client(fake);
  });
  afterEach(async () => {
    r53.destroy();
    await fake.stop();
  });

  it("pages ListHostedZonesByName in reversed-label order, positioning without filtering", async () => {
    for (let i = 0; i < 120; i++) fake.state.createZone(`z${String(i).padStart(3, "0")}.example.org`);
    fake.state.createZone("Example.NET");
    const first = await r53.send(new ListHostedZonesByNameCommand({}));
    expect(first.HostedZones).toHaveLength(100);
    expect(first.IsTruncated).toBe(true);
    // com < net < org by the last label first.
    expect(first.HostedZones?.[0]?.Name).toBe("example.com.");
    expect(first.HostedZones?.[1]?.Name).toBe("example.net.");
    expect(first.HostedZones?.[0]?.Id).toMatch(/^\/hostedzone\/Z[A-Z0-9]+$/);
    const second = await r53.send(
      new ListHostedZonesByNameCommand({
        DNSName: first.NextDNSName,
        HostedZoneId: first.NextHostedZoneId,
      }),
    );
    expect(second.HostedZones).toHaveLength(22);
    expect(second.IsTruncated).toBe(false);
    const all = [...(first.HostedZones ?? []), ...(second.HostedZones ?? [])].map((z) => z.Name);
    expect(new Set(all).size).toBe(122);
    // dnsname positions the listing at the first zone >= it; it does not filter.
    const positioned = await r53.send(new ListHostedZonesByNameCommand({ DNSName: "m.example.org", MaxItems: 3 }));
    expect(positioned.HostedZones?.map((z) => z.Name)).toEqual([
      "z000.example.org.",
      "z001.example.org.",
      "z002.example.org.",
    ]);
    expect(positioned.DNSName).toBe("m.example.org");
    expect(fake.counts.ListHostedZonesByName).toBe(3);
  });

  it("pages ListHostedZones with marker", async () => {
    for (let i = 0; i < 104; i++) fake.state.createZone(`z${i}.example.org`);
    const first = await r53.send(new ListHostedZonesCommand({}));
    expect(first.HostedZones).toHaveLength(100);
    expect(first.NextMarker).toBeDefined();
    const second = await r53.send(new ListHostedZonesCommand({ Marker: first.NextMarker }));
    expect(second.HostedZones).toHaveLength(5);
    expect(second.IsTruncated).toBe(false);
  });

  it("lists record sets sorted by reversed labels then type, with octal escapes and pages", async () => {
    fake.state.put(zoneId, { name: "*.example.com", type: "A", ttl: 60, values: ["192.0.2.1"] });
    fake.state.put(zoneId, {
      name: "Selector1._domainkey.example.com.",
      type: "CNAME",
      ttl: 3600,
      values: ["s1.target.example."],
    });
    fake.state.put(zoneId, { name: "b.example.com", type: "TXT", ttl: 300, values: ['"hello"'] });
    fake.state.put(zoneId, { name: "b.example.com", type: "MX", ttl: 300, values: ["10 mx.example.com."] });
    const all = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    expect(all.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual([
      "example.com. NS",
      "example.com. SOA",
      "\\052.example.com. A",
      "selector1._domainkey.example.com. CNAME",
      "b.example.com. MX",
      "b.example.com. TXT",
    ]);
    expect(all.IsTruncated).toBe(false);

    const page = await r53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: "b.example.com", MaxItems: 1 }),
    );
    expect(page.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual(["b.example.com. MX"]);
    expect(page.IsTruncated).toBe(true);
    expect(page.NextRecordName).toBe("b.example.com.");
    expect(page.NextRecordType).toBe("TXT");
    const rest = await r53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: page.NextRecordName,
        StartRecordType: page.NextRecordType,
      }),
    );
    expect(rest.ResourceRecordSets?.map((r) => r.Type)).toEqual(["TXT"]);
    expect(rest.ResourceRecordSets?.[0]?.ResourceRecords?.[0]?.Value).toBe('"hello"');
  });

  it("sorts by the reversed name as one string with its trailing dot, so '-' sorts before '.'", async () => {
    // Route 53 API reference, ListResourceRecordSets "Sort order": `com.example.www.` compared
    // in ASCII, and characters before '.' (46) such as '-' (45) change the order: mail-eu's
    // key `com.example.mail-eu.` sorts before mail's `com.example.mail.`.
    for (const n of ["mail", "mail-eu", "mailx"]) {
      fake.state.put(zoneId, {
        name: `selector1._domainkey.${n}.example.com`,
        type: "CNAME",
        ttl: 3600,
        values: ["t.example.net."],
      });
    }
    const all = await r53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: "a.example.com" }),
    );
    expect(all.ResourceRecordSets?.map((r) => r.Name)).toEqual([
      "selector1._domainkey.mail-eu.example.com.",
      "selector1._domainkey.mail.example.com.",
      "selector1._domainkey.mailx.example.com.",
    ]);
    const from = await r53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: "selector1._domainkey.mail.example.com",
      }),
    );
    expect(from.ResourceRecordSets?.map((r) => r.Name)).toEqual([
      "selector1._domainkey.mail.example.com.",
      "selector1._domainkey.mailx.example.com.",
    ]);
  });

  it("caps a page at 300 record sets", async () => {
    for (let i = 0; i < 310; i++)
      fake.state.put(zoneId, { name: `h${i}.example.com`, type: "A", ttl: 60, values: ["192.0.2.1"] });
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, MaxItems: 1000 }));
    expect(page.ResourceRecordSets).toHaveLength(300);
    expect(page.IsTruncated).toBe(true);
  });

  it("creates, deletes exactly, and answers GetChange PENDING then INSYNC", async () => {
    const out = await change(r53, zoneId, [
      { Action: "CREATE", ResourceRecordSet: cname("a.example.com", "t.example.net.") },
    ]);
    expect(out.ChangeInfo?.Status).toBe("PENDING");
    expect(out.ChangeInfo?.Id).toMatch(/^\/change\/C/);
    expect(out.ChangeInfo?.SubmittedAt).toBeInstanceOf(Date);
    expect(fake.state.get(zoneId, "a.example.com", "CNAME")?.values).toEqual(["t.example.net."]);
    const p1 = await r53.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id }));
    const p2 = await r53.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id }));
    expect([p1.ChangeInfo?.Status, p2.ChangeInfo?.Status]).toEqual(["PENDING", "INSYNC"]);
    await change(r53, zoneId, [{ Action: "DELETE", ResourceRecordSet: cname("a.example.com", "t.example.net.") }]);
    expect(fake.state.get(zoneId, "a.example.com", "CNAME")).toBeUndefined();
    expect(fake.counts.ChangeResourceRecordSets).toBe(2);
    expect(fake.counts.GetChange).toBe(2);
  });

  it("rejects with InvalidChangeBatch messages the SDK surfaces by code, all or nothing", async () => {
    fake.state.put(zoneId, { name: "a.example.com", type: "CNAME", ttl: 3600, values: ["old.example.net."] });
    fake.state.put(zoneId, { name: "t.example.com", type: "TXT", ttl: 3600, values: ['"v=DKIM1; p=abc"'] });
    const exists = await rejection(
      change(r53, zoneId, [
        { Action: "CREATE", ResourceRecordSet: cname("new.example.com", "n.example.net.") },
        { Action: "CREATE", ResourceRecordSet: cname("a.example.com", "x.example.net.") },
      ]),
    );
    expect(exists.name).toBe("InvalidChangeBatch");
    expect(exists.status).toBe(400);
    expect(exists.message).toBe(
      "[Tried to create resource record set [name='a.example.com.', type='CNAME'] but it already exists]",
    );
    // All or nothing: the first, valid change did not land either.
    expect(fake.state.get(zoneId, "new.example.com", "CNAME")).toBeUndefined();

    const two = await rejection(
      change(r53, zoneId, [
        { Action: "DELETE", ResourceRecordSet: cname("a.example.com", "old.example.net.", 300) },
        { Action: "DELETE", ResourceRecordSet: cname("gone.example.com", "x.example.net.") },
      ]),
    );
    expect(two.message).toBe(
      "[Tried to delete resource record set [name='a.example.com.', type='CNAME'] but the values provided do not match the current values, " +
        "Tried to delete resource record set [name='gone.example.com.', type='CNAME'] but it was not found]",
    );

    const conflict = await rejection(
      change(r53, zoneId, [{ Action: "CREATE", ResourceRecordSet: cname("t.example.com", "x.example.net.") }]),
    );
    expect(conflict.message).toBe(
      "[RRSet of type CNAME with DNS name t.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.]",
    );
    const reverse = await rejection(
      change(r53, zoneId, [
        {
          Action: "CREATE",
          ResourceRecordSet: { Name: "a.example.com", Type: "TXT", TTL: 300, ResourceRecords: [{ Value: '"x"' }] },
        },
      ]),
    );
    expect(reverse.message).toContain(
      "RRSet of type TXT with DNS name a.example.com. is not permitted because a conflicting RRSet of type CNAME",
    );

    const outside = await rejection(
      change(r53, zoneId, [{ Action: "CREATE", ResourceRecordSet: cname("a.example.org", "x.example.net.") }]),
    );
    expect(outside.name).toBe("InvalidChangeBatch");
    expect(outside.message).toContain("not permitted in zone example.com");

    // Replacing the TXT by a CNAME in one batch is fine: the rule holds on the end state.
    await change(r53, zoneId, [
      {
        Action: "DELETE",
        ResourceRecordSet: {
          Name: "t.example.com",
          Type: "TXT",
          TTL: 3600,
          ResourceRecords: [{ Value: '"v=DKIM1; p=abc"' }],
        },
      },
      { Action: "CREATE", ResourceRecordSet: cname("t.example.com", "x.example.net.") },
    ]);
    expect(fake.state.get(zoneId, "t.example.com", "TXT")).toBeUndefined();
    expect(fake.state.get(zoneId, "t.example.com", "CNAME")?.values).toEqual(["x.example.net."]);
  });

  it("enforces the 1000-value and 32000-character batch limits, UPSERT counted twice", async () => {
    const many = (n: number, action: "CREATE" | "UPSERT"): Change[] =>
      Array.from({ length: n }, (_, i) => ({
        Action: action,
        ResourceRecordSet: { Name: `h${i}.example.com`, Type: "A", TTL: 60, ResourceRecords: [{ Value: "192.0.2.1" }] },
      }));
    expect((await rejection(change(r53, zoneId, many(1001, "CREATE")))).name).toBe("InvalidChangeBatch");
    expect((await rejection(change(r53, zoneId, many(501, "UPSERT")))).name).toBe("InvalidChangeBatch");
    await change(r53, zoneId, many(500, "UPSERT"));
    const long: Change[] = Array.from({ length: 300 }, (_, i) => ({
      Action: "CREATE",
      ResourceRecordSet: cname(`c${i}.example.com`, `${"x".repeat(100)}.example.net.`),
    }));
    const chars = await rejection(change(r53, zoneId, long));
    expect(chars.name).toBe("InvalidChangeBatch");
    expect(chars.message).toContain("32000");
  });

  it("stores alias and weighted record sets and requires DELETE to name them exactly (API reference, ChangeResourceRecordSets)", async () => {
    const alias: ResourceRecordSet = {
      Name: "a.example.com.",
      Type: "A",
      AliasTarget: { HostedZoneId: "Z2FDTNDATAQYW2", DNSName: "d111.cloudfront.net.", EvaluateTargetHealth: false },
    };
    const w1: ResourceRecordSet = { ...cname("w.example.com.", "one.example.net."), SetIdentifier: "one", Weight: 10 };
    const w2: ResourceRecordSet = { ...cname("w.example.com.", "two.example.net."), SetIdentifier: "two", Weight: 90 };
    await change(r53, zoneId, [
      { Action: "CREATE", ResourceRecordSet: alias },
      { Action: "CREATE", ResourceRecordSet: w1 },
      { Action: "CREATE", ResourceRecordSet: w2 },
    ]);
    const listed =
      (await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: "a.example.com." })))
        .ResourceRecordSets ?? [];
    expect(listed.find((r) => r.Name === "a.example.com.")).toEqual(alias);
    expect(
      listed
        .filter((r) => r.Name === "w.example.com.")
        .map((r) => `${r.SetIdentifier} ${r.Weight}`)
        .sort(),
    ).toEqual(["one 10", "two 90"]);
    // A DELETE that drops AliasTarget, or SetIdentifier and Weight, does not name the record set.
    const noAlias = await rejection(
      change(r53, zoneId, [
        {
          Action: "DELETE",
          ResourceRecordSet: {
            Name: "a.example.com.",
            Type: "A",
            TTL: 0,
            ResourceRecords: [{ Value: "d111.cloudfront.net." }],
          },
        },
      ]),
    );
    expect(noAlias.name).toBe("InvalidChangeBatch");
    const noWeight = await rejection(
      change(r53, zoneId, [{ Action: "DELETE", ResourceRecordSet: cname("w.example.com.", "one.example.net.") }]),
    );
    expect(noWeight.message).toContain("but it was not found");
    await change(r53, zoneId, [
      { Action: "DELETE", ResourceRecordSet: alias },
      { Action: "DELETE", ResourceRecordSet: w1 },
    ]);
    expect(
      [...fake.state.zone(zoneId).records.values()]
        .filter((r) => r.name !== "example.com.")
        .map((r) => r.setIdentifier),
    ).toEqual(["two"]);
  });

  it("accepts the trailing slash botocore sends on .../rrset/, as Route 53 does", async () => {
    const res = await fetch(`${fake.endpoint}/2013-04-01/hostedzone/${zoneId}/rrset/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<ListResourceRecordSetsResponse");
  });

  it("answers NoSuchHostedZone 404 and InvalidInput with their codes", async () => {
    const missing = await rejection(r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: "ZNOPE" })));
    expect(missing).toMatchObject({
      name: "NoSuchHostedZone",
      status: 404,
      message: "No hosted zone found with ID: ZNOPE",
    });
    const badType = await rejection(
      r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordType: "CNAME" })),
    );
    expect(badType).toMatchObject({ name: "InvalidInput", status: 400 });
  });

  it("injects throttling, failures, delays and dropped connections", async () => {
    fake.faults.throttleNext(1);
    const throttled = await rejection(r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId })));
    expect(throttled).toMatchObject({ name: "Throttling", status: 400, message: "Rate exceeded" });

    fake.faults.failNext(1, 503, { op: "ChangeResourceRecordSets" });
    // Only for that operation: a read passes.
    await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    const failed = await rejection(
      change(r53, zoneId, [{ Action: "CREATE", ResourceRecordSet: cname("a.example.com", "t.example.net.") }]),
    );
    expect(failed.status).toBe(503);
    expect(fake.state.get(zoneId, "a.example.com", "CNAME")).toBeUndefined();

    fake.faults.failNext(1, 400, {
      code: "PriorRequestNotComplete",
      message: "The request was rejected because Route 53 was still processing a prior request.",
    });
    expect((await rejection(r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId })))).name).toBe(
      "PriorRequestNotComplete",
    );

    fake.faults.delayNext(300);
    const t0 = Date.now();
    await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);

    fake.faults.dropNext(1);
    const dropped = await rejection(r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId })));
    expect(dropped.message).toMatch(/socket hang up|ECONNRESET/);
  });

  it("applies then fails after failAfterApplyNext, so the SDK's retry meets 'already exists'", async () => {
    const retrying = client(fake, 3);
    try {
      fake.faults.failAfterApplyNext();
      const err = await rejection(
        change(retrying, zoneId, [{ Action: "CREATE", ResourceRecordSet: cname("a.example.com", "t.example.net.") }]),
      );
      expect(err.name).toBe("InvalidChangeBatch");
      expect(err.message).toContain("but it already exists");
      expect(err.attempts).toBe(2);
      expect(fake.state.get(zoneId, "a.example.com", "CNAME")?.values).toEqual(["t.example.net."]);
      expect(fake.counts.ChangeResourceRecordSets).toBe(2);
    } finally {
      retrying.destroy();
    }
  });

  it("rate-limits with a token bucket (burst, then Throttling)", async () => {
    const limited = await startRoute53Fake({ rateLimit: { rps: 1, burst: 3 } });
    const c = client(limited);
    try {
      const id = limited.state.createZone(ZONE).id;
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => c.send(new ListResourceRecordSetsCommand({ HostedZoneId: id }))),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(rejected.map((r) => (r.reason as Error).name)).toEqual(["Throttling", "Throttling"]);
    } finally {
      c.destroy();
      await limited.stop();
    }
  });

  it("holds every response for latencyMs, so concurrent requests overlap instead of queueing", async () => {
    const slow = await startRoute53Fake({ rateLimit: false, latencyMs: 300 });
    const c = client(slow);
    try {
      const id = slow.state.createZone(ZONE).id;
      const t0 = Date.now();
      await c.send(new ListResourceRecordSetsCommand({ HostedZoneId: id }));
      const one = Date.now() - t0;
      expect(one).toBeGreaterThanOrEqual(290);
      // Four at once: every one waits its own 300 ms in parallel, well under 4 x 300 ms in all.
      const t1 = Date.now();
      await Promise.all(
        Array.from({ length: 4 }, () => c.send(new ListResourceRecordSetsCommand({ HostedZoneId: id }))),
      );
      const four = Date.now() - t1;
      expect(four).toBeGreaterThanOrEqual(290);
      expect(four).toBeLessThan(4 * 290);
      expect(slow.counts.ListResourceRecordSets).toBe(5);
    } finally {
      c.destroy();
      await slow.stop();
    }
  });

  it("seeds zones with relative and absolute names", async () => {
    const seeded = await startRoute53Fake({
      rateLimit: false,
      seed: {
        zones: [
          {
            name: "seed.example",
            id: "ZSEED1",
            private: true,
            records: [
              { name: "selector1._domainkey", type: "CNAME", ttl: 3600, values: ["a.example."] },
              { name: "www.seed.example.", type: "A", ttl: 60, values: ["192.0.2.1"] },
              { name: "", type: "TXT", ttl: 60, values: ['"v=spf1 -all"'] },
            ],
          },
        ],
      },
    });
    const c = client(seeded);
    try {
      const zones = await c.send(new ListHostedZonesByNameCommand({}));
      expect(zones.HostedZones?.[0]).toMatchObject({
        Id: "/hostedzone/ZSEED1",
        Name: "seed.example.",
        Config: { PrivateZone: true },
      });
      const rr = await c.send(new ListResourceRecordSetsCommand({ HostedZoneId: "/hostedzone/ZSEED1" }));
      expect(rr.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual([
        "seed.example. NS",
        "seed.example. SOA",
        "seed.example. TXT",
        "selector1._domainkey.seed.example. CNAME",
        "www.seed.example. A",
      ]);
    } finally {
      c.destroy();
      await seeded.stop();
    }
  });
});
