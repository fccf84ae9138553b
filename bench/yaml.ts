/**
 * The yaml provider at scale: octoDNS zone files in a temporary folder, planned and applied
 * through the real path. Wall times are reported only against a baseline measured in the same
 * run: reading and parsing every zone file once with the same YAML library the provider uses,
 * the least work any tool that edits these files must do.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseDocument, stringify } from "yaml";
import { closeProviders } from "../src/plan/build.js";
import { relativeName } from "../src/core/names.js";
import { configYaml, expectedChanges, makeDataset, type Dataset, type DatasetShape } from "./dataset.js";
import { MB, measurePeak } from "./memory.js";
import { changeCount, planAndClose, runProblems, timedApply, timedPlan } from "./pipeline.js";
import { toOctodns } from "../test/conformance/backends/yaml.js";
import { ratio, type Section } from "./report.js";

type FileRecord = Record<string, unknown>;

async function writeZones(dir: string, ds: Dataset): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const z of ds.zones) {
    const data: Record<string, FileRecord | FileRecord[]> = {};
    for (const set of [...z.records].sort((a, b) =>
      relativeName(a.name, z.name).localeCompare(relativeName(b.name, z.name)),
    )) {
      const key = relativeName(set.name, z.name);
      const prev = data[key];
      const rec = toOctodns(set);
      data[key] = prev === undefined ? rec : [...(Array.isArray(prev) ? prev : [prev]), rec];
    }
    await fs.writeFile(path.join(dir, `${z.name}.yaml`), `---\n${stringify(data, { lineWidth: 0 })}`);
  }
}

/** The baseline: read and parse every zone file once. */
async function readAll(dir: string): Promise<number> {
  const t0 = performance.now();
  let nodes = 0;
  for (const name of (await fs.readdir(dir)).sort()) {
    const doc = parseDocument(await fs.readFile(path.join(dir, name), "utf8"));
    if (doc.errors.length > 0) throw new Error(`${name}: ${doc.errors[0]?.message}`);
    nodes += doc.contents === null ? 0 : 1;
  }
  if (nodes === 0) throw new Error("no zone files parsed");
  return performance.now() - t0;
}

export async function benchYaml(
  shape: DatasetShape,
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[] }> {
  const ds = makeDataset(shape);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-yaml-"));
  try {
    const zonesDir = path.join(dir, "zones");
    await writeZones(zonesDir, ds);
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(file, configYaml(ds, "yaml", { directory: "./zones" }));
    const env = { ...process.env };

    log(`yaml: baseline read of ${ds.zones.length} zone files`);
    // Twice, keeping the second: the first also warms the page cache and the parser's code.
    await readAll(zonesDir);
    const baselineMs = await readAll(zonesDir);

    log(`yaml: plan and apply of ${ds.domains.length} domains`);
    const { value, memory } = await measurePeak(async () => {
      const planned = await timedPlan(file, env);
      try {
        const applied = await timedApply(planned);
        return { planned, applied };
      } finally {
        await closeProviders(planned.providers);
      }
    });
    const { planned, applied } = value;
    const replanned = await planAndClose(file, env);
    const baselineAfter = await readAll(zonesDir);

    const violations = [
      ...runProblems("yaml plan", planned, applied.result),
      ...runProblems("yaml re-plan", replanned),
    ];
    const exp = expectedChanges(ds);
    if (changeCount(planned.plan) !== exp.create + exp.update + exp.delete) {
      violations.push(
        `yaml: plan has ${changeCount(planned.plan)} changes, the data ${exp.create + exp.update + exp.delete}`,
      );
    }
    if (changeCount(replanned.plan) > 0)
      violations.push(`yaml: the second plan is not empty (${changeCount(replanned.plan)} changes)`);

    const per1000 = ds.domains.length / 1000;
    const figures = [
      {
        label: "domains / zones / zone files written",
        value: `${ds.domains.length} / ${ds.zones.length} / ${applied.result.zones.filter((z) => z.outcome === "applied").length}`,
      },
      {
        label: "baseline: read + parse every zone file once",
        value: "1.00",
        note: `(${baselineMs.toFixed(0)} ms in this run; after apply ${ratio(baselineAfter, baselineMs).toFixed(2)}x that)`,
      },
      { label: "config load / baseline", value: ratio(planned.configMs, baselineMs) },
      { label: "plan / baseline", value: ratio(planned.planMs, baselineMs) },
      {
        label: "apply / baseline",
        value: ratio(applied.applyMs, baselineMs),
        note: "edits, writes and re-reads every zone with changes",
      },
      { label: "second plan / baseline", value: ratio(replanned.planMs, baselineMs) },
      {
        label: "peak RSS growth, MB per 1,000 domains",
        value: (memory.rssPeak - memory.rssBefore) / MB / per1000,
        note: `peak RSS ${(memory.rssPeak / MB).toFixed(0)} MB (process total)`,
      },
      {
        label: "peak heap growth, MB per 1,000 domains",
        value: (memory.heapPeak - memory.heapBefore) / MB / per1000,
        note: `peak heap used ${(memory.heapPeak / MB).toFixed(0)} MB`,
      },
    ];
    return {
      section: {
        title: `yaml provider (zone files in a temp folder): ${ds.domains.length} domains in ${ds.zones.length} zones`,
        figures,
      },
      violations,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
