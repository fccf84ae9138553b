/**
 * Many domains across two providers (octoDNS zone files and a real PowerDNS on loopback), run
 * through the CLI's own code paths: a conflict, a bad target, a NoDKIMKeys entry and a missing
 * zone each stay with their domain, every other domain is planned and applied, and the exit
 * code still says that something failed. Provenance and the derived-target warning appear in
 * text, Markdown, JSON and the saved plan.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RecordSet } from "../../src/core/types.js";
import { createZone, readZone, startPowerDns, type PdnsServer } from "../servers/pdns.js";

const legacy = (sel: string, d: string) => `${sel}-${d.replace(/\./g, "-")}._domainkey.contoso.onmicrosoft.com`;
const modern = (sel: string, d: string) =>
  `${sel}-${d.replace(/\./g, "-")}._domainkey.contoso.q-v1.dkim.mail.microsoft`;
const OLD_KEY = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP";

let pdns: PdnsServer;
let dir: string;

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "dkimsync.js");

/** The built CLI in a child process, as users run it (npm test builds it first). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, NO_COLOR: "", FORCE_COLOR: "", ISOLATION_PDNS_KEY: pdns.apiKey } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  pdns = await startPowerDns();
  await createZone(pdns, "d.example", []);
  await createZone(pdns, "e.example", []);
  await createZone(pdns, "f.example", []);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-isolation-"));
  await fs.mkdir(path.join(dir, "zones"));
  for (const z of ["a.example", "c.example"]) await fs.writeFile(path.join(dir, "zones", `${z}.yaml`), "--- {}\n");
  await fs.writeFile(
    path.join(dir, "zones", "b.example.yaml"),
    `---\nselector1._domainkey:\n  type: TXT\n  ttl: 3600\n  value: ${OLD_KEY.replaceAll(";", "\\;")}\n`,
  );
  await fs.writeFile(
    path.join(dir, "dkim.json"),
    JSON.stringify([
      {
        Domain: "d.example",
        Status: "CnameMissing",
        Enabled: false,
        Selector1CNAME: modern("selector1", "d.example"),
        Selector2CNAME: modern("selector2", "d.example"),
      },
      { Domain: "e.example", Status: "NoDKIMKeys", Enabled: false, Selector1CNAME: null, Selector2CNAME: null },
    ]),
  );
  await fs.writeFile(
    path.join(dir, "dkim.zones.yaml"),
    [
      "tenant: contoso",
      "signing_config: dkim.json",
      "providers:",
      "  zones:",
      "    type: yaml",
      "    directory: ./zones",
      "  pdns:",
      "    type: powerdns",
      `    url: ${pdns.apiUrl}`,
      "    api_key: env/ISOLATION_PDNS_KEY",
      "domains:",
      "  a.example: { provider: zones }", //                                  derived
      "  b.example: { provider: zones }", //                                  derived, old TXT key: conflict
      "  c.example:", //                                                      a bad explicit target
      "    provider: zones",
      `    selector1: ${legacy("selector1", "c.example")}`,
      `    selector2: ${legacy("selector1", "c.example")}`,
      "  d.example: { provider: pdns }", //                                   signing_config
      "  e.example: { provider: pdns }", //                                   NoDKIMKeys
      "  f.example: { provider: pdns }", //                                   derived
      "  g.example: { provider: pdns }", //                                   no zone at the provider
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  await pdns?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const cfg = () => path.join(dir, "dkim.zones.yaml");
const cnames = (sets: RecordSet[]) =>
  sets
    .filter((s) => s.type === "CNAME")
    .map((s) => `${s.name} ${s.values.join(",")}`)
    .sort();

describe("per-domain isolation across providers", () => {
  it("plans every other domain, reports each problem on its domain, and exits 1; provenance and warnings in all four outputs", async () => {
    const text = await cli(["plan", "-c", cfg()]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      `+ selector1._domainkey.a.example  CNAME  3600  ${legacy("selector1", "a.example")}  [derived]`,
    );
    expect(text.stdout).toContain(
      `+ selector1._domainkey.d.example  CNAME  3600  ${modern("selector1", "d.example")}  [signing_config]`,
    );
    expect(text.stdout).toContain(
      `+ selector2._domainkey.f.example  CNAME  3600  ${legacy("selector2", "f.example")}  [derived]`,
    );
    // One short line per domain, the advice once (three derived domains: a, b, f).
    expect(text.stdout).toContain(
      "  ! a.example: targets derived from tenant, not confirmed by signing_config (what to do: see the note before the summary)",
    );
    expect(text.stdout).toMatch(
      /\n! Targets derived from tenant, not confirmed by signing_config \(3 domains, marked above\): .*May 2025.*Get-DkimSigningConfig -Identity <domain>/,
    );
    expect(text.stdout.match(/May 2025/g)).toHaveLength(1);
    expect(text.stdout).not.toMatch(/! d\.example/);
    expect(text.stdout).toMatch(/✗ conflict selector1\._domainkey\.b\.example {2}TXT/);
    expect(text.stdout).toMatch(
      /\[zones\] c\.example: .*dkim\.zones\.yaml:17: domain "c\.example": selector2 target .* must start with "selector2-/,
    );
    expect(text.stdout).toMatch(
      /\[pdns\] e\.example: .*no DKIM keys for it yet \(Status NoDKIMKeys.*New-DkimSigningConfig -DomainName e\.example -Enabled \$false/,
    );
    expect(text.stdout).toMatch(/\[pdns\] g\.example: no zone at provider "pdns" contains g\.example/);

    const md = await cli(["plan", "-c", cfg(), "--format", "markdown"]);
    expect(md.stdout).toMatch(/> ⚠️ `a\.example`: targets derived from tenant/);
    expect(md.stdout).toContain(`\`${modern("selector1", "d.example")}\` (signing\\_config) |`);

    const json = JSON.parse((await cli(["plan", "-c", cfg(), "--format", "json"])).stdout);
    expect(json.changes.filter((c: { source?: string }) => c.source === undefined)).toEqual([]);
    expect(json.warnings.map((w: { domain?: string }) => w.domain).sort()).toEqual([
      "a.example",
      "b.example",
      "f.example",
    ]);
    expect(json.errors.map((e: { domain: string }) => e.domain)).toEqual(["e.example", "g.example", "c.example"]);

    const planFile = path.join(dir, "plan.json");
    expect((await cli(["plan", "-c", cfg(), "--out", planFile])).code).toBe(1);
    const saved = JSON.parse(await fs.readFile(planFile, "utf8"));
    expect(
      saved.zones.flatMap((z: { changes: { source?: string }[] }) => z.changes.map((c) => c.source)),
    ).not.toContain(undefined);
    expect(saved.zones.find((z: { zone: string }) => z.zone === "a.example").notes[0].message).toMatch(
      /derived from tenant/,
    );
    // Marked as the derived-target warning by the planner (the text plan shortens it by the mark).
    expect(saved.zones.find((z: { zone: string }) => z.zone === "a.example").notes[0].derived).toBe(true);
    expect(
      saved.zones
        .flatMap((z: { notes?: { domain: string; derived?: true }[] }) =>
          (z.notes ?? []).filter((n) => n.derived).map((n) => n.domain),
        )
        .sort(),
    ).toEqual(["a.example", "b.example", "f.example"]);
    expect(saved.warnings.map((w: { domain?: string }) => w.domain)).toContain("a.example");
  });

  it("applies every other domain; the conflict's domain and the bad ones get nothing written; exit 1", async () => {
    const bBefore = await fs.readFile(path.join(dir, "zones", "b.example.yaml"), "utf8");
    const r = await cli(["apply", "-c", cfg()]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toMatch(
      /✗ zones · b\.example: not written: a TXT record at selector1\._domainkey\.b\.example blocks the selector CNAME/,
    );
    expect(await fs.readFile(path.join(dir, "zones", "b.example.yaml"), "utf8")).toBe(bBefore);
    expect(await fs.readFile(path.join(dir, "zones", "c.example.yaml"), "utf8")).toBe("--- {}\n");
    expect(await fs.readFile(path.join(dir, "zones", "a.example.yaml"), "utf8")).toContain(
      legacy("selector2", "a.example"),
    );
    expect(cnames(await readZone(pdns, "d.example"))).toEqual([
      `selector1._domainkey.d.example ${modern("selector1", "d.example")}`,
      `selector2._domainkey.d.example ${modern("selector2", "d.example")}`,
    ]);
    expect(cnames(await readZone(pdns, "e.example"))).toEqual([]);
    expect(cnames(await readZone(pdns, "f.example"))).toHaveLength(2);
  });

  it("apply --domain and --provider limit the run; replace: [TXT] on b.example then lets its old key go", async () => {
    const text = await fs.readFile(cfg(), "utf8");
    await fs.writeFile(
      cfg(),
      text.replace("  b.example: { provider: zones }", "  b.example: { provider: zones, replace: [TXT] }"),
    );
    const wrongProvider = await cli(["apply", "-c", cfg(), "--domain", "b.example", "--provider", "pdns"]);
    expect(wrongProvider.stdout).toContain("Apply: 0 change(s) written in 0 zone(s).");
    const r = await cli(["apply", "-c", cfg(), "--domain", "b.example"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/allowed by replace: \[TXT\] for b\.example at .*:13: apply replaces it with the CNAME/);
    const b = await fs.readFile(path.join(dir, "zones", "b.example.yaml"), "utf8");
    expect(b).not.toContain("p=MIGf");
    expect(b).toContain(legacy("selector1", "b.example"));
  });
});
