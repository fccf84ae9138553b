import { describe, expect, it } from "vitest";
import { pool } from "../../src/util/pool.js";

const tick = () => new Promise<void>((r) => setImmediate(r));

describe("pool", () => {
  it("keeps at most `limit` tasks in flight and returns results in input order", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await pool([5, 1, 4, 2, 3], 2, async (n) => {
      inFlight++;
      most = Math.max(most, inFlight);
      for (let i = 0; i < n; i++) await tick();
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it("starts no task after the first rejection, and rejects with that error once the others settle", async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const items = Array.from({ length: 100 }, (_, i) => i);
    const run = pool(items, 4, async (i) => {
      started.push(i);
      await tick();
      if (i === 2) throw new Error("zone 2 failed");
      if (i === 3) throw new Error("a later failure");
      await tick();
      settled.push(i);
      return i;
    });
    await expect(run).rejects.toThrow("zone 2 failed");
    // The four first tasks were in flight together; none was started after zone 2 failed.
    expect(started).toEqual([0, 1, 2, 3]);
    // Tasks in flight at the failure were let finish before the pool rejected.
    expect(settled.sort()).toEqual([0, 1]);
  });

  it("handles an empty list and a limit larger than the list", async () => {
    expect(await pool([], 8, async (x: number) => x)).toEqual([]);
    expect(await pool([1, 2], 8, async (x) => x + 1)).toEqual([2, 3]);
  });
});
