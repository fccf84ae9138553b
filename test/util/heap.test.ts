/**
 * The heap flags the SDK providers set (src/util/heap.ts): which are chosen, when V8 is left
 * alone, and that they really bound the heap of a request-like workload set at run time.
 */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { heapFlags } from "../../src/util/heap.js";

describe("heapFlags", () => {
  it("sets both flags on the V8 versions known to have them", () => {
    for (const v of ["11.3.244.8-node.38", "12.4.254.21-node.33", "13.6.233.10-node.1"]) {
      expect(heapFlags(v, [], "")).toBe("--semi-space-growth-factor=1 --heap-growing-percent=25");
    }
  });

  it("leaves an unknown V8 alone (it would print 'unrecognized flag' on stdout)", () => {
    expect(heapFlags("10.2.154.26-node.26", [], "")).toBeUndefined();
    expect(heapFlags("14.0.1", [], "")).toBeUndefined();
    expect(heapFlags("", [], "")).toBeUndefined();
  });

  it("leaves heap flags the person chose on the command line or in NODE_OPTIONS as they are", () => {
    const v = "11.3.244.8-node.38";
    expect(heapFlags(v, ["--max-semi-space-size=16"], "")).toBeUndefined();
    expect(heapFlags(v, ["--max_old_space_size=512"], "")).toBeUndefined();
    expect(heapFlags(v, [], "--enable-source-maps --heap-growing-percent=50")).toBeUndefined();
    expect(heapFlags(v, [], "--semi_space_growth_factor=4")).toBeUndefined();
    expect(heapFlags(v, [], "--max-heap-size=300")).toBeUndefined();
    // Other flags do not count as a choice about the heap.
    expect(heapFlags(v, ["--enable-source-maps"], "--no-warnings")).toBeDefined();
  });
});

/**
 * Requests of a cloud SDK in miniature: 16 in flight, each holding a few hundred small objects
 * until it is replaced. Peak committed heap (`total_heap_size`) is sampled in the loop; the
 * flags are set from inside the process, as dkimsync does, not on node's command line.
 */
const WORKLOAD = `
const v8 = require("node:v8");
if (process.env.HEAP_FLAGS) v8.setFlagsFromString(process.env.HEAP_FLAGS);
const inFlight = [];
let peak = 0;
for (let i = 0; i < 1500; i++) {
  const req = [];
  for (let j = 0; j < 400; j++) req.push({ name: "selector" + j + "._domainkey.dom" + i + ".test", value: j, tags: [i, j] });
  inFlight.push(req);
  if (inFlight.length > 16) inFlight.shift();
  if (i % 8 === 0) peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
}
process.stdout.write(String(peak));
`;

function peakHeap(flags: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // A clean environment: the test runner's NODE_OPTIONS must not reach the workload.
    const env = { PATH: process.env["PATH"] ?? "", HEAP_FLAGS: flags };
    execFile(process.execPath, ["-e", WORKLOAD], { env, timeout: 60_000 }, (err, stdout) =>
      err ? reject(err) : resolve(Number(stdout)),
    );
  });
}

describe("the flags set at run time", () => {
  it("keep the peak heap of a request-like workload well under V8's defaults", async () => {
    const flags = heapFlags(process.versions.v8, [], "");
    expect(flags, `this test expects a V8 that heapFlags knows (${process.versions.v8})`).toBeDefined();
    const [base, limited] = [await peakHeap(""), await peakHeap(flags as string)];
    expect(base).toBeGreaterThan(0);
    // Measured on Node 20: about 38 MB without, 24 MB with (a ratio of 0.65).
    expect(limited / base).toBeLessThan(0.8);
  });
});
