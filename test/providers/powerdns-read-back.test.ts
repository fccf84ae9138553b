/**
 * Apply's read-back on PowerDNS streams: listMany hands each zone's records to apply as they
 * come in (per search pattern where the backend searches, per zone where it cannot), and apply
 * checks each written change against exactly what was read at its name. Against the real
 * server, on a searching backend (gsqlite3) and one that cannot search (lmdb): a read-back
 * that finds a wrong value or a missing record, and one that fails half-way. A loopback proxy in
 * front of the real API counts the read-back requests and fails the one a test names; dkimsync's
 * own code is not wrapped (only the provider's apply, to change records behind its back).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyPlan } from "../../src/plan/apply.js";
import type { Change, Provider, ZonePlan } from "../../src/core/types.js";
import { pdnsProvider as provider, target } from "../helpers/powerdns.js";
import { cname, create } from "../helpers/records.js";
import { startHttpProxy } from "../servers/http-proxy.js";
import { createZone, pdnsRequest, putRecordSet, startPowerDns, type PdnsServer } from "../servers/pdns.js";

interface FaultProxy {
  url: string;
  /** Read requests after `reset()`: `search <q>` or `zone <name>`, and whether they were failed. */
  reads: string[];
  /** Answer 500 to the reads this returns true for. */
  fail: (read: string) => boolean;
  reset(): void;
  close(): Promise<void>;
}

/** Forwards to the real API; a read that `fail` picks is answered HTTP 500 without reaching it. */
async function faultProxy(server: PdnsServer): Promise<FaultProxy> {
  const state: FaultProxy = {
    url: "",
    reads: [],
    fail: () => false,
    reset() {
      state.reads = [];
      state.fail = () => false;
    },
    close: async () => undefined,
  };
  const proxy = await startHttpProxy(server.apiUrl, {
    answer: (method, url) => {
      const [p = "", query = ""] = url.split("?");
      let read: string | undefined;
      if (method === "GET" && p.endsWith("/search-data")) read = `search ${new URLSearchParams(query).get("q")}`;
      else if (method === "GET" && p.includes("/zones/"))
        read = `zone ${decodeURIComponent(p.split("/zones/")[1] ?? "").replace(/\.$/, "")}`;
      if (read === undefined) return undefined;
      const failed = state.fail(read);
      state.reads.push(failed ? `${read} (500)` : read);
      return failed ? { status: 500, body: { error: "injected by the test proxy" } } : undefined;
    },
  });
  state.url = proxy.url;
  state.close = proxy.close;
  return state;
}

const sel = (n: 1 | 2, zone: string): string => `selector${n}._domainkey.${zone}`;
const want = (n: 1 | 2, zone: string) => cname(sel(n, zone), target(`selector${n}`, zone));

/** A plan that creates the given selectors in each zone (both when not said). */
function planOf(zones: string[], only: Record<string, (1 | 2)[]> = {}): ZonePlan[] {
  return zones.map((zone) => {
    const which = only[zone] ?? [1, 2];
    const changes: Change[] = which.map((n) => create(want(n, zone)));
    return {
      provider: "pdns",
      zone,
      domains: [zone],
      changes,
      conflicts: [],
      unchanged: [],
      warnings: [],
      names: which.map((n) => sel(n, zone)),
      fingerprint: "",
    };
  });
}

