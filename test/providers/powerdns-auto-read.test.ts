/**
 * `read: auto` where the backend cannot search (lmdb answers every search-data request with an
 * empty list, observed on PowerDNS 4.7.3): each zone is read whole the first time, and name by
 * name once a read in the same run has shown it to hold more than PER_NAME_RRSETS record sets
 * per managed name, as when apply reads back the zones it wrote. Requests are counted by a loopback proxy in front of the real server; dkimsync's own code is
 * not wrapped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PER_NAME_RRSETS } from "../../providers/powerdns/index.js";
import { ProviderError } from "../../src/core/errors.js";
import type { RecordSet } from "../../src/core/types.js";
import { pdnsProvider as provider, target } from "../helpers/powerdns.js";
import { cname, create } from "../helpers/records.js";
import { startHttpProxy, type HttpProxy } from "../servers/http-proxy.js";
import { createZone, putRecordSet, startPowerDns, type PdnsServer } from "../servers/pdns.js";

const names = (zone: string): string[] => [`selector1._domainkey.${zone}`, `selector2._domainkey.${zone}`];

/** Each request as `METHOD what zone`, `what` being `search`, `zone` (whole) or `name` (rrset_name=). */
async function counting(server: PdnsServer): Promise<{ proxy: HttpProxy; seen: string[] }> {
  const seen: string[] = [];
  const proxy = await startHttpProxy(server.apiUrl, {
    onRequest(method, url) {
      const [p = "", query = ""] = url.split("?");
      const zone = decodeURIComponent(p.split("/zones/")[1] ?? "").replace(/\.$/, "");
      if (p.endsWith("/search-data")) seen.push("GET search");
      else if (zone === "") seen.push(`${method} ${p.split("/").pop()}`);
      else seen.push(`${method} ${query.includes("rrset_name=") ? "name" : "zone"} ${zone}`);
      return undefined;
    },
  });
  return { proxy, seen };
}

const sorted = (xs: string[]): string[] => [...xs].sort();
/** Both selector CNAMEs of a zone, pointing at `tenant`: REPLACE patches either way. */
const creates = (zone: string, tenant: string) =>
  names(zone).map((n) => create(cname(n, target(n.split(".")[0] as string, zone, tenant))));

