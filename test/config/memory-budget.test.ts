/**
 * Memory budget of config loading, as a count: the heap a loaded 10,000-domain config keeps
 * after a full collection. What parsing allocates on the way (js-yaml's document, the line of
 * every node) must be garbage once loadConfig returns; only the Config stays. Heap figures after
 * a full GC do not depend on the machine's speed, so this is a budget, not a timing.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";

// As bench/memory.ts: --expose-gc set at run time makes `gc` available in new contexts.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const DOMAINS = 10_000;
/** Bytes a loaded domain may keep: measured about 240 (Node 20.20); the budget leaves room. */
const BUDGET_PER_DOMAIN = 400;

function configText(n: number): string {
  const lines = ["tenant: contoso", "providers:", "  zones:", "    type: yaml", "    directory: zones", "domains:"];
  for (let i = 0; i < n; i++) lines.push(`  dom${i}.example.com:`, "    provider: zones");
  return `${lines.join("\n")}\n`;
}

describe("config loading memory", () => {
  it(`keeps at most ${BUDGET_PER_DOMAIN} bytes per domain at ${DOMAINS} domains`, () => {
    const text = configText(DOMAINS);
    // Warm up once, so the code of the loaders (compiled on first use) is not counted.
    parseConfig(configText(10), "/tmp/dkim.zones.yaml");
    gc();
    const before = process.memoryUsage().heapUsed;
    const config = parseConfig(text, "/tmp/dkim.zones.yaml");
    gc();
    const kept = process.memoryUsage().heapUsed - before;
    expect(config.domains).toHaveLength(DOMAINS);
    // A loaded domain is at least its name and settings: a figure near zero would mean the
    // measurement is broken, not that the config is free.
    expect(kept).toBeGreaterThan(DOMAINS * 50);
    expect(kept / DOMAINS).toBeLessThanOrEqual(BUDGET_PER_DOMAIN);
  });
});
