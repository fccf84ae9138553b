/**
 * Keeps the V8 heap of a long run near what it really holds.
 *
 * The cloud SDKs allocate about 128 KB per request (headers, middleware, XML or JSON parsing),
 * nearly all of it garbage once the request is done. V8's defaults suit a server: the young
 * generation grows to 16 MB semi-spaces, and the old generation is collected only once it has
 * grown well past its live size. In a CLI making 10,000s of requests that means 100 to 300 MB
 * of uncollected garbage, far more than the 30-40 MB dkimsync keeps.
 *
 * Two V8 flags, both read each time V8 sizes its heap (not only at start-up), so setting them
 * at run time takes effect from the next collection on:
 * - `--semi-space-growth-factor=1`: the young generation stays at its starting size (1 MB
 *   semi-spaces) instead of doubling up to 16 MB;
 * - `--heap-growing-percent=25`: after each major collection, the next one starts once the old
 *   generation has grown by 25 % (V8 picks 10 % to 100 % by itself, more while the heap is
 *   small), so garbage that outlived the young generation (requests still in flight at a
 *   scavenge) is collected soon. Each step costs CPU: at 10,000 Cloudflare domains, 10 % gave
 *   166 MB for +80 % CPU, 25 % 173 MB for +50 %, 50 % 188 MB for +33 %.
 * No `gc()` call is involved: V8 still collects when and how it decides, incrementally and
 * concurrently. Figures: bench/README.md, "Peak RSS: where the memory goes".
 *
 * Set at start-up (bin/dkimsync.js, the GitHub Action's entry), before anything allocates: the
 * growth factor only stops the young generation from growing further, it does not shrink it,
 * and loading the Cloudflare SDK alone grows it to its 16 MB maximum.
 *
 * Node documents `v8.setFlagsFromString` with a warning that flags set after start-up may do
 * nothing; these two were measured to work on V8 11 (Node 20). V8 prints "unrecognized flag" on
 * stdout (where it would corrupt `--json`) for a flag it does not know, so they are set only on
 * the V8 versions known to have them (11-13: Node 20 to 24).
 */
import v8 from "node:v8";

const FLAGS = "--semi-space-growth-factor=1 --heap-growing-percent=25";
/** V8 major versions that define both flags (flag-definitions.h). */
const KNOWN_V8 = { min: 11, max: 13 };

/**
 * The flags to set, or undefined when V8 is left alone: an unknown V8 version, or heap flags
 * the person already chose on the command line or in NODE_OPTIONS (theirs win, unchanged).
 */
export function heapFlags(v8Version: string, execArgv: readonly string[], nodeOptions: string): string | undefined {
  const major = Number(v8Version.split(".")[0]);
  if (!(major >= KNOWN_V8.min && major <= KNOWN_V8.max)) return undefined;
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((a) =>
    /^--(max|min)[-_]semi[-_]space[-_]size|^--semi[-_]space[-_]growth[-_]factor|^--heap[-_]growing[-_]percent|^--max[-_]old[-_]space[-_]size|^--max[-_]heap[-_]size/.test(
      a,
    ),
  );
  return chosen ? undefined : FLAGS;
}

let applied = false;

/** Sets the flags once per process (see the header); later calls do nothing. */
export function limitHeapGrowth(): void {
  if (applied) return;
  applied = true;
  const flags = heapFlags(process.versions.v8, process.execArgv, process.env["NODE_OPTIONS"] ?? "");
  if (flags !== undefined) v8.setFlagsFromString(flags);
}
