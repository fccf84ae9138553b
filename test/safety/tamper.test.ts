/**
 * Saved plans are approvals (docs/safety.md): a generated table of tamperings of a saved plan,
 * every field mutated one at a time and in seeded combinations, each applied with
 * `apply --plan FILE --force` through the real CLI against the yaml provider, the loopback
 * Route 53 server and a real PowerDNS. Every case reads the whole zone before and after and
 * requires that it is either untouched or exactly what a fresh, untampered plan would write --
 * never anything else -- and every tampering of a field that decides a write must be refused
 * (exit 1) with nothing written.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planToJson } from "../../src/render/json.js";
import type { RecordSet, ZonePlan } from "../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../conformance/backend.js";
import { yamlTarget } from "../conformance/backends/yaml.js";
import { powerdnsTarget } from "../conformance/backends/powerdns.js";
import { cloudflareTarget } from "../conformance/backends/cloudflare.js";
import { route53Unthrottled, run, sortedZone, target, tempDir, writeConfig } from "./harness.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const cnameSet = (name: string, value: string, ttl = 3600): RecordSet => ({
  name,
  type: "CNAME",
  ttl,
  values: [value],
});
const txtSet = (name: string, value: string): RecordSet => ({ name, type: "TXT", ttl: 3600, values: [value] });

/**
 * The zone of one case: foreign records an attacker wants (apex MX, www, _dmarc), domain Z with
 * a selector1 to update and a selector2 to create, sub.Z with an old TXT key at selector1 (a
 * conflict, replaced with --force), ok.Z already correct (unchanged).
 */
function seed(zone: string): RecordSet[] {
  return [
    { name: zone, type: "MX", ttl: 3600, values: [`10 ${zone.replace(/\./g, "-")}.mail.protection.outlook.com`] },
    { name: `www.${zone}`, type: "A", ttl: 3600, values: ["192.0.2.10"] },
    txtSet(`_dmarc.${zone}`, "v=DMARC1; p=reject"),
    cnameSet(`selector1._domainkey.${zone}`, "selector1-old._domainkey.contoso.onmicrosoft.com"),
    txtSet(`selector1._domainkey.sub.${zone}`, "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"),
    cnameSet(`selector1._domainkey.ok.${zone}`, target(1, `ok.${zone}`)),
    cnameSet(`selector2._domainkey.ok.${zone}`, target(2, `ok.${zone}`)),
  ];
}
const domainsOf = (zone: string) => [zone, `sub.${zone}`, `ok.${zone}`];
const selectorNames = (zone: string) =>
  domainsOf(zone).flatMap((d) => [`selector1._domainkey.${d}`, `selector2._domainkey.${d}`]);

/**
 * What an untampered apply --force leaves: foreign records as they were, the six CNAMEs as
 * configured. The SOA is left out: PowerDNS raises its serial on every API write (SOA-EDIT-API,
 * RFC 1982 serial arithmetic); compare with withoutSoa(). An untouched zone keeps even its SOA.
 */
function expected(zone: string, before: RecordSet[]): string[] {
  const managed = new Set(selectorNames(zone));
  const kept = before.filter((s) => !managed.has(s.name) && s.type !== "SOA");
  const want = domainsOf(zone).flatMap((d) => [
    cnameSet(`selector1._domainkey.${d}`, target(1, d)),
    cnameSet(`selector2._domainkey.${d}`, target(2, d)),
  ]);
  return sortedZone([...kept, ...want]);
}

// ---------------------------------------------------------------------------------------------
// The mutation table.

interface Mutation {
  label: string;
  /** True when the mutated field decides a write: the run must be refused and nothing written. */
  decisive: boolean;
  /** It rewrites the top-level changes/conflicts/summary from the zones. */
  resummarises?: boolean;
  /** It edits a top-level list, which a later resummarising mutation overwrites again. */
  topLevel?: boolean;
  apply(plan: Json, zone: string): void;
}

/** Keys under a zone whose values only describe (text for people): changing them changes no write. */
const COSMETIC_KEYS = new Set(["reason", "warnings", "unchanged"]);

function leafPaths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const out: (string | number)[][] = Array.isArray(value) ? [prefix] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  for (const [k, v] of entries) out.push(...leafPaths(v, [...prefix, k]));
  return out;
}

function getAt(obj: Json, p: (string | number)[]): Json {
  return p.reduce((o, k) => o?.[k], obj);
}

