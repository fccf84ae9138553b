/**
 * apply's own rules, zone by zone, with a small in-memory DNS provider standing in for the
 * external service (every real provider runs the same rules in test/conformance).
 */
import { describe, expect, it } from "vitest";
import { allowFromConfig, applyPlan, filterPlan, isApplyFailure } from "../../src/plan/apply.js";
import { diffZone, type DesiredRecord } from "../../src/core/diff.js";
import { fingerprint, type ProviderSet } from "../../src/plan/build.js";
import type { Capabilities, Change, Plan, Provider, RecordSet, ZonePlan } from "../../src/core/types.js";

const cname = (name: string, value: string, ttl = 3600): RecordSet => ({ name, type: "CNAME", ttl, values: [value] });

/** Holds record sets per zone; its faults model what real APIs do. */
class MemoryDns implements Provider {
  readonly name = "mem";
  readonly type = "memory";
  readonly capabilities: Capabilities = { atomicWrites: { can: true }, readsOnlyNames: { can: true } };
  readonly data = new Map<string, RecordSet[]>();
  /** zone -> what goes wrong on its next write */
  readonly fault = new Map<string, "reject" | "lose-answer" | "ignore-cname">();
  writes = 0;

  async zones() {
    return [...this.data.keys()];
  }
  async list(zone: string, names: readonly string[]) {
    return (this.data.get(zone) ?? [])
      .filter((s) => names.includes(s.name))
      .map((s) => ({ ...s, values: [...s.values] }));
  }
  async apply(zone: string, changes: readonly Change[]) {
    this.writes++;
    const fault = this.fault.get(zone);
    this.fault.delete(zone);
    if (fault === "reject") throw new Error("server said no");
    let sets = [...(this.data.get(zone) ?? [])];
    for (const c of changes) {
      sets = sets.filter((s) => !(s.name === c.name && s.type === c.type));
      if (c.after && !(fault === "ignore-cname" && c.type === "CNAME")) sets.push(c.after);
    }
    this.data.set(zone, sets);
    if (fault === "lose-answer") throw new Error("socket hang up after the write");
  }
}

function zonePlan(dns: MemoryDns, zone: string, desired: DesiredRecord[]): ZonePlan {
  const names = desired.map((d) => d.record.name).sort();
  const existing = (dns.data.get(zone) ?? []).filter((s) => names.includes(s.name));
  return {
    provider: "mem",
    zone,
    domains: [zone],
    ...diffZone(existing, desired),
    warnings: [],
    names,
    fingerprint: fingerprint(existing),
  };
}

function setup(zones: string[]) {
  const dns = new MemoryDns();
  for (const z of zones) dns.data.set(z, []);
  const providers: ProviderSet = new Map([["mem", dns]]);
  const want = (zone: string): DesiredRecord[] =>
    [1, 2].map((n) => ({
      record: cname(
        `selector${n}._domainkey.${zone}`,
        `selector${n}-${zone.replace(/\./g, "-")}._domainkey.contoso.onmicrosoft.com`,
      ),
      ensure: "present",
    }));
  const plan: Plan = { zones: zones.map((z) => zonePlan(dns, z, want(z))), errors: [] };
  return { dns, providers, plan };
}

