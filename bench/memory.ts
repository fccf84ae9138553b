/**
 * Peak memory of a phase: process.memoryUsage sampled on a short timer while the phase runs,
 * plus once at its end. A sample is taken only when the event loop is free, so a peak inside
 * one long synchronous step can be missed; the figures are a lower bound on the true peak.
 */
import v8 from "node:v8";
import vm from "node:vm";

/**
 * A full collection before a phase makes its baseline comparable between runs. `npm run bench`
 * starts node without --expose-gc; the flag can be set at run time and `gc` then appears in
 * new contexts (documented for node's --expose-gc via v8.setFlagsFromString).
 */
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

export interface MemoryPeak {
  rssBefore: number;
  heapBefore: number;
  rssPeak: number;
  heapPeak: number;
}

export async function measurePeak<T>(fn: () => Promise<T>, everyMs = 5): Promise<{ value: T; memory: MemoryPeak }> {
  gc();
  const before = process.memoryUsage();
  const peak = { rss: before.rss, heap: before.heapUsed };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
  };
  const timer = setInterval(sample, everyMs);
  try {
    const value = await fn();
    sample();
    return {
      value,
      memory: { rssBefore: before.rss, heapBefore: before.heapUsed, rssPeak: peak.rss, heapPeak: peak.heap },
    };
  } finally {
    clearInterval(timer);
  }
}

export const MB = 1024 * 1024;
