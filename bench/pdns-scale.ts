/**
 * dkimsync at 500 to 10,000 domains against a real PowerDNS, as a user runs it: the built CLI in
 * a child process (start-up, config loading and output included), each domain its own zone.
 * A counting relay in front of the API counts requests by kind and keeps the writes, so the
 * floor of each scenario is measured in the same run: the same requests sent bare at the
 * concurrency dkimsync reaches on that backend (for apply: the PATCHes alone, which is what the
 * server must do whatever the client), twice: by a minimal whole Node process (bare-client.ts,
 * start-up included, which is what the targets are judged against: dkimsync is measured as a
 * whole process too) and in this process (the requests alone). Whole-process CPU and peak RSS
 * come from a preload hook (usage-hook.ts). Counts are budgets; times, CPU and RSS are reported
 * against their targets.
 */
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createZone, startPowerDns, type PdnsServer } from "../test/servers/pdns.js";
import { pool } from "../src/util/pool.js";
import type { Figure, Section } from "./report.js";
import { startCountingRelay, type CountingRelay } from "./tcp-count.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, "..", "..");
const BIN = path.join(ROOT, "bin", "dkimsync.js");
const HOOK = pathToFileURL(path.join(here, "usage-hook.js")).href;
const BARE = path.join(here, "bare-client.js");
const KEY_ENV = "DKIMSYNC_BENCH_PDNS_API_KEY";

export type Backend = "gsqlite3" | "lmdb";

export interface ScenarioResult {
  backend: Backend;
  domains: number;
  scenario: string;
  exitCode: number;
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
  requests: Record<string, number>;
  totalRequests: number;
  cpuPerRequestMs: number;
  /** The same requests (for apply: the PATCHes alone) sent bare, in this run. */
  floorRequests: number;
  /** How many of them were in flight at once: what dkimsync reaches on this backend. */
  floorConcurrency: number;
  /** Sent by a minimal whole Node process (bare-client.ts), start-up included: the targets' floor. */
  floorMs: number;
  wallOverFloor: number;
  /** Sent from this process, the requests alone. */
  inProcessFloorMs: number;
  wallOverInProcessFloor: number;
  /** apply: the zones that got a PATCH (a retried PATCH counts once). */
  zonesWritten: number;
  /**
   * apply: every request it sent (its plan's reads 8 at once, then the PATCHes at the write
   * concurrency, then the read-back 8 at once), sent bare by a whole process: what an apply that
   * reads before it writes and proves what it wrote cannot go below. For a plan, the floor above.
   */
  allRequestsFloorMs: number;
  wallOverAllRequestsFloor: number;
  /** CPU per request of the bare whole process that sent the floor: what no Node client goes below. */
  floorCpuPerRequestMs: number;
}

interface Usage {
  cpuMs: number;
  maxRssKb: number;
}

export async function runCli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; wallMs: number; usage: Usage; stderr: string; stdoutTail: string; problems: string[] }> {
  // Opt-in, for profiling the CLI as the bench runs it: DKIMSYNC_BENCH_CLI_NODE_ARGS="--cpu-prof
  // --cpu-prof-dir=/tmp/prof" (node flags, space-separated) go to the CLI's child only, not the floor's.
  const nodeArgs = (process.env.DKIMSYNC_BENCH_CLI_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  return runNode(BIN, args, cwd, env, nodeArgs);
}

async function runNode(
  script: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): Promise<{ code: number; wallMs: number; usage: Usage; stderr: string; stdoutTail: string; problems: string[] }> {
  const usageFile = path.join(cwd, `usage-${process.hrtime.bigint()}.json`);
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, "--import", HOOK, script, ...args], {
    cwd,
    env: { ...env, DKIMSYNC_BENCH_USAGE: usageFile, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdoutTail = "";
  // Only the end of stdout is kept (the summary lines), so memory stays flat at any size.
  // And the zones that did not end well, wherever they are in the output, to say why a run failed.
  const problems: string[] = [];
  let partial = "";
  let after = 0;
  child.stdout.on("data", (c: Buffer) => {
    stdoutTail = (stdoutTail + c.toString()).slice(-4000);
    const lines = (partial + c.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const l of lines) {
      // A zone that did not end well is a line starting with ✗; its message follows it.
      if (/^✗/.test(l)) after = 3;
      if (after > 0 && problems.length < 30) problems.push(l);
      after--;
    }
  });
  child.stderr.on("data", (c: Buffer) => {
    if (stderr.length < 20_000) stderr += c.toString();
  });
  const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? 1)));
  const wallMs = performance.now() - t0;
  const usage = JSON.parse(await fs.readFile(usageFile, "utf8")) as Usage;
  return { code, wallMs, usage, stderr, stdoutTail, problems };
}

