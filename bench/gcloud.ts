/**
 * Google Cloud DNS at scale, through the real provider and google-auth-library against the
 * loopback Cloud DNS server (test/fakes/gcloud). Request counts come from the server's log.
 *
 * Read floor: rrsets.list takes one exact `name` per request (Cloud DNS API v1 reference,
 * resourceRecordSets.list), so reading only the selector names costs exactly two requests per
 * domain, however the zone is laid out; that floor is the plan's read budget here (a read of
 * the whole zone would be one request per zone plus paging, but would fetch every foreign
 * record). Writes: one changes.create per zone with changes.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startGcloudFake, type GcloudFake } from "../test/fakes/gcloud/server.js";
import { toSeedRrset } from "../test/conformance/backends/gcloud.js";
import { closeProviders } from "../src/plan/build.js";
import { configYaml, makeDataset, type Dataset, type DatasetShape } from "./dataset.js";
import { planAndClose, runProblems, timedApply, timedPlan } from "./pipeline.js";
import type { Section } from "./report.js";
import { budgetViolations, naiveFigures, requestFigures, type PhaseCounts } from "./requests.js";

const ENV_NAME = "DKIMSYNC_BENCH_GCLOUD_KEY";
const PROJECT = "bench-project";

function snapshot(fake: GcloudFake): PhaseCounts {
  let reads = 0;
  let writes = 0;
  for (const r of fake.log) {
    if (r.operation === "listRrsets") reads++;
    else if (r.operation === "createChange") writes++;
  }
  // firstPageReads is left out: every name-filtered read starts a listing of its own, so the
  // "one listing per zone" budget does not apply; the read floor below does.
  const c: PhaseCounts = { total: fake.log.length, reads, writes };
  fake.resetCounts();
  return c;
}

/** Two reads per domain of the given zones: the floor of name-restricted reads. */
function readFloor(ds: Dataset, only?: Set<string>): number {
  return ds.domains.filter((d) => !only || only.has(d.zone)).length * 2;
}

export async function benchGcloudScale(
  shape: DatasetShape,
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[] }> {
  const ds = makeDataset(shape);
  const fake = await startGcloudFake();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-gc-"));
  try {
    fake.state.pendingGets = 0;
    fake.state.project(PROJECT);
    for (const z of ds.zones) fake.state.createZone(PROJECT, z.name, { rrsets: z.records.map(toSeedRrset) });
    const key = fake.createServiceAccount(`bench@${PROJECT}.iam.gserviceaccount.com`, { projects: [PROJECT] });
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(
      file,
      configYaml(ds, "gcloud", {
        project: PROJECT,
        credentials: `env/${ENV_NAME}`,
        endpoint: fake.endpoint,
        token_url: fake.tokenUrl,
      }),
    );
    const env = { ...process.env, [ENV_NAME]: JSON.stringify(key) };

    fake.resetCounts();
    log(`gcloud: plan of ${ds.domains.length} domains in ${ds.zones.length} zones`);
    const planned = await timedPlan(file, env);
    const plan = snapshot(fake);
    let applied;
    try {
      log("gcloud: apply");
      applied = await timedApply(planned);
    } finally {
      await closeProviders(planned.providers);
    }
    const apply = snapshot(fake);
    const changed = new Set(planned.plan.zones.filter((z) => z.changes.length > 0).map((z) => z.zone));
    log("gcloud: second plan");
    const replanned = await planAndClose(file, env);
    const replan = snapshot(fake);

    const planBudget = readFloor(ds);
    const violations = [
      ...runProblems("gcloud plan", planned, applied.result),
      ...runProblems("gcloud re-plan", replanned),
    ];
    violations.push(
      ...budgetViolations("gcloud", ds, planned, replanned, {
        plan,
        apply,
        planBudget,
        applyBudget: readFloor(ds, changed),
      }),
    );
    const figures = [
      ...requestFigures({ ds, planned, plan, apply, replan, replanned }),
      {
        label: "plan record reads floor",
        value: planBudget,
        note: "2 per domain: rrsets.list takes one exact name per request",
      },
      ...naiveFigures({ ds, planned, plan, apply }),
      { label: "plan wall time (orientation only)", value: `${(planned.planMs / 1000).toFixed(1)} s` },
      { label: "apply wall time (orientation only)", value: `${(applied.applyMs / 1000).toFixed(1)} s` },
    ];
    return {
      section: {
        title: `Google Cloud DNS (fake, google-auth-library): ${ds.domains.length} domains in ${ds.zones.length} zones`,
        figures,
      },
      violations,
    };
  } finally {
    await fake.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