function setAt(obj: Json, p: (string | number)[], v: Json): void {
  const parent = getAt(obj, p.slice(0, -1));
  parent[p[p.length - 1] as string | number] = v;
}

/** A different value of the same kind, chosen so an attacker gains from it where possible. */
function replacement(old: Json, key: string | number, zone: string, n: number): Json {
  if (Array.isArray(old))
    return n % 2 === 0 && old.length > 0 ? old.slice(0, -1) : [...old, old[0] ?? `_dmarc.${zone}`];
  if (old === null)
    return {
      name: zone,
      type: "MX",
      ttl: 3600,
      values: [`10 ${zone.replace(/\./g, "-")}.mail.protection.outlook.com`],
    };
  if (typeof old === "number")
    return [old + 1, 0, 1, 2147483647][n % 4] === old ? old + 7 : [old + 1, 0, 1, 2147483647][n % 4];
  if (typeof old === "string") {
    if (key === "action") return old === "create" ? "update" : old === "update" ? "delete" : "create";
    if (key === "type") return ["TXT", "MX", "A", "CNAME"].find((t) => t !== old);
    if (key === "fingerprint") return `${old.slice(0, -1)}${old.endsWith("0") ? "1" : "0"}`;
    const attacks = [
      `_dmarc.${zone}`,
      `www.${zone}`,
      zone,
      "attacker.example.net",
      `SELECTOR1._domainkey.${zone}`,
      "x y.example.net",
    ];
    const pick = attacks[n % attacks.length] as string;
    return pick === old ? `${old}.attacker.example.net` : pick;
  }
  return undefined;
}

/** Keep the top-level changes/conflicts/summary consistent with the zones (a careful attacker). */
function resummarise(plan: Json): void {
  try {
    const shown = planToJson({ zones: plan.zones as ZonePlan[], errors: [] });
    plan.changes = shown.changes;
    plan.conflicts = shown.conflicts;
    plan.summary = shown.summary;
  } catch {
    // A zone too broken to summarise: leave the old lists (the load check refuses it anyway).
  }
}

function generated(sample: Json, zone: string): Mutation[] {
  const out: Mutation[] = [];
  let n = 0;
  for (const p of leafPaths(sample.zones[0], ["zones", 0])) {
    if (p.length <= 2) continue;
    const key = p[p.length - 1] as string | number;
    const decisive = !p.some((k) => typeof k === "string" && COSMETIC_KEYS.has(k));
    const i = n++;
    for (const careful of [false, true]) {
      out.push({
        label: `${p.join(".")}${careful ? " (summary kept consistent)" : ""}`,
        decisive,
        resummarises: careful,
        apply(plan, z) {
          setAt(plan, p, replacement(getAt(plan, p), key, z, i));
          if (careful) resummarise(plan);
        },
      });
    }
  }
  // Top-level fields: what people read and the file's metadata.
  for (const p of leafPaths({
    created_at: 1,
    config_hash: 1,
    version: 1,
    summary: sample.summary,
    changes: sample.changes,
    conflicts: sample.conflicts,
    plan_errors: sample.plan_errors,
  })) {
    if (p.length === 0) continue;
    const key = p[p.length - 1] as string | number;
    const top = p[0] as string;
    // The lists shown to reviewers must match the zones; the version must be 1. Metadata and the
    // summary counts only inform.
    const decisive = top === "changes" || top === "conflicts" || top === "version";
    const i = n++;
    out.push({
      label: p.join("."),
      decisive,
      topLevel: top === "changes" || top === "conflicts" || top === "summary",
      apply: (plan, z) => setAt(plan, p, replacement(getAt(plan, p), key, z, i)),
    });
  }
  void zone;
  return out;
}

