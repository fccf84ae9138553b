/**
 * The config's YAML with the line of every node: js-yaml keeps no positions on the parsed
 * values, so its `listener` option records every node's start line while it parses
 * (PositionTree); nothing parses the file a second time.
 */
import yaml from "js-yaml";
import { InputError } from "../core/errors.js";

export interface Entry {
  keyLine: number;
  value: PositionTree | undefined;
}

/**
 * The start line (1-based) of every node js-yaml composed, shaped like the document. js-yaml's
 * composer calls the listener on opening and closing each node; the children of a mapping come
 * as key, value, key, value (observed on js-yaml 4.3.2, block and flow style).
 */
/** The children of every node that has none (scalars, empty collections): one shared array. */
const NO_CHILDREN: readonly PositionTree[] = Object.freeze([]);

export class PositionTree {
  kind: string | null = null;
  scalar: unknown;
  /**
   * Shared and empty until the first child arrives: most nodes are scalars, and an array of
   * their own per scalar was half of what the listener allocated (10,000 domains: 40,000 nodes).
   */
  children: readonly PositionTree[] = NO_CHILDREN;
  constructor(readonly openLine: number) {}

  add(child: PositionTree): void {
    if (this.children === NO_CHILDREN) this.children = [child];
    else (this.children as PositionTree[]).push(child);
  }

  /** Where the node's content starts: a block value opens on its key's line. */
  get line(): number {
    return this.children[0]?.line ?? this.openLine;
  }

  entries(): Map<string, Entry> {
    const out = new Map<string, Entry>();
    // An odd count means a flow key without a value (`{a, b: 1}`): pairing would be off.
    if (this.kind !== "mapping" || this.children.length % 2 !== 0) return out;
    for (let i = 0; i + 1 < this.children.length; i += 2) {
      const key = this.children[i] as PositionTree;
      out.set(String(key.scalar), { keyLine: key.line, value: this.children[i + 1] });
    }
    return out;
  }

  /**
   * entries().get(key) without building the Map: a domain's block is looked up a key or two at
   * a time, and a Map per domain was 10,000 Maps for a 10,000-domain config.
   */
  entry(key: string): Entry | undefined {
    if (this.kind !== "mapping" || this.children.length % 2 !== 0) return undefined;
    let found: Entry | undefined;
    for (let i = 0; i + 1 < this.children.length; i += 2) {
      const k = this.children[i] as PositionTree;
      if (String(k.scalar) === key) found = { keyLine: k.line, value: this.children[i + 1] };
    }
    return found;
  }

  /** Line of a nested key, like `tsig.secret`, below this mapping. */
  lineOf(dotted: string): number | undefined {
    let node: PositionTree | undefined = this;
    let line: number | undefined;
    for (const part of dotted.split(".")) {
      const e: Entry | undefined = node?.entry(part);
      if (e === undefined) return undefined;
      line = e.keyLine;
      node = e.value;
    }
    return line;
  }

  item(i: number): PositionTree | undefined {
    return this.kind === "sequence" ? this.children[i] : undefined;
  }
}

export function readYaml(text: string, file: string): { data: unknown; tree: PositionTree | undefined } {
  const stack: PositionTree[] = [];
  let root: PositionTree | undefined;
  try {
    const data = yaml.load(text, {
      filename: file,
      listener(event, state) {
        if (event === "open") {
          const node = new PositionTree(state.line + 1);
          const parent = stack[stack.length - 1];
          if (parent) parent.add(node);
          else root ??= node;
          stack.push(node);
        } else {
          const node = stack.pop();
          if (node) {
            node.kind = state.kind;
            if (state.kind === "scalar") node.scalar = state.result;
          }
        }
      },
    });
    return { data, tree: root };
  } catch (err) {
    if (err instanceof yaml.YAMLException) {
      const line = err.mark ? err.mark.line + 1 : undefined;
      const reason = err.reason ?? "invalid YAML";
      if (reason === "duplicated mapping key") {
        // js-yaml's mark is at the start of the repeated key: read it there, so a flow mapping
        // (`{ ttl: 300, ttl: 600 }`) names the repeated key, not the key that opens the line.
        const key =
          (err.mark ? keyAt(text, err.mark.position) : "") || (line === undefined ? "" : keyOnLine(text, line));
        throw new InputError(
          { file, line },
          `duplicate key${key ? ` "${key}"` : ""}; each key may appear only once in a mapping`,
          {
            cause: err,
            hint: "remove one of the two, or merge their settings",
          },
        );
      }
      if (/expected a single document/.test(reason)) {
        // js-yaml reports this without a position: find the `---` (or `...`) that starts the second document.
        const at = secondDocumentLine(text);
        throw new InputError(
          { file, ...(at !== undefined ? { line: at } : {}) },
          "the file holds more than one YAML document; dkimsync reads exactly one",
          {
            cause: err,
            hint: `remove the document marker${at !== undefined ? ` at line ${at}` : " (---)"} and merge what follows into the one mapping of providers: and domains:`,
          },
        );
      }
      const column = err.mark ? ` (column ${err.mark.column + 1})` : "";
      throw new InputError({ file, line }, `YAML syntax error: ${reason}${column}`, {
        cause: err,
        hint: "check indentation (spaces, not tabs) and quoting around this line",
      });
    }
    throw err;
  }
}

function keyAt(text: string, position: number): string {
  const m = /^[ \t]*(?:"([^"]*)"|'([^']*)'|([^:,{}[\]#\r\n]+?))[ \t]*:/.exec(text.slice(position));
  return (m?.[1] ?? m?.[2] ?? m?.[3] ?? "").trim();
}

/** The line (1-based) of the marker that ends the first document: `---` after content, or `...`. */
function secondDocumentLine(text: string): number | undefined {
  const lines = text.split(/\r?\n/);
  let content = false;
  for (const [i, raw] of lines.entries()) {
    if (/^(---|\.\.\.)(\s|$)/.test(raw)) {
      if (content) return i + 1;
      continue;
    }
    if (!/^\s*(#.*)?$/.test(raw) && !raw.startsWith("%")) content = true;
  }
  return undefined;
}

function keyOnLine(text: string, line: number): string {
  const src = text.split(/\r?\n/)[line - 1] ?? "";
  const m = /^\s*(?:-\s+)?(?:"([^"]*)"|'([^']*)'|([^:#]+?))\s*:/.exec(src);
  return (m?.[1] ?? m?.[2] ?? m?.[3] ?? "").trim();
}
