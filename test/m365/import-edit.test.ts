import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { editConfigTargets, type ImportTargets } from "../../src/m365/import-edit.js";
import { writeFileAtomic } from "../../src/util/fs.js";
import { applySplices, OverlappingSplicesError } from "../../src/util/yaml-splice.js";
import { parseImport } from "../../src/m365/import-parse.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/import");

const CONTOSO: ImportTargets = {
  domain: "contoso.com",
  selector1: "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
  selector2: "selector2-contoso-com._domainkey.contoso.onmicrosoft.com",
};
const FABRIKAM: ImportTargets = {
  domain: "fabrikam.com",
  selector1: "selector1-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft",
  selector2: "selector2-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft",
};
const MARKETING: ImportTargets = {
  domain: "marketing.tailspintoys.com",
  selector1: "selector1-marketing-tailspintoys-com._domainkey.contoso.y-v1.dkim.mail.microsoft",
  selector2: "selector2-marketing-tailspintoys-com._domainkey.contoso.y-v1.dkim.mail.microsoft",
};
const NEW: ImportTargets = {
  domain: "northwind.example",
  selector1: "selector1-northwind-example._domainkey.contoso.a-v1.dkim.mail.microsoft",
  selector2: "selector2-northwind-example._domainkey.contoso.a-v1.dkim.mail.microsoft",
};

let dir: string;
let config: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-import-edit-"));
  config = path.join(dir, "dkim.zones.yaml");
  await fs.copyFile(path.join(FIXTURES, "dkim.zones.yaml"), config);
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Edit the temp config as the command does: read, edit, write atomically when changed. */
async function importInto(targets: ImportTargets[], opts: { add: boolean; provider?: string } = { add: false }) {
  const source = await fs.readFile(config, "utf8");
  const result = editConfigTargets(source, config, targets, opts);
  if (result.changed) await writeFileAtomic(config, result.text);
  return result;
}

