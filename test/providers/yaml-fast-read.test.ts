/**
 * providers/yaml/fast-read.ts: js-yaml for zone files a run only reads. Its records must be
 * parseZone's (the yaml package's document model) for every file it reads, and it must decline
 * every file the two libraries could read differently, so the caller falls back to parseZone.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseZone } from "../../providers/yaml/convert.js";
import { readRecordsFast } from "../../providers/yaml/fast-read.js";
import type { RecordSet } from "../../src/core/types.js";

const ZONE = "example.com";

function slow(text: string): RecordSet[] | "error" {
  try {
    return parseZone(text, ZONE).records.map((r) => r.set);
  } catch {
    return "error";
  }
}

/** The fast reader either declines or agrees with parseZone; returns whether it read the file. */
function agrees(text: string): boolean {
  const fast = readRecordsFast(text, ZONE);
  if (fast === undefined) return false;
  expect(slow(text), text).not.toBe("error");
  expect(fast, text).toEqual(slow(text));
  return true;
}

describe("readRecordsFast", () => {
  it("reads a plain octoDNS zone file exactly as parseZone does (the file a plan reads at scale)", () => {
    const text = `---
'':
  - ttl: 3600
    type: MX
    value:
      exchange: example-com.mail.protection.outlook.com.
      preference: 0
  - type: TXT
    value: v=spf1 include:spf.protection.outlook.com -all
google._domainkey:
  ttl: 300
  type: TXT
  value: v=DKIM1\\; k=rsa\\; p=MIGf
selector1._domainkey:
  type: cname
  value: Selector1-example-com._domainkey.contoso.onmicrosoft.com.
www:
  type: A
  values: [192.0.2.1, 192.0.2.2]
`;
    expect(agrees(text)).toBe(true);
    expect(readRecordsFast(text, ZONE)).toEqual([
      { name: ZONE, type: "MX", ttl: 3600, values: ["0 example-com.mail.protection.outlook.com"] },
      { name: ZONE, type: "TXT", ttl: 3600, values: ["v=spf1 include:spf.protection.outlook.com -all"] },
      { name: `google._domainkey.${ZONE}`, type: "TXT", ttl: 300, values: ["v=DKIM1; k=rsa; p=MIGf"] },
      {
        name: `selector1._domainkey.${ZONE}`,
        type: "CNAME",
        ttl: 3600,
        values: ["selector1-example-com._domainkey.contoso.onmicrosoft.com"],
      },
      { name: `www.${ZONE}`, type: "A", ttl: 3600, values: ["192.0.2.1", "192.0.2.2"] },
    ]);
  });

  it("reads empty files as no records", () => {
    for (const text of ["", "---\n", "--- {}\n", "# only a comment\n"]) {
      expect(readRecordsFast(text, ZONE), JSON.stringify(text)).toEqual([]);
      expect(agrees(text)).toBe(true);
    }
  });

  // Scalars where js-yaml's own core schema and YAML 1.1 differ from the yaml package's YAML 1.2.
  const scalars = [
    "1_000",
    "0b101",
    "0o17",
    "017",
    "0x1F",
    "+12",
    "-0",
    ".5",
    "-.5",
    "1.",
    "1e3",
    "1.50",
    ".inf",
    "-.Inf",
    ".NaN",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "12:30:00",
    "yes",
    "No",
    "on",
    "true",
    "False",
    "~",
    "null",
    "Null",
    "NULL",
    "",
    "=",
    "192.0.2.1",
    "'quoted 3600'",
    '"3600"',
    '"tab\\there"',
    '"\\u00e9\\x41\\/"',
  ];
  it.each(scalars)("resolves %j as the yaml package does, as ttl and as value", (s) => {
    expect(agrees(`www:\n  type: TXT\n  ttl: ${s}\n  value: x\n`)).toBeTypeOf("boolean");
    expect(agrees(`www:\n  type: TXT\n  value: ${s}\n`)).toBe(true);
    expect(agrees(`www:\n  type: A\n  values: [${s}, 192.0.2.9]\n`)).toBeTypeOf("boolean");
  });

  const declined: Array<[string, string]> = [
    ["an anchor and an alias", "a:\n  type: A\n  value: &v 192.0.2.1\nb:\n  type: A\n  value: *v\n"],
    ["a merge key", "b:\n  <<: {type: A}\n  value: 192.0.2.1\n"],
    ["a tag", "www:\n  type: A\n  ttl: !!int 60\n  value: 192.0.2.1\n"],
    ["a %YAML 1.1 directive", "%YAML 1.1\n---\nwww:\n  type: TXT\n  value: yes\n"],
    ["an explicit key", "? www\n: type: A\n  value: 192.0.2.1\n"],
    ["a collection as key", "[www]:\n  type: A\n  value: 192.0.2.1\n"],
    ["a null key (the apex to the yaml package)", "~:\n  type: A\n  value: 192.0.2.1\n"],
    [
      "an integer-like name (out of file order in an object)",
      "b:\n  type: A\n  value: 192.0.2.1\n1:\n  type: A\n  value: 192.0.2.2\n",
    ],
    ["a key over 1024 characters", `${"a".repeat(1025)}:\n  type: A\n  value: 192.0.2.1\n`],
    ["a tab", "www:\n  type: A\n  value:\t192.0.2.1\n"],
    ["a duplicate key", "www:\n  type: A\n  value: 192.0.2.1\nwww:\n  type: A\n  value: 192.0.2.2\n"],
    ["one type twice at a name", "www:\n  - type: A\n    value: 192.0.2.1\n  - type: a\n    value: 192.0.2.2\n"],
    ["a record without a type", "www:\n  value: 192.0.2.1\n"],
    ["a negative ttl", "www:\n  type: A\n  ttl: -1\n  value: 192.0.2.1\n"],
    ["a name without a record", "www:\n"],
    ["a list at the top", "- a\n- b\n"],
    ["two documents", "www:\n  type: A\n  value: 192.0.2.1\n---\nx: 1\n"],
  ];
  it.each(declined)("declines %s (parseZone reads it, or names the line)", (_what, text) => {
    expect(readRecordsFast(text, ZONE)).toBeUndefined();
  });

  it("agrees with parseZone on generated zone files (or declines them)", () => {
    const plainish = fc.stringMatching(/^[ -~]{0,12}$/);
    const scalar = fc.oneof(
      fc.constantFrom(...scalars),
      plainish,
      plainish.map((s) => JSON.stringify(s)),
      plainish.map((s) => `'${s.replaceAll("'", "''")}'`),
      fc.integer({ min: -5, max: 100000 }).map(String),
    );
    // Block scalars and empty values: where parsers most often disagree.
    const multi = fc.tuple(fc.constantFrom("|", ">", "|+", "|-", ">-", "|2", ""), fc.array(plainish, { maxLength: 3 }));
    const label = fc.stringMatching(/^[a-z0-9_*-]{1,10}$/);
    const record = fc.record({
      type: fc.constantFrom("A", "TXT", "CNAME", "MX", "cname", "SRV", "", "~"),
      ttl: fc.option(scalar, { nil: undefined }),
      values: fc.array(scalar, { minLength: 1, maxLength: 3 }),
      style: fc.constantFrom("block", "flow", "one", "multi", "map"),
      multi,
      comment: fc.option(plainish, { nil: undefined }),
    });
    const file = fc.record({
      entries: fc.uniqueArray(fc.tuple(label, fc.array(record, { minLength: 1, maxLength: 2 })), {
        selector: ([k]) => k,
        maxLength: 5,
      }),
      indent: fc.constantFrom("  ", "    "),
      crlf: fc.boolean(),
      header: fc.boolean(),
    });
    let read = 0;
    fc.assert(
      fc.property(file, ({ entries, indent: u, crlf, header }) => {
        const lines: string[] = header ? ["---", "# zone"] : [];
        for (const [key, recs] of entries) {
          lines.push(`${key}:`);
          for (const r of recs) {
            const list = recs.length > 1;
            const pre = list ? `${u}- ` : u;
            const ind = list ? `${u}  ` : u;
            if (r.comment !== undefined) lines.push(`${ind}# ${r.comment}`);
            if (r.style === "map") {
              lines.push(`${pre}{type: ${r.type}, values: [${r.values.join(", ")}]}`);
              continue;
            }
            lines.push(`${pre}type: ${r.type}`);
            if (r.ttl !== undefined) lines.push(`${ind}ttl: ${r.ttl}`);
            if (r.style === "flow") lines.push(`${ind}values: [${r.values.join(", ")}]`);
            else if (r.style === "one") lines.push(`${ind}value: ${r.values[0]}`);
            else if (r.style === "multi") {
              lines.push(`${ind}value: ${r.multi[0]}`, ...r.multi[1].map((l) => `${ind}${u}${l}`));
            } else lines.push(`${ind}values:`, ...r.values.map((v) => `${ind}${u}- ${v}`));
          }
        }
        if (agrees(`${lines.join(crlf ? "\r\n" : "\n")}\n`)) read++;
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 400), seed: Number(process.env.FC_SEED ?? 13) },
    );
    // Most generated files are well formed: the comparison above must have happened often.
    expect(read).toBeGreaterThan(50);
  });
});
