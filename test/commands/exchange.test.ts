/**
 * dkimsync exchange against a real PowerDNS (test/helpers/journey.ts): the next Exchange Online
 * step of every domain, from the signing_config export and a verify made now.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchangeCommand, type ExchangeStep } from "../../src/commands/exchange.js";
import { startJourney, type Journey } from "../helpers/journey.js";

let journey: Journey;
beforeAll(async () => {
  journey = await startJourney();
});
afterAll(async () => {
  await journey?.stop();
});

async function run(format: "text" | "json", domains: string[] = []) {
  const out = { stdout: "", stderr: "" };
  const code = await exchangeCommand(
    {
      config: journey.configFile,
      domains,
      nameserver: journey.dns,
      resolver: journey.dns,
      format,
      now: new Date("2025-06-01T00:00:00Z"),
      timeoutMs: 1500,
    },
    { stdout: (s) => void (out.stdout += s), stderr: (s) => void (out.stderr += s) },
  );
  return { code, ...out };
}

describe("dkimsync exchange", () => {
  let steps: ExchangeStep[];
  let script: string;
  beforeAll(async () => {
    const json = await run("json");
    expect(json.code).toBe(0);
    steps = JSON.parse(json.stdout).domains;
    script = (await run("text")).stdout;
  });
  const step = (d: string) => steps.find((s) => s.domain === d);

  it("creates keys, without signing, for a domain Microsoft has none for", () => {
    expect(step("nokeys.test")).toMatchObject({
      action: "create-keys",
      command: "New-DkimSigningConfig -DomainName nokeys.test -Enabled $false",
    });
    expect(step("nokeys.test")?.reason).toMatch(/NoDKIMKeys.*export again/);
  });

  it("enables only domains whose two CNAMEs verify at every authoritative server and whose keys resolve", () => {
    expect(step("ready.test")).toMatchObject({
      action: "enable",
      command: "Set-DkimSigningConfig -Identity ready.test -Enabled $true",
    });
    expect(step("xn--bcher-kva.test")).toMatchObject({
      action: "enable",
      unicode: "bücher.test",
      command: "Set-DkimSigningConfig -Identity xn--bcher-kva.test -Enabled $true",
    });
    expect(step("notyet.test")).toMatchObject({ action: "wait", command: null });
    expect(step("notyet.test")?.reason).toMatch(/selector1 cname \(authoritative\): missing \(NXDOMAIN\)/);
    expect(step("half.test")).toMatchObject({ action: "wait", command: null });
    expect(step("half.test")?.reason).toMatch(/selector2 cname \(authoritative\)/);
    // Never an enable for a domain that did not verify.
    expect(steps.filter((s) => s.action === "enable").map((s) => s.domain)).toEqual([
      "ready.test",
      "xn--bcher-kva.test",
    ]);
    expect(script.match(/Set-DkimSigningConfig .* -Enabled \$true/g)).toEqual([
      "Set-DkimSigningConfig -Identity ready.test -Enabled $true",
      "Set-DkimSigningConfig -Identity xn--bcher-kva.test -Enabled $true",
    ]);
  });

  it("rotates a signing domain's 1024-bit keys to 2048, and leaves a 2048-bit one alone", () => {
    expect(step("weak.test")).toMatchObject({
      action: "rotate",
      command: "Rotate-DkimSigningConfig -Identity weak.test -KeySize 2048",
    });
    expect(step("weak.test")?.reason).toMatch(/1024-bit key.*next rotation/);
    expect(step("signing.test")).toMatchObject({ action: "none", command: null });
  });

  it("says a signing domain whose CNAMEs are not Microsoft's targets must be fixed, and runs nothing for it", () => {
    expect(step("moved.test")).toMatchObject({ action: "wait", command: null });
    expect(step("moved.test")?.reason).toMatch(
      /signing is enabled, but receivers cannot verify it: selector1 target: .*a-v1\.dkim\.mail\.microsoft is right/,
    );
  });

  it("does nothing for the initial onmicrosoft.com domain", () => {
    expect(step("contoso.onmicrosoft.com")).toMatchObject({ action: "none", command: null });
    expect(step("contoso.onmicrosoft.com")?.reason).toMatch(/signed by Microsoft/);
    expect(script).not.toMatch(/-(Identity|DomainName) contoso\.onmicrosoft\.com/);
  });

  it("writes a script where each command sits under a comment saying why", () => {
    const lines = script.split("\n");
    const commands = lines
      .map((l, i) => [l, i] as const)
      .filter(([l]) => /^(New|Set|Rotate)-DkimSigningConfig /.test(l));
    expect(commands.length).toBe(4);
    for (const [, i] of commands) expect(lines[i - 1]).toMatch(/^# \S+.*: /);
    expect(script).toContain("# bücher.test (xn--bcher-kva.test): both CNAMEs verify");
    expect(script).toMatch(/# 1 to create keys, 2 to enable, 1 to rotate, 3 not ready, 2 with nothing to do\./);
  });

  it("--domain limits the run", async () => {
    const r = await run("json", ["Ready.Test."]);
    expect(JSON.parse(r.stdout).domains.map((s: ExchangeStep) => s.domain)).toEqual(["ready.test"]);
  });
});

describe("dkimsync exchange without signing_config", () => {
  it("warns that Microsoft's view is missing, and still enables only what verifies", async () => {
    const fs = await import("node:fs/promises");
    const path = await import("node:path");
    const file = path.join(journey.dir, "no-export.zones.yaml");
    await fs.writeFile(
      file,
      "tenant: contoso\nproviders:\n  zones: { type: yaml, directory: ./zones }\ndomains:\n  ready.test: { provider: zones }\n  notyet.test: { provider: zones }\n",
    );
    const out = { stdout: "", stderr: "" };
    const code = await exchangeCommand(
      { config: file, domains: [], nameserver: journey.dns, resolver: journey.dns, format: "json", timeoutMs: 1500 },
      { stdout: (s) => void (out.stdout += s), stderr: (s) => void (out.stderr += s) },
    );
    expect(code).toBe(0);
    expect(out.stderr).toMatch(/has no signing_config: .*Get-DkimSigningConfig \| ConvertTo-Json/);
    const steps: ExchangeStep[] = JSON.parse(out.stdout).domains;
    expect(steps.map((s) => [s.domain, s.action])).toEqual([
      ["notyet.test", "wait"],
      ["ready.test", "enable"],
    ]);
  });
});
