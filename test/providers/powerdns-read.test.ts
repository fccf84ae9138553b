/**
 * How the powerdns provider reads many zones: `read: auto` searches across every zone where the
 * backend can (gsqlite3), and reads each zone whole where it cannot (lmdb answers every
 * search-data request with an empty list, observed on PowerDNS 4.7.3). Requests are counted by
 * a loopback proxy in front of the real servers; dkimsync's own code is not wrapped.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { searchPatterns } from "../../providers/powerdns/index.js";
import { ProviderError } from "../../src/core/errors.js";
import type { Provider, RecordSet } from "../../src/core/types.js";
import { KEY_VAR, pdnsProvider as provider, target } from "../helpers/powerdns.js";
import { cname } from "../helpers/records.js";
import { startHttpProxy, type HttpProxy } from "../servers/http-proxy.js";
import { createZone, pdnsRequest, putRecordSet, startPowerDns, type PdnsServer } from "../servers/pdns.js";

interface Counted {
  proxy: HttpProxy;
  kinds: string[];
  /** PATCHed paths; a PATCH retried after gsqlite3's "database is locked" shows twice. */
  patched: string[];
}

async function counted(server: PdnsServer): Promise<Counted> {
  const kinds: string[] = [];
  const patched: string[] = [];
  const proxy = await startHttpProxy(server.apiUrl, {
    onRequest(method, url) {
      const p = url.split("?")[0] ?? "";
      if (method === "PATCH") patched.push(p);
      kinds.push(
        p.endsWith("/search-data")
          ? "search"
          : /\/zones\/[^/]+$/.test(p)
            ? `${method} zone`
            : `${method} ${p.split("/").pop()}`,
      );
      return undefined;
    },
  });
  return { proxy, kinds, patched };
}