describe("powerdns read: auto on lmdb (no search): whole zone, else name by name", () => {
  let server: PdnsServer;
  // big.example holds more than PER_NAME_RRSETS record sets per managed name (two selectors).
  const bigHosts = 2 * PER_NAME_RRSETS + 50;
  beforeAll(async () => {
    server = await startPowerDns({ backend: "lmdb" });
    const hosts: RecordSet[] = [];
    for (let i = 0; i < bigHosts; i++)
      hosts.push({ name: `h${i}.big.example`, type: "A", ttl: 300, values: ["192.0.2.1"] });
    await createZone(server, "big.example", hosts);
    await createZone(server, "small.example", [
      { name: "small.example", type: "MX", ttl: 3600, values: ["0 small-example.mail.protection.outlook.com"] },
    ]);
    await putRecordSet(
      server,
      "big.example",
      cname("selector1._domainkey.big.example", target("selector1", "big.example")),
    );
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("reads each zone whole first, then a large zone name by name", async () => {
    const c = await counting(server);
    try {
      const p = provider(c.proxy.url, server.apiKey);
      const reads = ["big.example", "small.example"].map((zone) => ({ zone, names: names(zone) }));
      await p.zones();
      c.seen.length = 0;

      // The plan's read: nothing is known of the zones' sizes, so one whole GET each.
      const first = await p.listMany?.(reads);
      expect(c.seen.slice(0, 2)).toEqual(["GET search", "GET search"]);
      expect(sorted(c.seen.slice(2))).toEqual(["GET zone big.example", "GET zone small.example"]);
      expect(first?.get("big.example")).toEqual([
        cname("selector1._domainkey.big.example", target("selector1", "big.example")),
      ]);
      expect(first?.get("small.example")).toEqual([]);

      // apply: one PATCH per zone, then the read-back of both: big.example (more than
      // PER_NAME_RRSETS record sets per managed name) one GET per selector name, small.example
      // one whole GET.
      c.seen.length = 0;
      for (const zone of ["big.example", "small.example"]) await p.apply(zone, creates(zone, "fabrikam"));
      expect(c.seen).toEqual(["PATCH zone big.example", "PATCH zone small.example"]);
      c.seen.length = 0;
      const back = await p.listMany?.(reads);
      expect(sorted(c.seen)).toEqual(["GET name big.example", "GET name big.example", "GET zone small.example"]);
      for (const zone of ["big.example", "small.example"]) {
        expect(back?.get(zone)).toEqual(
          names(zone).map((n) => cname(n, target(n.split(".")[0] as string, zone, "fabrikam"))),
        );
      }

      // A later read (another plan in the same run) is a fresh read, by the same rule.
      c.seen.length = 0;
      const again = await p.listMany?.(reads);
      expect(sorted(c.seen)).toEqual(["GET name big.example", "GET name big.example", "GET zone small.example"]);
      expect(again).toEqual(back);
    } finally {
      await c.proxy.close();
    }
  });

  it("a read-back that fails is reported, and says what failed", async () => {
    let failReads = false;
    const seen: string[] = [];
    const proxy = await startHttpProxy(server.apiUrl, {
      onRequest(method, url) {
        seen.push(`${method} ${url.split("?")[0]}`);
        // The proxy answers 502 for a request it cannot forward: a read that fails after the write.
        if (failReads && method === "GET") throw new Error("read refused by the test");
        return undefined;
      },
    });
    try {
      const p = provider(proxy.url, server.apiKey, { max_attempts: 1 });
      const reads = [{ zone: "small.example", names: names("small.example") }];
      await p.zones();
      await p.listMany?.(reads);
      failReads = true;
      await p.apply("small.example", creates("small.example", "fabrikam"));
      const err = await p.listMany?.(reads).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toMatch(/failed to read the zone \(HTTP 502\)/);
      // One read after the write (max_attempts: 1), the one that failed.
      const afterWrite = seen.slice(seen.findIndex((r) => r.startsWith("PATCH")) + 1);
      expect(afterWrite).toEqual(["GET /api/v1/servers/localhost/zones/small.example."]);
      // The write itself landed: the failure is the read-back's, which apply reports as such.
      failReads = false;
      expect(await p.list("small.example", names("small.example"))).toEqual(
        names("small.example").map((n) => cname(n, target(n.split(".")[0] as string, "small.example", "fabrikam"))),
      );
      expect(seen.filter((r) => r.startsWith("PATCH"))).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("read: zone keeps whole reads however large the zone; read: names always reads name by name", async () => {
    const c = await counting(server);
    try {
      const whole = provider(c.proxy.url, server.apiKey, { read: "zone" });
      await whole.zones();
      c.seen.length = 0;
      await whole.list("big.example", names("big.example"));
      await whole.list("big.example", names("big.example"));
      expect(c.seen).toEqual(["GET zone big.example", "GET zone big.example"]);

      const byName = provider(c.proxy.url, server.apiKey, { read: "names" });
      await byName.zones();
      c.seen.length = 0;
      await byName.list("small.example", names("small.example"));
      expect(c.seen).toEqual(["GET name small.example", "GET name small.example"]);
    } finally {
      await c.proxy.close();
    }
  });
});

describe("powerdns read: auto on gsqlite3 (search): written zones are read back by one search per selector", () => {
  let server: PdnsServer;
  beforeAll(async () => {
    server = await startPowerDns({ backend: "gsqlite3" });
    for (const z of ["a.example", "b.example"]) await createZone(server, z, []);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("sends no per-zone read-back where two searches (selector1, selector2) read every written zone", async () => {
    const c = await counting(server);
    try {
      const p = provider(c.proxy.url, server.apiKey);
      const reads = ["a.example", "b.example"].map((zone) => ({ zone, names: names(zone) }));
      await p.zones();
      await p.listMany?.(reads);
      c.seen.length = 0;
      for (const zone of ["a.example", "b.example"]) await p.apply(zone, creates(zone, "contoso"));
      const back = await p.listMany?.(reads);
      expect(c.seen).toEqual(["PATCH zone a.example", "PATCH zone b.example", "GET search", "GET search"]);
      expect(back?.get("b.example")?.map((s) => s.name)).toEqual(names("b.example"));
    } finally {
      await c.proxy.close();
    }
  });
});
