/**
 * Hostile and unusual zone files (issue 8's corpus, the zone-file part). Each item is planned
 * and applied through dkimsync's real path for domain example.com and is either
 * - handled exactly: applied, every foreign record reads as before (js-yaml, an independent
 *   reader), the selectors are there, and the file's own conventions (BOM, CRLF) are kept; or
 * - refused: a message naming the file (and the line, where there is one) and saying what is
 *   wrong, and the file byte for byte as it was.
 * Never a stack trace, never a half-written file, never a temporary or lock file left behind.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import jsYaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseZone } from "../../providers/yaml/convert.js";
import { readRecordsFast } from "../../providers/yaml/fast-read.js";
import type { RecordSet } from "../../src/core/types.js";
import { decodeYaml, MAX_YAML_BYTES } from "../../src/util/fs.js";
import { planApply, target, tempDir, writeConfig } from "./zonefiles-support.js";

const D = "example.com";
const S1 = `${target(1, D)}.`;
const S2 = `${target(2, D)}.`;

type Expect =
  | { handled: true; check?: (after: Buffer, before: Buffer) => void; unreadable?: true }
  | { refused: RegExp; line?: number };

interface Item {
  name: string;
  bytes: Buffer | (() => Buffer);
  expect: Expect;
}

const b = (s: string) => Buffer.from(s, "utf8");
const latin1 = (s: string) => Buffer.from(s, "latin1");
const www = "www:\n  type: A\n  value: 192.0.2.1\n";
const sel = (n: 1 | 2, value: string) => `selector${n}._domainkey:\n  type: CNAME\n  value: ${value}\n`;

const CORPUS: Item[] = [
  // --- refused, with a line ---
  {
    name: "a key written twice",
    bytes: b(`${www}www:\n  type: A\n  value: 192.0.2.2\n`),
    expect: { refused: /YAML syntax error: Map keys must be unique/, line: 4 },
  },
  {
    name: "one name twice, differing in case, same type",
    bytes: b(`${www}WWW:\n  type: A\n  value: 192.0.2.2\n`),
    expect: { refused: /A at www\.example\.com is written twice \(also at line 2\)/, line: 5 },
  },
  {
    name: "tab indentation",
    bytes: b("www:\n\ttype: A\n\tvalue: 192.0.2.1\n"),
    expect: { refused: /YAML syntax error/, line: 2 },
  },
  {
    name: "an alias without its anchor",
    bytes: b("www:\n  type: A\n  value: *nowhere\n"),
    expect: { refused: /the record at www\.example\.com: Unresolved alias .*: nowhere/, line: 2 },
  },
  {
    name: "an alias bomb (billion laughs)",
    bytes: b(
      [
        "a: &a [x, x, x, x, x, x, x, x, x, x]",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
        "",
      ].join("\n"),
    ),
    expect: { refused: /must hold a record mapping|excessive aliasing|alias/, line: 1 },
  },
  {
    name: "a list at the top level",
    bytes: b("- type: A\n  value: 192.0.2.1\n"),
    expect: { refused: /the top level must map record names to records/, line: 1 },
  },
  {
    name: "a scalar at the top level",
    bytes: b("just some text\n"),
    expect: { refused: /the top level must map record names to records/, line: 1 },
  },
  { name: "two YAML documents", bytes: b(`${www}---\n${www}`), expect: { refused: /YAML syntax error/, line: 4 } },
  {
    name: "a record without a type",
    bytes: b("www:\n  value: 192.0.2.1\n"),
    expect: { refused: /the record at www\.example\.com has no type/, line: 2 },
  },
  {
    name: "a negative ttl",
    bytes: b("www:\n  ttl: -5\n  type: A\n  value: 192.0.2.1\n"),
    expect: { refused: /has ttl -5; it must be a whole number of seconds/, line: 2 },
  },
  {
    name: "a ttl in words",
    bytes: b("www:\n  ttl: one hour\n  type: A\n  value: 192.0.2.1\n"),
    expect: { refused: /has ttl "one hour"/, line: 2 },
  },
  {
    name: "a name holding a scalar",
    bytes: b("www: 192.0.2.1\n"),
    expect: { refused: /"www" must hold a record mapping/, line: 1 },
  },
  {
    name: "a complex key",
    bytes: b("? [a, b]\n: type: A\n  value: 192.0.2.1\n"),
    expect: { refused: /a record name must be a plain string/, line: 1 },
  },
  {
    name: "deep nesting",
    bytes: b(`www: ${"[".repeat(500)}${"]".repeat(500)}\n`),
    expect: { refused: /must hold a record mapping/, line: 1 },
  },
  {
    name: "unclosed quote",
    bytes: b(`www:\n  type: A\n  value: "192.0.2.1\n`),
    expect: { refused: /YAML syntax error/ },
  },
  {
    name: "a merge of a scalar",
    bytes: b("a:\n  type: A\n  value: &v 192.0.2.9\nwww:\n  <<: *v\n  type: A\n  value: 192.0.2.1\n"),
    expect: { refused: /the record at www\.example\.com: Merge sources must be maps/, line: 5 },
  },
  {
    name: "an anchored scalar as a record",
    bytes: b("x: &x 5\nwww:\n  <<: *x\n  type: A\n  value: 192.0.2.1\n"),
    expect: { refused: /"x" must hold a record mapping/, line: 1 },
  },
  {
    name: "a selector CNAME beside a TXT (no --force)",
    bytes: b(`selector1._domainkey:\n  - type: TXT\n    value: v=DKIM1\\; p=OLD\n${sel(2, S2)}`),
    expect: { refused: /conflict|blocks the selector CNAME/ },
  },
  // --- refused, the whole file ---
  {
    name: "UTF-16 LE with BOM",
    bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(www, "utf16le")]),
    expect: { refused: /is UTF-16 or UTF-32/ },
  },
  {
    name: "UTF-16 BE with BOM",
    bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(www, "utf16le").swap16()]),
    expect: { refused: /is UTF-16 or UTF-32/ },
  },
  {
    name: "UTF-16 LE without BOM",
    bytes: Buffer.from(www, "utf16le"),
    expect: { refused: /holds a NUL byte at offset 1/ },
  },
  {
    name: "a binary file (PNG header)",
    bytes: Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ]),
    expect: { refused: /holds a NUL byte at offset 8: a binary file/ },
  },
  {
    name: "a NUL byte in a comment",
    bytes: Buffer.concat([b("# a\0b\n"), b(www)]),
    expect: { refused: /holds a NUL byte at offset 3/ },
  },
  {
    name: `a file over the ${MAX_YAML_BYTES}-byte limit`,
    bytes: () => Buffer.concat([b(www), b(`# ${"x".repeat(MAX_YAML_BYTES)}\n`)]),
    expect: { refused: /over dkimsync's limit of 16777216 bytes \(16 MiB\)/ },
  },
  // --- handled ---
  { name: "an empty file", bytes: b(""), expect: { handled: true } },
  {
    name: "only comments",
    bytes: b("# nothing here yet\n# really\n"),
    expect: { handled: true, check: (a, bf) => expect(a.subarray(0, bf.length).equals(bf)).toBe(true) },
  },
  { name: "--- {}", bytes: b("--- {}\n"), expect: { handled: true } },
  { name: "a null document (~)", bytes: b("--- ~\n"), expect: { handled: true } },
  {
    name: "a UTF-8 BOM",
    bytes: b(`\ufeff${www}`),
    expect: {
      handled: true,
      check: (a) => expect(a.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(true),
    },
  },
  {
    name: "CRLF line endings",
    bytes: b(`${www}_dmarc:\n  type: TXT\n  value: v=DMARC1\\; p=none\n`.replace(/\n/g, "\r\n")),
    expect: { handled: true, check: (a) => expect(/(^|[^\r])\n/.test(a.toString())).toBe(false) },
  },
  {
    name: "mixed CRLF and LF",
    bytes: b(`www:\r\n  type: A\r\n  value: 192.0.2.1\n_dmarc:\n  type: TXT\n  value: v=DMARC1\\; p=none\n`),
    expect: { handled: true },
  },
  {
    name: "a tab before a comment",
    bytes: b("www:\n  type: A\t# tab\n  value: 192.0.2.1\n"),
    expect: { handled: true },
  },
  {
    name: "a Latin-1 comment and key",
    bytes: latin1("# f\xfcr M\xfcller\nm\xfcller:\n  type: A\n  value: 192.0.2.1\n"),
    expect: { handled: true, check: (a, bf) => expect(a.includes(bf)).toBe(true) },
  },
  {
    name: "Windows-1252 quotes in a TXT value",
    bytes: latin1("note:\n  type: TXT\n  value: \x93quoted\x94 text\n"),
    expect: {
      handled: true,
      unreadable: true,
      check: (a, bf) => expect(a.subarray(0, bf.length).equals(bf)).toBe(true),
    },
  },
  {
    name: "an invalid UTF-8 sequence (overlong)",
    bytes: Buffer.concat([b("# overlong: "), Buffer.from([0xc0, 0xaf]), b(`\n${www}`)]),
    expect: { handled: true },
  },
  {
    name: "a 1 MB TXT value",
    bytes: b(`big:\n  type: TXT\n  value: ${"a".repeat(1 << 20)}\n`),
    expect: { handled: true },
  },
  {
    name: "4-space indentation",
    bytes: b("www:\n    type: A\n    value: 192.0.2.1\nxyz:\n    type: A\n    value: 192.0.2.2\n"),
    expect: {
      handled: true,
      check: (a) =>
        expect(a.toString()).toContain(`selector1._domainkey:\n    ttl: 3600\n    type: CNAME\n    value: ${S1}`),
    },
  },
  {
    name: "%YAML 1.2 directive",
    bytes: b(`%YAML 1.2\n---\n${www}`),
    expect: { handled: true, check: (a) => expect(a.toString().startsWith("%YAML 1.2\n---\n")).toBe(true) },
  },
  { name: "document end marker", bytes: b(`---\n${www}...\n`), expect: { handled: true } },
  {
    name: "an unknown tag on a foreign value",
    bytes: b("www:\n  type: TXT\n  value: !custom hello\n"),
    expect: {
      handled: true,
      unreadable: true,
      check: (a, bf) => expect(a.subarray(a.length - bf.length).equals(bf)).toBe(true),
    },
  },
  {
    name: "a quoted selector key",
    bytes: b(`"selector1._domainkey":\n  type: CNAME\n  value: old.example.net.\n${www}`),
    expect: {
      handled: true,
      check: (a) => expect(a.toString()).toContain(`"selector1._domainkey":\n  type: CNAME\n  value: ${S1}\n`),
    },
  },
  {
    name: "an absolute selector key",
    bytes: b(`selector1._domainkey.example.com.:\n  type: CNAME\n  value: old.example.net.\n${www}`),
    expect: { handled: true },
  },
  {
    name: "a selector in flow style",
    bytes: b(`selector1._domainkey: {type: CNAME, value: old.example.net.}\n${www}`),
    expect: { handled: true },
  },
  {
    name: "a selector in capitals",
    bytes: b(`SELECTOR1._DOMAINKEY:\n  type: cname\n  value: ${S1.toUpperCase()}\n${www}`),
    expect: {
      handled: true,
      check: (a) =>
        expect(a.toString()).toContain(`SELECTOR1._DOMAINKEY:\n  type: cname\n  value: ${S1.toUpperCase()}\n`),
    },
  },
  { name: "no final newline", bytes: b("www:\n  type: A\n  value: 192.0.2.1"), expect: { handled: true } },
  {
    name: "trailing spaces and blank lines",
    bytes: b("www:   \n  type: A  \n  value: 192.0.2.1   \n\n\n\n"),
    expect: { handled: true },
  },
  {
    name: "a |+ block scalar at the end",
    bytes: b("motd:\n  type: TXT\n  value: |+\n    hello\n\n\n"),
    expect: { handled: true },
  },
  {
    name: "a >- block scalar",
    bytes: b("motd:\n  type: TXT\n  value: >-\n    hello\n    world\n"),
    expect: { handled: true },
  },
  {
    name: "anchors and merges among foreign records",
    bytes: b(
      "base: &b\n  ttl: 300\n  type: A\n  value: &ip 192.0.2.1\nweb:\n  <<: *b\nwww:\n  type: A\n  value: *ip\n",
    ),
    expect: { handled: true },
  },
  {
    name: "a wildcard and names containing selector1",
    bytes: b(
      `'*':\n  type: A\n  value: 192.0.2.1\n'*._domainkey':\n  type: TXT\n  value: v=DKIM1\\; p=\nselector1:\n  type: A\n  value: 192.0.2.3\nx.selector1._domainkey:\n  type: TXT\n  value: child\n`,
    ),
    expect: { handled: true },
  },
  {
    name: "every record type",
    bytes: b(
      [
        "'':",
        "  - type: MX",
        "    value: {exchange: mx.example.net., preference: 10}",
        "  - type: CAA",
        "    value: {flags: 0, tag: issue, value: ca.example.net}",
        "  - type: NS",
        "    values: [ns1.example.net., ns2.example.net.]",
        "_sip._tcp:",
        "  type: SRV",
        "  value: {port: 5060, priority: 10, target: sip.example.net., weight: 5}",
        "v6:",
        "  type: AAAA",
        "  value: 2001:db8::1",
        "ptr:",
        "  type: PTR",
        "  value: host.example.net.",
        "sshfp:",
        "  type: SSHFP",
        "  value: {algorithm: 1, fingerprint: abc, fingerprint_type: 1}",
        "",
      ].join("\n"),
    ),
    expect: { handled: true },
  },
];

let dir: string;
beforeAll(async () => {
  dir = await tempDir("zf-corpus");
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function data(buf: Buffer): unknown {
  let bytes = buf;
  if (bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) bytes = bytes.subarray(3);
  let text = bytes.toString("utf8");
  if (text.includes("\ufffd")) text = bytes.toString("latin1");
  return jsYaml.load(text) ?? {};
}

describe(`hostile zone files (${CORPUS.length} items)`, { timeout: 120_000 }, () => {
  it.each(CORPUS.map((item, i) => [i, item.name, item] as const))("%i: %s", async (i, _name, item) => {
    const root = path.join(dir, `item${i}`);
    const zones = path.join(root, "zones");
    await fs.mkdir(zones, { recursive: true });
    const file = path.join(zones, `${D}.yaml`);
    const before = typeof item.bytes === "function" ? item.bytes() : item.bytes;
    await fs.writeFile(file, before);
    const config = await writeConfig(path.join(root, "dkim.zones.yaml"), zones, { [D]: {} });
    const messages: string[] = [];
    let applied = false;
    try {
      const { plan, result } = await planApply(config);
      // A conflict blocks only its domain (the run still fails): its message is in result.blocked.
      messages.push(
        ...plan.errors.map((e) => e.message),
        ...result.zones.flatMap((z) => (z.message ? [z.message] : [])),
        ...(result.blocked ?? []).map((b) => b.message),
      );
      applied = result.zones.some((z) => z.outcome === "applied");
    } catch (err) {
      messages.push((err as Error).message);
    }
    const after = await fs.readFile(file);
    expect(await fs.readdir(zones)).toEqual([`${D}.yaml`]);
    const all = messages.join("\n");
    expect(all).not.toMatch(/\n\s+at /); // no stack trace
    if ("refused" in item.expect) {
      expect(applied, all).toBe(false);
      expect(all).toMatch(item.expect.refused);
      if (item.expect.line !== undefined) expect(all).toContain(`${file}:${item.expect.line}: `);
      else if (!/conflict/.test(String(item.expect.refused))) expect(all).toContain(file);
      expect(after.equals(before), "the file must be unchanged").toBe(true);
    } else {
      expect(applied, all).toBe(true);
      // js-yaml refuses some files the yaml package (and PyYAML) reads: C1 control characters,
      // unknown tags. For those the item's byte check stands in for the data comparison.
      if (item.expect.unreadable) {
        expect(item.expect.check).toBeDefined();
        item.expect.check?.(after, before);
        return;
      }
      const was = data(before) as Record<string, unknown> | null;
      const now = data(after) as Record<string, unknown>;
      const managed = (k: string) => /^selector[12]\._domainkey(\.example\.com\.)?$/i.test(k);
      for (const [k, v] of Object.entries(was ?? {})) if (!managed(k)) expect(now[k], `foreign ${k}`).toEqual(v);
      const selectors = Object.entries(now).filter(([k]) => managed(k));
      expect(selectors.map(([, v]) => String((v as { value: string }).value).toLowerCase()).sort()).toEqual([S1, S2]);
      item.expect.check?.(after, before);
    }
  });
});

/**
 * A plan reads zone files it will not edit with js-yaml (providers/yaml/fast-read.ts) and edits
 * with the yaml package's document model. On every file of the corpus (as dkimsync decodes it),
 * the fast reader must give exactly parseZone's record sets, or decline (undefined), never other
 * data; a file parseZone refuses must be declined, so the error and its line come from parseZone.
 */
describe("the js-yaml reader agrees with parseZone on the corpus", () => {
  const texts = CORPUS.flatMap((item) => {
    const bytes = typeof item.bytes === "function" ? item.bytes() : item.bytes;
    const decoded = decodeYaml(bytes);
    return "refused" in decoded ? [] : [{ name: item.name, text: decoded.text }];
  });
  let read = 0;
  it.each(texts.map((t, i) => [i, t.name, t.text] as const))("%i: %s", (_i, _name, text) => {
    let slow: RecordSet[] | Error;
    try {
      slow = parseZone(text, D).records.map((r) => r.set);
    } catch (err) {
      slow = err as Error;
    }
    const fast = readRecordsFast(text, D);
    if (fast === undefined) return;
    read++;
    expect(slow).not.toBeInstanceOf(Error);
    expect(fast).toEqual(slow);
  });
  it("reads most of the corpus itself (the check above is not vacuous)", () => {
    expect(texts.length).toBeGreaterThan(20);
    expect(read).toBeGreaterThan(texts.length / 3);
  });
});