const names = (zone: string): string[] => [`selector1._domainkey.${zone}`, `selector2._domainkey.${zone}`];
const byName = (sets: RecordSet[]): RecordSet[] =>
  [...sets].sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`));

for (const backend of ["gsqlite3", "lmdb"] as const) {
  describe(`powerdns read: auto on ${backend}`, () => {
    let server: PdnsServer;
    const zones = ["a.example", "b.example", "c.example", "d.example"];
    beforeAll(async () => {
      server = await startPowerDns({ backend });
      for (const z of zones) await createZone(server, z, []);
      // a.example: both selectors; b.example: a conflicting TXT and a disabled CNAME;
      // c.example: foreign records only, one of them a selector of an unconfigured subdomain.
      await putRecordSet(
        server,
        "a.example",
        cname(`selector1._domainkey.a.example`, target("selector1", "a.example")),
      );
      await putRecordSet(
        server,
        "a.example",
        cname(`selector2._domainkey.a.example`, target("selector2", "a.example")),
      );
      // Two TXT records at one name, the second disabled and given first: the set comes back
      // with its values in order and one of its two records reported disabled, whether read by
      // search (record by record) or whole zone (set by set).
      await pdnsRequest(server, "PATCH", `/zones/b.example.`, {
        rrsets: [
          {
            name: "selector1._domainkey.b.example.",
            type: "TXT",
            ttl: 300,
            changetype: "REPLACE",
            records: [
              { content: '"v=DKIM1; p=z-disabled"', disabled: true },
              { content: '"v=DKIM1; p=old"', disabled: false },
            ],
          },
        ],
      });
      await putRecordSet(
        server,
        "b.example",
        cname(`selector2._domainkey.b.example`, target("selector2", "b.example")),
        { disabled: true },
      );
      await putRecordSet(
        server,
        "c.example",
        cname(`selector1._domainkey.other.c.example`, target("selector1", "other.c.example")),
      );
      await putRecordSet(server, "c.example", {
        name: "google._domainkey.c.example",
        type: "TXT",
        ttl: 300,
        values: ["v=DKIM1; p=g"],
      });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("reads every zone's selector names with the fewest requests the backend allows, and finds the same records", async () => {
      const c = await counted(server);
      try {
        const p = provider(c.proxy.url, server.apiKey);
        // The planner lists the zones first (one request, which also gives each zone's id).
        expect(await p.zones()).toEqual(zones);
        c.kinds.length = 0;
        const got = await p.listMany?.(zones.map((zone) => ({ zone, names: names(zone) })));
        expect(got).toBeDefined();
        if (backend === "gsqlite3") {
          // One search per selector covers that selector of every zone.
          expect(c.kinds).toEqual(["search", "search"]);
        } else {
          // The first search finds nothing, the apex probe proves search does not work (the
          // second selector's search is not sent), then one GET of each zone.
          expect(c.kinds).toEqual(["search", "search", "GET zone", "GET zone", "GET zone", "GET zone"]);
        }
        expect(byName(got?.get("a.example") ?? [])).toEqual([
          cname("selector1._domainkey.a.example", target("selector1", "a.example")),
          cname("selector2._domainkey.a.example", target("selector2", "a.example")),
        ]);
        // Disabled records are seen in both ways of reading, and reported as drift.
        expect(byName(got?.get("b.example") ?? [])).toEqual([
          {
            name: "selector1._domainkey.b.example",
            type: "TXT",
            ttl: 300,
            values: ["v=DKIM1; p=old", "v=DKIM1; p=z-disabled"],
            drift: ["1 of 2 records disabled in PowerDNS"],
          },
          {
            ...cname("selector2._domainkey.b.example", target("selector2", "b.example")),
            drift: ["disabled in PowerDNS (not served)"],
          },
        ]);
        // Foreign names, even selectors of an unconfigured subdomain, never come back.
        expect(got?.get("c.example")).toEqual([]);
        expect(got?.get("d.example")).toEqual([]);

        // The provider remembers what it learnt: a second bulk read sends no probe.
        c.kinds.length = 0;
        await p.listMany?.(zones.map((zone) => ({ zone, names: names(zone) })));
        expect(c.kinds).toEqual(
          backend === "gsqlite3" ? ["search", "search"] : ["GET zone", "GET zone", "GET zone", "GET zone"],
        );
      } finally {
        await c.proxy.close();
      }
    });

    it("read: search is refused, not read as 'no records', where the backend cannot search", async () => {
      const p = provider(server.apiUrl, server.apiKey, { read: "search" });
      if (backend === "gsqlite3") {
        expect((await p.listMany?.([{ zone: "d.example", names: names("d.example") }]))?.get("d.example")).toEqual([]);
        return;
      }
      const err = await p.listMany?.([{ zone: "d.example", names: names("d.example") }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toContain("search-data finds no records at all");
      expect((err as ProviderError).hint).toContain("lmdb");
    });
  });
}

describe("powerdns search answers cut at max, one search per selector", () => {
  let server: PdnsServer;
  // The first search of a bulk read asks for max = limit + 1 with limit = max(1000, 4 x names
  // asked) = 1000 here. selector1 has 1,001 records: the answer comes back cut (1,001 of them,
  // one more than the limit) and must be asked again with a larger limit. selector2 has exactly
  // 1,000: a full answer at the limit, which must not be asked again.
  const SEL1 = 1001;
  const SEL2 = 1000;
  beforeAll(async () => {
    server = await startPowerDns({ backend: "gsqlite3" });
    const records: RecordSet[] = [];
    for (let i = 0; i < SEL1; i++)
      records.push(cname(`selector1._domainkey.d${i}.big.example`, target("selector1", `d${i}.big.example`)));
    for (let i = 0; i < SEL2; i++)
      records.push(cname(`selector2._domainkey.d${i}.big.example`, target("selector2", `d${i}.big.example`)));
    await createZone(server, "big.example", records);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("tells a cut answer from a full one for each selector, and asks again only the cut one", async () => {
    const searches: string[] = [];
    const proxy = await startHttpProxy(server.apiUrl, {
      onRequest(_method, url) {
        const [p = "", query = ""] = url.split("?");
        const q = new URLSearchParams(query);
        if (p.endsWith("/search-data")) searches.push(`${q.get("q")} max=${q.get("max")}`);
        else searches.push(`other ${p}`);
        return undefined;
      },
    });
    try {
      const p = provider(proxy.url, server.apiKey);
      // d1000 has only selector1 (the 1,001st record of a cut answer); d999 has both.
      const asked = ["d7.big.example", "d999.big.example", "d1000.big.example"];
      const got = await p.listMany?.([{ zone: "big.example", names: asked.flatMap(names) }]);
      expect(searches).toEqual([
        "selector1._domainkey.* max=1001",
        "selector1._domainkey.* max=4001",
        "selector2._domainkey.* max=1001",
      ]);
      expect(byName(got?.get("big.example") ?? [])).toEqual(
        [
          ...asked.map((d) => cname(`selector1._domainkey.${d}`, target("selector1", d))),
          ...asked
            .filter((d) => d !== "d1000.big.example")
            .map((d) => cname(`selector2._domainkey.${d}`, target("selector2", d))),
        ].sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`)),
      );
    } finally {
      await proxy.close();
    }
  });
});