describe("applyPlan", () => {
  it("writes each zone once and reads it back", async () => {
    const { dns, providers, plan } = setup(["a.test", "b.test"]);
    const r = await applyPlan({ plan, providers, force: false, checkStale: false });
    expect(r.zones.map((z) => [z.zone, z.outcome, z.changes.length])).toEqual([
      ["a.test", "applied", 2],
      ["b.test", "applied", 2],
    ]);
    expect(dns.writes).toBe(2);
  });

  it("keeps going after one zone fails, and reports it", async () => {
    const { dns, providers, plan } = setup(["a.test", "b.test"]);
    dns.fault.set("a.test", "reject");
    const r = await applyPlan({ plan, providers, force: false, checkStale: false });
    expect(r.zones.map((z) => [z.zone, z.outcome])).toEqual([
      ["a.test", "failed"],
      ["b.test", "applied"],
    ]);
    expect(r.zones[0]?.message).toBe("server said no");
  });

  it("counts a write whose answer was lost as applied when the read-back shows it in place", async () => {
    const { dns, providers, plan } = setup(["a.test"]);
    dns.fault.set("a.test", "lose-answer");
    const r = await applyPlan({ plan, providers, force: false, checkStale: false });
    expect(r.zones[0]?.outcome).toBe("applied");
    expect(r.zones[0]?.message).toContain("socket hang up after the write");
  });

  it("reports a write the server acknowledged but did not store (BIND and a CNAME beside other data)", async () => {
    const { dns, providers, plan } = setup(["a.test"]);
    dns.fault.set("a.test", "ignore-cname");
    const r = await applyPlan({ plan, providers, force: false, checkStale: false });
    expect(r.zones[0]?.outcome).toBe("unconverged");
    expect(r.zones[0]?.message).toContain("selector1._domainkey.a.test CNAME is missing after the write");
  });

  it("refuses a zone that changed since the plan (apply --plan) and still applies the others", async () => {
    const { dns, providers, plan } = setup(["a.test", "b.test"]);
    dns.data.get("a.test")?.push({ name: "selector1._domainkey.a.test", type: "TXT", ttl: 60, values: ["sneaked in"] });
    const r = await applyPlan({ plan, providers, force: false, checkStale: true });
    expect(r.zones.map((z) => [z.zone, z.outcome])).toEqual([
      ["a.test", "stale"],
      ["b.test", "applied"],
    ]);
    expect(dns.data.get("a.test")).toHaveLength(1);
  });

  it("a conflict blocks only its own domain: the other domains, even in the same zone, are written; --force replaces it", async () => {
    const dns = new MemoryDns();
    const old = { name: "selector1._domainkey.a.test", type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] };
    dns.data.set("a.test", [old]);
    dns.data.set("b.test", []);
    const providers: ProviderSet = new Map([["mem", dns]]);
    const want = (domain: string): DesiredRecord[] =>
      [1, 2].map((n) => ({
        record: cname(`selector${n}._domainkey.${domain}`, `t${n}.example.net`),
        ensure: "present",
      }));
    const a = zonePlan(dns, "a.test", [...want("a.test"), ...want("sub.a.test")]);
    a.domains = ["a.test", "sub.a.test"];
    const plan: Plan = { zones: [a, zonePlan(dns, "b.test", want("b.test"))], errors: [] };

    const r = await applyPlan({ plan, providers, force: false, checkStale: false });
    expect(isApplyFailure(r)).toBe(true);
    expect(r.blocked?.map((b) => b.domain)).toEqual(["a.test"]);
    expect(r.blocked?.[0]?.message).toMatch(/replace: \[TXT\].*apply --force/);
    expect(r.zones.map((z) => [z.zone, z.outcome])).toEqual([
      ["a.test", "applied"],
      ["b.test", "applied"],
    ]);
    // a.test keeps its TXT and gets no selector2 either; sub.a.test in the same zone is written.
    const aNow = dns.data.get("a.test") ?? [];
    expect(aNow).toContainEqual(old);
    expect(aNow.filter((s) => s.name.endsWith("._domainkey.a.test") && !s.name.includes("sub."))).toEqual([old]);
    expect(
      aNow
        .filter((s) => s.name.includes("sub.a.test"))
        .map((s) => s.name)
        .sort(),
    ).toEqual(["selector1._domainkey.sub.a.test", "selector2._domainkey.sub.a.test"]);
    expect(dns.data.get("b.test")).toHaveLength(2);

    const again: Plan = { zones: [zonePlan(dns, "a.test", want("a.test"))], errors: [] };
    const forced = await applyPlan({ plan: again, providers, force: true, checkStale: false });
    expect(forced.blocked).toBeUndefined();
    expect(isApplyFailure(forced)).toBe(false);
    expect(
      dns.data
        .get("a.test")
        ?.filter((s) => !s.name.includes("sub."))
        .sort((x, y) => (x.name < y.name ? -1 : 1)),
    ).toEqual([
      cname("selector1._domainkey.a.test", "t1.example.net"),
      cname("selector2._domainkey.a.test", "t2.example.net"),
    ]);
  });

  it("replaces a conflict the config allows for its domain (replace: [TXT]) without --force, and only there", async () => {
    const dns = new MemoryDns();
    dns.data.set("a.test", [
      { name: "selector1._domainkey.a.test", type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] },
    ]);
    dns.data.set("b.test", [
      { name: "selector1._domainkey.b.test", type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] },
    ]);
    const providers: ProviderSet = new Map([["mem", dns]]);
    const want = (domain: string): DesiredRecord[] => [
      { record: cname(`selector1._domainkey.${domain}`, "t1.example.net"), ensure: "present" },
    ];
    const a = zonePlan(dns, "a.test", want("a.test"));
    for (const c of a.conflicts) c.allowed = "replace: [TXT] for a.test at dkim.zones.yaml:9";
    const plan: Plan = { zones: [a, zonePlan(dns, "b.test", want("b.test"))], errors: [] };
    const r = await applyPlan({ plan, providers, force: false, checkStale: false });
    expect(r.zones.map((z) => [z.zone, z.outcome])).toEqual([
      ["a.test", "applied"],
      ["b.test", "blocked"],
    ]);
    expect(dns.data.get("a.test")).toEqual([cname("selector1._domainkey.a.test", "t1.example.net")]);
    expect(dns.data.get("b.test")?.[0]?.type).toBe("TXT");
    expect(r.blocked?.map((b) => b.domain)).toEqual(["b.test"]);
  });

  it("a saved plan's replace permission counts only where the config given now allows it", () => {
    const dns = new MemoryDns();
    dns.data.set("a.test", [
      { name: "selector1._domainkey.a.test", type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] },
    ]);
    const z = zonePlan(dns, "a.test", [
      { record: cname("selector1._domainkey.a.test", "t1.example.net"), ensure: "present" },
    ]);
    for (const c of z.conflicts) c.allowed = "edited into the plan file";
    const desired = (replace?: string[]) => [
      {
        domain: "a.test",
        providers: ["mem"],
        ensure: "present" as const,
        records: [],
        source: "config" as const,
        warnings: [],
        ...(replace ? { replace: { types: replace, where: { file: "dkim.zones.yaml", line: 4 } } } : {}),
      },
    ];
    expect(
      allowFromConfig({ zones: [z], errors: [] }, desired(), "dkim.zones.yaml").zones[0]?.conflicts[0]?.allowed,
    ).toBeUndefined();
    expect(
      allowFromConfig({ zones: [z], errors: [] }, desired(["TXT"]), "dkim.zones.yaml").zones[0]?.conflicts[0]?.allowed,
    ).toBe("replace: [TXT] for a.test at dkim.zones.yaml:4");
  });

  it("filterPlan keeps only the chosen domains and providers (apply --domain/--provider)", () => {
    const { plan } = setup(["a.test", "b.test"]);
    const only = filterPlan(
      { ...plan, errors: [{ provider: "mem", domain: "c.test", message: "x" }] },
      { domains: ["b.test"] },
    );
    expect(only.zones.map((z) => z.zone)).toEqual(["b.test"]);
    expect(only.errors).toEqual([]);
    expect(filterPlan(plan, { providers: ["other"] }).zones).toEqual([]);
    expect(filterPlan(plan, {})).toBe(plan);
  });
});
