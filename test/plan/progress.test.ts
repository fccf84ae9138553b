/**
 * What a run says while it waits: the planner's Progress reporter over the real Cloudflare
 * provider and SDK, against the loopback Cloudflare server with its record listing stalled.
 * Intervals are shortened so the test is quick; it counts lines, it does not time them.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { applyPlan } from "../../src/plan/apply.js";
import { Progress, buildPlan, closeProviders } from "../../src/plan/build.js";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";

let dir: string;
let fake: CloudflareFake;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-progress-"));
  fake = await startCloudflareFake({ seed: { zones: [{ name: "example.com" }] } });
});
afterEach(async () => {
  await fake.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

async function planWith(progress: Progress, timeoutMs: number) {
  const file = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(
    file,
    `tenant: contoso
providers:
  cf: { type: cloudflare, token: env/CF_TOKEN, base_url: "${fake.baseURL}", timeout_ms: ${timeoutMs}, max_attempts: 1 }
domains:
  example.com:
    provider: cf
`,
  );
  const config = loadConfig(file);
  progress.start();
  try {
    const { plan, providers } = await buildPlan({ config, env: { CF_TOKEN: fake.token }, progress });
    await closeProviders(providers);
    return plan;
  } finally {
    progress.stop();
  }
}

describe("progress while waiting", () => {
  it("without a terminal, prints a line every interval naming zones done, requests in flight and what is waited for", async () => {
    fake.faults.stall("listRecords");
    const lines: string[] = [];
    const plan = await planWith(new Progress((s) => lines.push(s), { tty: false, intervalMs: 100 }), 1500);
    // The stall ends in the provider's time limit, as a plan error naming provider, zone, operation.
    expect(plan.errors).toHaveLength(1);
    expect(plan.errors[0]).toMatchObject({ provider: "cf", zone: "example.com", domain: "example.com" });
    expect(plan.errors[0]?.message).toContain("did not answer within 1500 ms while reading the selector names");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l.endsWith("\n")).toBe(true);
    expect(lines.at(-1)).toMatch(
      /^dkimsync: 0\/1 zones read, [12] request\(s\) in flight; waiting \d+ s for \[cf\] zone example\.com: reading 2 name\(s\)\n$/,
    );
  });

  it("while apply writes, counts zones written and names the write waited for", async () => {
    const lines: string[] = [];
    const progress = new Progress((s) => lines.push(s), { tty: false, intervalMs: 100 });
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(
      file,
      `tenant: contoso\nproviders:\n  cf: { type: cloudflare, token: env/CF_TOKEN, base_url: "${fake.baseURL}", timeout_ms: 700, max_attempts: 1 }\ndomains:\n  example.com:\n    provider: cf\n`,
    );
    const { plan, providers } = await buildPlan({ config: loadConfig(file), env: { CF_TOKEN: fake.token }, progress });
    fake.faults.stall("batch");
    progress.phase = "zones written";
    progress.total = 1;
    progress.done = 0;
    progress.start();
    try {
      const result = await applyPlan({ plan, providers, force: false, checkStale: false });
      expect(result.zones[0]?.outcome).toBe("failed");
    } finally {
      progress.stop();
      await closeProviders(providers);
    }
    expect(
      lines.some((l) =>
        /^dkimsync: 0\/1 zones written, 1 request\(s\) in flight; waiting \d+ s for \[cf\] zone example\.com: writing 2 change\(s\)\n$/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(progress.done).toBe(1);
  });

  it("prints nothing when nothing is waited for as long as one interval", async () => {
    const lines: string[] = [];
    const plan = await planWith(new Progress((s) => lines.push(s), { tty: false, intervalMs: 60_000 }), 5000);
    expect(plan.errors).toEqual([]);
    expect(lines).toEqual([]);
  });

  it("on a terminal, redraws one live line and clears it at the end", async () => {
    fake.faults.stall("listRecords");
    const writes: string[] = [];
    await planWith(new Progress((s) => writes.push(s), { tty: true, intervalMs: 100 }), 800);
    expect(writes.some((w) => /^\r\u001b\[Kdkimsync: 0\/1 zones read, .* for \[cf\] zone example\.com: /.test(w))).toBe(
      true,
    );
    expect(writes.every((w) => !w.includes("\n"))).toBe(true);
    expect(writes.at(-1)).toBe("\r\u001b[K");
  });
});
