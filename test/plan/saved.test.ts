/**
 * Saved plans (src/plan/saved.ts) on their own: what `plan --out` writes is what `apply --plan`
 * reads back, and a file that was damaged, forged or oversized is refused before anything is
 * written, with a message that names the file and says what to do.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { DkimsyncError } from "../../src/core/errors.js";
import { buildPlan, closeProviders } from "../../src/plan/build.js";
import { checkSavedPlan, loadPlan, savePlan, type SavedPlan } from "../../src/plan/saved.js";

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-saved-"));
  await fs.mkdir(path.join(dir, "zones"));
  await fs.writeFile(path.join(dir, "zones", "example.com.yaml"), "---\n'':\n  type: TXT\n  value: v=spf1 -all\n");
  await fs.writeFile(path.join(dir, "zones", "example.org.yaml"), "---\n{}\n");
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const CONFIG = `tenant: contoso
providers:
  files: { type: yaml, directory: ./zones }
domains:
  example.com:
    provider: files
  example.org:
    provider: files
    ensure: absent
  missing.example:
    provider: files
`;

/** A real plan of a real config: two zones with changes and one domain in error. */
async function makePlan() {
  const file = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(file, CONFIG);
  const config = loadConfig(file);
  const { plan, providers } = await buildPlan({ config });
  await closeProviders(providers);
  return { config, plan };
}

/** The error a call throws, required to be one of dkimsync's own (printed without a stack). */
async function refusal(run: () => unknown): Promise<DkimsyncError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(DkimsyncError);
    return err as DkimsyncError;
  }
  throw new Error("expected a refusal, but the call succeeded");
}

describe("saved plans", () => {
  it("load what was saved: the same zones, changes, fingerprints and errors, and the config hash", async () => {
    const { config, plan } = await makePlan();
    expect(plan.zones.map((z) => [z.zone, z.changes.length])).toEqual([
      ["example.com", 2],
      ["example.org", 0],
    ]);
    expect(plan.errors.map((e) => e.domain)).toEqual(["missing.example"]);
    const file = path.join(dir, "plan.json");
    await savePlan(file, plan, "hash-1", new Date("2026-01-02T03:04:05Z"));
    const { plan: loaded, saved } = await loadPlan(file);
    expect(loaded).toEqual(plan);
    expect(saved).toMatchObject({ version: 1, config_hash: "hash-1", created_at: "2026-01-02T03:04:05.000Z" });
    // A plan loaded back is one dkimsync could have made from this config.
    expect(() => checkSavedPlan(loaded, config, file, saved)).not.toThrow();
  });

  it("refuses a damaged (truncated) file as not valid JSON, without echoing its text", async () => {
    const { plan } = await makePlan();
    const file = path.join(dir, "plan.json");
    await savePlan(file, plan, "hash-1");
    const text = await fs.readFile(file, "utf8");
    await fs.writeFile(file, text.slice(0, Math.floor(text.length / 2)));
    const err = await refusal(() => loadPlan(file));
    expect(err.message).toBe(`${file}: not valid JSON; the plan file was edited or truncated`);
    expect(err.hint).toMatch(/dkimsync plan --out FILE/);
  });

  it("refuses a zone entry with a field missing, and JSON that is not a saved plan", async () => {
    const { plan } = await makePlan();
    const file = path.join(dir, "plan.json");
    await savePlan(file, plan, "hash-1");
    const saved = JSON.parse(await fs.readFile(file, "utf8")) as SavedPlan;
    const { fingerprint: _dropped, ...noFingerprint } = saved.zones[0]!;
    await fs.writeFile(file, JSON.stringify({ ...saved, zones: [noFingerprint] }));
    const incomplete = (await refusal(() => loadPlan(file))).message;
    expect(incomplete).toMatch(/: zone entry .*example\.com.* is incomplete; the plan file was edited or truncated$/);
    expect(incomplete.startsWith(`${file}: `)).toBe(true);
    await fs.writeFile(file, JSON.stringify({ version: 1, changes: [] }));
    expect((await refusal(() => loadPlan(file))).message).toMatch(/not a saved dkimsync plan/);
  });

  it("refuses a forged top-level list: what a reviewer reads must be what the zones would write", async () => {
    const { config, plan } = await makePlan();
    const file = path.join(dir, "plan.json");
    await savePlan(file, plan, "hash-1");
    const saved = JSON.parse(await fs.readFile(file, "utf8")) as SavedPlan;
    // The reviewer is shown one change fewer than the zones would make.
    saved.changes = saved.changes.slice(1);
    await fs.writeFile(file, JSON.stringify(saved));
    const { plan: loaded, saved: forged } = await loadPlan(file);
    const err = await refusal(() => checkSavedPlan(loaded, config, file, forged));
    expect(err.message).toMatch(
      new RegExp(`^refusing to apply ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*nothing was written`),
    );
    expect(err.message).toContain("its changes and conflicts lists (what a reviewer reads) do not match its zones");
    expect(err.hint).toMatch(/dkimsync plan -c .* --out/);
  });

  it("refuses a file larger than 128 MiB before parsing it", async () => {
    const file = path.join(dir, "huge.json");
    // Sparse: no disk is used, but 128 MiB + 1 byte are there to read.
    await fs.writeFile(file, "");
    await fs.truncate(file, 128 * 1024 * 1024 + 1);
    const err = await refusal(() => loadPlan(file));
    expect(err.message).toBe(`the plan ${file} is larger than 128 MiB; refusing to read it`);
    // Exactly at the limit is still read (and then refused for what it holds, not its size).
    await fs.truncate(file, 128 * 1024 * 1024);
    expect((await refusal(() => loadPlan(file))).message).toMatch(/not valid JSON/);
  });

  it("refuses a file it cannot read, naming the reason", async () => {
    const err = await refusal(() => loadPlan(path.join(dir, "absent.json")));
    expect(err.message).toBe(`cannot read the plan ${path.join(dir, "absent.json")}: ENOENT`);
  });
});
