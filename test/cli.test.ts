/**
 * The CLI as users and pipelines run it: the built bin in a child process, on a copy of the
 * bundled example (dkim.zones.yaml + zones/ + m365/), checking output, files and exit codes.
 */
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "bin", "dkimsync.js");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function dkimsync(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd, env: { ...process.env, NO_COLOR: "", FORCE_COLOR: "", ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function copyExample(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-cli-"));
  await fs.cp(path.join(root, "dkim.zones.yaml"), path.join(dir, "dkim.zones.yaml"));
  await fs.cp(path.join(root, "zones"), path.join(dir, "zones"), { recursive: true });
  await fs.cp(path.join(root, "m365"), path.join(dir, "m365"), { recursive: true });
  return dir;
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fs.readdir(path.join(dir, "zones"))).sort())
    out[f] = await fs.readFile(path.join(dir, "zones", f), "utf8");
  return out;
}

const EXAMPLE_SUMMARY = "3 to create, 2 to update, 2 to delete, 4 unchanged, 1 conflict";

describe("dkimsync CLI on the bundled example", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await copyExample();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("plan shows every kind of case and exits 0; with --detailed-exitcode, 2", async () => {
    const r = await dkimsync(dir, ["plan"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Plan: ${EXAMPLE_SUMMARY}.`);
    expect(r.stdout).toContain(
      "+ selector2._domainkey.contoso.com  CNAME  3600  selector2-contoso-com._domainkey.contoso.onmicrosoft.com",
    );
    expect(r.stdout).toContain("~ selector2._domainkey.marketing.contoso.com  CNAME  (ttl 300 -> 3600)");
    expect(r.stdout).toContain("- selector1._domainkey.retired.contoso.net  CNAME");
    expect(r.stdout).toContain("conflict selector1._domainkey.northwind-traders.com  TXT");
    expect(r.stdout).toContain("selector2-northwindtraders-com._domainkey.contoso.a-v1.dkim.mail.microsoft");
    // Records dkimsync does not manage never appear, not even as "unchanged".
    for (const foreign of [
      "google._domainkey",
      "mandrill._domainkey",
      "s1._domainkey",
      "autodiscover",
      "_dmarc",
      "www.",
    ]) {
      expect(r.stdout).not.toContain(foreign);
    }
    expect(r.stdout).not.toMatch(/\u001b\[/);
    expect((await dkimsync(dir, ["plan", "--detailed-exitcode"])).code).toBe(2);
  });

  it("plan --format json follows the documented schema exactly (docs/reference/plan-json.md)", async () => {
    const r = await dkimsync(dir, ["plan", "--format", "json"]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(Object.keys(plan)).toEqual(["version", "changes", "conflicts", "summary", "warnings"]);
    expect(plan.version).toBe(1);
    expect(plan.summary).toEqual({ create: 3, update: 2, delete: 2, unchanged: 4, conflicts: 1 });
    for (const c of plan.changes)
      expect(Object.keys(c)).toEqual(["action", "provider", "zone", "name", "type", "before", "after", "source"]);
    // Provenance of every target, and a warning on each domain whose targets were derived.
    expect(plan.changes.map((c: { name: string; source: string }) => `${c.name} ${c.source}`)).toEqual([
      "selector2._domainkey.contoso.com derived",
      "selector2._domainkey.marketing.contoso.com derived",
      "selector1._domainkey.retired.contoso.net config",
      "selector2._domainkey.retired.contoso.net config",
      "selector2._domainkey.fabrikam.com config",
      "selector1._domainkey.fabrikam.com config",
      "selector2._domainkey.northwind-traders.com signing_config",
    ]);
    expect(plan.warnings.map((w: { domain: string }) => w.domain)).toEqual(["contoso.com", "marketing.contoso.com"]);
    expect(plan.warnings[0].message).toMatch(
      /derived from tenant.*May 2025.*Get-DkimSigningConfig -Identity contoso\.com/,
    );
    // Per zone in order (contoso.com before contoso.net), deletes first within a zone.
    expect(plan.changes.map((c: { zone: string; action: string }) => `${c.zone} ${c.action}`)).toEqual([
      "contoso.com create",
      "contoso.com update",
      "contoso.net delete",
      "contoso.net delete",
      "fabrikam.com create",
      "fabrikam.com update",
      "northwind-traders.com create",
    ]);
    expect(plan.changes[2]).toEqual({
      action: "delete",
      provider: "zones",
      zone: "contoso.net",
      name: "selector1._domainkey.retired.contoso.net",
      type: "CNAME",
      before: { ttl: 3600, values: ["selector1-retired-contoso-net._domainkey.contoso.onmicrosoft.com"] },
      after: null,
      source: "config",
    });
    expect(plan.changes).toContainEqual({
      action: "update",
      provider: "zones",
      zone: "fabrikam.com",
      name: "selector1._domainkey.fabrikam.com",
      type: "CNAME",
      before: { ttl: 3600, values: ["selector1-fabrikam-com._domainkey.contoso.onmicrosoft.com"] },
      after: { ttl: 3600, values: ["selector1-fabrikam-com._domainkey.contoso.y-v1.dkim.mail.microsoft"] },
      source: "config",
    });
    expect(plan.conflicts).toEqual([
      {
        provider: "zones",
        zone: "northwind-traders.com",
        name: "selector1._domainkey.northwind-traders.com",
        type: "TXT",
        values: [expect.stringMatching(/^v=DKIM1; k=rsa; p=MIGf/)],
        reason: expect.stringContaining("RFC 1034"),
        source: "signing_config",
      },
    ]);
    // Same input, same bytes.
    expect((await dkimsync(dir, ["plan", "--format", "json"])).stdout).toBe(r.stdout);
  });

  it("plan --format markdown is a pull-request comment with a table per zone", async () => {
    const r = await dkimsync(dir, ["plan", "--format", "markdown"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`**${EXAMPLE_SUMMARY}, 2 warnings, 0 errors**`);
    expect(r.stdout).toContain("<summary>📝 <code>zones</code> · <code>fabrikam.com</code>:");
    expect(r.stdout).toContain("| | Name | Type | TTL | Before | After |");
    expect(r.stdout).toContain("| ✏️ update | `selector2._domainkey.marketing.contoso.com` | CNAME | 300 → 3600 |");
  });

  it("apply writes every domain but the one a conflict blocks, exits 1; --force replaces it and converges", async () => {
    const before = await snapshot(dir);
    const refused = await dkimsync(dir, ["apply"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(refused.stdout).toContain("✗ zones · northwind-traders.com: BLOCKED (conflict)");
    expect(refused.stdout).toMatch(
      /✗ zones · northwind-traders\.com: not written: a TXT record at selector1\._domainkey\.northwind-traders\.com blocks the selector CNAME.*replace: \[TXT\].*apply --force/,
    );
    expect(refused.stdout).toMatch(
      /Apply: 6 change\(s\) written in 3 zone\(s\), 1 domain\(s\) blocked by a conflict\./,
    );
    const mid = await snapshot(dir);
    expect(mid["northwind-traders.com.yaml"]).toBe(before["northwind-traders.com.yaml"]);
    expect(mid["fabrikam.com.yaml"]).not.toBe(before["fabrikam.com.yaml"]);

    const forced = await dkimsync(dir, ["apply", "--force"]);
    expect(forced.stderr).toBe("");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/Apply: 3 change\(s\) written in 1 zone\(s\)\./);
    // It never suggests the flag that is being used.
    expect(forced.stdout).not.toContain("or apply --force replaces them");
    expect(forced.stdout).toContain("--force replaces them with the CNAMEs");
    expect((await dkimsync(dir, ["plan", "--detailed-exitcode"])).code).toBe(0);

    const after = await snapshot(dir);
    // Foreign records and comments survive in the edited files.
    expect(after["contoso.com.yaml"]).toContain(
      "# The newsletter vendor's own DKIM key: not ours, dkimsync never touches it.",
    );
    expect(after["contoso.com.yaml"]).toContain("google._domainkey:");
    expect(after["contoso.net.yaml"]).toContain("s1._domainkey.retired:");
    expect(after["contoso.net.yaml"]).not.toContain("selector1._domainkey.retired");
    expect(after["northwind-traders.com.yaml"]).toContain("mandrill._domainkey:");
    expect(after["tailspintoys.com.yaml"]).toBe(before["tailspintoys.com.yaml"]);
  });

  it("replace: [TXT] on one domain lets apply replace its old key without --force, shown in the plan", async () => {
    const cfg = path.join(dir, "dkim.zones.yaml");
    const text = await fs.readFile(cfg, "utf8");
    await fs.writeFile(
      cfg,
      text.replace(
        "  northwind-traders.com:\n    provider: zones\n",
        "  northwind-traders.com:\n    provider: zones\n    replace: [TXT]\n",
      ),
    );
    const plan = await dkimsync(dir, ["plan"]);
    expect(plan.stdout).toMatch(
      /allowed by replace: \[TXT\] for northwind-traders\.com at dkim\.zones\.yaml:\d+: apply replaces it with the CNAME/,
    );
    expect(plan.stdout).not.toContain("Conflicting records block their CNAMEs");
    const applied = await dkimsync(dir, ["apply", "--domain", "northwind-traders.com"]);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/Apply: 3 change\(s\) written in 1 zone\(s\)\./);
    const after = await snapshot(dir);
    expect(after["northwind-traders.com.yaml"]).not.toContain("v=DKIM1; k=rsa; p=MIGf");
    expect(after["northwind-traders.com.yaml"]).toContain("mandrill._domainkey:");
    // --domain limited the run: the other zones are untouched.
    expect(after["fabrikam.com.yaml"]).toContain("selector1-fabrikam-com._domainkey.contoso.onmicrosoft.com");
  });

  it("apply --plan refuses a zone that changed since the plan, applies the others, exits 1", async () => {
    const planFile = path.join(dir, "plan.json");
    const r = await dkimsync(dir, ["plan", "--out", planFile]);
    expect(r.code).toBe(0);
    const saved = JSON.parse(await fs.readFile(planFile, "utf8"));
    expect(saved.zones.every((z: { fingerprint: string }) => /^[0-9a-f]{64}$/.test(z.fingerprint))).toBe(true);

    const fabrikam = path.join(dir, "zones", "fabrikam.com.yaml");
    const edited = (await fs.readFile(fabrikam, "utf8")).replace("ttl: 3600\n  type: CNAME", "ttl: 600\n  type: CNAME");
    await fs.writeFile(fabrikam, edited);

    const applied = await dkimsync(dir, ["apply", "--plan", planFile, "--force"]);
    expect(applied.code).toBe(1);
    expect(applied.stdout).toMatch(/zones · fabrikam\.com: REFUSED \(stale plan\)/);
    expect(applied.stdout).toMatch(/zones · contoso\.com: applied/);
    expect(await fs.readFile(fabrikam, "utf8")).toBe(edited);
  });

  it("apply --plan refuses a plan edited to write a name dkimsync does not manage, and writes nothing", async () => {
    const planFile = path.join(dir, "plan.json");
    expect((await dkimsync(dir, ["plan", "--out", planFile])).code).toBe(0);
    const saved = JSON.parse(await fs.readFile(planFile, "utf8"));
    const contoso = saved.zones.find((z: { zone: string }) => z.zone === "contoso.com");
    const www = { name: "www.contoso.com", type: "CNAME", ttl: 3600, values: ["contoso.azurewebsites.net"] };
    contoso.changes.push({ action: "delete", name: www.name, type: "CNAME", before: www, after: null });
    contoso.names.push(www.name);
    await fs.writeFile(planFile, JSON.stringify(saved));
    const before = await snapshot(dir);

    const r = await dkimsync(dir, ["apply", "--plan", planFile, "--force"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("www.contoso.com");
    expect(r.stderr).toContain("nothing was written");
    expect(r.stderr).not.toContain("internal error");
    expect(await snapshot(dir)).toEqual(before);
  });

  it("apply --plan refuses a plan whose target differs from the config, and a plan for an unconfigured domain", async () => {
    const planFile = path.join(dir, "plan.json");
    expect((await dkimsync(dir, ["plan", "--out", planFile])).code).toBe(0);
    const text = await fs.readFile(planFile, "utf8");
    const before = await snapshot(dir);

    await fs.writeFile(
      planFile,
      text.replaceAll(
        "selector2-contoso-com._domainkey.contoso.onmicrosoft.com",
        "selector2-contoso-com._domainkey.evil.onmicrosoft.com",
      ),
    );
    const edited = await dkimsync(dir, ["apply", "--plan", planFile]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain("selector2._domainkey.contoso.com");
    expect(edited.stderr).toContain("evil.onmicrosoft.com");
    expect(await snapshot(dir)).toEqual(before);

    // The same plan file, applied with a config that no longer lists retired.contoso.net.
    await fs.writeFile(planFile, text);
    const config = await fs.readFile(path.join(dir, "dkim.zones.yaml"), "utf8");
    await fs.writeFile(
      path.join(dir, "dkim.zones.yaml"),
      config.replace(/  retired\.contoso\.net:\n    provider: zones\n    ensure: absent\n/, ""),
    );
    const other = await dkimsync(dir, ["apply", "--plan", planFile, "--force"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("selector1._domainkey.retired.contoso.net");
    expect(await snapshot(dir)).toEqual(before);
  });

  it("apply --plan on a damaged plan file is an error naming the file, not an internal error", async () => {
    const planFile = path.join(dir, "plan.json");
    expect((await dkimsync(dir, ["plan", "--out", planFile])).code).toBe(0);
    const saved = JSON.parse(await fs.readFile(planFile, "utf8"));
    for (const damage of [
      (p: { zones: unknown[] }) => void (p.zones[0] = null),
      (p: { zones: Array<{ changes: unknown[] }> }) => void p.zones[0]?.changes.push({ action: "create" }),
    ]) {
      const copy = structuredClone(saved);
      damage(copy);
      await fs.writeFile(planFile, JSON.stringify(copy));
      const r = await dkimsync(dir, ["apply", "--plan", planFile]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("plan.json");
      expect(r.stderr).not.toContain("internal error");
    }
  });

  it("plan --out to a path that cannot be written is an error naming it, exit 1", async () => {
    const r = await dkimsync(dir, ["plan", "--out", path.join(dir, "no-such-folder", "plan.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no-such-folder");
    expect(r.stderr).not.toContain("internal error");
    expect(r.stderr).toContain("hint:");
  });

  it("a config error names file and line, exits 1, prints no stack trace", async () => {
    await fs.appendFile(path.join(dir, "dkim.zones.yaml"), "  bad..example.com:\n    provider: zones\n");
    const r = await dkimsync(dir, ["plan"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dkim\.zones\.yaml:\d+/);
    expect(r.stderr).toContain("bad..example.com");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });

  it("an unknown --domain is an error, not an empty plan", async () => {
    const r = await dkimsync(dir, ["plan", "--domain", "nope.example.org"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("nope.example.org");
  });

  it("--domain limits the plan to that domain", async () => {
    const r = await dkimsync(dir, ["plan", "--domain", "Fabrikam.COM", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary).toEqual({ create: 1, update: 1, delete: 0, unchanged: 0, conflicts: 0 });
  });

  it("--help and --version exit 0", async () => {
    const help = await dkimsync(dir, ["--help"]);
    expect(help.code).toBe(0);
    for (const cmd of ["plan", "apply", "verify", "import", "headers"]) expect(help.stdout).toContain(cmd);
    const planHelp = await dkimsync(dir, ["plan", "--help"]);
    expect(planHelp.code).toBe(0);
    expect(planHelp.stdout).toContain("--detailed-exitcode");
    const version = await dkimsync(dir, ["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("an unknown flag is a usage error with exit 1", async () => {
    const r = await dkimsync(dir, ["plan", "--frobnicate"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--frobnicate");
  });
});
