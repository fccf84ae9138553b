/**
 * The JSON plan carries the same facts as the text plan: a record's provider-side drift
 * (Cloudflare `proxied`, a flattened CNAME) is in `before.drift`, so an update whose only fault is
 * drift no longer shows identical `before` and `after`. Records come from the real Cloudflare
 * provider and SDK reading the loopback Cloudflare server; the diff is dkimsync's own.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { OptionsReader } from "../../src/config/options.js";
import { diffZone } from "../../src/core/diff.js";
import type { Plan } from "../../src/core/types.js";
import { planToJson } from "../../src/render/json.js";
import { renderText } from "../../src/render/text.js";
import { plain } from "../../src/render/style.js";
import { createCloudflareProvider } from "../../providers/cloudflare/index.js";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";

const S1 = "selector1._domainkey.example.com";
const S2 = "selector2._domainkey.example.com";
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";

let fake: CloudflareFake;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "dkimsync-json-"));
  fake = await startCloudflareFake({
    seed: {
      zones: [
        {
          name: "example.com",
          records: [
            // As octoDNS or the dashboard leave them: automatic TTL and proxied; and flattened only.
            { name: S1, type: "CNAME", content: T1, ttl: 1, proxied: true },
            { name: S2, type: "CNAME", content: T2, ttl: 3600, settings: { flatten_cname: true } },
          ],
        },
      ],
    },
  });
});
afterEach(async () => {
  await fake.stop();
  await rm(dir, { recursive: true, force: true });
});

async function planOfZone(): Promise<Plan> {
  const p = createCloudflareProvider(
    new OptionsReader({
      provider: "cf",
      type: "cloudflare",
      values: { token: "env/T", base_url: fake.baseURL },
      where: { file: "dkim.zones.yaml", line: 1 },
      lineOf: () => undefined,
      configDir: dir,
      env: { T: fake.token },
    }),
    {},
  );
  const existing = await p.list("example.com", [S1, S2]);
  const diff = diffZone(existing, [
    { record: { name: S1, type: "CNAME", ttl: 3600, values: [T1] }, ensure: "present" },
    { record: { name: S2, type: "CNAME", ttl: 3600, values: [T2] }, ensure: "present" },
  ]);
  return {
    zones: [
      {
        provider: "cf",
        zone: "example.com",
        domains: ["example.com"],
        ...diff,
        warnings: [],
        names: [S1, S2],
        fingerprint: "",
      },
    ],
    errors: [],
  };
}

describe("JSON plan", () => {
  it("carries Cloudflare drift in before.drift, as the text plan shows it", async () => {
    const plan = await planOfZone();
    const text = renderText(plan, plain);
    const json = planToJson(plan);
    const s1 = json.changes.find((c) => c.name === S1);
    const s2 = json.changes.find((c) => c.name === S2);
    expect(text).toContain("proxied");
    expect(s1?.before).toEqual({ ttl: 1, values: [T1], drift: [expect.stringContaining("proxied")] });
    expect(s1?.after).toEqual({ ttl: 3600, values: [T1] });
    // The only fault is the flattening: before and after must still differ.
    expect(s2?.action).toBe("update");
    expect(s2?.before).not.toEqual(s2?.after);
    expect(s2?.before?.drift).toEqual([expect.stringMatching(/flatten/i)]);
    // Every drift phrase of the text plan is in the JSON too.
    for (const d of [...(s1?.before?.drift ?? []), ...(s2?.before?.drift ?? [])]) expect(text).toContain(d);
  });
});