for (const backend of ["gsqlite3", "lmdb"] as const) {
  describe(`powerdns streamed read-back after apply, on ${backend}`, () => {
    let server: PdnsServer;
    let proxy: FaultProxy;
    const wrongZones = ["w0.example", "w1.example", "w2.example", "w3.example", "w4.example"];
    const halfZones = ["h0.example", "h1.example", "h2.example", "h3.example", "h4.example", "h5.example"];
    beforeAll(async () => {
      server = await startPowerDns({ backend });
      for (const z of [...wrongZones, ...halfZones])
        await createZone(server, z, [
          { name: `google._domainkey.${z}`, type: "TXT", ttl: 300, values: ["v=DKIM1; p=g"] },
        ]);
      proxy = await faultProxy(server);
    });
    afterAll(async () => {
      await proxy?.close();
      await server?.stop();
    });

    it("checks every written zone against what was written: a wrong value and a missing record make only their zones unconverged", async () => {
      const p = provider(proxy.url, server.apiKey, { max_attempts: 1 });
      // Someone else writes between dkimsync's PATCH and its read-back.
      const wrapped: Provider = {
        ...p,
        async apply(zone, changes) {
          await p.apply(zone, changes);
          if (zone === "w1.example") await putRecordSet(server, zone, cname(sel(2, zone), "someone-else.example"));
          if (zone === "w3.example" || zone === "w4.example")
            await pdnsRequest(server, "PATCH", `/zones/${zone}.`, {
              rrsets: [{ name: `${sel(1, zone)}.`, type: "CNAME", changetype: "DELETE" }],
            });
          if (zone === "w4.example") await putRecordSet(server, zone, cname(sel(2, zone), "someone-else.example"));
        },
      };
      proxy.reset();
      const result = await applyPlan({
        plan: { zones: planOf(wrongZones), errors: [] },
        providers: new Map([["pdns", wrapped]]),
        force: false,
        checkStale: false,
      });
      // Read back in bulk, after all writes: two searches, or one GET per zone without search.
      const reads = proxy.reads.filter((r) => r.startsWith("search") || wrongZones.some((z) => r === `zone ${z}`));
      if (backend === "gsqlite3")
        expect(reads).toEqual(["search selector1._domainkey.*", "search selector2._domainkey.*"]);
      // lmdb: the first bulk read of the run learns that search finds nothing (the selector1
      // search and the apex probe), then reads each zone.
      else
        expect([...reads].sort()).toEqual([
          "search selector1._domainkey.*",
          "search w0.example",
          ...wrongZones.map((z) => `zone ${z}`),
        ]);
      const by = new Map(result.zones.map((z) => [z.zone, z]));
      for (const z of ["w0.example", "w2.example"]) expect(by.get(z)).toMatchObject({ outcome: "applied", written: 2 });
      expect(by.get("w1.example")).toMatchObject({ outcome: "unconverged", written: 1 });
      expect(by.get("w1.example")?.message).toBe(`${sel(2, "w1.example")} CNAME differs after the write (target)`);
      expect(by.get("w3.example")).toMatchObject({
        outcome: "unconverged",
        written: 1,
        message: `${sel(1, "w3.example")} CNAME is missing after the write (the server accepted it but did not store it)`,
      });
      // Both of a zone's problems, in the order of its changes, whichever read found them.
      expect(by.get("w4.example")?.outcome).toBe("unconverged");
      expect(by.get("w4.example")?.written).toBe(0);
      expect(by.get("w4.example")?.message).toMatch(
        new RegExp(
          `^${sel(1, "w4.example").replace(/\./g, "\\.")} CNAME is missing after the write .*; ${sel(2, "w4.example").replace(/\./g, "\\.")} CNAME differs after the write`,
        ),
      );
    });

    it("a read-back that fails half-way leaves no zone applied that was not read back, and says why", async () => {
      const p = provider(proxy.url, server.apiKey, { max_attempts: 1 });
      proxy.reset();
      // gsqlite3: the selector1 search succeeds and the selector2 search fails. lmdb: the read
      // of h3.example fails; the other zones are read eight at a time around it.
      proxy.fail = (read) => read === (backend === "gsqlite3" ? "search selector2._domainkey.*" : "zone h3.example");
      // h5.example is written at selector1 only: on gsqlite3 it is fully checked by the first
      // search, before the failure, and keeps its verdict.
      const result = await applyPlan({
        plan: { zones: planOf(halfZones, { "h5.example": [1] }), errors: [] },
        providers: new Map([["pdns", p]]),
        force: false,
        checkStale: false,
      });
      const failedRead = backend === "gsqlite3" ? "search selector2._domainkey.* (500)" : "zone h3.example (500)";
      expect(proxy.reads).toContain(failedRead);
      const readOk = new Set(proxy.reads.filter((r) => r.startsWith("zone ")).map((r) => r.slice(5)));
      const failMessage =
        /^written, but reading it back failed: \[pdns\] (zone h3\.example: )?PowerDNS failed to (search records|read the zone) \(HTTP 500\): injected by the test proxy/;
      for (const z of result.zones) {
        if (z.outcome === "applied") {
          // Applied only where every change was read back: on gsqlite3 only h5 (selector1 only),
          // on lmdb the zones whose own GET was answered.
          if (backend === "gsqlite3") expect(z.zone).toBe("h5.example");
          else expect(readOk.has(z.zone)).toBe(true);
          expect(z.written).toBe(z.changes.length);
        } else {
          expect(z.outcome).toBe("unconverged");
          expect(z.message).toMatch(failMessage);
          expect(z.written).toBeUndefined();
        }
      }
      const by = new Map(result.zones.map((z) => [z.zone, z]));
      expect(by.get(backend === "gsqlite3" ? "h0.example" : "h3.example")?.outcome).toBe("unconverged");
      if (backend === "gsqlite3") {
        expect(result.zones.filter((z) => z.outcome === "applied").map((z) => z.zone)).toEqual(["h5.example"]);
      }
      // The writes themselves all landed: a second read, with nothing failing, finds them.
      proxy.reset();
      const back = await p.listMany?.(halfZones.map((zone) => ({ zone, names: [sel(1, zone), sel(2, zone)] })));
      for (const z of halfZones)
        expect(back?.get(z)).toEqual(z === "h5.example" ? [want(1, z)] : [want(1, z), want(2, z)]);
    });
  });
}
