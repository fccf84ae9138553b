/**
 * Issue 8 ("Never lose a record"), part B: one test per defect of the yaml provider and of
 * `import`, each through dkimsync's real code path (config -> plan -> apply, or the import
 * command), each checking the file's bytes.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importCommand, type Io } from "../../src/commands/import.js";
import { InputError } from "../../src/core/errors.js";
import { planApply, target, tempDir, writeConfig } from "./zonefiles-support.js";

const D = "example.com";
const S1 = `selector1-example-com._domainkey.contoso.onmicrosoft.com.`;
const S2 = `selector2-example-com._domainkey.contoso.onmicrosoft.com.`;

let dir: string;
let zones: string;
let config: string;
beforeEach(async () => {
  dir = await tempDir("zf-defects");
  zones = path.join(dir, "zones");
  await fs.mkdir(zones);
  config = path.join(dir, "dkim.zones.yaml");
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function zone(text: string | Buffer, name = D): Promise<string> {
  const file = path.join(zones, `${name}.yaml`);
  await fs.writeFile(file, text);
  return file;
}

function outcomes(r: Awaited<ReturnType<typeof planApply>>) {
  return r.result.zones.map((z) => ({ zone: z.zone, outcome: z.outcome, message: z.message ?? "" }));
}

describe("defect 3: anchors and merge keys on selector records", () => {
  it("refuses to update a selector value whose anchor a foreign record uses, and writes nothing", async () => {
    const text = [
      "selector1._domainkey:",
      "  type: CNAME",
      "  value: &t old-target.example.net.",
      "selector2._domainkey:",
      "  type: CNAME",
      `  value: ${S2}`,
      "legacy:",
      "  type: CNAME",
      "  value: *t",
      "",
    ].join("\n");
    const file = await zone(text);
    await writeConfig(config, zones, { [D]: {} });
    const r = await planApply(config);
    const [o] = outcomes(r);
    expect(o?.outcome).toBe("failed");
    expect(o?.message).toContain(
      `${file}:8: writing update CNAME selector1._domainkey.${D} would also change CNAME legacy.${D}`,
    );
    expect(o?.message).toContain("nothing was written");
    expect(o?.message).toContain("anchor (&name)");
    expect(await fs.readFile(file, "utf8")).toBe(text);
  });

  it("refuses to update a selector record that a foreign record merges (<<: *rec)", async () => {
    const text = [
      "selector1._domainkey: &rec",
      "  ttl: 300",
      "  type: CNAME",
      "  value: old-target.example.net.",
      "selector2._domainkey:",
      "  type: CNAME",
      `  value: ${S2}`,
      "shadow:",
      "  <<: *rec",
      "",
    ].join("\n");
    const file = await zone(text);
    await writeConfig(config, zones, { [D]: {} });
    const r = await planApply(config);
    expect(outcomes(r)[0]?.outcome).toBe("failed");
    expect(outcomes(r)[0]?.message).toContain(`would also change CNAME shadow.${D}`);
    expect(await fs.readFile(file, "utf8")).toBe(text);
  });

  it("refuses to change a TTL whose anchor a foreign record uses", async () => {
    const text = [
      "mail:",
      "  ttl: 300",
      "  type: A",
      "  value: 192.0.2.1",
      "selector1._domainkey:",
      "  ttl: &short 300",
      "  type: CNAME",
      `  value: ${S1}`,
      "selector2._domainkey:",
      "  ttl: 3600",
      "  type: CNAME",
      `  value: ${S2}`,
      "www:",
      "  ttl: *short",
      "  type: A",
      "  value: 192.0.2.2",
      "",
    ].join("\n");
    const file = await zone(text);
    await writeConfig(config, zones, { [D]: {} });
    const r = await planApply(config);
    expect(outcomes(r)[0]?.outcome).toBe("failed");
    expect(outcomes(r)[0]?.message).toContain(
      `would also change A www.${D} (ttl 300 ["192.0.2.2"] -> ttl 3600 ["192.0.2.2"])`,
    );
    expect(await fs.readFile(file, "utf8")).toBe(text);
  });

  it("updates a selector whose anchor nothing else uses", async () => {
    const file = await zone(
      [
        "selector1._domainkey:",
        "  type: CNAME",
        "  value: &t old-target.example.net.",
        "selector2._domainkey:",
        "  type: CNAME",
        `  value: ${S2}`,
        "",
      ].join("\n"),
    );
    await writeConfig(config, zones, { [D]: {} });
    const r = await planApply(config);
    expect(outcomes(r)[0]?.outcome).toBe("applied");
    expect(await fs.readFile(file, "utf8")).toContain(`  value: &t ${S1}\n`);
  });
});

describe("defect 5: bytes that are not UTF-8", () => {
  it("keeps a Latin-1 comment and TXT value byte for byte when a selector is written", async () => {
    const before = Buffer.concat([
      Buffer.from("# Zone f\xfcr M\xfcller GmbH\n", "latin1"),
      Buffer.from("info:\n  type: TXT\n  value: Gr\xfc\xdfe aus K\xf6ln\n", "latin1"),
    ]);
    const file = await zone(before);
    await writeConfig(config, zones, { [D]: {} });
    const r = await planApply(config);
    expect(outcomes(r).map((o) => o.outcome)).toEqual(["applied"]);
    const after = await fs.readFile(file);
    // The old bytes are still the file's first bytes; what follows is ASCII the edit added.
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    expect(after.subarray(before.length).toString("latin1")).toMatch(/^[\x00-\x7f]*$/);
    expect(after.includes(Buffer.from([0xef, 0xbf, 0xbd]))).toBe(false); // no U+FFFD
    expect(after.subarray(before.length).toString()).toContain(S1);
  });

  it("keeps a UTF-8 byte order mark", async () => {
    const before = Buffer.from("\ufeffwww:\n  type: A\n  value: 192.0.2.1\n", "utf8");
    const file = await zone(before);
    await writeConfig(config, zones, { [D]: {} });
    expect(outcomes(await planApply(config)).map((o) => o.outcome)).toEqual(["applied"]);
    // The new names sort before www and go above it, after the byte order mark.
    expect(await fs.readFile(file, "utf8")).toBe(
      `\ufeffselector1._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: ${S1}\nselector2._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: ${S2}\nwww:\n  type: A\n  value: 192.0.2.1\n`,
    );
  });

  it("import keeps a Latin-1 comment in dkim.zones.yaml", async () => {
    const cfg = Buffer.concat([
      Buffer.from(
        "# Konfiguration f\xfcr M\xfcller\ntenant: contoso\nproviders:\n  zones:\n    type: yaml\n    directory: ./zones\ndomains:\n  example.com:\n    provider: zones\n",
        "latin1",
      ),
    ]);
    await fs.writeFile(config, cfg);
    const input = path.join(dir, "dkim.json");
    await fs.writeFile(
      input,
      JSON.stringify([
        { Domain: D, Selector1CNAME: target(1, D), Selector2CNAME: target(2, D), Enabled: true, Status: "Valid" },
      ]),
    );
    let out = "";
    const io: Io = {
      stdout: (s) => {
        out += s;
      },
      stderr: (s) => {
        out += s;
      },
      color: false,
    };
    expect(await importCommand({ file: input, config, add: false }, io)).toBe(0);
    const after = await fs.readFile(config);
    expect(after.subarray(0, cfg.length).equals(cfg)).toBe(true);
    expect(after.subarray(cfg.length).toString("latin1")).toBe(
      `    selector1: ${target(1, D)}\n    selector2: ${target(2, D)}\n`,
    );
  });
});

describe("defect 6: ensure: absent next to a |+ block scalar", () => {
  it("keeps the blank lines a foreign |+ block holds, and removes only the selector lines", async () => {
    const head = ["motd:", "  type: TXT", "  value: |+", "    hello", "", "", ""].join("\n");
    const tail = [
      "selector1._domainkey:",
      "  type: CNAME",
      `  value: ${S1}`,
      "selector2._domainkey:",
      "  type: CNAME",
      `  value: ${S2}`,
      "",
    ].join("\n");
    const file = await zone(head + tail);
    await writeConfig(config, zones, { [D]: { ensure: "absent" } });
    const r = await planApply(config);
    expect(outcomes(r).map((o) => o.outcome)).toEqual(["applied"]);
    expect(await fs.readFile(file, "utf8")).toBe(head);
  });
});

describe("defect 7: a symlinked zone file is a zone", () => {
  it("writes a subdomain's selectors into its own (linked) zone file, and the link stays a link", async () => {
    const elsewhere = path.join(dir, "shared");
    await fs.mkdir(elsewhere);
    const real = path.join(elsewhere, "sub.example.com.yaml");
    await fs.writeFile(real, "www:\n  type: A\n  value: 192.0.2.1\n");
    await fs.chmod(real, 0o664);
    const link = path.join(zones, "sub.example.com.yaml");
    await fs.symlink(path.relative(zones, real), link);
    const parentText = "'':\n  type: A\n  value: 192.0.2.10\n";
    const parent = await zone(parentText);
    await writeConfig(config, zones, { "sub.example.com": {} });
    const r = await planApply(config);
    expect(outcomes(r)).toEqual([{ zone: "sub.example.com", outcome: "applied", message: "" }]);
    expect(await fs.readFile(parent, "utf8")).toBe(parentText);
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    const text = await fs.readFile(real, "utf8");
    expect(text).toContain("selector1._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: selector1-sub-example-com");
    expect((await fs.stat(real)).mode & 0o777).toBe(0o664);
    // No temporary or lock file is left next to the link or next to the file.
    expect((await fs.readdir(zones)).sort()).toEqual([`${D}.yaml`, "sub.example.com.yaml"]);
    expect(await fs.readdir(elsewhere)).toEqual(["sub.example.com.yaml"]);
  });
});

describe("permissions, owner and temporary files", () => {
  it("refuses a read-only zone file and leaves it as it was", async () => {
    const text = "www:\n  type: A\n  value: 192.0.2.1\n";
    const file = await zone(text);
    await fs.chmod(file, 0o444);
    await writeConfig(config, zones, { [D]: {} });
    const [o] = outcomes(await planApply(config));
    expect(o?.outcome).toBe("failed");
    expect(o?.message).toContain("is read-only (mode 0444)");
    expect(await fs.readFile(file, "utf8")).toBe(text);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o444);
  });

  it("keeps the zone file's owner and group", async () => {
    if (process.getuid?.() !== 0)
      throw new Error(
        "this test gives the zone file another owner with chown(2): run the tests as root (the CI container does)",
      );
    const file = await zone("www:\n  type: A\n  value: 192.0.2.1\n");
    await fs.chown(file, 4321, 4322);
    await writeConfig(config, zones, { [D]: {} });
    expect(outcomes(await planApply(config)).map((o) => o.outcome)).toEqual(["applied"]);
    const st = await fs.stat(file);
    expect([st.uid, st.gid]).toEqual([4321, 4322]);
    expect(await fs.readFile(file, "utf8")).toContain(S1);
  });

  it("removes temporary files a killed run left behind, and keeps other files", async () => {
    const file = await zone("www:\n  type: A\n  value: 192.0.2.1\n");
    // pid 2^22+1 is above Linux's pid_max default ceiling (4194304): no such process runs.
    const stale = path.join(zones, `.${D}.yaml.tmp-4194305-0123456789ab`);
    await fs.writeFile(stale, "half a zone");
    // A temporary file of a process that still runs is left alone, and so is any other file.
    const live = `.other.yaml.tmp-${process.ppid}-0123456789ab`;
    await fs.writeFile(path.join(zones, live), "being written");
    await fs.writeFile(path.join(zones, ".gitkeep"), "");
    // A lock left by a killed run is stale too: its pid no longer runs on this host.
    await fs.writeFile(
      path.join(zones, `.${D}.yaml.lock`),
      JSON.stringify({ pid: 4194305, host: (await import("node:os")).hostname(), since: "x", token: "dead" }),
    );
    await writeConfig(config, zones, { [D]: {} });
    expect(outcomes(await planApply(config)).map((o) => o.outcome)).toEqual(["applied"]);
    expect((await fs.readdir(zones)).sort()).toEqual([".gitkeep", live, `${D}.yaml`].sort());
    expect(await fs.readFile(file, "utf8")).toContain(S1);
  });
});

describe("import: symbolic links and locks", () => {
  it("keeps a symlinked config a link and writes the file it points to", async () => {
    const real = path.join(dir, "real.zones.yaml");
    await fs.writeFile(
      real,
      `tenant: contoso\nproviders:\n  zones:\n    type: yaml\n    directory: ./zones\ndomains:\n  ${D}:\n    provider: zones\n`,
    );
    await fs.symlink("real.zones.yaml", config);
    const input = path.join(dir, "dkim.json");
    await fs.writeFile(
      input,
      JSON.stringify({
        Domain: D,
        Selector1CNAME: target(1, D),
        Selector2CNAME: target(2, D),
        Enabled: true,
        Status: "Valid",
      }),
    );
    const io: Io = { stdout: () => undefined, stderr: () => undefined, color: false };
    expect(await importCommand({ file: input, config, add: false }, io)).toBe(0);
    expect((await fs.lstat(config)).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(real, "utf8")).toContain(`selector1: ${target(1, D)}`);
    expect((await fs.readdir(dir)).sort()).toEqual(["dkim.json", "dkim.zones.yaml", "real.zones.yaml", "zones"]);
  });

  it("waits for the config's lock, then fails cleanly naming the holder, writing nothing", async () => {
    const text = `tenant: contoso\nproviders:\n  zones:\n    type: yaml\n    directory: ./zones\ndomains:\n  ${D}:\n    provider: zones\n`;
    await fs.writeFile(config, text);
    const input = path.join(dir, "dkim.json");
    await fs.writeFile(
      input,
      JSON.stringify({
        Domain: D,
        Selector1CNAME: target(1, D),
        Selector2CNAME: target(2, D),
        Enabled: true,
        Status: "Valid",
      }),
    );
    // A live holder: this very process, under another token.
    await fs.writeFile(
      path.join(dir, ".dkim.zones.yaml.lock"),
      JSON.stringify({
        pid: process.pid,
        host: (await import("node:os")).hostname(),
        since: "2026-01-01T00:00:00Z",
        token: "someone-else",
      }),
    );
    const io: Io = { stdout: () => undefined, stderr: () => undefined, color: false };
    const saved = process.env.DKIMSYNC_LOCK_TIMEOUT;
    process.env.DKIMSYNC_LOCK_TIMEOUT = "0.3";
    try {
      const err = await importCommand({ file: input, config, add: false }, io).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain(
        `is locked: ${path.join(dir, ".dkim.zones.yaml.lock")} is held by pid ${process.pid}`,
      );
    } finally {
      if (saved === undefined) delete process.env.DKIMSYNC_LOCK_TIMEOUT;
      else process.env.DKIMSYNC_LOCK_TIMEOUT = saved;
    }
    expect(await fs.readFile(config, "utf8")).toBe(text);
  });
});
