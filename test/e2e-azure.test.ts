/**
 * The built CLI against Azure DNS, as an administrator runs it: plan, apply, plan again (empty),
 * and a saved plan refused once the zone changed under it. The loopback Azure server
 * (test/fakes/azure) runs in this process; the CLI runs as a child with the real
 * `@azure/arm-dns` and `@azure/identity`, trusting the server's certificate through
 * NODE_EXTRA_CA_CERTS and signing in with DefaultAzureCredential's environment service principal.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAzureFake, type AzureFake } from "./fakes/azure/server.js";
import { wireData } from "./fakes/azure/state.js";
import { runCli as run } from "./helpers/cli.js";

describe("azure through the built CLI: plan, apply, plan again, stale saved plan refused", () => {
  let fake: AzureFake;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const outputs: string[] = [];

  beforeAll(async () => {
    fake = await startAzureFake();
    const fabrikam = fake.state.createZone(fake.subscriptionId, "dns-rg", "fabrikam.test");
    fake.state.put(fabrikam, "@", "MX", {
      ttl: 3600,
      data: wireData("MX", ["0 fabrikam-test.mail.protection.outlook.com"]),
    });
    fake.state.put(fabrikam, "google._domainkey", "TXT", { ttl: 3600, data: wireData("TXT", ["v=DKIM1; p=MIGf"]) });
    fake.state.createZone(fake.subscriptionId, "other-rg", "tailspin.test");
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-e2e-az-"));
    await fs.writeFile(path.join(dir, "ca.pem"), fake.ca);
    env = {
      NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem"),
      AZURE_TENANT_ID: fake.tenantId,
      AZURE_CLIENT_ID: fake.clientId,
      AZURE_CLIENT_SECRET: fake.clientSecret,
    };
    await fs.writeFile(
      path.join(dir, "dkim.zones.yaml"),
      [
        "tenant: contoso",
        "providers:",
        "  azure:",
        "    type: azure",
        `    subscription_id: ${fake.subscriptionId}`,
        `    endpoint: ${fake.endpoint}`,
        `    authority_host: ${fake.authorityHost}`,
        "    max_attempts: 2",
        "domains:",
        "  fabrikam.test:",
        "    provider: azure",
        "  tailspin.test:",
        "    provider: azure",
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await fake?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it("publishes the selectors, converges, and refuses a saved plan made before", async () => {
    const plan = await run(dir, ["plan", "--detailed-exitcode", "--out", "plan.json"], env);
    outputs.push(plan.stdout, plan.stderr);
    expect(plan.stderr).toBe("dkimsync: plan saved to plan.json; apply it with: dkimsync apply --plan plan.json\n");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain("Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged, 0 conflicts.");

    const apply = await run(dir, ["apply"], env);
    outputs.push(apply.stdout, apply.stderr);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("Apply: 4 change(s) written in 2 zone(s).");

    const again = await run(dir, ["plan", "--detailed-exitcode"], env);
    outputs.push(again.stdout, again.stderr);
    expect(again.code).toBe(0);

    const z = fake.state.zone(fake.subscriptionId, "dns-rg", "fabrikam.test");
    expect(fake.state.find(z, "selector1._domainkey", "CNAME")?.data).toEqual({
      CNAMERecord: { cname: "selector1-fabrikam-test._domainkey.contoso.onmicrosoft.com" },
    });
    expect(fake.state.find(z, "google._domainkey", "TXT")?.data).toEqual(wireData("TXT", ["v=DKIM1; p=MIGf"]));

    // The plan saved before apply no longer matches the zones: both are refused, nothing written.
    fake.resetCounts();
    const stale = await run(dir, ["apply", "--plan", "plan.json"], env);
    outputs.push(stale.stdout, stale.stderr);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/fabrikam\.test: REFUSED \(stale plan\)/);
    expect(stale.stdout).toMatch(/tailspin\.test: REFUSED \(stale plan\)/);
    expect((fake.counts.putRecordSet ?? 0) + (fake.counts.deleteRecordSet ?? 0)).toBe(0);

    outputs.push(await fs.readFile(path.join(dir, "plan.json"), "utf8"));
    for (const text of outputs) {
      expect(text).not.toContain(fake.clientSecret);
      for (const t of fake.issuedTokens) expect(text).not.toContain(t);
    }
    expect(fake.issuedTokens.length).toBeGreaterThanOrEqual(4);
  });

  it("bad credentials and a missing subscription: one clear message, exit 1, no stack, no secret", async () => {
    const bad = await run(dir, ["plan"], { ...env, AZURE_CLIENT_SECRET: "not-the-secret-0123456789" });
    expect(bad.code).toBe(1);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(
      /\[azure\] fabrikam\.test, tailspin\.test: cannot list zones: listing the DNS zones of the subscription: Microsoft Entra ID refused the credentials \(AADSTS7000215: Invalid client secret provided\./,
    );
    expect(`${bad.stdout}${bad.stderr}`).not.toMatch(/not-the-secret|\n\s+at /);

    const config = await fs.readFile(path.join(dir, "dkim.zones.yaml"), "utf8");
    await fs.writeFile(
      path.join(dir, "missing.yaml"),
      config.replace(fake.subscriptionId, "00000000-0000-0000-0000-0000000000ff"),
    );
    const missing = await run(dir, ["plan", "-c", "missing.yaml"], env);
    expect(missing.code).toBe(1);
    expect(`${missing.stdout}${missing.stderr}`).toMatch(
      /\[azure\] fabrikam\.test, tailspin\.test: cannot list zones: listing the DNS zones of the subscription: subscription 00000000-0000-0000-0000-0000000000ff was not found \(SubscriptionNotFound\)/,
    );
    expect(`${missing.stdout}${missing.stderr}`).not.toMatch(/\n\s+at /);
    for (const text of [bad.stdout, bad.stderr, missing.stdout, missing.stderr]) {
      expect(text).not.toContain(fake.clientSecret);
      for (const t of fake.issuedTokens) expect(text).not.toContain(t);
    }
  });
});
