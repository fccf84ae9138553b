/**
 * A wrong Cloudflare token, against the loopback Cloudflare API (test/fakes/cloudflare), through
 * the built CLI: reported once with every domain it affected, while the other provider's domains
 * are still planned.
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCloudflareFake, type CloudflareFake } from "../fakes/cloudflare/server.js";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "dkimsync.js");
const DOMAINS = Array.from({ length: 8 }, (_, i) => `shop${i}.example`);
let fake: CloudflareFake;
let dir: string;

beforeAll(async () => {
  fake = await startCloudflareFake();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-cf-token-"));
  await fs.mkdir(path.join(dir, "zones"));
  await fs.writeFile(path.join(dir, "zones", "contoso.com.yaml"), "--- {}\n");
  await fs.writeFile(
    path.join(dir, "dkim.zones.yaml"),
    [
      "tenant: contoso",
      "providers:",
      "  zones: { type: yaml, directory: ./zones }",
      `  cf: { type: cloudflare, token: env/WRONG_CF_TOKEN, base_url: "${fake.baseURL}", max_retries: 0 }`,
      "domains:",
      "  contoso.com: { provider: zones }",
      ...DOMAINS.map((d) => `  ${d}: { provider: cf }`),
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await fake?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

function plan(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, "plan"],
      { cwd: dir, env: { ...process.env, NO_COLOR: "", WRONG_CF_TOKEN: "not-the-token" } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("one provider failure, many domains", () => {
  it("is one line naming every domain it affected; the other provider's domains are still planned; exit 1", async () => {
    const r = await plan();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "+ selector1._domainkey.contoso.com  CNAME  3600  selector1-contoso-com._domainkey.contoso.onmicrosoft.com  [derived]",
    );
    const errorLines = r.stdout.split("\n").filter((l) => l.startsWith("  [cf]"));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toContain(`[cf] ${[...DOMAINS].sort().join(", ")}: `);
    expect(errorLines[0]).toMatch(/9109|[Ii]nvalid access token/);
    expect(r.stdout).not.toContain("not-the-token");
  });
});
