/**
 * Route 53 at scale, through the real `@aws-sdk/client-route-53` against the loopback fake
 * (test/fakes/route53). Request counts come from the fake's own per-operation counters.
 *
 * Read budget: a name-range reader needs at most ceil(span / 300) pages per zone, where span is
 * the number of record sets the server holds between the zone's first and last selector name
 * in Route 53's order (300 record sets a page: Route 53 API reference, ListResourceRecordSets).
 * The span is counted on the fake's own sorted data, not with dkimsync's ordering code.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startRoute53Fake, type Route53Fake } from "../test/fakes/route53/server.js";
import { compareWire, wireName } from "../test/fakes/route53/state.js";
import { configYaml, makeDataset, type Dataset, type DatasetShape } from "./dataset.js";
import { planAndClose, runProblems, timedApply, timedPlan } from "./pipeline.js";
import { closeProviders } from "../src/plan/build.js";
import { budgetViolations, naiveFigures, requestFigures, type PhaseCounts } from "./requests.js";
import type { Section } from "./report.js";
import { useTestCredentials } from "../test/fakes/route53/credentials.js";

const PAGE = 300;

/** A value as a person would have sent it to Route 53: TXT quoted, names with their dot. */
function wireValue(type: string, v: string): string {
  if (type === "TXT") return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  if (type === "CNAME") return `${v}.`;
  if (type === "MX") return `${v}.`;
  return v;
}

function seed(fake: Route53Fake, ds: Dataset): Map<string, string> {
  const ids = new Map<string, string>();
  for (const z of ds.zones) {
    const zone = fake.state.createZone(z.name);
    ids.set(z.name, zone.id);
    for (const r of z.records)
      fake.state.put(zone.id, {
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        values: r.values.map((v) => wireValue(r.type, v)),
      });
  }
  return ids;
}

/** Pages a correct name-range reader may need per zone, summed over the given zones. */
function pageBudget(fake: Route53Fake, ds: Dataset, ids: Map<string, string>, only?: Set<string>): number {
  let pages = 0;
  for (const z of ds.zones) {
    if (only && !only.has(z.name)) continue;
    const sorted = fake.state.sorted(ids.get(z.name) as string);
    const wanted = z.domains
      .flatMap((d) => [`selector1._domainkey.${d.name}`, `selector2._domainkey.${d.name}`])
      .map((n) => ({ name: wireName(n) }))
      .sort(compareWire);
    const first = wanted[0];
    const last = wanted[wanted.length - 1];
    if (!first || !last) continue;
    const lo = sorted.findIndex((r) => compareWire({ name: r.name }, first) >= 0);
    const hiIdx = sorted.findIndex((r) => compareWire({ name: r.name }, last) > 0);
    const span = (hiIdx < 0 ? sorted.length : hiIdx) - (lo < 0 ? sorted.length : lo);
    pages += Math.max(1, Math.ceil(span / PAGE));
  }
  return pages;
}

const reads = (f: Route53Fake) => f.counts.ListResourceRecordSets;
const writes = (f: Route53Fake) => f.counts.ChangeResourceRecordSets;
// `reset` is not enumerable: Object.values sees only the per-operation numbers.
const total = (f: Route53Fake) => (Object.values(f.counts) as number[]).reduce((a, b) => a + b, 0);

function snapshot(f: Route53Fake): PhaseCounts {
  const c: PhaseCounts = { total: total(f), reads: reads(f), writes: writes(f) };
  f.counts.reset();
  return c;
}

export async function benchRoute53Scale(
  shape: DatasetShape,
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[] }> {
  const ds = makeDataset(shape);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-r53-"));
  const aws = useTestCredentials(dir, "benchmark");
  const fake = await startRoute53Fake({ rateLimit: false });
  try {
    const ids = seed(fake, ds);
    const file = path.join(dir, "dkim.zones.yaml");
    // max_rps 100 is the option's ceiling; the fake's rate limit is off for the scale run.
    await fs.writeFile(file, configYaml(ds, "route53", { endpoint: fake.endpoint, region: "us-east-1", max_rps: 100 }));
    const env = { ...process.env };
    const planBudget = pageBudget(fake, ds, ids);
    fake.counts.reset();

    log(`route53: plan of ${ds.domains.length} domains in ${ds.zones.length} zones`);
    const planned = await timedPlan(file, env);
    const plan = snapshot(fake);
    let applied;
    try {
      log("route53: apply");
      applied = await timedApply(planned);
    } finally {
      await closeProviders(planned.providers);
    }
    const apply = snapshot(fake);
    const changed = new Set(planned.plan.zones.filter((z) => z.changes.length > 0).map((z) => z.zone));
    const applyBudget = pageBudget(fake, ds, ids, changed);
    log("route53: second plan");
    const replanned = await planAndClose(file, env);
    const replan = snapshot(fake);

    const violations = [
      ...runProblems("route53 plan", planned, applied.result),
      ...runProblems("route53 re-plan", replanned),
    ];
    violations.push(...budgetViolations("route53", ds, planned, replanned, { plan, apply, planBudget, applyBudget }));
    const figures = [
      ...requestFigures({ ds, planned, plan, apply, replan, replanned }),
      {
        label: "plan record reads budget (pages)",
        value: planBudget,
        note: "sum over zones of ceil(span/300): the most a name-range reader may need",
      },
      ...naiveFigures({ ds, planned, plan, apply }),
      {
        label: "plan wall time (orientation only)",
        value: `${(planned.planMs / 1000).toFixed(1)} s`,
        note: "bounded by max_rps 100, the client-side limit",
      },
      { label: "apply wall time (orientation only)", value: `${(applied.applyMs / 1000).toFixed(1)} s` },
    ];
    return {
      section: {
        title: `Route 53 (fake, real SDK): ${ds.domains.length} domains in ${ds.zones.length} zones`,
        figures,
      },
      violations,
    };
  } finally {
    await fake.stop();
    aws.restore();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Plan the dataset with every response held latencyMs, at concurrency 1 and then 8. */
export async function benchRoute53Concurrency(
  shape: DatasetShape,
  latencyMs: number,
  log: (m: string) => void,
): Promise<{ c1: number; c8: number; zones: number; requests: number }> {
  const ds = makeDataset(shape);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-r53c-"));
  const aws = useTestCredentials(dir, "benchmark");
  const fake = await startRoute53Fake({ rateLimit: false, latencyMs });
  try {
    seed(fake, ds);
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(file, configYaml(ds, "route53", { endpoint: fake.endpoint, region: "us-east-1", max_rps: 100 }));
    const env = { ...process.env };
    log(`route53: plan at concurrency 1 and 8, ${latencyMs} ms per response`);
    fake.counts.reset();
    const one = await planAndClose(file, env, 1);
    const requests = total(fake);
    const eight = await planAndClose(file, env, 8);
    const problems = [...runProblems("c1", one), ...runProblems("c8", eight)];
    if (problems.length > 0) throw new Error(`route53 concurrency run failed: ${problems.join("; ")}`);
    return { c1: one.planMs, c8: eight.planMs, zones: ds.zones.length, requests };
  } finally {
    await fake.stop();
    aws.restore();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