describe("editing dkim.zones.yaml in place", () => {
  it("changes only the targets of a commented config, byte for byte", async () => {
    const result = await importInto([CONTOSO, FABRIKAM, MARKETING]);
    const expected = await fs.readFile(path.join(FIXTURES, "dkim.zones.after.yaml"), "utf8");
    expect(await fs.readFile(config, "utf8")).toBe(expected);
    expect(result.outcomes).toEqual([
      // `Contoso.com` in the file matches case-insensitively; its quoted values are equal.
      { domain: "contoso.com", action: "unchanged", key: "Contoso.com" },
      {
        domain: "fabrikam.com",
        action: "update",
        key: "fabrikam.com",
        changes: [
          { selector: "selector1", before: FABRIKAM.selector1.replace(".r-v1.", ".x-v1."), after: FABRIKAM.selector1 },
          { selector: "selector2", before: FABRIKAM.selector2.replace(".r-v1.", ".x-v1."), after: FABRIKAM.selector2 },
        ],
      },
      {
        domain: MARKETING.domain,
        action: "update",
        key: MARKETING.domain,
        changes: [
          { selector: "selector1", after: MARKETING.selector1 },
          { selector: "selector2", after: MARKETING.selector2 },
        ],
      },
    ]);
  });

  it("keeps the quote style of a replaced value and matches IDN keys by their A-label", async () => {
    const changed = {
      ...CONTOSO,
      selector1: CONTOSO.selector1.replace("contoso.onm", "contosocorp.onm"),
      selector2: CONTOSO.selector2.replace("contoso.onm", "contosocorp.onm"),
    };
    const idn: ImportTargets = {
      domain: "xn--bcher-kva.example",
      selector1: "selector1-xn--bcher-kva-example._domainkey.contoso.a-v1.dkim.mail.microsoft",
      selector2: "selector2-xn--bcher-kva-example._domainkey.contoso.a-v1.dkim.mail.microsoft",
    };
    await importInto([changed, idn]);
    const text = await fs.readFile(config, "utf8");
    expect(text).toContain(`    selector1: "${changed.selector1}"   # from the portal\n`);
    expect(text).toContain(`    selector2: '${changed.selector2}'\n`);
    // The flow mapping stays on its line.
    expect(text).toContain(
      `  bücher.example: { provider: zones, selector1: ${idn.selector1}, selector2: ${idn.selector2} }\n`,
    );
  });

  it("is idempotent: a second run changes nothing and leaves the bytes identical", async () => {
    await importInto([CONTOSO, FABRIKAM, MARKETING]);
    const first = await fs.readFile(config);
    const statBefore = await fs.stat(config);
    const second = await importInto([CONTOSO, FABRIKAM, MARKETING]);
    expect(second.changed).toBe(false);
    expect(second.outcomes.every((o) => o.action === "unchanged")).toBe(true);
    expect((await fs.readFile(config)).equals(first)).toBe(true);
    // Not rewritten at all: the same inode, untouched.
    expect((await fs.stat(config)).ino).toBe(statBefore.ino);
  });

  it("leaves a target written in another case or with a trailing dot as it is: the same name", async () => {
    await importInto([CONTOSO]);
    const written = await fs.readFile(config, "utf8");
    const shouting: ImportTargets = { ...CONTOSO, selector1: `${CONTOSO.selector1.toUpperCase()}.` };
    const again = await importInto([shouting]);
    expect(again.outcomes).toEqual([{ domain: "contoso.com", action: "unchanged", key: expect.any(String) }]);
    expect(await fs.readFile(config, "utf8")).toBe(written);
  });

  it("skips a domain missing from the config without --add, and writes nothing for it", async () => {
    const before = await fs.readFile(config, "utf8");
    const result = await importInto([NEW]);
    expect(result.changed).toBe(false);
    expect(result.outcomes).toEqual([
      { domain: NEW.domain, action: "skip", reason: "not in the config; use --add --provider P to add it" },
    ]);
    expect(await fs.readFile(config, "utf8")).toBe(before);
  });

  it("appends a missing domain in block style with --add --provider, after the last entry", async () => {
    const before = await fs.readFile(config, "utf8");
    const result = await importInto([NEW], { add: true, provider: "aws" });
    expect(result.outcomes[0]).toMatchObject({ domain: NEW.domain, action: "add", provider: "aws" });
    expect(await fs.readFile(config, "utf8")).toBe(
      before +
        `  northwind.example:\n    provider: aws\n    selector1: ${NEW.selector1}\n    selector2: ${NEW.selector2}\n`,
    );
  });

  it("refuses --provider that is not under providers:, naming the config line", async () => {
    const source = await fs.readFile(config, "utf8");
    let err: unknown;
    try {
      editConfigTargets(source, "dkim.zones.yaml", [NEW], { add: true, provider: "cloudflare" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toBe(
      "dkim.zones.yaml:7: --provider cloudflare is not defined under providers:",
    );
    expect((err as InputError).hint).toBe("use one of: zones, aws");
  });

  it("refuses --add without --provider", () => {
    expect(() => editConfigTargets("domains: {}\n", "c.yaml", [NEW], { add: true })).toThrow(/--add needs --provider/);
  });

  it("creates domains: when the config has none, and inserts selector2 right after selector1", () => {
    const src = "providers:\n  zones:\n    type: yaml\n";
    const added = editConfigTargets(src, "c.yaml", [NEW], { add: true, provider: "zones" });
    expect(added.text).toBe(
      `${src}domains:\n  northwind.example:\n    provider: zones\n    selector1: ${NEW.selector1}\n    selector2: ${NEW.selector2}\n`,
    );

    const half = `domains:\n  contoso.com:\n    selector1: ${CONTOSO.selector1}  # kept\n    provider: zones\n`;
    expect(editConfigTargets(half, "c.yaml", [CONTOSO], { add: false }).text).toBe(
      `domains:\n  contoso.com:\n    selector1: ${CONTOSO.selector1}  # kept\n    selector2: ${CONTOSO.selector2}\n    provider: zones\n`,
    );
  });

  it("fills an empty `selector1:` and adds selector2 on the next line (two edits at one offset)", () => {
    const src = "domains:\n  contoso.com:\n    provider: zones\n    selector1:\n";
    expect(editConfigTargets(src, "c.yaml", [CONTOSO], { add: false }).text).toBe(
      `domains:\n  contoso.com:\n    provider: zones\n    selector1: ${CONTOSO.selector1}\n    selector2: ${CONTOSO.selector2}\n`,
    );
  });

  it("keeps CRLF line endings", () => {
    const src = "domains:\r\n  contoso.com:\r\n    provider: zones\r\n";
    expect(editConfigTargets(src, "c.yaml", [CONTOSO], { add: false }).text).toBe(
      `domains:\r\n  contoso.com:\r\n    provider: zones\r\n    selector1: ${CONTOSO.selector1}\r\n    selector2: ${CONTOSO.selector2}\r\n`,
    );
  });

  it("names file and line of a YAML error and writes nothing", () => {
    expect(() =>
      editConfigTargets("domains:\n  a.com:\n    provider: x\n  a.com:\n    provider: y\n", "c.yaml", [CONTOSO], {
        add: false,
      }),
    ).toThrow(/^c\.yaml:4: is not valid YAML/);
  });
});

describe("the shared YAML splicer (src/util/yaml-splice.ts)", () => {
  it("refuses overlapping edits and keeps inserts at one offset in the order given", () => {
    expect(() =>
      applySplices("abcdef", [
        { at: 1, end: 4, insert: "X" },
        { at: 3, end: 5, insert: "Y" },
      ]),
    ).toThrow(OverlappingSplicesError);
    expect(() =>
      applySplices("abcdef", [
        { at: 1, end: 4, insert: "X" },
        { at: 2, end: 2, insert: "Y" },
      ]),
    ).toThrow(OverlappingSplicesError);
    expect(
      applySplices("abcdef", [
        { at: 2, end: 2, insert: "1" },
        { at: 2, end: 2, insert: "2" },
        { at: 2, end: 4, insert: "R" },
        { at: 6, end: 6, insert: "!" },
      ]),
    ).toBe("ab12Ref!");
  });
});

describe("import at scale", { timeout: 300_000 }, () => {
  /** An export of n domains and a config holding half of them. */
  function input(n: number): { json: string; config: string } {
    const lines = ["tenant: contoso", "providers:", "  zones:", "    type: yaml", "    directory: ./zones", "domains:"];
    for (let i = 0; i < n / 2; i++)
      lines.push(`  d${i}.example:`, "    provider: zones", `    selector1: old${i}.example.net`);
    const entries = Array.from({ length: n }, (_, i) => ({
      Domain: `d${i}.example`,
      Selector1CNAME: `selector1-d${i}-example._domainkey.contoso.onmicrosoft.com`,
      Selector2CNAME: `selector2-d${i}-example._domainkey.contoso.onmicrosoft.com`,
      Enabled: true,
      Status: "Valid",
    }));
    return { json: JSON.stringify(entries, null, 2), config: `${lines.join("\n")}\n` };
  }

  function cpuOf(n: number): { micros: number; outcomes: number } {
    const { json, config } = input(n);
    const start = process.cpuUsage();
    const parsed = parseImport(json, "dkim.json");
    const targets = parsed.entries.map((e) => ({
      domain: e.domain,
      selector1: e.selector1 as string,
      selector2: e.selector2 as string,
    }));
    const result = editConfigTargets(config, "dkim.zones.yaml", targets, { add: true, provider: "zones" });
    const used = process.cpuUsage(start);
    return { micros: used.user + used.system, outcomes: result.outcomes.length };
  }

  // 10,000 domains took over 120 s: a line search per domain over the whole export, and the
  // yaml package's pairwise unique-key check. CPU time of 4x the input must grow about 4x, not
  // 16x (a ratio, not a time: it holds on a slow or busy machine).
  it("grows linearly with the number of domains (CPU time of 8,000 vs 2,000 domains)", () => {
    cpuOf(500); // warm up the JIT
    // The least of three runs of each size: a collection or a busy neighbour only ever adds time.
    const least = (n: number) => [cpuOf(n), cpuOf(n), cpuOf(n)].reduce((a, b) => (b.micros < a.micros ? b : a));
    const small = least(2000);
    const large = least(8000);
    expect([small.outcomes, large.outcomes]).toEqual([2000, 8000]);
    expect(large.micros / small.micros).toBeLessThan(8);
  });
});
