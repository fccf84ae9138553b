/**
 * The apply summary counts what is really in place, by reading back: a zone whose split apply
 * failed at a later batch still counts the batches that landed. Real Cloudflare provider and
 * SDK against the loopback server; dkimsync's own planner diff and applyPlan.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OptionsReader } from "../../src/config/options.js";
import { diffZone } from "../../src/core/diff.js";
import type { Plan } from "../../src/core/types.js";
import { applyPlan } from "../../src/plan/apply.js";
import { fingerprint } from "../../src/plan/build.js";
import { renderApply } from "../../src/render/apply.js";
import { plain } from "../../src/render/style.js";
import { createCloudflareProvider } from "../../providers/cloudflare/index.js";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";

let fake: CloudflareFake;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "dkimsync-apply-summary-"));
  fake = await startCloudflareFake({ seed: { zones: [{ name: "example.com" }] } });
});
afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("apply summary", () => {
  it("counts the batches that landed in a zone whose later batch failed", async () => {
    const p = createCloudflareProvider(
      new OptionsReader({
        provider: "cf",
        type: "cloudflare",
        values: { token: "env/T", base_url: fake.baseURL, batch_size: 2 },
        where: { file: "dkim.zones.yaml", line: 1 },
        lineOf: () => undefined,
        configDir: dir,
        env: { T: fake.token },
      }),
      {},
    );
    const names = ["a", "b", "c"].map((d) => `selector1._domainkey.${d}.example.com`);
    const existing = await p.list("example.com", names);
    const diff = diffZone(
      existing,
      names.map((name) => ({
        record: { name, type: "CNAME", ttl: 3600, values: ["t.example.net"] },
        ensure: "present" as const,
      })),
    );
    const plan: Plan = {
      zones: [
        {
          provider: "cf",
          zone: "example.com",
          domains: ["a.example.com", "b.example.com", "c.example.com"],
          ...diff,
          warnings: [],
          names,
          fingerprint: fingerprint(existing),
        },
      ],
      errors: [],
    };
    // A TXT appears at the last name after the plan: the second batch is refused (81053).
    fake.state.createRecord(fake.state.zone("example.com"), {
      name: names[2]!,
      type: "TXT",
      content: "late",
      ttl: 3600,
    });
    const result = await applyPlan({ plan, providers: new Map([["cf", p]]), force: false, checkStale: false });
    expect(result.zones[0]).toMatchObject({ outcome: "failed", written: 2 });
    const text = renderApply(plan, result, "text", plain);
    expect(text).toContain(
      "Apply: 2 change(s) written in 1 zone(s), of them 2 of 3 in example.com, which failed, 1 zone(s) failed.",
    );
    const json = JSON.parse(renderApply(plan, result, "json", plain)) as { apply: { zones: { written: number }[] } };
    expect(json.apply.zones[0]?.written).toBe(2);
    await p.close?.();
  });
});
