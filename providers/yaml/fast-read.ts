/**
 * The records of a zone file that will not be edited, read with js-yaml: the same record sets as
 * parseZone (convert.ts), without the comment-preserving document model. At 10,000 zone files
 * that model is most of what a plan allocates (about 180 KB of short-lived objects for a 300-byte
 * file, against a few KB for js-yaml), and short-lived garbage is what drives a Node process's
 * peak resident memory. The document model stays for files being edited (batch.ts, edit.ts).
 *
 * "The same record sets" is kept by construction, not hoped for:
 * - the scalars resolve as the yaml package's YAML 1.2 core schema resolves them (the regular
 *   expressions below are those of yaml 2.x, src/schema/core); js-yaml's own core schema differs
 *   at the edges (`1_000` and `0b1` are numbers there, strings in YAML 1.2);
 * - whatever the two libraries may read differently is not read here at all (readRecordsFast
 *   returns undefined and the caller parses with the document model): anchors, aliases and
 *   merge keys (`&`, `*`, `<<`; the yaml package also limits alias expansion), tags (`!`),
 *   directives (`%`, which can switch the document to YAML 1.1), explicit and collection keys
 *   (`?`, `]:`, `}:`), tabs, implicit keys longer than 1024 characters (YAML 1.2 7.4.1 forbids
 *   them; the yaml package enforces it, js-yaml does not), null keys (`~:`: the yaml package
 *   reads the apex, js-yaml the name "null"), empty list entries (`- ` alone on its line:
 *   js-yaml 4.3.2 takes the less indented lines after it as that entry's content), integer-like names (a JavaScript object would list
 *   them first, out of file order), and any file either reader finds fault with: every error
 *   message, with its line, comes from parseZone;
 * - test/safety/zonefiles-corpus.test.ts compares the two readers on every file of the hostile
 *   corpus, and test/providers/yaml-fast-read.test.ts on generated and hand-written files.
 */
import jsYaml from "js-yaml";
import type { RecordSet } from "../../src/provider-kit.js";
import { absoluteName, recordSet } from "./convert.js";

/**
 * YAML 1.2 core schema scalars exactly as the yaml package (2.x) resolves them, one type per tag
 * (js-yaml keeps only the last type of a tag): null, bool, int (octal `0o`, decimal, hex `0x`),
 * float (`.inf`/`.nan`, exponent, decimal point).
 */
const INT = [/^0o[0-7]+$/, /^[-+]?[0-9]+$/, /^0x[0-9a-fA-F]+$/];
const FLOAT = [
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/,
  /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/,
];
const YAML_CORE = jsYaml.FAILSAFE_SCHEMA.extend({
  implicit: [
    new jsYaml.Type("tag:yaml.org,2002:null", {
      kind: "scalar",
      resolve: (s: string) => /^(?:~|[Nn]ull|NULL)?$/.test(s),
      construct: () => null,
    }),
    new jsYaml.Type("tag:yaml.org,2002:bool", {
      kind: "scalar",
      resolve: (s: string) => /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s),
      construct: (s: string) => s[0] === "t" || s[0] === "T",
    }),
    new jsYaml.Type("tag:yaml.org,2002:int", {
      kind: "scalar",
      resolve: (s: string) => INT.some((r) => r.test(s)),
      construct: (s: string) =>
        s.startsWith("0o")
          ? Number.parseInt(s.slice(2), 8)
          : s.startsWith("0x")
            ? Number.parseInt(s.slice(2), 16)
            : Number.parseInt(s, 10),
    }),
    new jsYaml.Type("tag:yaml.org,2002:float", {
      kind: "scalar",
      resolve: (s: string) => FLOAT.some((r) => r.test(s)),
      construct: (s: string) =>
        FLOAT[0]?.test(s)
          ? s.slice(-3).toLowerCase() === "nan"
            ? Number.NaN
            : s[0] === "-"
              ? Number.NEGATIVE_INFINITY
              : Number.POSITIVE_INFINITY
          : Number.parseFloat(s),
    }),
  ],
});

/** Text the two readers might read differently (see above): such a file takes the document model. */
const NOT_FAST = /[&*!%?\t]|<<|[\]}][ \t]*:|[^\n]{1025}|^(?:[ \t]*-[ \t])*[ \t]*-[ \t]*(?:#.*)?\r?$/m;
/** A name JavaScript would list before the others in an object (an array index). */
const INDEX_LIKE = /^(?:0|[1-9][0-9]{0,9})$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The zone's record sets, in file order, or undefined when this reader does not vouch for the
 * file (anything it skips, any fault): then parse it with parseZone, which also names the line.
 */
export function readRecordsFast(text: string, zone: string): RecordSet[] | undefined {
  if (NOT_FAST.test(text)) return undefined;
  let data: unknown;
  try {
    data = jsYaml.load(text, { schema: YAML_CORE });
  } catch {
    return undefined;
  }
  if (data === null || data === undefined) return [];
  if (!isPlainObject(data)) return undefined;
  const records: RecordSet[] = [];
  const seen = new Set<string>();
  for (const key of Object.keys(data)) {
    if (key === "null" || INDEX_LIKE.test(key)) return undefined;
    const value = data[key];
    const name = absoluteName(key, zone);
    const nodes = Array.isArray(value) ? value : [value];
    for (const node of nodes) {
      if (!isPlainObject(node)) return undefined;
      let set: RecordSet;
      try {
        set = recordSet(name, node, undefined);
      } catch {
        return undefined;
      }
      const id = `${set.type} ${name}`;
      if (seen.has(id)) return undefined;
      seen.add(id);
      records.push(set);
    }
  }
  return records;
}
