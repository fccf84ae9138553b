/**
 * The whole story, as an administrator runs it: the built CLI publishes the selector CNAMEs into
 * a real PowerDNS (plan, apply, plan again), and verify then proves over DNS that they resolve
 * to sound keys. Microsoft's side (the target zone with the keys) is served by the same server.
 */
import { generateKeyPairSync } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordSet } from "../src/core/types.js";
import { createZone, readZone, startPowerDns, type PdnsServer } from "./servers/pdns.js";
import { runCli as run } from "./helpers/cli.js";

const TARGETS = "contoso.onmicrosoft.com";
const DOMAINS = ["fabrikam.test", "marketing.fabrikam.test", "tailspin.test"];

function key(bits: number): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;
}

describe("publish with apply, then prove with verify (real PowerDNS, built CLI)", () => {
  let server: PdnsServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = await startPowerDns();
    const mx = (zone: string): RecordSet => ({
      name: zone,
      type: "MX",
      ttl: 3600,
      values: [`0 ${zone.replace(/\./g, "-")}.mail.protection.outlook.com`],
    });
    await createZone(server, "fabrikam.test", [
      mx("fabrikam.test"),
      { name: "google._domainkey.fabrikam.test", type: "TXT", ttl: 3600, values: ["v=DKIM1; p=MIGf"] },
    ]);
    await createZone(server, "tailspin.test", [mx("tailspin.test")]);
    // Microsoft's side: a key behind each selector of each domain.
    const keys: RecordSet[] = DOMAINS.flatMap((d) =>
      [1, 2].map((n) => ({
        name: `selector${n}-${d.replace(/\./g, "-")}._domainkey.${TARGETS}`,
        type: "TXT",
        ttl: 3600,
        values: [key(2048)],
      })),
    );
    await createZone(server, TARGETS, keys);

    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-e2e-"));
    env = { E2E_PDNS_KEY: server.apiKey };
    await fs.writeFile(
      path.join(dir, "dkim.zones.yaml"),
      [
        "tenant: contoso",
        "providers:",
        "  pdns:",
        "    type: powerdns",
        `    url: ${server.apiUrl}`,
        "    api_key: env/E2E_PDNS_KEY",
        "domains:",
        ...DOMAINS.flatMap((d) => [`  ${d}:`, "    provider: pdns"]),
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("verify fails before apply, apply publishes, plan is then empty and verify passes", async () => {
    const dns = ["--nameserver", `127.0.0.1:${server.dnsPort}`, "--resolver", `127.0.0.1:${server.dnsPort}`];

    const before = await run(dir, ["verify", ...dns, "--format", "json"], env);
    expect(before.code).toBe(2);
    expect(JSON.parse(before.stdout).summary.fail).toBeGreaterThan(0);

    const plan = await run(dir, ["plan", "--detailed-exitcode"], env);
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain("Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged, 0 conflicts.");

    const apply = await run(dir, ["apply"], env);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("Apply: 6 change(s) written in 2 zone(s).");

    expect((await run(dir, ["plan", "--detailed-exitcode"], env)).code).toBe(0);

    const after = await run(dir, ["verify", ...dns, "--format", "json"], env);
    const report = JSON.parse(after.stdout);
    expect(report.summary.fail).toBe(0);
    expect(after.code).toBe(0);
    expect(report.domains.map((d: { domain: string }) => d.domain).sort()).toEqual([...DOMAINS].sort());

    // What the server holds: the selectors, and every record dkimsync does not manage, untouched.
    const zone = await readZone(server, "fabrikam.test");
    expect(zone.find((r) => r.name === "selector2._domainkey.marketing.fabrikam.test")?.values).toEqual([
      `selector2-marketing-fabrikam-test._domainkey.${TARGETS}`,
    ]);
    expect(zone.find((r) => r.name === "google._domainkey.fabrikam.test")?.values).toEqual(["v=DKIM1; p=MIGf"]);
    expect(zone.find((r) => r.type === "MX")?.values).toEqual(["0 fabrikam-test.mail.protection.outlook.com"]);
  });
});
