/**
 * Issue 8, defect 4 and the interruption items: the built CLI in child processes, over one
 * folder of zone files.
 * - two applies with different configs over the same zone files, in parallel: no record lost;
 * - a foreign program appending records to the zone files during an apply: nothing lost;
 * - SIGKILL at random points of an apply: every zone file is the old one or the new one, and
 *   the next run removes the stale temporary and lock files and finishes the job.
 * Counts and outcomes only; nothing here depends on how fast the machine is.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import jsYaml from "js-yaml";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { requireBuild, runCli, spawnCli, target, tempDir, writeConfig, type DomainSpec } from "./zonefiles-support.js";

const ZONES = 24;
const zoneName = (i: number) => `zone${String(i).padStart(2, "0")}.test`;

/** A zone file with foreign records people keep, some of them next to the selector names. */
function zoneText(zone: string): string {
  return [
    "---",
    "'':",
    "  - type: MX",
    "    value:",
    `      exchange: ${zone.replace(/\./g, "-")}.mail.protection.outlook.com.`,
    "      preference: 0",
    "  - type: TXT",
    "    value: v=spf1 include:spf.protection.outlook.com -all",
    "_dmarc:",
    "  type: TXT",
    "  value: v=DMARC1\\; p=none",
    "google._domainkey:",
    "  type: TXT",
    "  value: v=DKIM1\\; k=rsa\\; p=MIGf",
    "www:",
    "  type: CNAME",
    `  value: ${zone}.`,
    "",
  ].join("\n");
}

type Data = Record<string, unknown>;
const load = async (file: string) => (jsYaml.load(await fs.readFile(file, "utf8")) ?? {}) as Data;

