/**
 * Shared set-up of the zone-file safety tests: a folder with dkim.zones.yaml and a zones/
 * folder, and the real dkimsync path to plan and apply it (the same path `dkimsync apply`
 * takes: loadConfig -> buildPlan -> applyPlan), or the built CLI in a child process.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/load.js";
import { applyPlan, type ApplyResult } from "../../src/plan/apply.js";
import { buildPlan, closeProviders } from "../../src/plan/build.js";
import type { Plan } from "../../src/core/types.js";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const bin = path.join(root, "bin", "dkimsync.js");
export const TENANT = "contoso";

export const target = (sel: 1 | 2, domain: string) =>
  `selector${sel}-${domain.replace(/\./g, "-")}._domainkey.${TENANT}.onmicrosoft.com`;

export interface DomainSpec {
  ensure?: "absent";
  selector1?: string;
  selector2?: string;
  ttl?: number;
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `dkimsync-${prefix}-`));
}

/** Write a config serving every domain from provider `zones` (type yaml, folder `zonesDir`). */
export async function writeConfig(
  file: string,
  zonesDir: string,
  domains: Record<string, DomainSpec>,
  ttl = 3600,
): Promise<string> {
  const lines = [
    `tenant: ${TENANT}`,
    `ttl: ${ttl}`,
    "providers:",
    "  zones:",
    "    type: yaml",
    `    directory: ${JSON.stringify(zonesDir)}`,
    "domains:",
  ];
  for (const [d, s] of Object.entries(domains)) {
    lines.push(`  ${d}:`, "    provider: zones");
    if (s.ensure) lines.push(`    ensure: ${s.ensure}`);
    if (s.selector1) lines.push(`    selector1: ${s.selector1}`);
    if (s.selector2) lines.push(`    selector2: ${s.selector2}`);
    if (s.ttl !== undefined) lines.push(`    ttl: ${s.ttl}`);
  }
  await fs.writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

/** Plan and apply a config through dkimsync's own code path. */
export async function planApply(
  file: string,
  force = false,
  extraEnv: Record<string, string> = {},
): Promise<{ plan: Plan; result: ApplyResult }> {
  const env = { ...process.env, ...extraEnv };
  const config = loadConfig(file, { env });
  const { plan, providers } = await buildPlan({ config, env });
  try {
    return { plan, result: await applyPlan({ plan, providers, force, checkStale: false }) };
  } finally {
    await closeProviders(providers);
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built CLI (npm test builds it first). */
export function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

export function spawnCli(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Fail loudly when the CLI has not been built (npm test runs `npm run build` first). */
export async function requireBuild(): Promise<void> {
  const built = path.join(root, "dist", "src", "cli.js");
  if (
    !(await fs.stat(built).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error(`${built} is missing: these tests run the built CLI; run "npm run build" (npm test does) first`);
  }
}