describe("powerdns time limits", () => {
  it("a server that accepts and never answers ends in a clear error within attempts x timeout_ms", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const p = provider(url, "k", { timeout_ms: 200, max_attempts: 2 });
      const err = await p.listMany?.([{ zone: "a.example", names: names("a.example") }]).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toBe(`[pdns] no answer from ${url} within 200 ms (search records)`);
      expect((err as ProviderError).transient).toBe(true);
      // Two attempts of 200 ms and one backoff of at most 400 ms: a bound, not a timing test.
      expect(elapsed).toBeLessThan(5_000);
      expect(sockets.length).toBe(2);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("searchPatterns", () => {
  it("covers each selector of every domain with one pattern, selector1 first", () => {
    expect(
      searchPatterns([
        "selector2._domainkey.b.c.example",
        "selector1._domainkey.a.example",
        "selector2._domainkey.a.example",
        "selector1._domainkey.b.c.example",
      ]),
    ).toEqual(["selector1._domainkey.*", "selector2._domainkey.*"]);
  });
  it("adds a pattern for any other two-label prefix, and one label for a name of one or two", () => {
    expect(searchPatterns(["selector1._domainkey.a.example", "x._dmarc.a.example", "a.example", "Localhost."])).toEqual(
      ["a.*", "localhost.*", "selector1._domainkey.*", "x._dmarc.*"],
    );
  });
});

describe("powerdns plan and apply through the planner, on a searching backend", () => {
  let server: PdnsServer;
  const zones = Array.from({ length: 30 }, (_, i) => `z${i}.bulk.example`);
  beforeAll(async () => {
    server = await startPowerDns({ backend: "gsqlite3" });
    for (const z of zones)
      await createZone(server, z, [
        { name: `google._domainkey.${z}`, type: "TXT", ttl: 300, values: ["v=DKIM1; p=g"] },
      ]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("plans 30 zones in 4 requests, and applies them with one PATCH each and a bulk read-back of two searches", async () => {
    const { loadConfig } = await import("../../src/config/load.js");
    const { buildPlan, closeProviders, summarise } = await import("../../src/plan/build.js");
    const { applyPlan, isApplyFailure } = await import("../../src/plan/apply.js");
    const fs = await import("node:fs/promises");
    const os = await import("node:os");
    const path = await import("node:path");
    const c = await counted(server);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-pdns-bulk-"));
    try {
      const file = path.join(dir, "dkim.zones.yaml");
      const domains = zones.map((z) => `  ${z}:\n    provider: pdns\n`).join("");
      await fs.writeFile(
        file,
        `tenant: contoso\nproviders:\n  pdns:\n    type: powerdns\n    url: ${c.proxy.url}\n    api_key: env/${KEY_VAR}\ndomains:\n${domains}`,
      );
      const env = { [KEY_VAR]: server.apiKey };
      const config = loadConfig(file, { env });
      const planned = await buildPlan({ config, env });
      try {
        expect(summarise(planned.plan).create).toBe(60);
        // The zone listing, the selector1 search (nothing yet), the apex probe that proves search
        // works, and the selector2 search.
        expect(c.kinds.sort()).toEqual(["GET zones", "search", "search", "search"]);
        c.kinds.length = 0;
        const result = await applyPlan({
          plan: planned.plan,
          providers: planned.providers,
          force: false,
          checkStale: false,
        });
        expect(isApplyFailure(result)).toBe(false);
        expect(result.zones.every((z) => z.outcome === "applied")).toBe(true);
        // One PATCH per zone (gsqlite3 may answer a concurrent one "database is locked", and
        // that one is sent again) and one search per selector to read all 30 back.
        expect(new Set(c.patched).size).toBe(30);
        expect(c.kinds.filter((k) => k !== "PATCH zone")).toEqual(["search", "search"]);
      } finally {
        await closeProviders(planned.providers);
      }
      c.kinds.length = 0;
      const again = await buildPlan({ config: loadConfig(file, { env }), env });
      await closeProviders(again.providers);
      expect(summarise(again.plan)).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 60 });
      expect(c.kinds.sort()).toEqual(["GET zones", "search", "search"]);
    } finally {
      await c.proxy.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("a record changed so that read-back disagrees makes the zone unconverged, not applied", async () => {
    // The read-back is real: a provider whose search sees something else than what was written
    // must fail the zone. Here a foreign writer changes one selector between write and read-back.
    const { applyPlan } = await import("../../src/plan/apply.js");
    const p = provider(server.apiUrl, server.apiKey);
    const zone = zones[0] as string;
    const name = `selector1._domainkey.${zone}`;
    const wanted = cname(name, target("selector1", zone));
    const wrapped: Provider = {
      ...p,
      async apply(z, changes) {
        await p.apply(z, changes);
        await putRecordSet(server, z, cname(name, "someone-else.example"));
      },
    };
    const result = await applyPlan({
      plan: {
        zones: [
          {
            provider: "pdns",
            zone,
            domains: [zone],
            changes: [{ action: "update", name, type: "CNAME", before: cname(name, "old.example"), after: wanted }],
            conflicts: [],
            unchanged: [],
            warnings: [],
            names: [name],
            fingerprint: "",
          },
        ],
        errors: [],
      },
      providers: new Map([["pdns", wrapped]]),
      force: false,
      checkStale: false,
    });
    expect(result.zones[0]?.outcome).toBe("unconverged");
    expect(result.zones[0]?.message).toContain(name);
  });
});

/**
 * A loopback PowerDNS API that lists one zone and answers each PATCH after 10 ms with what
 * `answer` says, given how many PATCHes are in flight (this one included); then applies one
 * selector create to each of `count` zones at once, as applyPlan does, and returns the results.
 */
async function writeToLoopback(
  count: number,
  answer: (inflight: number) => number,
): Promise<PromiseSettledResult<void>[]> {
  const http = await import("node:http");
  let inflight = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method !== "PATCH") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify([{ id: "z.example.", name: "z.example." }]));
        return;
      }
      inflight++;
      const status = answer(inflight);
      setTimeout(() => {
        inflight--;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(status === 500 ? JSON.stringify({ error: "Internal Server Error" }) : "");
      }, 10);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const p = provider(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, "k");
    await p.zones();
    const zones = Array.from({ length: count }, (_, i) => `z${i}.example`);
    return await Promise.allSettled(
      zones.map((z) =>
        p.apply(z, [
          {
            action: "create",
            name: `selector1._domainkey.${z}`,
            type: "CNAME",
            before: null,
            after: cname(`selector1._domainkey.${z}`, "t.example"),
          },
        ]),
      ),
    );
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe("powerdns write concurrency", () => {
  it("grows to four writes at once on a server that takes them all (lmdb), and never past four", async () => {
    let most = 0;
    const results = await writeToLoopback(80, (inflight) => {
      most = Math.max(most, inflight);
      return 204;
    });
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    // 8 clean answers at each step: 1, 2, 3, then 4 for the last 56 writes of 10 ms each.
    expect(most).toBeGreaterThanOrEqual(3);
    expect(most).toBeLessThanOrEqual(4);
  });

  it("sends PATCHes one at a time, grows on clean answers, and stays at one after a 500", async () => {
    // As gsqlite3 behaves (observed on PowerDNS 4.7.3): a write that meets another write in
    // flight is answered 500 "Internal Server Error". The real server cannot be made to show how
    // many writes it had in flight; this one counts them, and numbers each PATCH as it arrives.
    let arrivals = 0;
    const clashes: number[] = [];
    const zones = 48;
    const results = await writeToLoopback(zones, (inflight) => {
      arrivals++;
      if (inflight === 1) return 204;
      clashes.push(arrivals);
      return 500;
    });
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    // After a run of clean answers the limit grows and two writes meet: that is a 500.
    expect(clashes.length).toBeGreaterThan(0);
    // The clashes are one episode (the writes already in flight when the first 500 came back),
    // after which writes go one at a time: nothing later is refused.
    const [first = 0] = clashes;
    expect(clashes.every((n) => n - first <= 3)).toBe(true);
    expect(clashes.length).toBeLessThanOrEqual(3);
    // Each refused write was tried once more, and nothing else was sent twice.
    expect(arrivals).toBe(zones + clashes.length);
  });
});
