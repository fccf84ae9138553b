/**
 * `--only startup`: what a run pays before its first request. The built CLI runs `plan` as a
 * child process with usage-hook.ts preloaded (whole-process CPU and peak RSS at exit), and once
 * more with import-hook.ts (every module file loaded; its resolve hook costs CPU of its own, so
 * that run is not timed), on
 * - the bundled example (dkim.zones.yaml and zones/ at the repository root), and
 * - 10,000 domains in 100 zone files, plus one Cloudflare provider block no domain uses (a
 *   config that names a cloud provider, in a run that needs only the zone files): `plan`, and
 *   `plan --domain` of one domain (the whole config loaded and checked, one zone read).
 * Each run is repeated and the median CPU / largest peak RSS kept. With `--baseline DIR` (a
 * checkout of another commit, built) the same runs of that build alternate with this one's, so
 * before and after are measured in the same run on the same machine.
 *
 * Budget (counts, not time): no cloud SDK is loaded by these runs of this build.
 */
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Section } from "./report.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, "..", "..");
const USAGE_HOOK = pathToFileURL(path.join(here, "usage-hook.js")).href;
const IMPORT_HOOK = pathToFileURL(path.join(here, "import-hook.js")).href;
/** The SDK packages of the cloud providers (package.json dependencies) and what they pull in. */
const SDK = /\/node_modules\/(cloudflare|@aws-sdk|@smithy|@azure|google-auth-library|gaxios|gtoken)\//;
const REPEAT = 3;

export interface StartupResult {
  build: string;
  scenario: string;
  exitCode: number;
  cpuMs: number;
  maxRssMb: number;
  modules: number;
  sdkModules: number;
}

