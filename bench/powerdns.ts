/**
 * A real PowerDNS 4.7 (test/servers/pdns.ts) at a smaller scale. PowerDNS keeps no count of
 * API requests, so the provider reaches it through a loopback proxy that only counts and
 * forwards; dkimsync's own code is not wrapped. Wall times are reported against a baseline
 * measured in the same run through the same proxy: N plain GETs of one zone, N = the zones.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startHttpProxy } from "../test/servers/http-proxy.js";
import { createZone, startPowerDns, type PdnsServer } from "../test/servers/pdns.js";
import { closeProviders } from "../src/plan/build.js";
import { configYaml, expectedChanges, makeDataset, type DatasetShape } from "./dataset.js";
import { changeCount, planAndClose, runProblems, timedApply, timedPlan, zonesWithChanges } from "./pipeline.js";
import { ratio, type Section } from "./report.js";

const ENV_NAME = "DKIMSYNC_BENCH_PDNS_API_KEY";

interface CountingProxy {
  url: string;
  counts: Map<string, number>;
  reset(): void;
  close(): Promise<void>;
}

/** `GET zone`, `PATCH zone`, `GET zones`: the method and what the path names. */
function kindOf(method: string, url: string): string {
  const p = url.split("?")[0] ?? "";
  if (/\/zones\/[^/]+$/.test(p)) return `${method} zone`;
  if (/\/zones$/.test(p)) return `${method} zones`;
  return `${method} other`;
}

async function startCountingProxy(target: string): Promise<CountingProxy> {
  const counts = new Map<string, number>();
  const proxy = await startHttpProxy(target, {
    onRequest(method, url) {
      const k = kindOf(method, url);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      return undefined;
    },
  });
  return { url: proxy.url, counts, reset: () => counts.clear(), close: () => proxy.close() };
}

function take(proxy: CountingProxy): Record<string, number> {
  const out = Object.fromEntries([...proxy.counts.entries()].sort());
  proxy.reset();
  return out;
}

export async function benchPowerDns(
  shape: DatasetShape,
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[] }> {
  const ds = makeDataset(shape);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-pdns-"));
  let server: PdnsServer | undefined;
  let proxy: CountingProxy | undefined;
  try {
    log("powerdns: starting pdns_server");
    server = await startPowerDns();
    proxy = await startCountingProxy(server.apiUrl);
    log(`powerdns: creating ${ds.zones.length} zones`);
    for (const z of ds.zones) await createZone(server, z.name, z.records);
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(file, configYaml(ds, "powerdns", { url: proxy.url, api_key: `env/${ENV_NAME}` }));
    const env = { ...process.env, [ENV_NAME]: server.apiKey };

    // The baseline zone: a parent zone, the middle kind (a few dozen record sets).
    const baseZone = ds.zones.find((z) => z.kind === "parent") ?? ds.zones[0];
    if (!baseZone) throw new Error("powerdns: empty dataset");
    const n = ds.zones.length;
    const getOnce = async () => {
      const res = await fetch(
        `${proxy!.url}/api/v1/servers/localhost/zones/${encodeURIComponent(`${baseZone.name}.`)}`,
        {
          headers: { "X-API-Key": server!.apiKey, Accept: "application/json" },
        },
      );
      if (!res.ok) throw new Error(`powerdns baseline GET -> ${res.status}`);
      await res.arrayBuffer();
    };
    await getOnce();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await getOnce();
    const baselineMs = performance.now() - t0;
    proxy.reset();

    log(`powerdns: plan and apply of ${ds.domains.length} domains in ${n} zones`);
    const planned = await timedPlan(file, env);
    const planCounts = take(proxy);
    let applied;
    try {
      applied = await timedApply(planned);
    } finally {
      await closeProviders(planned.providers);
    }
    const applyCounts = take(proxy);
    const replanned = await planAndClose(file, env);
    const replanCounts = take(proxy);

    const violations = [
      ...runProblems("powerdns plan", planned, applied.result),
      ...runProblems("powerdns re-plan", replanned),
    ];
    const exp = expectedChanges(ds);
    const zc = zonesWithChanges(planned.plan);
    if (changeCount(planned.plan) !== exp.create + exp.update + exp.delete) {
      violations.push(
        `powerdns: plan has ${changeCount(planned.plan)} changes, the data ${exp.create + exp.update + exp.delete}`,
      );
    }
    const patches = applyCounts["PATCH zone"] ?? 0;
    // One PATCH per zone is the provider contract (docs/providers/powerdns.md).
    if (patches > zc)
      violations.push(`powerdns: apply sent ${patches} PATCHes for ${zc} zones with changes (budget: 1 per zone)`);
    // The default read is one rrset_name= GET per selector name (read: names): two per domain.
    const zoneReads = planCounts["GET zone"] ?? 0;
    const names = 2 * ds.domains.length;
    if (zoneReads > names)
      violations.push(`powerdns: plan made ${zoneReads} record reads for ${names} selector names (budget: 1 per name)`);
    if (changeCount(replanned.plan) > 0)
      violations.push(`powerdns: the second plan is not empty (${changeCount(replanned.plan)} changes)`);

    const figures = [
      { label: "domains / zones / zones with changes", value: `${ds.domains.length} / ${n} / ${zc}` },
      {
        label: `baseline: ${n} sequential GETs of one zone`,
        value: "1.00",
        note: `(${baselineMs.toFixed(0)} ms in this run, zone ${baseZone.name}, ${baseZone.records.length + 2} record sets)`,
      },
      {
        label: "plan / baseline",
        value: ratio(planned.planMs, baselineMs),
        note: "one rrset_name= GET per selector name, zones 8 at a time",
      },
      {
        label: "apply / baseline",
        value: ratio(applied.applyMs, baselineMs),
        note: "one PATCH and one re-read per zone with changes, 4 at a time",
      },
      { label: "second plan / baseline", value: ratio(replanned.planMs, baselineMs) },
      {
        label: "plan requests (per zone)",
        value: Object.values(planCounts).reduce((a, b) => a + b, 0) / n,
        note: JSON.stringify(planCounts),
      },
      {
        label: "apply requests (per zone with changes)",
        value: Object.values(applyCounts).reduce((a, b) => a + b, 0) / zc,
        note: JSON.stringify(applyCounts),
      },
      {
        label: "second plan requests / changes left",
        value: `${Object.values(replanCounts).reduce((a, b) => a + b, 0)} / ${changeCount(replanned.plan)}`,
      },
    ];
    return {
      section: { title: `PowerDNS (real pdns_server, lmdb): ${ds.domains.length} domains in ${n} zones`, figures },
      violations,
    };
  } finally {
    await proxy?.close();
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
