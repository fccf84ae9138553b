/**
 * The one conformance suite every provider passes (the Provider interface, src/core/types.ts). It drives the
 * real dkimsync path — dkim.zones.yaml -> loadConfig -> buildPlan -> applyPlan -> re-plan — against
 * a real backend, and after every apply requires that a fresh plan has zero changes left (as
 * DNSControl's integration suite does).
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyPlan, isApplyFailure } from "../../src/plan/apply.js";
import { loadConfig } from "../../src/config/load.js";
import { buildPlan, closeProviders, summarise } from "../../src/plan/build.js";
import type { Plan, RecordSet } from "../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "./backend.js";
import { cname, foreignRecords, txt } from "../helpers/records.js";

const TENANT = "contoso";
const target = (sel: 1 | 2, domain: string) =>
  `selector${sel}-${domain.replace(/\./g, "-")}._domainkey.${TENANT}.onmicrosoft.com`;

interface DomainSpec {
  provider?: string;
  ensure?: "absent";
  selector1?: string;
  selector2?: string;
  replace?: string[];
}

export function runConformance(t: ConformanceTarget): void {
  describe(`conformance: provider ${t.type}${t.variant ? ` (${t.variant})` : ""}`, () => {
    let backend: ConformanceBackend;
    let dir: string;

    beforeAll(async () => {
      backend = await t.start();
      dir = await fs.mkdtemp(path.join(os.tmpdir(), `dkimsync-conf-${t.type}-`));
    });
    afterAll(async () => {
      await backend?.close();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    async function writeConfig(domains: Record<string, DomainSpec>, ttl = 3600): Promise<string> {
      const opts = Object.entries(backend.providerOptions)
        .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
        .join("\n");
      const doms = Object.entries(domains)
        .map(([d, s]) => {
          const lines = [`  ${d}:`, `    provider: under_test`];
          if (s.ensure) lines.push(`    ensure: ${s.ensure}`);
          if (s.selector1) lines.push(`    selector1: ${s.selector1}`);
          if (s.selector2) lines.push(`    selector2: ${s.selector2}`);
          if (s.replace) lines.push(`    replace: [${s.replace.join(", ")}]`);
          return lines.join("\n");
        })
        .join("\n");
      const file = path.join(dir, `dkim-${Math.random().toString(36).slice(2)}.zones.yaml`);
      await fs.writeFile(
        file,
        `tenant: ${TENANT}\nttl: ${ttl}\nproviders:\n  under_test:\n    type: ${t.type}\n${opts}\ndomains:\n${doms}\n`,
      );
      return file;
    }

    async function plan(file: string): Promise<Plan> {
      const config = loadConfig(file, { env: { ...process.env, ...backend.env } });
      const { plan: p, providers } = await buildPlan({ config, env: { ...process.env, ...backend.env } });
      await closeProviders(providers);
      return p;
    }

    async function apply(file: string, force = false) {
      const env = { ...process.env, ...backend.env };
      const config = loadConfig(file, { env });
      const { plan: p, providers } = await buildPlan({ config, env });
      try {
        return { plan: p, result: await applyPlan({ plan: p, providers, force, checkStale: false }) };
      } finally {
        await closeProviders(providers);
      }
    }

    /** Apply, then require the outcome applied and a fresh plan with nothing left to do. */
    async function converge(file: string, force = false) {
      const { plan: before, result } = await apply(file, force);
      expect(before.errors).toEqual([]);
      for (const z of result.zones)
        expect({ zone: z.zone, outcome: z.outcome, message: z.message }).toMatchObject({ outcome: "applied" });
      const after = await plan(file);
      expect(after.errors).toEqual([]);
      expect(summarise(after)).toMatchObject({ create: 0, update: 0, delete: 0, conflicts: 0 });
      return before;
    }

    const at = (sets: RecordSet[], name: string, type?: string) =>
      sets.filter((s) => s.name === name && (type === undefined || s.type === type));
    const sortSets = (sets: RecordSet[]) =>
      sets
        .map((s) => ({ name: s.name, type: s.type, ttl: s.ttl, values: [...s.values].sort() }))
        .sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`));

    it("creates both selectors, and a second plan is empty", async () => {
      const zone = "create.test";
      await backend.createZone(zone, foreignRecords(zone));
      const file = await writeConfig({ [zone]: {} });
      const first = await converge(file);
      expect(summarise(first)).toMatchObject({ create: 2, update: 0, delete: 0 });
      const sets = await backend.readZone(zone);
      expect(at(sets, `selector1._domainkey.${zone}`)).toEqual([
        cname(`selector1._domainkey.${zone}`, target(1, zone)),
      ]);
      expect(at(sets, `selector2._domainkey.${zone}`)).toEqual([
        cname(`selector2._domainkey.${zone}`, target(2, zone)),
      ]);
    });

    it("changes a target and leaves every foreign record as it was", async () => {
      const zone = "retarget.test";
      const seeded = [
        ...foreignRecords(zone),
        cname(`selector1._domainkey.${zone}`, target(1, zone)),
        cname(`selector2._domainkey.${zone}`, target(2, zone)),
      ];
      await backend.createZone(zone, seeded);
      const s1 = `selector1-retarget-test._domainkey.${TENANT}.y-v1.dkim.mail.microsoft`;
      const s2 = `selector2-retarget-test._domainkey.${TENANT}.y-v1.dkim.mail.microsoft`;
      const file = await writeConfig({ [zone]: { selector1: s1, selector2: s2 } });
      const first = await converge(file);
      expect(summarise(first)).toMatchObject({ create: 0, update: 2 });
      const sets = await backend.readZone(zone);
      expect(at(sets, `selector1._domainkey.${zone}`, "CNAME")[0]?.values).toEqual([s1]);
      const foreign = new Set(foreignRecords(zone).map((r) => `${r.name} ${r.type}`));
      expect(sortSets(sets.filter((s) => foreign.has(`${s.name} ${s.type}`)))).toEqual(sortSets(foreignRecords(zone)));
    });

    it("changes a TTL", async () => {
      const zone = "ttl.test";
      await backend.createZone(zone, [
        cname(`selector1._domainkey.${zone}`, target(1, zone), 300),
        cname(`selector2._domainkey.${zone}`, target(2, zone)),
      ]);
      const file = await writeConfig({ [zone]: {} });
      const first = await converge(file);
      expect(first.zones[0]?.changes.map((c) => [c.action, c.name, c.before?.ttl, c.after?.ttl])).toEqual([
        ["update", `selector1._domainkey.${zone}`, 300, 3600],
      ]);
      expect(at(await backend.readZone(zone), `selector1._domainkey.${zone}`, "CNAME")[0]?.ttl).toBe(3600);
    });

    it("deletes both selectors with ensure: absent, and nothing else", async () => {
      const zone = "absent.test";
      const foreign = foreignRecords(zone);
      await backend.createZone(zone, [
        ...foreign,
        cname(`selector1._domainkey.${zone}`, target(1, zone)),
        cname(`selector2._domainkey.${zone}`, target(2, zone)),
      ]);
      const file = await writeConfig({ [zone]: { ensure: "absent" } });
      const first = await converge(file);
      expect(summarise(first)).toMatchObject({ create: 0, update: 0, delete: 2 });
      const sets = await backend.readZone(zone);
      expect(at(sets, `selector1._domainkey.${zone}`)).toEqual([]);
      expect(at(sets, `selector2._domainkey.${zone}`)).toEqual([]);
      const foreignKeys = new Set(foreign.map((r) => `${r.name} ${r.type}`));
      expect(sortSets(sets.filter((s) => foreignKeys.has(`${s.name} ${s.type}`)))).toEqual(sortSets(foreign));
    });

    it("reports a TXT at a selector name as a conflict, writes nothing for that domain without --force, replaces it with --force", async () => {
      const zone = "conflict.test";
      const oldKey = txt(
        `selector1._domainkey.${zone}`,
        "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP",
      );
      await backend.createZone(zone, [...foreignRecords(zone), oldKey]);
      const file = await writeConfig({ [zone]: {} });
      const p = await plan(file);
      expect(p.zones[0]?.conflicts.map((c) => [c.name, c.type])).toEqual([[`selector1._domainkey.${zone}`, "TXT"]]);
      expect(p.zones[0]?.changes.map((c) => [c.action, c.name])).toEqual([["create", `selector2._domainkey.${zone}`]]);
      const refused = await apply(file, false);
      expect(refused.result.blocked?.map((b) => b.domain)).toEqual([zone]);
      expect(isApplyFailure(refused.result)).toBe(true);
      // Nothing for the blocked domain: neither the replacement nor its other selector.
      expect(at(await backend.readZone(zone), `selector1._domainkey.${zone}`)).toEqual([oldKey]);
      expect(at(await backend.readZone(zone), `selector2._domainkey.${zone}`)).toEqual([]);
      await converge(file, true);
      const sets = await backend.readZone(zone);
      expect(at(sets, `selector1._domainkey.${zone}`)).toEqual([
        cname(`selector1._domainkey.${zone}`, target(1, zone)),
      ]);
    });

    it("replaces an old key where the config allows it (replace: [TXT]) and blocks only the domain where it does not", async () => {
      const allowed = "allowed.test";
      const blocked = "blocked.test";
      const key = (zone: string) =>
        txt(`selector1._domainkey.${zone}`, "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP");
      await backend.createZone(allowed, [...foreignRecords(allowed), key(allowed)]);
      await backend.createZone(blocked, [key(blocked)]);
      const file = await writeConfig({ [allowed]: { replace: ["TXT"] }, [blocked]: {} });
      const p = await plan(file);
      expect(p.zones.flatMap((z) => z.conflicts.map((c) => [c.name, c.allowed !== undefined]))).toEqual([
        [`selector1._domainkey.${allowed}`, true],
        [`selector1._domainkey.${blocked}`, false],
      ]);
      const { result } = await apply(file, false);
      expect(result.blocked?.map((b) => b.domain)).toEqual([blocked]);
      expect(result.zones.map((z) => [z.zone, z.outcome])).toEqual([
        [allowed, "applied"],
        [blocked, "blocked"],
      ]);
      const sets = await backend.readZone(allowed);
      expect(at(sets, `selector1._domainkey.${allowed}`)).toEqual([
        cname(`selector1._domainkey.${allowed}`, target(1, allowed)),
      ]);
      expect(at(sets, `selector2._domainkey.${allowed}`)).toEqual([
        cname(`selector2._domainkey.${allowed}`, target(2, allowed)),
      ]);
      const foreign = new Set(foreignRecords(allowed).map((r) => `${r.name} ${r.type}`));
      expect(sortSets(sets.filter((s) => foreign.has(`${s.name} ${s.type}`)))).toEqual(
        sortSets(foreignRecords(allowed)),
      );
      expect(sortSets(await backend.readZone(blocked)).filter((s) => s.name.includes("_domainkey"))).toEqual(
        sortSets([key(blocked)]),
      );
    });

    it("treats case and trailing-dot differences as no change", async () => {
      const zone = "noise.test";
      await backend.createZone(zone, [
        cname(`selector1._domainkey.${zone}`, `${target(1, zone).toUpperCase()}.`),
        cname(`selector2._domainkey.${zone}`, target(2, zone).replace("selector2", "Selector2")),
      ]);
      const file = await writeConfig({ [zone.toUpperCase()]: {} });
      const p = await plan(file);
      expect(p.errors).toEqual([]);
      expect(summarise(p)).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 2, conflicts: 0 });
    });

    it("puts a subdomain's selectors in its parent zone, and in its own zone when it has one", async () => {
      const parent = "parent.test";
      const own = "own.parent.test";
      await backend.createZone(parent, foreignRecords(parent));
      await backend.createZone(own, []);
      const file = await writeConfig({ [`marketing.${parent}`]: {}, [own]: {} });
      const first = await converge(file);
      expect(first.zones.map((z) => [z.zone, z.domains])).toEqual(
        [
          [own, [own]],
          [parent, [`marketing.${parent}`]],
        ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string)),
      );
      const parentSets = await backend.readZone(parent);
      expect(at(parentSets, `selector1._domainkey.marketing.${parent}`, "CNAME")[0]?.values).toEqual([
        target(1, `marketing.${parent}`),
      ]);
      expect(at(parentSets, `selector1._domainkey.${own}`)).toEqual([]);
      expect(at(await backend.readZone(own), `selector2._domainkey.${own}`, "CNAME")[0]?.values).toEqual([
        target(2, own),
      ]);
    });

    it("reports a domain whose zone the provider does not serve as an error for that domain", async () => {
      const file = await writeConfig({ "nozone.invalid": {} });
      const p = await plan(file);
      expect(p.errors.map((e) => e.domain)).toEqual(["nozone.invalid"]);
      expect(p.errors[0]?.message).toMatch(/no zone/);
    });

    it("refuses a stale plan for a zone that changed since it was made, writing nothing", async () => {
      const zone = "stale.test";
      await backend.createZone(zone, []);
      const file = await writeConfig({ [zone]: {} });
      const env = { ...process.env, ...backend.env };
      const config = loadConfig(file, { env });
      const { plan: p, providers } = await buildPlan({ config, env });
      const sneaky = cname(`selector2._domainkey.${zone}`, "someone-else.example.net", 60);
      await backend.put(zone, sneaky);
      try {
        const result = await applyPlan({ plan: p, providers, force: false, checkStale: true });
        expect(result.zones.map((z) => z.outcome)).toEqual(["stale"]);
      } finally {
        await closeProviders(providers);
      }
      const sets = await backend.readZone(zone);
      expect(at(sets, `selector1._domainkey.${zone}`)).toEqual([]);
      expect(at(sets, `selector2._domainkey.${zone}`)).toEqual([sneaky]);
    });

    // Whether a failed write must change nothing is the provider's own declaration
    // (capabilities.atomicWrites), read from the provider the config creates, never from its name.
    it("changes nothing on a failed write where the provider declares atomic writes, and the next apply converges", async () => {
      const zone = "atomic.test";
      const foreign = foreignRecords(zone);
      await backend.createZone(zone, [...foreign, cname(`selector1._domainkey.${zone}`, target(1, zone), 300)]);
      const file = await writeConfig({ [zone]: {} });
      const env = { ...process.env, ...backend.env };
      const { providers } = await buildPlan({ config: loadConfig(file, { env }), env });
      const atomic = providers.get("under_test")?.capabilities.atomicWrites;
      await closeProviders(providers);
      if (atomic === undefined) throw new Error(`${t.type}: the provider under test was not created`);
      if (!atomic.can) {
        // Nothing to inject: the provider must say why a failure can leave part of a zone written.
        expect(atomic.reason ?? "", `${t.type} declares no atomic writes without a reason`).toMatch(/\S/);
        return;
      }
      if (!backend.failNextWrite) {
        if (!backend.cannotFailWrites)
          throw new Error(
            `${t.type}: the provider declares atomic writes, but its conformance backend has neither failNextWrite nor cannotFailWrites saying why not`,
          );
        expect(backend.cannotFailWrites).toMatch(/\S/);
        return;
      }
      const before = sortSets(await backend.readZone(zone));
      await backend.failNextWrite(zone);
      const { result } = await apply(file);
      expect(result.zones.map((z) => z.outcome)).toEqual(["failed"]);
      expect(sortSets(await backend.readZone(zone))).toEqual(before);
      await converge(file);
    });
  });
}
