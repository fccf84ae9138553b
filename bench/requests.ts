/**
 * Request counts of one provider run, the figures made from them, the same counts for a naive
 * tool computed from the same data, and the hard budgets that fail the benchmark.
 *
 * The naive tool reads each selector name with its own request and writes each record with its
 * own request (and, to verify like dkimsync does, re-reads each written name once); its other
 * requests (zone listing, zone settings) are taken to be the same as dkimsync's.
 */
import { expectedChanges, type Dataset } from "./dataset.js";
import { changeCount, zonesWithChanges, type Planned } from "./pipeline.js";
import { ratio, type Figure } from "./report.js";

export interface PhaseCounts {
  /** Every request the server received in the phase. */
  total: number;
  /** Record reads, every page included. */
  reads: number;
  /**
   * Record reads that started a listing (page 1), i.e. not continuation pages; undefined where
   * the server's counters cannot tell them apart (Route 53: every page names a start record).
   */
  firstPageReads?: number;
  /** Requests that change records. */
  writes: number;
}

interface Run {
  ds: Dataset;
  planned: Planned;
  plan: PhaseCounts;
  apply: PhaseCounts;
  replan: PhaseCounts;
  replanned: Planned;
}

export function requestFigures({ ds, planned, plan, apply, replan, replanned }: Run): Figure[] {
  const zones = ds.zones.length;
  const domains = ds.domains.length;
  const zc = zonesWithChanges(planned.plan);
  return [
    { label: "domains / zones / zones with changes", value: `${domains} / ${zones} / ${zc}` },
    {
      label: "record changes planned",
      value: changeCount(planned.plan),
      note: JSON.stringify({
        create: planned.summary.create,
        update: planned.summary.update,
        delete: planned.summary.delete,
      }),
    },
    { label: "plan: requests", value: plan.total },
    { label: "plan: requests per zone", value: ratio(plan.total, zones) },
    { label: "plan: requests per domain", value: ratio(plan.total, domains) },
    {
      label: "plan: record reads per zone",
      value: ratio(plan.reads, zones),
      note: `${plan.reads} reads${plan.firstPageReads === undefined ? "" : `, ${plan.firstPageReads} of them first pages`}`,
    },
    { label: "apply: requests", value: apply.total },
    { label: "apply: requests per zone with changes", value: ratio(apply.total, zc) },
    { label: "apply: requests per domain", value: ratio(apply.total, domains) },
    { label: "apply: writes per zone with changes", value: ratio(apply.writes, zc), note: `${apply.writes} writes` },
    {
      label: "apply: re-reads per zone with changes",
      value: ratio(apply.reads, zc),
      note: "apply reads every written zone back",
    },
    { label: "second plan: requests / changes left", value: `${replan.total} / ${changeCount(replanned.plan)}` },
  ];
}

export function naiveFigures({ ds, planned, plan, apply }: Omit<Run, "replan" | "replanned">): Figure[] {
  const changes = changeCount(planned.plan);
  const changedNames = new Set(planned.plan.zones.flatMap((z) => z.changes.map((c) => c.name))).size;
  const naiveReads = 2 * ds.domains.length;
  const naiveWrites = changes;
  const naiveTotal =
    plan.total - plan.reads + naiveReads + (apply.total - apply.reads - apply.writes) + naiveWrites + changedNames;
  const ours = plan.total + apply.total;
  return [
    {
      label: "naive: plan record reads",
      value: naiveReads,
      note: `one per selector name: dkimsync makes ${ratio(naiveReads, plan.reads).toFixed(1)}x fewer`,
    },
    {
      label: "naive: apply writes",
      value: naiveWrites,
      note: `one per record: dkimsync makes ${ratio(naiveWrites, apply.writes).toFixed(1)}x fewer`,
    },
    {
      label: "naive: plan + apply requests",
      value: naiveTotal,
      note: `dkimsync makes ${ratio(naiveTotal, ours).toFixed(1)}x fewer (${ours})`,
    },
  ];
}

export function budgetViolations(
  label: string,
  ds: Dataset,
  planned: Planned,
  replanned: Planned,
  c: { plan: PhaseCounts; apply: PhaseCounts; planBudget: number; applyBudget: number },
): string[] {
  const out: string[] = [];
  const exp = expectedChanges(ds);
  const s = planned.summary;
  const got = { create: s.create, update: s.update, delete: s.delete, unchanged: s.unchanged };
  const want = { create: exp.create, update: exp.update, delete: exp.delete, unchanged: exp.unchanged };
  if (JSON.stringify(got) !== JSON.stringify(want))
    out.push(`${label}: plan ${JSON.stringify(got)} does not match the data ${JSON.stringify(want)}`);
  const zc = zonesWithChanges(planned.plan);
  if (zc !== exp.zonesWithChanges)
    out.push(`${label}: ${zc} zones with changes planned, the data has ${exp.zonesWithChanges}`);
  if (c.plan.firstPageReads !== undefined && c.plan.firstPageReads > ds.zones.length) {
    out.push(
      `${label}: plan started ${c.plan.firstPageReads} record listings for ${ds.zones.length} zones (budget: 1 per zone, plus paging)`,
    );
  }
  if (c.plan.reads > c.planBudget)
    out.push(`${label}: plan made ${c.plan.reads} record reads; paging allows at most ${c.planBudget}`);
  if (c.apply.writes > zc)
    out.push(`${label}: apply made ${c.apply.writes} writes for ${zc} zones with changes (budget: 1 per zone)`);
  if (c.apply.firstPageReads !== undefined && c.apply.firstPageReads > zc)
    out.push(
      `${label}: apply started ${c.apply.firstPageReads} record listings for ${zc} zones with changes (budget: 1 per zone, plus paging)`,
    );
  if (c.apply.reads > c.applyBudget)
    out.push(`${label}: apply made ${c.apply.reads} record reads; paging allows at most ${c.applyBudget}`);
  const r = replanned.summary;
  if (r.create + r.update + r.delete + r.conflicts > 0)
    out.push(`${label}: the second plan is not empty: ${JSON.stringify(r)}`);
  return out;
}