interface Scenario {
  name: string;
  cwd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

async function runOnce(
  bin: string,
  s: Scenario,
  work: string,
  hook: "usage" | "imports",
): Promise<{ code: number; cpuMs: number; rssKb: number; loaded: string[] }> {
  const tag = `${process.pid}-${process.hrtime.bigint()}`;
  const usageFile = path.join(work, `usage-${tag}.json`);
  const importsFile = path.join(work, `imports-${tag}.txt`);
  const code = await new Promise<number>((resolve) => {
    execFile(
      process.execPath,
      ["--import", hook === "usage" ? USAGE_HOOK : IMPORT_HOOK, bin, ...s.args],
      {
        cwd: s.cwd,
        timeout: 300_000,
        maxBuffer: 256 * 1024 * 1024,
        env: {
          ...process.env,
          ...s.env,
          DKIMSYNC_BENCH_USAGE: usageFile,
          DKIMSYNC_BENCH_IMPORTS: importsFile,
          NO_COLOR: "1",
        },
      },
      (err) => resolve(err ? (typeof err.code === "number" ? err.code : 1) : 0),
    );
  });
  if (hook === "imports") {
    const loaded = [...new Set((await fs.readFile(importsFile, "utf8")).split("\n").filter((l) => l !== ""))];
    await fs.rm(importsFile, { force: true });
    return { code, cpuMs: Number.NaN, rssKb: Number.NaN, loaded };
  }
  const usage = JSON.parse(await fs.readFile(usageFile, "utf8")) as { cpuMs: number; maxRssKb: number };
  await fs.rm(usageFile, { force: true });
  return { code, cpuMs: usage.cpuMs, rssKb: usage.maxRssKb, loaded: [] };
}

/** 10,000 domains, 100 per zone file, and a Cloudflare block no domain uses. */
async function bigConfig(dir: string): Promise<void> {
  await fs.mkdir(path.join(dir, "zones"), { recursive: true });
  const lines = [
    "tenant: contoso",
    "providers:",
    "  zones:",
    "    type: yaml",
    "    directory: ./zones",
    "  cf:",
    "    type: cloudflare",
    "    token: env/DKIMSYNC_BENCH_CF_TOKEN",
    "domains:",
  ];
  for (let z = 0; z < 100; z++) {
    const zone = `zone${String(z).padStart(3, "0")}.example`;
    await fs.writeFile(path.join(dir, "zones", `${zone}.yaml`), "--- {}\n");
    for (let d = 0; d < 100; d++) lines.push(`  d${String(d).padStart(3, "0")}.${zone}:`, "    provider: zones");
  }
  await fs.writeFile(path.join(dir, "dkim.zones.yaml"), `${lines.join("\n")}\n`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function benchStartup(
  baseline: string | undefined,
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[]; results: StartupResult[] }> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-startup-"));
  try {
    const big = path.join(work, "big");
    await bigConfig(big);
    const scenarios: Scenario[] = [
      { name: "example: plan", cwd: ROOT, args: ["plan"], env: {} },
      {
        name: "10,000 domains + a cloudflare block: plan",
        cwd: big,
        args: ["plan"],
        env: { DKIMSYNC_BENCH_CF_TOKEN: "unused" },
      },
      {
        // The whole config is loaded and checked, one zone is read: start-up, nearly alone.
        name: "10,000 domains + a cloudflare block: plan --domain (one)",
        cwd: big,
        args: ["plan", "--domain", "d000.zone000.example"],
        env: { DKIMSYNC_BENCH_CF_TOKEN: "unused" },
      },
    ];
    const builds: { name: string; bin: string }[] = [
      { name: "this build", bin: path.join(ROOT, "bin", "dkimsync.js") },
    ];
    if (baseline !== undefined) {
      const bin = path.resolve(baseline, "bin", "dkimsync.js");
      await fs.access(path.resolve(baseline, "dist", "src", "cli.js")).catch(() => {
        throw new Error(`--baseline ${baseline}: no dist/src/cli.js there; build that checkout first`);
      });
      builds.unshift({ name: "baseline", bin });
    }
    const results: StartupResult[] = [];
    const violations: string[] = [];
    for (const s of scenarios) {
      const runs = new Map<string, Awaited<ReturnType<typeof runOnce>>[]>();
      // Alternate the builds, so a busy moment of the shared machine falls on both alike.
      for (let i = 0; i < REPEAT; i++) {
        for (const b of builds) {
          log(`startup: ${b.name}, ${s.name} (${i + 1}/${REPEAT})`);
          const r = await runOnce(b.bin, s, work, "usage");
          runs.set(b.name, [...(runs.get(b.name) ?? []), r]);
        }
      }
      for (const b of builds) {
        const rs = runs.get(b.name) ?? [];
        const last = await runOnce(b.bin, s, work, "imports");
        const result: StartupResult = {
          build: b.name,
          scenario: s.name,
          exitCode: last.code,
          cpuMs: median(rs.map((r) => r.cpuMs)),
          maxRssMb: Math.max(...rs.map((r) => r.rssKb)) / 1024,
          modules: last.loaded.length,
          sdkModules: last.loaded.filter((u) => SDK.test(u)).length,
        };
        results.push(result);
        if ([...rs, last].some((r) => r.code !== 0))
          violations.push(`startup: ${b.name}, ${s.name}: exit code ${last.code}`);
        if (b.name === "this build" && result.sdkModules > 0)
          violations.push(`startup: ${s.name} loaded ${result.sdkModules} cloud SDK module(s); it uses none`);
      }
    }
    const section: Section = {
      title: `Start-up: whole-process CPU and peak RSS of \`dkimsync plan\` (median CPU, largest RSS of ${REPEAT})`,
      figures: results.map((r) => ({
        label: `${r.scenario}: ${r.build}`,
        value: `${r.cpuMs.toFixed(0)} ms CPU, ${r.maxRssMb.toFixed(0)} MB`,
        note: `${r.modules} module files, ${r.sdkModules} of cloud SDKs`,
      })),
    };
    return { section, violations, results };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