let dir: string;
let zones: string;
beforeAll(requireBuild);
beforeEach(async () => {
  dir = await tempDir("zf-concurrency");
  zones = path.join(dir, "zones");
  await fs.mkdir(zones);
  for (let i = 0; i < ZONES; i++) await fs.writeFile(path.join(zones, `${zoneName(i)}.yaml`), zoneText(zoneName(i)));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The selector entries a config of `label` subdomains puts into zone i, as the file holds them. */
function expectSelectors(data: Data, label: string, zone: string): void {
  const domain = `${label}.${zone}`;
  for (const sel of [1, 2] as const) {
    expect(data[`selector${sel}._domainkey.${label}`], `${zone}: selector${sel} of ${domain}`).toEqual({
      ttl: 3600,
      type: "CNAME",
      value: `${target(sel, domain)}.`,
    });
  }
}

function expectForeign(data: Data, zone: string): void {
  const original = jsYaml.load(zoneText(zone)) as Data;
  for (const [k, v] of Object.entries(original)) expect(data[k], `${zone}: foreign record ${k}`).toEqual(v);
}

// Child processes on a shared two-core machine: generous limits, the assertions are counts.
describe("concurrent runs over the same zone files (built CLI, child processes)", { timeout: 600_000 }, () => {
  it("two applies with different configs in parallel lose no record, three rounds", async () => {
    for (let round = 0; round < 3; round++) {
      const labels = [`a${round}`, `b${round}`];
      const configs = await Promise.all(
        labels.map((label) => {
          const domains: Record<string, DomainSpec> = {};
          for (let i = 0; i < ZONES; i++) domains[`${label}.${zoneName(i)}`] = {};
          return writeConfig(path.join(dir, `${label}.zones.yaml`), zones, domains);
        }),
      );
      const runs = await Promise.all(configs.map((c) => runCli(dir, ["apply", "-c", c])));
      for (const r of runs) expect(r.code, r.stdout + r.stderr).toBe(0);
      for (let i = 0; i < ZONES; i++) {
        const data = await load(path.join(zones, `${zoneName(i)}.yaml`));
        expectForeign(data, zoneName(i));
        for (let past = 0; past <= round; past++)
          for (const l of [`a${past}`, `b${past}`]) expectSelectors(data, l, zoneName(i));
      }
    }
    expect((await fs.readdir(zones)).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("a foreign program appending records during an apply loses nothing", async () => {
    const domains: Record<string, DomainSpec> = {};
    for (let i = 0; i < ZONES; i++) domains[`mail.${zoneName(i)}`] = {};
    const config = await writeConfig(path.join(dir, "dkim.zones.yaml"), zones, domains);
    // The appender: one record per append (one write(2) with O_APPEND), round robin over the
    // zone files, until told to stop; it does not know about dkimsync's lock.
    const script = `
      const fs = require("node:fs"); const path = require("node:path");
      const [dir, count] = [process.argv[1], Number(process.argv[2])];
      let n = 0, stop = false;
      process.stdin.on("data", () => { stop = true; });
      const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
      (function next() {
        if (stop) { process.stdout.write(String(n)); process.exit(0); }
        const f = files[n % files.length];
        fs.appendFileSync(path.join(dir, f), "zz-appended-" + n + ":\\n  type: A\\n  value: 192.0.2." + (n % 250) + "\\n");
        n++;
        setTimeout(next, 1);
      })();`;
    const appender = spawn(process.execPath, ["-e", script, zones, String(ZONES)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let appended = "";
    appender.stdout.on("data", (d: Buffer) => {
      appended += d.toString();
    });
    const done = new Promise<void>((resolve) => appender.on("exit", () => resolve()));
    const first = await runCli(dir, ["apply", "-c", config]);
    appender.stdin.write("stop\n");
    await done;
    const count = Number(appended);
    expect(count).toBeGreaterThan(0);
    // The apply may have refused a zone that kept changing (exit 1, named); a second run then
    // finishes. Either way, no appended record and no foreign record may be missing.
    const second = await runCli(dir, ["apply", "-c", config]);
    expect(second.code, `${first.stdout}${first.stderr}\n---\n${second.stdout}${second.stderr}`).toBe(0);
    let found = 0;
    for (let i = 0; i < ZONES; i++) {
      const data = await load(path.join(zones, `${zoneName(i)}.yaml`));
      expectForeign(data, zoneName(i));
      expectSelectors(data, "mail", zoneName(i));
      for (let n = i; n < count; n += ZONES) {
        const why = () =>
          `${zoneName(i)}: appended record ${n} of ${count}\n${first.stdout}${first.stderr}\n--- file\n${Object.keys(data).join(" ")}`;
        if (data[`zz-appended-${n}`] === undefined) expect.fail(why());
        expect(data[`zz-appended-${n}`], `${zoneName(i)}: appended record ${n}`).toEqual({
          type: "A",
          value: `192.0.2.${n % 250}`,
        });
        found++;
      }
    }
    expect(found).toBe(count);
  });

  it("SIGKILL at random points: every file is old or new, and the next run cleans up and finishes", async () => {
    const domains: Record<string, DomainSpec> = {};
    for (let i = 0; i < ZONES; i++) domains[`mail.${zoneName(i)}`] = {};
    // The new files: what one uninterrupted apply writes, from a copy of the same zones.
    const copy = path.join(dir, "copy");
    await fs.cp(zones, copy, { recursive: true });
    const full = await runCli(dir, [
      "apply",
      "-c",
      await writeConfig(path.join(dir, "copy.zones.yaml"), copy, domains),
    ]);
    expect(full.code, full.stderr).toBe(0);
    const newText = new Map<string, string>();
    const oldText = new Map<string, string>();
    for (let i = 0; i < ZONES; i++) {
      newText.set(zoneName(i), await fs.readFile(path.join(copy, `${zoneName(i)}.yaml`), "utf8"));
      oldText.set(zoneName(i), zoneText(zoneName(i)));
    }
    const config = await writeConfig(path.join(dir, "dkim.zones.yaml"), zones, domains);
    // Seeded, so a failure can be replayed: the kill delays in milliseconds.
    let seed = Number(process.env.DKIMSYNC_TEST_SEED ?? 20261129);
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const kills = 6;
    let interrupted = 0;
    for (let k = 0; k < kills; k++) {
      for (let i = 0; i < ZONES; i++)
        await fs.writeFile(path.join(zones, `${zoneName(i)}.yaml`), zoneText(zoneName(i)));
      const child = spawnCli(dir, ["apply", "-c", config]);
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Kill once the run has started writing (the first zone file changed), plus a random delay.
      const started = Date.now();
      for (;;) {
        const changed = await fs
          .readFile(path.join(zones, `${zoneName(0)}.yaml`), "utf8")
          .then((t) => t !== oldText.get(zoneName(0)));
        const names = await fs.readdir(zones);
        if (
          changed ||
          names.some((n) => n.includes(".tmp-") || n.endsWith(".lock")) ||
          Date.now() - started > 30_000 ||
          child.exitCode !== null
        )
          break;
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, Math.floor(random() * 40)));
      child.kill("SIGKILL");
      const code = await exited;
      if (code === null) interrupted++;
      let olds = 0;
      for (let i = 0; i < ZONES; i++) {
        const text = await fs.readFile(path.join(zones, `${zoneName(i)}.yaml`), "utf8");
        const isOld = text === oldText.get(zoneName(i));
        if (isOld) olds++;
        expect(
          isOld || text === newText.get(zoneName(i)),
          `seed ${process.env.DKIMSYNC_TEST_SEED ?? 20261129}, kill ${k}: ${zoneName(i)} is neither old nor new:\n${text}`,
        ).toBe(true);
      }
      // Leave a stale temporary file behind as a kill between write and rename does.
      await fs.writeFile(path.join(zones, `.${zoneName(3)}.yaml.tmp-4194305-deadbeef0000`), "partial");
      const again = await runCli(dir, ["apply", "-c", config]);
      expect(again.code, `${again.stdout}${again.stderr}`).toBe(0);
      for (let i = 0; i < ZONES; i++)
        expect(await fs.readFile(path.join(zones, `${zoneName(i)}.yaml`), "utf8")).toBe(newText.get(zoneName(i)));
      expect(
        (await fs.readdir(zones)).filter((n) => n.startsWith(".")),
        `kill ${k} (${olds} zones old)`,
      ).toEqual([]);
    }
    // At least some kills must have landed while the apply was still running.
    expect(interrupted).toBeGreaterThan(0);
  });
});
