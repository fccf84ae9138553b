/**
 * What the BIND and Knot starters share: a DNS daemon run as a child process, killed when the
 * test process exits, stopped with SIGTERM (SIGKILL after a grace period) and its folder
 * removed, and waited for until it answers SOA queries for its zones.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs/promises";
import { answersSoa } from "./bind.js";

export const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export interface Supervised {
  /** Whether the daemon has exited. */
  exited(): boolean;
  /** Kills the daemon and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves once the daemon answers SOA for every zone; throws with its log if it exits or times out. */
  waitFor(zones: string[]): Promise<void>;
  /**
   * The first wait after start: for every zone, or for `version.bind` (CH TXT, which named and
   * knotd answer as soon as they listen) when there are none. Stops the daemon if it fails.
   */
  ready(zones: string[]): Promise<void>;
}

/**
 * Watches a started daemon. `label` names it in errors ("named", "knotd"); `log` returns what it
 * has printed so far; `dir` is its folder, removed by stop().
 */
export function supervise(
  child: ChildProcess,
  opts: { label: string; port: number; dir: string; log: () => string },
): Supervised {
  running.add(child);
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exitPromise;
      clearTimeout(timer);
    }
    await fs.rm(opts.dir, { recursive: true, force: true });
  };
  const waitFor = async (zoneNames: string[]) => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (const zone of zoneNames) {
      for (;;) {
        if (exited) throw new Error(`${opts.label} exited before it served ${zone}:\n${opts.log().slice(-4000)}`);
        if (await answersSoa(opts.port, zone)) break;
        if (Date.now() > deadline)
          throw new Error(
            `${opts.label} did not serve ${zone} on 127.0.0.1:${opts.port} within ${READY_TIMEOUT_MS} ms:\n${opts.log().slice(-4000)}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const ready = async (zoneNames: string[]) => {
    try {
      await waitFor(zoneNames.length > 0 ? zoneNames : ["version.bind"]);
    } catch (err) {
      await stop();
      throw err;
    }
  };
  return { exited: () => exited, stop, waitFor, ready };
}
