/**
 * What a heap snapshot (memhook.ts, or any .heapsnapshot) holds, without a browser:
 *
 *   node dist/bench/heap-summary.js FILE [TOP]            self size by kind ("object | Map",
 *                                                          "array | (object elements)", ...)
 *   node dist/bench/heap-summary.js FILE --held-by KIND   who holds objects of that kind, as
 *                                                          "holder . edge" (KIND: "object|Map",
 *                                                          "sliced string|", "array|(object elements)")
 *
 * Self sizes only (what each object itself takes), summed: a kind's total is exact; who holds
 * it is by direct edge, not retained size, each held object counted once per holder kind and edge
 * (the count is of distinct objects, so 60,000 `.type` edges to one "CNAME" show as one). Large snapshots need `node --max-old-space-size=4000`.
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const [file, mode, arg] = process.argv.slice(2);
if (!file) {
  console.error("usage: heap-summary FILE [TOP] | FILE --held-by 'type|name-prefix'");
  process.exit(1);
}
const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const meta = s.snapshot.meta;
const nf = meta.node_fields.length;
const ef = meta.edge_fields.length;
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const TYPE = meta.node_fields.indexOf("type");
const NAME = meta.node_fields.indexOf("name");
const SELF = meta.node_fields.indexOf("self_size");
const EDGES = meta.node_fields.indexOf("edge_count");
const count = s.nodes.length / nf;

const typeOf = (i: number) => nodeTypes[s.nodes[i * nf + TYPE] as number] as string;
const nameOf = (i: number) => s.strings[s.nodes[i * nf + NAME] as number] as string;
const selfOf = (i: number) => s.nodes[i * nf + SELF] as number;
/** Strings are named by their text: one kind per string type, not per text. */
const kindOf = (i: number) => {
  const t = typeOf(i);
  if (t.includes("string")) return `${t} | (text)`;
  if (t === "code") return "code | (code)";
  return `${t} | ${nameOf(i).slice(0, 60)}`;
};

const sums = new Map<string, { bytes: number; n: number }>();
const add = (k: string, bytes: number) => {
  const e = sums.get(k) ?? { bytes: 0, n: 0 };
  e.bytes += bytes;
  e.n++;
  sums.set(k, e);
};

const held = new Map<string, Set<number>>();
if (mode === "--held-by") {
  const [wantType, wantName = ""] = (arg ?? "").split("|");
  let edge = 0;
  for (let i = 0; i < count; i++) {
    const edges = s.nodes[i * nf + EDGES] as number;
    for (let j = 0; j < edges; j++, edge += ef) {
      const kind = edgeTypes[s.edges[edge] as number];
      const to = (s.edges[edge + 2] as number) / nf;
      if (kind === "weak" || typeOf(to) !== wantType || !nameOf(to).startsWith(wantName)) continue;
      const label = kind === "element" || kind === "hidden" ? "[]" : String(s.strings[s.edges[edge + 1] as number]);
      // A string or object held by many (one "CNAME" for every record set) is counted once per key.
      const key = `${kindOf(i)} . ${label}`;
      const seen = held.get(key) ?? new Set<number>();
      held.set(key, seen);
      if (seen.has(to)) continue;
      seen.add(to);
      add(key, selfOf(to));
    }
  }
} else {
  let total = 0;
  for (let i = 0; i < count; i++) {
    add(kindOf(i), selfOf(i));
    total += selfOf(i);
  }
  console.log(`total ${(total / 1e6).toFixed(1)} MB in ${count} objects`);
}
const top = mode === "--held-by" ? 25 : Number(mode ?? 40);
for (const [k, { bytes, n }] of [...sums].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top))
  console.log(`${(bytes / 1e6).toFixed(2).padStart(8)} MB ${String(n).padStart(9)}  ${k}`);
