/**
 * Where a run's memory goes, for finding what to cut (not a budget: the scale benches measure
 * peak RSS with usage-hook.ts). Preloaded into the built CLI:
 *
 *   node --import ./dist/bench/memhook.js bin/dkimsync.js plan -c dkim.zones.yaml
 *
 * - At exit it appends one JSON line to `$DKIMSYNC_MEMHOOK_OUT` (default `memhook.jsonl` in the
 *   working folder): the process's peak RSS and, sampled every 2 ms while the event loop is free,
 *   V8's heap at the highest RSS seen (heapTotal, heapUsed, external, each space's size and use).
 *   On Linux, RSS is about 60 MB (the node binary's pages, libraries, malloc) plus heapTotal.
 * - With `DKIMSYNC_MEMHOOK_SNAPSHOT_MB=40,55` it also writes a heap snapshot the first time
 *   heapUsed passes each size (after `DKIMSYNC_MEMHOOK_SNAPSHOT_AFTER_MS`, default 0), into
 *   `$DKIMSYNC_MEMHOOK_SNAPSHOT_DIR` (default the working folder). V8 collects garbage before
 *   writing one, so a snapshot holds what was live; heap-summary.ts reads it.
 */
import { appendFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";

const MB = 1e6;
const out = process.env.DKIMSYNC_MEMHOOK_OUT ?? "memhook.jsonl";
const snapshotAt = (process.env.DKIMSYNC_MEMHOOK_SNAPSHOT_MB ?? "")
  .split(",")
  .filter((s) => s.trim() !== "")
  .map((s) => Number(s) * MB);
const snapshotAfter = Date.now() + Number(process.env.DKIMSYNC_MEMHOOK_SNAPSHOT_AFTER_MS ?? 0);
const snapshotDir = process.env.DKIMSYNC_MEMHOOK_SNAPSHOT_DIR ?? ".";
const started = Date.now();
const round = (n: number) => Math.round(n / 1e5) / 10;

let peak: Record<string, unknown> = { rss: 0 };
let peakRss = 0;

function sample(): void {
  const m = process.memoryUsage();
  if (m.rss > peakRss) {
    peakRss = m.rss;
    const spaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .map((s) => [s.space_name, { size: round(s.space_size), used: round(s.space_used_size) }]),
    );
    peak = {
      atMs: Date.now() - started,
      rss: round(m.rss),
      heapTotal: round(m.heapTotal),
      heapUsed: round(m.heapUsed),
      external: round(m.external),
      spaces,
    };
  }
  const next = snapshotAt[0];
  if (next !== undefined && m.heapUsed > next && Date.now() >= snapshotAfter) {
    snapshotAt.shift();
    const args = process.argv.slice(2).filter((a) => !a.includes("/") && !a.startsWith("-"));
    v8.writeHeapSnapshot(path.join(snapshotDir, `${args.join("-")}-${process.pid}-${next / MB}MB.heapsnapshot`));
  }
}

setInterval(sample, 2).unref();
process.on("exit", () => {
  sample();
  const line = { argv: process.argv.slice(2).join(" "), maxRssMb: process.resourceUsage().maxRSS / 1024, peak };
  appendFileSync(out, `${JSON.stringify(line)}\n`);
});
