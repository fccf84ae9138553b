/**
 * What the zone-file provider returns is kept by the plan to the end of the run (changes'
 * `before`, `unchanged`): it must not keep the zone file's text alive with it. Real provider,
 * real files; live heap bytes after a full collection (no timing).
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createYamlProvider } from "../../providers/yaml/index.js";
import { OptionsReader } from "../../src/config/options.js";
import type { RecordSet } from "../../src/core/types.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const ZONES = 1000;
/** Lines of comment after the records: the rest of each file's text. */
const PAD_LINES = 50;
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-yaml-memory-"));
  for (let i = 0; i < ZONES; i++) {
    const zone = `zone${i}.example`;
    const text = [
      "selector1._domainkey:",
      "  type: CNAME",
      `  value: selector1-zone${i}-example._domainkey.contoso.onmicrosoft.com.`,
      "selector2._domainkey:",
      "  type: CNAME",
      `  value: selector2-zone${i}-example._domainkey.contoso.onmicrosoft.com.`,
      // Lines of 100 characters: a line over 1,024 would send the file to the other reader (fast-read.ts).
      ...Array.from({ length: PAD_LINES }, () => `# ${"x".repeat(97)}`),
      "",
    ].join("\n");
    await fs.writeFile(path.join(dir, `${zone}.yaml`), text);
  }
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("yaml provider list()", () => {
  it("returns record sets that keep none of their zone file's text (1,000 files)", async () => {
    const p = createYamlProvider(
      new OptionsReader({
        provider: "zones",
        type: "yaml",
        values: { directory: dir },
        where: { file: "dkim.zones.yaml", line: 4 },
        lineOf: () => undefined,
        configDir: dir,
        env: {},
      }),
      {},
    );
    let kept: RecordSet[][] | undefined = [];
    for (let i = 0; i < ZONES; i++) {
      const zone = `zone${i}.example`;
      kept.push(await p.list(zone, [`selector1._domainkey.${zone}`, `selector2._domainkey.${zone}`]));
    }
    expect(kept.flat()).toHaveLength(2 * ZONES);
    expect(kept[3]?.[0]).toEqual({
      name: "selector1._domainkey.zone3.example",
      type: "CNAME",
      ttl: 3600,
      values: ["selector1-zone3-example._domainkey.contoso.onmicrosoft.com"],
    });
    // What the results alone hold: the live heap with them, less the live heap without them.
    gc();
    gc();
    const withThem = process.memoryUsage().heapUsed;
    kept = undefined;
    gc();
    gc();
    const held = withThem - process.memoryUsage().heapUsed;
    // Measured: 570 bytes per zone (its two record sets); with names and values cut straight
    // from the parser's text, 5,700 (each file's whole text of 5.5 KB).
    expect(held).toBeLessThan(ZONES * 1500);
  });
});
