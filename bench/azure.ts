/**
 * Azure DNS at scale, through the real `@azure/arm-dns` and `@azure/identity` against the
 * loopback HTTPS fake (test/fakes/azure). Request counts come from the fake's own log.
 *
 * Read floor: one listing per zone, 100 record sets a page (the API's default `$top`), of the
 * record sets whose relative names end with the labels all the zone's selector names share
 * (`$recordsetnamesuffix`; none when they share none, e.g. apex and subdomain selectors): the
 * sum over zones of ceil(matching / 100), counted on the fake's own data.
 *
 * Write floor: Azure DNS has no request that writes several record sets, so the fewest writes
 * are one PUT or DELETE per changed record set: the plan's change count. (The shared budget of
 * one write per zone, for providers with batch writes, does not apply; it is checked as this.)
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startAzureFake, type AzureFake } from "../test/fakes/azure/server.js";
import { wireData } from "../test/fakes/azure/state.js";
import { configYaml, makeDataset, type Dataset, type DatasetShape } from "./dataset.js";
import { changeCount, planAndClose, runProblems, timedApply, timedPlan } from "./pipeline.js";
import { closeProviders } from "../src/plan/build.js";
import { budgetViolations, naiveFigures, requestFigures, type PhaseCounts } from "./requests.js";
import type { Section } from "./report.js";

const PAGE = 100;
const RG = "bench-rg";

const relative = (name: string, zone: string) => (name === zone ? "@" : name.slice(0, -(zone.length + 1)));

function seed(fake: AzureFake, ds: Dataset): void {
  for (const z of ds.zones) {
    const zone = fake.state.createZone(fake.subscriptionId, RG, z.name);
    for (const r of z.records)
      fake.state.put(zone, relative(r.name, z.name), r.type, { ttl: r.ttl, data: wireData(r.type, r.values) });
  }
}

/** The labels every name shares at its end, leaving at least one label in front; "" for none. */
function sharedTail(names: string[]): string {
  const split = names.map((n) => n.split("."));
  const tail: string[] = [];
  for (let i = 1; split.every((l) => l.length > i); i++) {
    const label = split[0]![split[0]!.length - i];
    if (!split.every((l) => l[l.length - i] === label)) break;
    tail.unshift(label as string);
  }
  return tail.join(".");
}

/** The read floor (see the header), summed over the given zones. */
function pageFloor(fake: AzureFake, ds: Dataset, only?: Set<string>): number {
  let pages = 0;
  for (const z of ds.zones) {
    if (only && !only.has(z.name)) continue;
    const names = z.domains.flatMap((d) => [1, 2].map((n) => relative(`selector${n}._domainkey.${d.name}`, z.name)));
    if (names.length === 0) continue;
    const tail = sharedTail(names);
    const sets = fake.state.zone(fake.subscriptionId, RG, z.name).sets;
    const matching = tail === "" ? sets.length : sets.filter((s) => s.name.toLowerCase().endsWith(`.${tail}`)).length;
    pages += Math.max(1, Math.ceil(matching / PAGE));
  }
  return pages;
}

function snapshot(f: AzureFake): PhaseCounts {
  const reads = f.log.filter((e) => e.operation === "listRecordSets" || e.operation === "getRecordSet");
  const c: PhaseCounts = {
    total: f.log.length,
    reads: reads.length,
    firstPageReads: reads.filter((e) => e.query["$skipToken"] === undefined).length,
    writes: f.log.filter((e) => e.operation === "putRecordSet" || e.operation === "deleteRecordSet").length,
  };
  f.resetCounts();
  return c;
}

export async function benchAzureScale(
  shape: DatasetShape,
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[] }> {
  const ds = makeDataset(shape);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-az-"));
  const fake = await startAzureFake();
  try {
    seed(fake, ds);
    const caFile = path.join(dir, "ca.pem");
    await fs.writeFile(caFile, fake.ca);
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(
      file,
      configYaml(ds, "azure", {
        subscription_id: fake.subscriptionId,
        tenant_id: fake.tenantId,
        client_id: fake.clientId,
        client_secret: "env/AZURE_BENCH_SECRET",
        endpoint: fake.endpoint,
        authority_host: fake.authorityHost,
        ca_file: caFile,
      }),
    );
    const env = { ...process.env, AZURE_BENCH_SECRET: fake.clientSecret };
    const planBudget = pageFloor(fake, ds);
    fake.resetCounts();

    log(`azure: plan of ${ds.domains.length} domains in ${ds.zones.length} zones`);
    const planned = await timedPlan(file, env);
    const plan = snapshot(fake);
    let applied;
    try {
      log("azure: apply");
      applied = await timedApply(planned);
    } finally {
      await closeProviders(planned.providers);
    }
    const apply = snapshot(fake);
    const changed = new Set(planned.plan.zones.filter((z) => z.changes.length > 0).map((z) => z.zone));
    const applyBudget = pageFloor(fake, ds, changed);
    log("azure: second plan");
    const replanned = await planAndClose(file, env);
    const replan = snapshot(fake);

    const changes = changeCount(planned.plan);
    const violations = [
      ...runProblems("azure plan", planned, applied.result),
      ...runProblems("azure re-plan", replanned),
    ];
    // The per-record-set write floor replaces the shared per-zone write budget (see the header).
    violations.push(
      ...budgetViolations("azure", ds, planned, replanned, {
        plan,
        apply: { ...apply, writes: 0 },
        planBudget,
        applyBudget,
      }),
    );
    if (apply.writes > changes)
      violations.push(
        `azure: apply made ${apply.writes} writes for ${changes} changed record sets (floor and budget: 1 per record set)`,
      );
    const figures = [
      ...requestFigures({ ds, planned, plan, apply, replan, replanned }),
      {
        label: "plan record reads floor (pages)",
        value: planBudget,
        note: "sum over zones of ceil(matching/100) with the shared-suffix filter",
      },
      { label: "apply writes floor", value: changes, note: "Azure DNS writes one record set per request" },
      ...naiveFigures({ ds, planned, plan, apply }),
      { label: "plan wall time (orientation only)", value: `${(planned.planMs / 1000).toFixed(1)} s` },
      { label: "apply wall time (orientation only)", value: `${(applied.applyMs / 1000).toFixed(1)} s` },
    ];
    return {
      section: {
        title: `Azure DNS (fake, real SDK): ${ds.domains.length} domains in ${ds.zones.length} zones`,
        figures,
      },
      violations,
    };
  } finally {
    await fake.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