/** Send requests bare: node:http, a fresh connection each (as PowerDNS wants), `limit` at once. */
async function replay(
  base: string,
  apiKey: string,
  requests: { method: string; path: string; body?: Buffer }[],
  limit: number,
): Promise<number> {
  const url = new URL(base);
  const t0 = performance.now();
  await pool(
    requests,
    limit,
    (r) =>
      new Promise<void>((resolve, reject) => {
        const headers: http.OutgoingHttpHeaders = { "X-API-Key": apiKey, Accept: "application/json" };
        if (r.body) {
          headers["Content-Type"] = "application/json";
          headers["Content-Length"] = r.body.length;
        }
        const req = http.request(
          { hostname: url.hostname, port: url.port, path: r.path, method: r.method, headers },
          (res) => {
            res.resume();
            res.on("end", () =>
              (res.statusCode ?? 500) < 300
                ? resolve()
                : reject(new Error(`bare ${r.method} ${r.path} -> ${res.statusCode}`)),
            );
          },
        );
        req.on("error", reject);
        req.end(r.body);
      }),
  );
  return performance.now() - t0;
}

type BareRequest = { method: string; path: string; body?: Buffer };

/** The same requests sent by a minimal whole Node process (bare-client.ts): its wall time and CPU. */
async function replayProcess(
  base: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  requests: BareRequest[],
  limit: number,
  /** Instead of requests: groups sent one after the other, each at its own concurrency. */
  phases?: { limit: number; requests: BareRequest[] }[],
): Promise<{ ms: number; cpuMs: number }> {
  const file = path.join(dir, `bare-${process.hrtime.bigint()}.json`);
  const encode = (list: BareRequest[]) =>
    list.map((r) => ({ method: r.method, path: r.path, body: r.body?.toString("base64") }));
  const job = {
    url: base,
    keyEnv: KEY_ENV,
    limit,
    requests: encode(requests),
    ...(phases ? { phases: phases.map((p) => ({ limit: p.limit, requests: encode(p.requests) })) } : {}),
  };
  await fs.writeFile(file, JSON.stringify(job));
  const run = await runNode(BARE, [file], dir, env);
  await fs.rm(file, { force: true });
  if (run.code !== 0) throw new Error(`the bare client failed: ${run.stderr.slice(-500)}`);
  return { ms: run.wallMs, cpuMs: run.usage.cpuMs };
}

function configYaml(relayUrl: string, domains: string[], tenant: string): string {
  const lines = [
    `tenant: ${tenant}`,
    "providers:",
    "  pdns:",
    "    type: powerdns",
    `    url: ${relayUrl}`,
    `    api_key: env/${KEY_ENV}`,
    "domains:",
  ];
  for (const d of domains) lines.push(`  ${d}:`, "    provider: pdns");
  return `${lines.join("\n")}\n`;
}

interface Floor {
  n: number;
  limit: number;
  zones: number;
  ms: number;
  /** The bare whole process's CPU (user + system). */
  cpuMs: number;
  inProcessMs: number;
  /** apply: every request it sent, bare, in its three phases (see ScenarioResult). */
  allMs?: number;
}

