/**
 * Cloudflare at scale, through the real `cloudflare` SDK against the loopback fake
 * (test/fakes/cloudflare). Request counts come from the fake's request log.
 *
 * Read budget: one record listing per zone (page 1), plus continuation pages; pages in all at
 * most ceil(records / 100) per zone, 100 being the API's default per_page (Cloudflare API
 * reference, List DNS Records), so a reader that pages at least that coarsely stays inside it.
 *
 * The fake has no constant-latency option; the concurrency run queues one `faults.delayNext`
 * per expected request instead (the fake holds each response for the next queued delay).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startCloudflareFake, type CloudflareFake } from "../test/fakes/cloudflare/server.js";
import { closeProviders } from "../src/plan/build.js";
import { configYaml, makeDataset, type Dataset, type DatasetShape } from "./dataset.js";
import { planAndClose, runProblems, timedApply, timedPlan } from "./pipeline.js";
import type { Section } from "./report.js";
import { budgetViolations, naiveFigures, requestFigures, type PhaseCounts } from "./requests.js";
import { toSeedRecords } from "../test/conformance/backends/cloudflare.js";

const ENV_NAME = "DKIMSYNC_BENCH_CF_TOKEN";
const DEFAULT_PER_PAGE = 100;
const WRITE_OPS = new Set(["batch", "createRecord", "patchRecord", "putRecord", "deleteRecord"]);
/** Far above any count this benchmark reaches: the scale run measures requests, not limits. */
const NO_LIMIT = 1_000_000_000;

function seed(fake: CloudflareFake, ds: Dataset): void {
  for (const z of ds.zones) {
    const zone = fake.state.addZone({ name: z.name });
    for (const set of z.records) for (const r of toSeedRecords(set)) fake.state.createRecord(zone, r);
  }
}

function pageBudget(fake: CloudflareFake, ds: Dataset, only?: Set<string>): number {
  let pages = 0;
  for (const z of ds.zones) {
    if (only && !only.has(z.name)) continue;
    pages += Math.max(1, Math.ceil(fake.state.zone(z.name).records.length / DEFAULT_PER_PAGE));
  }
  return pages;
}

function snapshot(fake: CloudflareFake): PhaseCounts {
  let reads = 0;
  let firstPageReads = 0;
  let writes = 0;
  for (const r of fake.log) {
    if (r.operation === "listRecords") {
      reads++;
      if (r.query["page"] === undefined || r.query["page"] === "1") firstPageReads++;
    } else if (WRITE_OPS.has(r.operation)) writes++;
  }
  const c: PhaseCounts = { total: fake.log.length, reads, firstPageReads, writes };
  fake.resetCounts();
  return c;
}

async function start(
  ds: Dataset,
): Promise<{ fake: CloudflareFake; dir: string; file: string; env: NodeJS.ProcessEnv }> {
  const token = randomBytes(20).toString("hex");
  const fake = await startCloudflareFake({ tokens: [token], rateLimit: NO_LIMIT });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-cf-"));
  seed(fake, ds);
  const file = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(
    file,
    configYaml(ds, "cloudflare", { token: `env/${ENV_NAME}`, base_url: fake.baseURL, max_requests_per_5min: NO_LIMIT }),
  );
  return { fake, dir, file, env: { ...process.env, [ENV_NAME]: token } };
}

export async function benchCloudflareScale(
  shape: DatasetShape,
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[] }> {
  const ds = makeDataset(shape);
  const { fake, dir, file, env } = await start(ds);
  try {
    const planBudget = pageBudget(fake, ds);
    fake.resetCounts();
    log(`cloudflare: plan of ${ds.domains.length} domains in ${ds.zones.length} zones`);
    const planned = await timedPlan(file, env);
    const plan = snapshot(fake);
    let applied;
    try {
      log("cloudflare: apply");
      applied = await timedApply(planned);
    } finally {
      await closeProviders(planned.providers);
    }
    const apply = snapshot(fake);
    const changed = new Set(planned.plan.zones.filter((z) => z.changes.length > 0).map((z) => z.zone));
    const applyBudget = pageBudget(fake, ds, changed);
    log("cloudflare: second plan");
    const replanned = await planAndClose(file, env);
    const replan = snapshot(fake);

    const violations = [
      ...runProblems("cloudflare plan", planned, applied.result),
      ...runProblems("cloudflare re-plan", replanned),
    ];
    violations.push(
      ...budgetViolations("cloudflare", ds, planned, replanned, { plan, apply, planBudget, applyBudget }),
    );
    const figures = [
      ...requestFigures({ ds, planned, plan, apply, replan, replanned }),
      { label: "plan record reads budget (pages)", value: planBudget, note: "sum over zones of ceil(records/100)" },
      ...naiveFigures({ ds, planned, plan, apply }),
      { label: "plan wall time (orientation only)", value: `${(planned.planMs / 1000).toFixed(1)} s` },
      { label: "apply wall time (orientation only)", value: `${(applied.applyMs / 1000).toFixed(1)} s` },
    ];
    return {
      section: {
        title: `Cloudflare (fake, real SDK): ${ds.domains.length} domains in ${ds.zones.length} zones`,
        figures,
      },
      violations,
    };
  } finally {
    await fake.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Plan the dataset with every response held latencyMs, at concurrency 1 and then 8. */
export async function benchCloudflareConcurrency(
  shape: DatasetShape,
  latencyMs: number,
  log: (m: string) => void,
): Promise<{ c1: number; c8: number; zones: number; requests: number }> {
  const ds = makeDataset(shape);
  const { fake, dir, file, env } = await start(ds);
  try {
    log(`cloudflare: plan at concurrency 1 and 8, ${latencyMs} ms per response`);
    // Count the requests of one plan first, then queue exactly that many delays per run.
    fake.resetCounts();
    await planAndClose(file, env, 8);
    const requests = fake.log.length;
    const timed = async (concurrency: number) => {
      fake.faults.clear();
      for (let i = 0; i < requests; i++) fake.faults.delayNext(latencyMs);
      const p = await planAndClose(file, env, concurrency);
      fake.faults.clear();
      const problems = runProblems(`c${concurrency}`, p);
      if (problems.length > 0) throw new Error(`cloudflare concurrency run failed: ${problems.join("; ")}`);
      return p.planMs;
    };
    const c1 = await timed(1);
    const c8 = await timed(8);
    return { c1, c8, zones: ds.zones.length, requests };
  } finally {
    await fake.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
