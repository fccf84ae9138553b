/**
 * Signals and a closed stdout (docs/safety.md "Signals and closed output"): the built CLI in a
 * child process, applying to the loopback Route 53 server (real SDK) with a response latency so
 * a run can be interrupted half-way. A SIGINT or SIGTERM lets the zones in flight finish, starts
 * no others, lists on stderr what was written and exits 3 (some zones written) or 4 (nothing);
 * every zone is either fully applied or untouched. A closed stdout (`apply | head -1`) ends the
 * run the same way, without a stack trace.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startRoute53Fake, type Route53Fake } from "../fakes/route53/server.js";
import { useTestCredentials, type TestCredentials } from "../fakes/route53/credentials.js";
import { target, tempDir, writeConfig } from "./harness.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = path.join(root, "bin", "dkimsync.js");
const ZONES = Array.from({ length: 12 }, (_, i) => `z${i + 1}-signals.example`);

interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("signals and closed stdout during apply", () => {
  let fake: Route53Fake;
  let dir: string;
  let creds: TestCredentials;
  let config: string;

  beforeEach(async () => {
    fake = await startRoute53Fake({ rateLimit: false, latencyMs: 150, insyncAfterPolls: 0 });
    dir = await tempDir("signals");
    creds = useTestCredentials(dir, "signals");
    for (const z of ZONES) fake.state.createZone(z);
    config = await writeConfig(
      dir,
      "route53",
      { endpoint: fake.endpoint, region: "us-east-1", max_attempts: 1, max_rps: 100 },
      ZONES,
    );
  });
  afterEach(async () => {
    await fake.stop();
    creds.restore();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Per zone: "applied" (both selectors as configured), "untouched" (none), or "partial". */
  function zoneStates(): Map<string, string> {
    const out = new Map<string, string>();
    for (const z of ZONES) {
      const [hz] = fake.state.zonesNamed(z);
      const sets = fake.state.sorted((hz as { id: string }).id).filter((s) => s.type === "CNAME");
      const want = [target(1, z), target(2, z)].map((t) => `${t}.`);
      const have = sets.map((s) => s.values[0]?.replace(/\.?$/, "."));
      out.set(
        z,
        sets.length === 0
          ? "untouched"
          : sets.length === 2 && want.every((w) => have.includes(w))
            ? "applied"
            : "partial",
      );
    }
    return out;
  }

  function start(args: string[], opts: { closeStdout?: boolean } = {}) {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result: Child = { code: null, stdout: "", stderr: "" };
    if (opts.closeStdout) child.stdout.destroy();
    else child.stdout.on("data", (d: Buffer) => void (result.stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => void (result.stderr += d.toString()));
    const done = new Promise<Child>((resolve) => child.on("close", (code) => resolve({ ...result, code })));
    return { child, done };
  }

  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    it(`${sig} half-way: zones in flight finish, no other starts, exit 3, stderr lists what was written`, async () => {
      const { child, done } = start(["apply", "-c", config]);
      // Wait until the first write has reached the server, then interrupt.
      for (let i = 0; i < 600 && fake.counts.ChangeResourceRecordSets === 0; i++)
        await new Promise((r) => setTimeout(r, 25));
      expect(fake.counts.ChangeResourceRecordSets).toBeGreaterThan(0);
      child.kill(sig);
      const r = await done;
      const states = zoneStates();
      const applied = ZONES.filter((z) => states.get(z) === "applied");
      expect([...states.values()]).not.toContain("partial");
      expect(applied.length).toBeGreaterThan(0);
      expect(applied.length).toBeLessThan(ZONES.length);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`interrupted (received ${sig})`);
      for (const z of applied) expect(r.stderr).toContain(`written: p · ${z}`);
      for (const z of ZONES.filter((x) => !applied.includes(x))) expect(r.stderr).not.toContain(`written: p · ${z}`);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    }, 60_000);
  }

  it("a closed stdout (apply | head -1) writes nothing, says so on stderr, exit 4, no stack trace", async () => {
    const { done } = start(["apply", "-c", config], { closeStdout: true });
    const r = await done;
    expect(r.stderr, `exit ${r.code} ${JSON.stringify([...zoneStates()])}`).toContain("standard output was closed");
    expect(r.stderr, `exit ${r.code} ${JSON.stringify([...zoneStates()])}`).toContain("interrupted");
    expect(r.stderr).toContain("nothing was written");
    expect(r.stderr).not.toMatch(/internal error|\n\s+at |EPIPE/);
    expect(r.code).toBe(4);
    expect([...zoneStates().values()].every((s) => s === "untouched")).toBe(true);
  }, 60_000);

  it("plan with a closed stdout ends without a stack trace", async () => {
    const { done } = start(["plan", "-c", config], { closeStdout: true });
    const r = await done;
    expect(r.stderr).not.toMatch(/internal error|\n\s+at |EPIPE/);
    expect([0, 1]).toContain(r.code);
  }, 60_000);
});