/** PATCHes in flight at once in the apply floor: what each backend takes (see applyFloor). */
const WRITE_CONCURRENCY: Record<Backend, number> = { gsqlite3: 1, lmdb: 4 };

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export async function benchPowerDnsAtScale(
  backend: Backend,
  size: number,
  log: (m: string) => void,
): Promise<ScenarioResult[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `dkimsync-bench-pdns-${backend}-`));
  let server: PdnsServer | undefined;
  let relay: CountingRelay | undefined;
  try {
    server = await startPowerDns({ backend });
    relay = await startCountingRelay(server.apiUrl);
    const domains = Array.from({ length: size }, (_, i) => `dom${i}.bench.test`);
    log(`pdns-scale ${backend} ${size}: creating ${size} zones`);
    const s = server;
    await pool(domains, 8, (d) =>
      createZone(s, d, [
        { name: d, type: "MX", ttl: 3600, values: [`0 ${d.replaceAll(".", "-")}.mail.protection.outlook.com`] },
        { name: d, type: "TXT", ttl: 3600, values: ["v=spf1 include:spf.protection.outlook.com -all"] },
        { name: `google._domainkey.${d}`, type: "TXT", ttl: 3600, values: ["v=DKIM1; k=rsa; p=MIGf"] },
      ]),
    );
    const file = path.join(dir, "dkim.zones.yaml");
    const env = { ...process.env, [KEY_ENV]: server.apiKey };
    const results: ScenarioResult[] = [];
    const record = (
      scenario: string,
      run: Awaited<ReturnType<typeof runCli>>,
      requests: Record<string, number>,
      floor: Floor,
      zonesWritten = 0,
    ) => {
      const total = sum(requests);
      results.push({
        backend,
        domains: size,
        scenario,
        exitCode: run.code,
        wallMs: run.wallMs,
        cpuMs: run.usage.cpuMs,
        maxRssMb: run.usage.maxRssKb / 1024,
        requests,
        totalRequests: total,
        cpuPerRequestMs: total === 0 ? 0 : run.usage.cpuMs / total,
        floorRequests: floor.n,
        floorConcurrency: floor.limit,
        floorMs: floor.ms,
        wallOverFloor: run.wallMs / floor.ms,
        inProcessFloorMs: floor.inProcessMs,
        wallOverInProcessFloor: run.wallMs / floor.inProcessMs,
        zonesWritten,
        allRequestsFloorMs: floor.allMs ?? floor.ms,
        floorCpuPerRequestMs: floor.n === 0 ? 0 : floor.cpuMs / floor.n,
        wallOverAllRequestsFloor: run.wallMs / (floor.allMs ?? floor.ms),
      });
      log(
        `pdns-scale ${backend} ${size}: ${scenario}: exit ${run.code}, ${(run.wallMs / 1000).toFixed(2)} s, ${total} requests, floor ${(floor.ms / 1000).toFixed(2)} s (in-process ${(floor.inProcessMs / 1000).toFixed(2)} s)`,
      );
      const expected = scenario.startsWith("plan") ? 2 : 0;
      if (run.code !== expected)
        log(
          `unexpected exit ${run.code}:\n${run.stderr.slice(-2000)}\n${run.problems.join("\n")}\n${run.stdoutTail
            .split("\n")
            .filter((l) => !/^(✓|  |$)/.test(l))
            .slice(-15)
            .join("\n")}`,
        );
    };
    const relayBase = relay.url;
    const apiKey = server.apiKey;
    const r = relay;

    // Each floor is sent twice, whole process first, then in-process. The relay counts the bare
    // requests too: what it counted of them is dropped afterwards.
    const bare = async (requests: { method: string; path: string; body?: Buffer }[], limit: number) => {
      const { ms, cpuMs } = await replayProcess(relayBase, dir, env, requests, limit);
      const inProcessMs = await replay(relayBase, apiKey, requests, limit);
      r.take();
      r.lines.splice(0);
      return { ms, cpuMs, inProcessMs };
    };
    // The plan's floor: the same reads, sent bare, 8 at a time as dkimsync reads zones.
    const planFloor = async (): Promise<Floor> => {
      const reads = r.lines.splice(0).filter((l) => l.method === "GET");
      return { n: reads.length, limit: 8, zones: 0, ...(await bare(reads, 8)) };
    };
    const applyFloor = async (): Promise<Floor> => {
      const lines = r.lines.splice(0);
      // The last PATCH of each zone: a retried write (gsqlite3 "database is locked") is one write.
      const last = new Map<string, Buffer>();
      for (const p of r.patches.splice(0)) last.set(p.path, p.body);
      const patches = [...last].map(([p, body]) => ({ method: "PATCH", path: p, body }));
      // At the concurrency the server allows and dkimsync reaches there: lmdb takes concurrent
      // PATCHes and dkimsync's write limit grows to 4 on it; gsqlite3 answers a concurrent write
      // with 500 "database is locked", so there writes go one at a time.
      const floor = {
        n: patches.length,
        limit: WRITE_CONCURRENCY[backend],
        zones: last.size,
        ...(await bare(patches, WRITE_CONCURRENCY[backend])),
      };
      // Every request the apply sent: the reads before its first PATCH (the plan), the PATCHes,
      // and the reads after (the read-back), each group bare at dkimsync's concurrency for it.
      const first = lines.findIndex((l) => l.method === "PATCH");
      const gets = (from: number, to: number) => lines.slice(from, to).filter((l) => l.method === "GET");
      const { ms: allMs } = await replayProcess(relayBase, dir, env, [], 1, [
        { limit: 8, requests: gets(0, first < 0 ? lines.length : first) },
        { limit: WRITE_CONCURRENCY[backend], requests: patches },
        { limit: 8, requests: first < 0 ? [] : gets(first, lines.length) },
      ]);
      r.take();
      r.lines.splice(0);
      return { ...floor, allMs };
    };

    await fs.writeFile(file, configYaml(relay.url, domains, "contoso"));
    r.take();
    let run = await runCli(["plan", "--detailed-exitcode", "-c", file], dir, env);
    let counts = r.take();
    let floor = await planFloor();
    r.take();
    record("plan, creates pending", run, counts, floor);

    r.keepPatches = true;
    run = await runCli(["apply", "-c", file], dir, env);
    counts = r.take();
    r.keepPatches = false;
    floor = await applyFloor();
    record(`apply ${2 * size} creates`, run, counts, floor, floor.zones);

    run = await runCli(["plan", "--detailed-exitcode", "-c", file], dir, env);
    counts = r.take();
    floor = await planFloor();
    r.take();
    record("no-op plan", run, counts, floor);

    await fs.writeFile(file, configYaml(relay.url, domains, "fabrikam"));
    r.keepPatches = true;
    run = await runCli(["apply", "-c", file], dir, env);
    counts = r.take();
    r.keepPatches = false;
    floor = await applyFloor();
    record(`update all ${2 * size} targets`, run, counts, floor, floor.zones);
    return results;
  } finally {
    await relay?.close();
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Budgets (counts) and targets (ratios, CPU, RSS) for one backend's results. */
export function judge(results: ScenarioResult[]): { figures: Figure[]; violations: string[] } {
  const figures: Figure[] = [];
  const violations: string[] = [];
  for (const x of results) {
    const reads = (x.requests["GET zone"] ?? 0) + (x.requests["GET search"] ?? 0);
    const label = `${x.backend} ${x.domains}: ${x.scenario}`;
    figures.push({
      label,
      value: `${(x.wallMs / 1000).toFixed(2)} s, ${x.totalRequests} req, ${x.wallOverFloor.toFixed(2)}x floor`,
      note: `floor ${x.floorRequests} req, ${x.floorConcurrency} at once: ${(x.floorMs / 1000).toFixed(2)} s as a whole process, ${(x.inProcessFloorMs / 1000).toFixed(2)} s in-process (${x.wallOverInProcessFloor.toFixed(2)}x); every request bare ${(x.allRequestsFloorMs / 1000).toFixed(2)} s (${x.wallOverAllRequestsFloor.toFixed(2)}x); cpu ${(x.cpuMs / 1000).toFixed(2)} s (${x.cpuPerRequestMs.toFixed(2)} ms/req; the bare process ${x.floorCpuPerRequestMs.toFixed(2)} ms/req); rss ${x.maxRssMb.toFixed(0)} MB; ${JSON.stringify(x.requests)}`,
    });
    const expected = x.scenario.startsWith("plan") ? 2 : x.scenario === "no-op plan" ? 0 : 0;
    if (x.exitCode !== expected) violations.push(`${label}: exit ${x.exitCode}, expected ${expected}`);
    const isPlan = x.scenario.includes("plan");
    if (isPlan && x.backend === "gsqlite3" && x.totalRequests > 5)
      violations.push(`${label}: ${x.totalRequests} requests (budget 5 on a searching backend)`);
    if (isPlan && x.backend === "lmdb" && reads > x.domains + 2)
      violations.push(`${label}: ${reads} reads for ${x.domains} zones (budget: one per zone, plus the search probe)`);
    if (!isPlan && x.zonesWritten > x.domains)
      violations.push(`${label}: PATCHes to ${x.zonesWritten} zones, more than the ${x.domains} zones`);
    if (!isPlan && x.zonesWritten < x.domains)
      violations.push(`${label}: only ${x.zonesWritten} of ${x.domains} zones written`);
  }
  return { figures, violations };
}

export interface TargetLine {
  target: string;
  measured: string;
  met: boolean;
}

/** The targets, each met or not in this run. */
export function targets(results: ScenarioResult[]): TargetLine[] {
  const out: TargetLine[] = [];
  const searching = results.filter((r) => r.backend === "gsqlite3");
  for (const r of searching.filter((r) => r.scenario.includes("plan"))) {
    out.push({
      target: `gsqlite3 ${r.domains} ${r.scenario}: at most 5 requests`,
      measured: String(r.totalRequests),
      met: r.totalRequests <= 5,
    });
    out.push({
      target: `gsqlite3 ${r.domains} ${r.scenario}: wall at most 2x the same requests bare (a whole process)`,
      measured: `${r.wallOverFloor.toFixed(2)}x (in-process bare: ${r.wallOverInProcessFloor.toFixed(2)}x)`,
      met: r.wallOverFloor <= 2,
    });
  }
  for (const r of results.filter((r) => !r.scenario.includes("plan"))) {
    out.push({
      target: `${r.backend} ${r.domains} ${r.scenario}: wall within 1.3x of the PATCHes alone (a whole process, ${r.floorConcurrency} at once)`,
      measured: `${r.wallOverFloor.toFixed(2)}x (in-process bare: ${r.wallOverInProcessFloor.toFixed(2)}x)`,
      met: r.wallOverFloor <= 1.3,
    });
    if (r.backend === "gsqlite3") {
      const reads = (r.requests["GET zone"] ?? 0) + (r.requests["GET search"] ?? 0);
      const budget = Math.ceil(r.domains / 100);
      out.push({
        target: `gsqlite3 ${r.domains} ${r.scenario}: at most one read per 100 zones`,
        measured: `${reads} reads (budget ${budget})`,
        met: reads <= budget,
      });
    }
  }
  const requests = results.reduce((a, r) => a + r.totalRequests, 0);
  const cpu = results.reduce((a, r) => a + r.cpuMs, 0);
  const big = results.filter((r) => r.totalRequests >= 1000);
  const bigReq = big.reduce((a, r) => a + r.totalRequests, 0);
  out.push({
    target: "client CPU per request at most 0.5 ms (runs of 1,000+ requests, whole process)",
    measured:
      bigReq === 0
        ? "n/a"
        : `${(big.reduce((a, r) => a + r.cpuMs, 0) / bigReq).toFixed(2)} ms (all runs: ${(cpu / Math.max(1, requests)).toFixed(2)} ms)`,
    met: bigReq > 0 && big.reduce((a, r) => a + r.cpuMs, 0) / bigReq <= 0.5,
  });
  for (const size of [...new Set(results.map((r) => r.domains))].sort((a, b) => a - b)) {
    const peak = Math.max(...results.filter((r) => r.domains === size).map((r) => r.maxRssMb));
    out.push({
      target: `peak RSS at ${size} domains (target at most 100 MB at 10,000)`,
      measured: `${peak.toFixed(0)} MB`,
      met: size > 10_000 || peak <= 100,
    });
  }
  return out;
}

export async function benchPowerDnsScale(
  sizes: number[],
  backends: Backend[],
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[]; results: ScenarioResult[]; targets: TargetLine[] }> {
  const results: ScenarioResult[] = [];
  for (const backend of backends)
    for (const size of sizes) results.push(...(await benchPowerDnsAtScale(backend, size, log)));
  const { figures, violations } = judge(results);
  const t = targets(results);
  for (const line of t)
    figures.push({ label: `target: ${line.target}`, value: line.met ? "met" : "MISSED", note: line.measured });
  return {
    section: {
      title: `PowerDNS at scale (real pdns_server; built CLI, whole process; each domain its own zone)`,
      figures,
    },
    violations,
    results,
    targets: t,
  };
}
