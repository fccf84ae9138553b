/**
 * The advisory lock of src/util/fs.ts (zone files, and dkim.zones.yaml for import): mutual
 * exclusion between processes, stale locks of killed processes, bounded waits. Child processes
 * run the built module (npm test builds first).
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { acquireLock, LockTimeoutError, withFileLock } from "../../src/util/fs.js";
import { requireBuild, root, tempDir } from "./zonefiles-support.js";

let dir: string;
let file: string;
beforeAll(requireBuild);
beforeEach(async () => {
  dir = await tempDir("zf-lock");
  file = path.join(dir, "zone.yaml");
  await fs.writeFile(file, "0\n");
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A child that takes the lock `rounds` times and increments the counter in the file, slowly. */
function worker(rounds: number): Promise<number | null> {
  const mod = path.join(root, "dist", "src", "util", "fs.js");
  const script = `
    const fs = require("node:fs");
    import(${JSON.stringify(mod)}).then(async ({ withFileLock }) => {
      for (let i = 0; i < ${rounds}; i++) {
        await withFileLock(${JSON.stringify(file)}, async () => {
          const n = Number(fs.readFileSync(${JSON.stringify(file)}, "utf8"));
          await new Promise((r) => setTimeout(r, 2));
          fs.writeFileSync(${JSON.stringify(file)}, (n + 1) + "\\n");
        }, { timeoutMs: 120000 });
      }
    }).then(() => process.exit(0), (e) => { console.error(e); process.exit(3); });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "inherit", "inherit"] });
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

describe("advisory lock per file", { timeout: 300_000 }, () => {
  it("lets one process at a time in: 6 processes x 15 read-modify-write rounds lose no increment", async () => {
    const codes = await Promise.all(Array.from({ length: 6 }, () => worker(15)));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await fs.readFile(file, "utf8")).toBe("90\n");
    expect(await fs.readdir(dir)).toEqual(["zone.yaml"]);
  });

  it("takes over a lock whose process is gone, once, even when many processes find it at once", async () => {
    await fs.writeFile(
      path.join(dir, ".zone.yaml.lock"),
      JSON.stringify({ pid: 4194305, host: os.hostname(), since: "2026-01-01T00:00:00Z", token: "dead" }),
    );
    const codes = await Promise.all(Array.from({ length: 6 }, () => worker(5)));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await fs.readFile(file, "utf8")).toBe("30\n");
    expect(await fs.readdir(dir)).toEqual(["zone.yaml"]);
  });

  it("never lets two holders in when many find the same dead lock at once (50 rounds, in one process)", async () => {
    // The takeover race of the test above, made frequent: the callers interleave on the file
    // system calls of the thread pool. A breaker acting on an old judgement once removed a live
    // lock created in the gap of a rename, and two holders were in at once.
    const lockFile = path.join(dir, ".zone.yaml.lock");
    const dead = JSON.stringify({ pid: 4194305, host: os.hostname(), since: "2026-01-01T00:00:00Z", token: "dead" });
    let inside = 0;
    let overlaps = 0;
    let entries = 0;
    for (let round = 0; round < 50; round++) {
      await fs.writeFile(lockFile, dead);
      await Promise.all(
        Array.from({ length: 6 }, () =>
          withFileLock(
            file,
            async () => {
              inside++;
              entries++;
              if (inside > 1) overlaps++;
              await new Promise((r) => setImmediate(r));
              await fs.stat(file);
              inside--;
            },
            { timeoutMs: 60_000 },
          ),
        ),
      );
    }
    expect(entries).toBe(300);
    expect(overlaps).toBe(0);
    expect(await fs.readdir(dir)).toEqual(["zone.yaml"]);
  });

  it("waits for a live holder up to the limit, then names it; a lock of another host is never taken over", async () => {
    const lock = await acquireLock(file);
    const err = await acquireLock(file, { timeoutMs: 200 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `\\.zone\\.yaml\\.lock is held by pid ${process.pid} on ${os.hostname().replace(/\./g, "\\.")} since .*; waited 0 s`,
      ),
    );
    await lock.release();
    await fs.writeFile(
      path.join(dir, ".zone.yaml.lock"),
      JSON.stringify({ pid: 4194305, host: "elsewhere.invalid", since: "2026-01-01T00:00:00Z", token: "remote" }),
    );
    const remote = await acquireLock(file, { timeoutMs: 100 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((remote as Error).message).toContain("held by pid 4194305 on elsewhere.invalid");
  });

  it("is released when the work throws, and a removed lock is noticed before writing", async () => {
    await expect(
      withFileLock(file, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await fs.readdir(dir)).toEqual(["zone.yaml"]);
    const lock = await acquireLock(file);
    await fs.rm(lock.lockFile);
    await expect(lock.verify()).rejects.toThrow(/was removed or taken over/);
  });

  it("locks the file a symbolic link points to", async () => {
    const link = path.join(dir, "link.yaml");
    await fs.symlink("zone.yaml", link);
    const lock = await acquireLock(link);
    expect(lock.lockFile).toBe(path.join(await fs.realpath(dir), ".zone.yaml.lock"));
    const err = await acquireLock(file, { timeoutMs: 50 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LockTimeoutError);
    await lock.release();
  });
});