/** The attacks of the issue, by name. */
function named(): Mutation[] {
  const zoneOf = (plan: Json) => plan.zones[0] as Json;
  return [
    {
      label: "issue 8.1: a conflict for _dmarc with a desired CNAME to attacker.example.net",
      decisive: true,
      apply(plan, zone) {
        zoneOf(plan).conflicts.push({
          name: `_dmarc.${zone}`,
          type: "TXT",
          ttl: 3600,
          values: ["v=DMARC1; p=reject"],
          reason: "x",
          desired: cnameSet(`_dmarc.${zone}`, "attacker.example.net"),
        });
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "issue 8.1: the same for www, with _dmarc/www also added to names",
      decisive: true,
      apply(plan, zone) {
        zoneOf(plan).names.push(`www.${zone}`);
        zoneOf(plan).conflicts.push({
          name: `www.${zone}`,
          type: "A",
          ttl: 3600,
          values: ["192.0.2.10"],
          reason: "x",
          desired: cnameSet(`www.${zone}`, "attacker.example.net"),
        });
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "issue 8.2: a selector create turned into an update whose before is the apex MX",
      decisive: true,
      apply(plan, zone) {
        const c = zoneOf(plan).changes.find((x: Json) => x.action === "create");
        c.action = "update";
        c.before = {
          name: zone,
          type: "MX",
          ttl: 3600,
          values: [`10 ${zone.replace(/\./g, "-")}.mail.protection.outlook.com`],
        };
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "issue 8.2: a delete whose before is www",
      decisive: true,
      apply(plan, zone) {
        const c = zoneOf(plan).changes[0];
        c.action = "delete";
        c.after = null;
        c.before = { name: `www.${zone}`, type: "A", ttl: 3600, values: ["192.0.2.10"] };
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "a delete of the apex MX, named as such",
      decisive: true,
      apply(plan, zone) {
        zoneOf(plan).changes.push({
          action: "delete",
          name: zone,
          type: "MX",
          before: { name: zone, type: "MX", ttl: 3600, values: ["10 x.example"] },
          after: null,
        });
        zoneOf(plan).names.push(zone);
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "the conflict dropped (so --force looks harmless) with the summary kept",
      decisive: true,
      apply(plan) {
        zoneOf(plan).conflicts = [];
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "every change dropped but the fingerprint kept",
      decisive: true,
      apply(plan) {
        zoneOf(plan).changes = [];
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "the zone moved to another provider name",
      decisive: true,
      apply(plan) {
        zoneOf(plan).provider = "other";
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "a second copy of the zone entry",
      decisive: true,
      apply(plan) {
        plan.zones.push(structuredClone(zoneOf(plan)));
        resummarise(plan);
      },
      resummarises: true,
    },
    {
      label: "a plan error invented for a configured domain",
      decisive: false,
      apply(plan, zone) {
        plan.plan_errors.push({ provider: "p", domain: zone, message: "x" });
      },
    },
  ];
}

/** A small seeded generator (mulberry32), so the combination table is the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function combinations(single: Mutation[], count: number): Mutation[] {
  const rnd = prng(8);
  const out: Mutation[] = [];
  for (let i = 0; i < count; i++) {
    const k = 2 + Math.floor(rnd() * 2);
    const picks = Array.from({ length: k }, () => single[Math.floor(rnd() * single.length)] as Mutation);
    out.push({
      label: `combination ${i + 1}: ${picks.map((m) => m.label).join(" + ")}`,
      // A top-level edit followed by a mutation that rewrites the top-level lists is undone.
      decisive: picks.some((m, j) => m.decisive && !(m.topLevel && picks.slice(j + 1).some((x) => x.resummarises))),
      apply(plan, zone) {
        for (const m of picks) {
          try {
            m.apply(plan, zone);
          } catch {
            // An earlier mutation removed what this one edits: the combination is still a tampering.
          }
        }
      },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** Figures for docs/safety.md, printed once per backend. */
const figures: Record<string, { cases: number; refused: number; accepted: number }> = {};

function tamperSuite(t: ConformanceTarget, opts: { sample?: number } = {}): void {
  describe(`saved-plan tampering: provider ${t.type}`, () => {
    let backend: ConformanceBackend;
    let dir: string;
    let counter = 0;
    let sample: Json;
    const saved = { env: new Map<string, string | undefined>() };

    beforeAll(async () => {
      backend = await t.start();
      dir = await tempDir(`tamper-${t.type}`);
      for (const [k, v] of Object.entries(backend.env ?? {})) {
        saved.env.set(k, process.env[k]);
        process.env[k] = v;
      }
      sample = (await prepare()).plan;
      figures[t.type] = { cases: 0, refused: 0, accepted: 0 };
    }, 60_000);
    afterAll(async () => {
      for (const [k, v] of saved.env) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await backend?.close();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
      const f = figures[t.type];
      if (f)
        process.stderr.write(
          `tamper figures ${t.type}: ${f.cases} tampered plans applied, ${f.refused} refused, ${f.accepted} accepted (cosmetic fields only)\n`,
        );
    });

    /** A fresh zone and config, and a saved plan for it. */
    async function prepare(): Promise<{ zone: string; config: string; planFile: string; plan: Json }> {
      const zone = `c${++counter}-tamper.example`;
      await backend.createZone(zone, seed(zone));
      const caseDir = path.join(dir, `case${counter}`);
      await fs.mkdir(caseDir);
      const config = await writeConfig(caseDir, t.type, backend.providerOptions, domainsOf(zone));
      const planFile = path.join(caseDir, "plan.json");
      const r = await run(["plan", "-c", config, "--out", planFile]);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      return { zone, config, planFile, plan: JSON.parse(await fs.readFile(planFile, "utf8")) };
    }

    it("the untampered plan applies and writes exactly the expected zone", async () => {
      const c = await prepare();
      const before = await backend.readZone(c.zone);
      const r = await run(["apply", "-c", c.config, "--plan", c.planFile, "--force"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(sortedZone((await backend.readZone(c.zone)).filter((x) => x.type !== "SOA"))).toEqual(
        expected(c.zone, before),
      );
    }, 30_000);

    it("a record that appeared at a selector name after the plan refuses the zone, nothing written", async () => {
      const c = await prepare();
      await backend.put(c.zone, txtSet(`selector2._domainkey.${c.zone}`, "v=DKIM1; p=NEW"));
      const before = await backend.readZone(c.zone);
      const r = await run(["apply", "-c", c.config, "--plan", c.planFile, "--force"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/REFUSED/);
      expect(sortedZone(await backend.readZone(c.zone))).toEqual(sortedZone(before));
    }, 30_000);

    it("every tampering in the generated table writes nothing outside the fresh plan", async () => {
      const single = [...named(), ...generated(sample, "ZONE")];
      let all = [...single, ...combinations(single, 40)];
      if (opts.sample !== undefined) {
        // A deterministic subset for slower backends: the named attacks plus every k-th case.
        const step = Math.max(1, Math.floor(all.length / opts.sample));
        all = [...named(), ...all.filter((_, i) => i % step === 0)];
      }
      const failures: string[] = [];
      for (const m of all) {
        const c = await prepare();
        const plan = structuredClone(c.plan);
        try {
          m.apply(plan, c.zone);
        } catch {
          continue;
        }
        if (JSON.stringify(plan) === JSON.stringify(c.plan)) continue;
        await fs.writeFile(c.planFile, JSON.stringify(plan, null, 2));
        const before = await backend.readZone(c.zone);
        const r = await run(["apply", "-c", c.config, "--plan", c.planFile, "--force"]);
        const after = sortedZone(await backend.readZone(c.zone));
        const f = figures[t.type] as { cases: number; refused: number; accepted: number };
        f.cases++;
        if (r.code === 0) f.accepted++;
        else f.refused++;
        const untouched = JSON.stringify(after) === JSON.stringify(sortedZone(before));
        const asPlanned =
          JSON.stringify(after.filter((l) => !/^\S+ SOA /.test(l))) === JSON.stringify(expected(c.zone, before));
        const problems: string[] = [];
        if (!untouched && !asPlanned) problems.push(`zone holds something no fresh plan writes:\n${after.join("\n")}`);
        if (m.decisive && r.code !== 1) problems.push(`exit ${r.code}, expected 1 (refused)`);
        if (m.decisive && !untouched) problems.push("the zone was written although the plan was tampered with");
        if (/internal error|\n\s+at /.test(r.stdout + r.stderr))
          problems.push(`internal error or stack trace: ${r.stderr}`);
        if (r.code !== 0 && r.code !== 1) problems.push(`exit code ${r.code}`);
        if (problems.length > 0)
          failures.push(
            `${m.label}: ${problems.join("; ")}\n  stdout: ${r.stdout.slice(0, 400)}\n  stderr: ${r.stderr.slice(0, 400)}`,
          );
      }
      expect(failures).toEqual([]);
      // The table is a real table: it must have run a substantial number of tampered applies.
      expect((figures[t.type] as { cases: number }).cases).toBeGreaterThan(opts.sample === undefined ? 150 : 40);
    }, 600_000);
  });
}

tamperSuite(yamlTarget);
tamperSuite(powerdnsTarget);
tamperSuite(route53Unthrottled, { sample: 60 });
tamperSuite(cloudflareTarget, { sample: 40 });
