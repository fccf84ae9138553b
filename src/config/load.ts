/**
 * dkim.zones.yaml -> validated Config (the format is described in README.md). Every problem is an
 * InputError that starts with file:line, names the key or domain and says what to write instead;
 * all problems of a file are reported together (up to MAX_LISTED), so one run shows them all.
 *
 * Reading uses js-yaml. js-yaml keeps no positions on the parsed values, so its `listener`
 * option records every node's start line while it parses (see PositionTree); nothing parses
 * the file a second time.
 */
import { providerTypes } from "../../providers/index.js";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import type { Config, DomainConfig, ProviderConfig } from "./types.js";
import { InputError, errorMessage, formatWhere, type Where } from "../core/errors.js";
import { EXPORT_COMMAND, parseSigningConfig, resolveTargets, validateTargets, type SigningConfigEntry } from "../m365/targets.js";
import { canonical, excerpt, normaliseDomain, selectorName } from "../core/names.js";
import { MAX_CONFIG_BYTES, MAX_SIGNING_CONFIG_BYTES, TooLargeError, readFileBounded } from "../util/fs.js";

export interface LoadOptions {
  /** Accepted for symmetry with the provider factories, which read env/NAME secrets later. */
  env?: NodeJS.ProcessEnv;
  /** The file name shown in messages; default: the path as given. */
  displayFile?: string;
  /** Provider types that exist (providers/index.ts); passed in to avoid an import cycle. */
  knownTypes?: readonly string[];
  /** Receives the config as far as it was built, even when it has problems (loadConfigChecked). */
  keepPartial?: (config: Config) => void;
  /**
   * Called with what could be read before problems are thrown, so `dkimsync validate` can also
   * check the provider blocks of a file that has other problems, and report everything at once.
   */
  onPartial?: (config: Config) => void;
}

/** Every provider type the registry knows (providers/index.ts). */
export const DEFAULT_PROVIDER_TYPES: readonly string[] = Object.keys(providerTypes);

/** The provider types that read a domain key of their own (Route 53's `zone_id`), from the registry. */
function typesReading(key: string): string[] {
  return Object.entries(providerTypes).filter(([, t]) => t.domainKeys?.includes(key)).map(([name]) => name);
}

/** Microsoft recommends 3600 for the selector CNAMEs (Microsoft Learn, DKIM setup). */
export const DEFAULT_TTL = 3600;
/** RFC 2181 section 8: a TTL is 31 bits; a value with the top bit set is treated as zero. */
const MAX_TTL = 2147483647;
const MAX_LISTED = 20;
/** RFC 1035 2.3.4: a name is at most 253 octets in text form (255 on the wire). */
const MAX_NAME = 253;
const MAX_HINTS = 5;

const TOP_KEYS = ["tenant", "ttl", "signing_config", "providers", "domains"] as const;
const DOMAIN_KEYS = ["provider", "providers", "ensure", "selector1", "selector2", "ttl", "zone_id", "replace"] as const;
const PROVIDER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const TENANT_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** One problem of a config file; `error.message` starts with `file:line:` of `line`. */
export interface ConfigProblem {
  line: number | undefined;
  error: InputError;
}

/**
 * A config file with one or more problems; `problems` holds each one. The message lists them,
 * each directly followed by its own hint, so nobody has to match hints to errors by order.
 */
export class ConfigError extends InputError {
  readonly problems: InputError[];
  constructor(file: string, problems: readonly ConfigProblem[]) {
    const first = problems[0] as ConfigProblem;
    const where: Where = { file, line: first.line };
    const shown = problems.slice(0, MAX_LISTED);
    const single = problems.length === 1;
    const lines: string[] = [];
    shown.forEach((x, i) => {
      lines.push(i === 0 ? x.error.message.slice(formatWhere(where).length + 2) : x.error.message);
      // One problem: the CLI prints its hint right below it anyway.
      if (!single && x.error.hint !== undefined) lines.push(...x.error.hint.split("\n").map((h) => `  hint: ${h}`));
    });
    if (problems.length > MAX_LISTED) lines.push(`... and ${problems.length - MAX_LISTED} more problems`);
    super(where, lines.join("\n"), {
      cause: single ? first.error : new AggregateError(problems.map((x) => x.error)),
      ...(single && first.error.hint !== undefined ? { hint: first.error.hint } : {}),
    });
    this.problems = problems.map((x) => x.error);
    this.lines = problems.map((x) => x.line);
  }
  /** The line of each problem, in the order of `problems`. */
  readonly lines: (number | undefined)[];
}

/**
 * Checks a provider block's options the way the provider itself reads them (through the provider
 * registry, so src/ names no provider type). Returns the problem, or undefined when they are fine.
 */
export type ProviderCheck = (provider: ProviderConfig, config: Config) => Promise<InputError | undefined>;

/** Read and validate a config file. Throws ConfigError (an InputError) listing every problem. */
export function loadConfig(file: string, opts: LoadOptions = {}): Config {
  const displayFile = opts.displayFile ?? file;
  let bytes: Buffer;
  try {
    bytes = readFileBounded(file, MAX_CONFIG_BYTES);
  } catch (err) {
    if (err instanceof TooLargeError) {
      throw new InputError({ file: displayFile }, `the config file is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; refusing to read it`, { hint: "check the path given with -c" });
    }
    throw new InputError({ file: displayFile }, `cannot read the config file (${errorMessage(err)})`, {
      cause: err,
      hint: "create dkim.zones.yaml in this folder, or pass its path with -c FILE",
    });
  }
  return buildConfig(bytes, path.resolve(file), { ...opts, displayFile });
}

/**
 * loadConfig, and also every provider's options checked by `checkProvider`: one run reports every
 * problem of the file, provider settings included, each at its line.
 */
export async function loadConfigChecked(file: string, checkProvider: ProviderCheck, opts: LoadOptions = {}): Promise<Config> {
  let config: Config | undefined;
  let problems: ConfigProblem[] = [];
  try {
    config = loadConfig(file, { ...opts, keepPartial: (partial) => (config = partial) });
  } catch (err) {
    if (!(err instanceof ConfigError) || config === undefined) throw err;
    problems = err.problems.map((e, i) => ({ line: (err as ConfigError).lines[i], error: e }));
  }
  const c = config as Config;
  for (const pc of c.providers.values()) {
    const problem = await checkProvider(pc, c);
    if (problem !== undefined) problems.push({ line: lineOfError(problem), error: problem });
  }
  if (problems.length === 0) return c;
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new ConfigError(c.displayFile, problems);
}

function lineOfError(err: InputError): number | undefined {
  const m = /^[^\n]*?:(\d+): /.exec(err.message);
  return m ? Number(m[1]) : undefined;
}

/** The same as loadConfig, from text (tests, and `import --add` checking an edit before writing). */
export function parseConfig(text: string, file: string, opts: LoadOptions = {}): Config {
  return buildConfig(Buffer.from(text, "utf8"), path.resolve(file), { ...opts, displayFile: opts.displayFile ?? file });
}

function buildConfig(bytes: Buffer, absFile: string, opts: LoadOptions & { displayFile: string }): Config {
  const displayFile = opts.displayFile;
  const dir = path.dirname(absFile);
  const { data, tree } = readYaml(bytes.toString("utf8"), displayFile);
  const p = new Problems(displayFile);

  if (data === null || data === undefined) {
    throw new InputError({ file: displayFile, line: 1 }, "the file is empty", {
      hint: "write at least providers: and domains: (see the dkim.zones.yaml example in docs/reference/configuration.md)",
    });
  }
  if (!isMapping(data)) {
    throw new InputError({ file: displayFile, line: tree?.line ?? 1 }, `the top level must be a mapping of ${TOP_KEYS.join(", ")}, not ${describe(data)}`, {
      hint: "start the file with keys like providers: and domains: at the left margin",
    });
  }
  const top = tree?.entries() ?? new Map<string, Entry>();
  const lineOfTop = (key: string) => top.get(key)?.keyLine ?? tree?.line;
  unknownKeys(p, data, TOP_KEYS, (k) => lineOfTop(k), "top-level key");

  const config: Config = {
    file: absFile,
    displayFile,
    dir,
    hash: createHash("sha256").update(bytes).digest("hex"),
    ttl: DEFAULT_TTL,
    providers: new Map(),
    domains: [],
  };

  if (data.tenant !== undefined) {
    const tenant = readTenant(data.tenant);
    if ("error" in tenant) p.add(lineOfTop("tenant"), `tenant ${tenant.error}`, 'write the prefix of your initial domain: tenant: contoso for contoso.onmicrosoft.com (Get-AcceptedDomain | Where-Object InitialDomain)');
    else config.tenant = tenant.name;
  }
  if (data.ttl !== undefined) {
    const ttl = readTtl(data.ttl);
    if (typeof ttl === "string") p.add(lineOfTop("ttl"), `ttl ${ttl}`, "write a whole number of seconds, like ttl: 3600 (Microsoft's recommendation)");
    else config.ttl = ttl;
  }

  if (data.signing_config !== undefined) {
    const sc = readSigningConfig(data.signing_config, dir, displayFile);
    if ("error" in sc) {
      p.add(lineOfTop("signing_config"), `signing_config ${sc.error}`, sc.hint, sc.cause);
    } else {
      config.signingConfig = sc;
    }
  }

  const declared = readProviders(p, data.providers, top.get("providers"), lineOfTop("providers"), config, opts.knownTypes ?? DEFAULT_PROVIDER_TYPES);
  readDomains(p, data.domains, top.get("domains"), lineOfTop("domains"), config, declared);

  // A domain without a usable target source is not a problem of the file: it is reported on that
  // domain (see desiredDomain), and every other domain is still planned and applied.
  opts.keepPartial?.(config);
  opts.onPartial?.(config);
  p.throwIfAny();
  return config;
}

// ---------------------------------------------------------------------------------------------
// Parsing with positions

interface Entry {
  keyLine: number;
  value: PositionTree | undefined;
}

/**
 * The start line (1-based) of every node js-yaml composed, shaped like the document. js-yaml's
 * composer calls the listener on opening and closing each node; the children of a mapping come
 * as key, value, key, value (observed on js-yaml 4.3.2, block and flow style).
 */
class PositionTree {
  kind: string | null = null;
  scalar: unknown;
  readonly children: PositionTree[] = [];
  constructor(readonly openLine: number) {}

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

  /** Line of a nested key, like `tsig.secret`, below this mapping. */
  lineOf(dotted: string): number | undefined {
    let node: PositionTree | undefined = this;
    let line: number | undefined;
    for (const part of dotted.split(".")) {
      const e: Entry | undefined = node?.entries().get(part);
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

function readYaml(text: string, file: string): { data: unknown; tree: PositionTree | undefined } {
  const stack: PositionTree[] = [];
  let root: PositionTree | undefined;
  try {
    const data = yaml.load(text, {
      filename: file,
      listener(event, state) {
        if (event === "open") {
          const node = new PositionTree(state.line + 1);
          const parent = stack[stack.length - 1];
          if (parent) parent.children.push(node);
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
        const key = (err.mark ? keyAt(text, err.mark.position) : "") || (line === undefined ? "" : keyOnLine(text, line));
        throw new InputError({ file, line }, `duplicate key${key ? ` "${key}"` : ""}; each key may appear only once in a mapping`, {
          cause: err,
          hint: "remove one of the two, or merge their settings",
        });
      }
      if (/expected a single document/.test(reason)) {
        // js-yaml reports this without a position: find the `---` (or `...`) that starts the second document.
        const at = secondDocumentLine(text);
        throw new InputError({ file, ...(at !== undefined ? { line: at } : {}) }, "the file holds more than one YAML document; dkimsync reads exactly one", {
          cause: err,
          hint: `remove the document marker${at !== undefined ? ` at line ${at}` : " (---)"} and merge what follows into the one mapping of providers: and domains:`,
        });
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

// ---------------------------------------------------------------------------------------------
// Problems

class Problems {
  readonly list: ConfigProblem[] = [];
  constructor(readonly file: string) {}

  add(line: number | undefined, message: string, hint?: string, cause?: unknown): void {
    this.list.push({
      line,
      error: new InputError({ file: this.file, line }, message, {
        ...(hint === undefined ? {} : { hint }),
        ...(cause === undefined ? {} : { cause }),
      }),
    });
  }

  throwIfAny(): void {
    if (this.list.length === 0) return;
    // A stable sort keeps problems of one line in the order found.
    const sorted = [...this.list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(this.file, sorted);
  }
}

function unknownKeys(p: Problems, obj: Record<string, unknown>, known: readonly string[], lineOf: (k: string) => number | undefined, what: string, owner = ""): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    p.add(lineOf(key), `${owner}unknown ${what} ${excerpt(key)}${near ? `; did you mean "${near}"?` : ""}`, `known keys: ${known.join(", ")}`);
  }
}

/** The known key within edit distance 2, for "did you mean". */
export function closest(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of choices) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

// ---------------------------------------------------------------------------------------------
// Values

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);
}

function describe(v: unknown): string {
  if (v === null) return "empty (null)";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Date) return `the date ${v.toISOString().slice(0, 10)}`;
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${excerpt(v)}`;
  return `${typeof v} ${String(v)}`;
}

function readTenant(v: unknown): { name: string } | { error: string } {
  if (typeof v !== "string") return { error: `must be a string, not ${describe(v)}` };
  const name = canonical(v).replace(/\.onmicrosoft\.com$/, "");
  if (!TENANT_LABEL.test(name)) {
    return { error: `${excerpt(v)} is not a tenant prefix (one DNS label: letters, digits and inner hyphens, at most 63)` };
  }
  return { name };
}

function readTtl(v: unknown): number | string {
  if (typeof v !== "number" || !Number.isInteger(v)) return `must be a whole number of seconds, not ${describe(v)}`;
  if (v < 1 || v > MAX_TTL) return `must be between 1 and ${MAX_TTL} (RFC 2181 section 8), not ${v}`;
  return v;
}

function readSigningConfig(
  v: unknown,
  dir: string,
  displayFile: string,
): { file: string; entries: Map<string, SigningConfigEntry> } | { error: string; hint?: string; cause?: unknown } {
  if (typeof v !== "string" || v.trim() === "") {
    return { error: `must be the path of a JSON file, not ${describe(v)}`, hint: `export it with ${EXPORT_COMMAND} and write signing_config: m365/dkim.json` };
  }
  const abs = path.resolve(dir, v);
  // Shown relative to the config as the user named it, so messages match what they typed.
  const shown = path.isAbsolute(v) ? v : path.join(path.dirname(displayFile), v);
  let text: string;
  try {
    text = readFileBounded(abs, MAX_SIGNING_CONFIG_BYTES).toString("utf8");
  } catch (err) {
    if (err instanceof TooLargeError) {
      return { error: `${shown} is larger than ${MAX_SIGNING_CONFIG_BYTES / 1024 / 1024} MiB; refusing to read it`, hint: `point signing_config at the file written by ${EXPORT_COMMAND}` };
    }
    return {
      error: `cannot read ${shown} (${errorMessage(err)})`,
      hint: `the path is resolved from the config file's folder (${abs}); export it with ${EXPORT_COMMAND}`,
      cause: err,
    };
  }
  let list: SigningConfigEntry[];
  try {
    list = parseSigningConfig(text, shown);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { error: `is unusable: ${err.message}`, cause: err, ...(err.hint === undefined ? {} : { hint: err.hint }) };
  }
  const entries = new Map<string, SigningConfigEntry>();
  for (const e of list) {
    if (entries.has(e.domain)) return { error: `is unusable: ${shown} lists ${e.domain} twice`, hint: `export it again with ${EXPORT_COMMAND}` };
    entries.set(e.domain, e);
  }
  return { file: abs, entries };
}

function readProviders(
  p: Problems,
  v: unknown,
  entry: Entry | undefined,
  line: number | undefined,
  config: Config,
  knownTypes: readonly string[],
): Set<string> {
  // Every name written under providers:, usable or not: a domain that refers to a provider whose
  // block has a problem is not reported again (the problem is reported once, at its line).
  const declared = new Set<string>();
  if (v === undefined || v === null) return declared;
  if (!isMapping(v)) {
    p.add(line, `providers must be a mapping of names to provider settings, not ${describe(v)}`, `write providers:\n  zones:\n    type: ${DEFAULT_PROVIDER_TYPES[0]}\n    <its options>`);
    return declared;
  }
  const nodes = entry?.value?.entries() ?? new Map<string, Entry>();
  for (const [name, block] of Object.entries(v)) {
    declared.add(name);
    const e = nodes.get(name);
    const where: Where = { file: config.displayFile, line: e?.keyLine ?? line };
    if (!PROVIDER_NAME.test(name)) {
      p.add(where.line, `provider name ${excerpt(name)} may hold only letters, digits, "_", "." and "-"`, "rename it; domains refer to providers by this name");
      continue;
    }
    if (!isMapping(block)) {
      p.add(where.line, `provider "${name}" must be a mapping with a type, not ${describe(block)}`, `write ${name}:\n    type: ${knownTypes[0]}`);
      continue;
    }
    const { type, ...options } = block;
    if (typeof type !== "string" || type.trim() === "") {
      p.add(where.line, `provider "${name}" needs a type (${knownTypes.join(", ")})${type === undefined ? "" : `, not ${describe(type)}`}`, `add type: <one of ${knownTypes.join(", ")}> under ${name}:`);
      continue;
    }
    if (!knownTypes.includes(type)) {
      const near = closest(type, knownTypes);
      p.add(e?.value?.lineOf("type") ?? where.line, `provider "${name}": unknown type ${excerpt(String(type))}${near ? `; did you mean "${near}"?` : ""}`, `known types: ${knownTypes.join(", ")}`);
      continue;
    }
    const value = e?.value;
    const provider: ProviderConfig = {
      name,
      type,
      options,
      where,
      lineOf: (key) => value?.lineOf(key),
    };
    config.providers.set(name, provider);
  }
  return declared;
}

/** Returns the domains that had no problems, so target checks do not pile onto them. */
function readDomains(p: Problems, v: unknown, entry: Entry | undefined, line: number | undefined, config: Config, declared: Set<string>): Set<string> {
  const ok = new Set<string>();
  if (v === undefined || v === null) return ok;
  if (!isMapping(v)) {
    p.add(line, `domains must be a mapping of domain names to their settings, not ${describe(v)}`, "write domains:\n  example.com:\n    provider: zones");
    return ok;
  }
  const nodes = entry?.value?.entries() ?? new Map<string, Entry>();
  const seen = new Map<string, { raw: string; line: number | undefined }>();
  for (const [raw, block] of Object.entries(v)) {
    const e = nodes.get(raw);
    const keyLine = e?.keyLine ?? line;
    const norm = normaliseDomain(raw);
    if ("error" in norm) {
      p.add(keyLine, `domain ${excerpt(raw)} ${norm.error}`, "write the domain as it appears in DNS, like example.com or bücher.example");
      continue;
    }
    const name = norm.name;
    const longest = selectorName("selector2", name).length;
    if (longest > MAX_NAME) {
      // RFC 1035 2.3.4: the selector names, not only the domain, must fit in 253 octets.
      p.add(keyLine, `domain "${name}" is ${name.length} octets long, so its selector name selector2._domainkey.<domain> would be ${longest}; a name is at most ${MAX_NAME}`, "write the domain as it appears in DNS; a domain this long cannot hold Microsoft 365 selector records");
      continue;
    }
    const before = seen.get(name);
    if (before !== undefined) {
      p.add(keyLine, `domain "${name}" is listed twice: as "${before.raw}" at line ${before.line ?? "?"} and as "${raw}" here`, "keep one entry per domain");
      continue;
    }
    seen.set(name, { raw, line: keyLine });
    const count = p.list.length;
    const d = readDomain(p, name, block, e?.value, { file: config.displayFile, line: keyLine }, config, declared);
    if (d === undefined) continue;
    config.domains.push(d);
    if (p.list.length === count) ok.add(name);
  }
  config.domains.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return ok;
}

function readDomain(
  p: Problems,
  name: string,
  block: unknown,
  node: PositionTree | undefined,
  where: Where,
  config: Config,
  declared: Set<string>,
): DomainConfig | undefined {
  const firstProvider = config.providers.keys().next().value ?? "<provider name>";
  if (!isMapping(block)) {
    p.add(where.line, `domain "${name}" must be a mapping of settings, not ${describe(block)}`, `write ${name}:\n    provider: ${firstProvider}`);
    return undefined;
  }
  const lineOf = (key: string) => node?.lineOf(key) ?? where.line;
  const at = `domain "${name}": `;
  unknownKeys(p, block, DOMAIN_KEYS, lineOf, "key", at);

  const d: DomainConfig = { name, providers: [], ensure: "present", where };

  // provider: x, or providers: [x, y] -- exactly one of them.
  if (block.provider !== undefined && block.providers !== undefined) {
    p.add(lineOf("providers"), `${at}has both provider and providers`, "keep one: provider: x, or providers: [x, y]");
  } else if (block.provider === undefined && block.providers === undefined) {
    p.add(where.line, `${at}has no provider`, `add provider: ${firstProvider} (or providers: [a, b] to publish in several)`);
  } else if (block.provider !== undefined) {
    if (typeof block.provider !== "string" || block.provider.trim() === "") {
      p.add(lineOf("provider"), `${at}provider must be a provider name, not ${describe(block.provider)}`, "for several, write providers: [a, b]");
    } else {
      d.providers = [block.provider];
    }
  } else {
    const list = block.providers;
    if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== "string" || x.trim() === "")) {
      p.add(lineOf("providers"), `${at}providers must be a non-empty list of provider names, not ${describe(list)}`, "write providers: [a, b], or provider: a for one");
    } else {
      const names = list as string[];
      const dup = names.find((x, i) => names.indexOf(x) !== i);
      if (dup !== undefined) p.add(lineOf("providers"), `${at}provider "${dup}" is listed twice in providers`, "list each provider once");
      else d.providers = names;
    }
  }
  const listNode = node?.entries().get("providers")?.value;
  d.providers.forEach((ref, i) => {
    if (config.providers.has(ref) || declared.has(ref)) return;
    const refLine = block.provider !== undefined ? lineOf("provider") : (listNode?.item(i)?.line ?? lineOf("providers"));
    const known = [...config.providers.keys()];
    p.add(refLine, `${at}unknown provider ${excerpt(String(ref))}; known: ${known.length > 0 ? known.join(", ") : "(none defined)"}`, "add it under providers: or fix the name");
  });

  if (block.ensure !== undefined) {
    if (block.ensure === "present" || block.ensure === "absent") d.ensure = block.ensure;
    else p.add(lineOf("ensure"), `${at}ensure must be present or absent, not ${describe(block.ensure)}`, "ensure: absent deletes the selector records; leave it out to publish them");
  }

  if (block.ttl !== undefined) {
    const ttl = readTtl(block.ttl);
    if (typeof ttl === "string") p.add(lineOf("ttl"), `${at}ttl ${ttl}`, "write a whole number of seconds, like ttl: 3600");
    else d.ttl = ttl;
  }

  if (block.zone_id !== undefined) {
    if (typeof block.zone_id !== "string" || block.zone_id.trim() === "") {
      p.add(lineOf("zone_id"), `${at}zone_id must be a Route 53 hosted zone id string, not ${describe(block.zone_id)}`, 'quote it: zone_id: "Z0123456789ABC"');
    } else if (d.providers.length > 0 && d.providers.every((ref) => config.providers.has(ref) && !typesReading("zone_id").includes(config.providers.get(ref)?.type ?? ""))) {
      const types = typesReading("zone_id").join(" or ");
      p.add(lineOf("zone_id"), `${at}zone_id is only used by ${types} providers, and this domain has none`, `remove zone_id, or publish through a ${types} provider`);
    } else {
      d.zoneId = block.zone_id.trim();
    }
  }

  if (block.replace !== undefined) readReplace(p, block.replace, d, lineOf, at);
  readSelectors(block, d, lineOf, at);
  return d;
}

/**
 * `replace: [TXT]`: the reviewed permission to replace what blocks this domain's selector CNAMEs
 * (an old on-premises key, say). A CNAME cannot share its name with other data (RFC 1034 3.6.2),
 * so apply deletes records of these types at the two selector names only, and only for this domain.
 */
function readReplace(p: Problems, v: unknown, d: DomainConfig, lineOf: (k: string) => number | undefined, at: string): void {
  const list = typeof v === "string" ? [v] : v;
  const hint = "write replace: [TXT] to let apply replace an old TXT key at this domain's selector names";
  if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== "string" || !/^[A-Za-z][A-Za-z0-9]*$/.test(x.trim()))) {
    p.add(lineOf("replace"), `${at}replace must be a list of record types, like [TXT], not ${describe(v)}`, hint);
    return;
  }
  const types = [...new Set((list as string[]).map((x) => x.trim().toUpperCase()))];
  if (types.includes("CNAME")) {
    p.add(lineOf("replace"), `${at}replace: CNAME is not needed: dkimsync updates the selector CNAME itself`, hint);
    return;
  }
  if (d.ensure === "absent") {
    p.add(lineOf("replace"), `${at}replace has no effect with ensure: absent (only the selector CNAMEs are deleted)`, "remove replace:");
    return;
  }
  d.replace = { types, where: { file: d.where.file, line: lineOf("replace") } };
}

/**
 * selector1/selector2 of a domain. A problem here concerns only this domain's targets: it is kept
 * on the domain (targetProblem) and reported when the domain is planned, so every other domain
 * still plans and applies.
 */
function readSelectors(block: Record<string, unknown>, d: DomainConfig, lineOf: (k: string) => number | undefined, at: string): void {
  const s1 = block.selector1;
  const s2 = block.selector2;
  if (s1 === undefined && s2 === undefined) return;
  const hint = `copy both values from Get-DkimSigningConfig -Identity ${d.name} | Format-List (Selector1CNAME, Selector2CNAME)`;
  const problem = (key: string, message: string) => {
    d.targetProblem = new InputError({ file: d.where.file, line: lineOf(key) }, `${at}${message}`, { hint });
  };
  if (s1 === undefined || s2 === undefined) {
    const missing = s1 === undefined ? "selector1" : "selector2";
    problem(s1 === undefined ? "selector2" : "selector1", `${missing} is missing; give both selector1 and selector2 or neither (Microsoft rotates between the two)`);
    return;
  }
  for (const [key, v] of [["selector1", s1], ["selector2", s2]] as const) {
    if (typeof v !== "string" || v.trim() === "") {
      problem(key, `${key} must be a host name string, not ${describe(v)}`);
      return;
    }
  }
  const one = canonical(s1 as string);
  const two = canonical(s2 as string);
  const invalid = validateTargets(d.name, one, two);
  if (invalid !== undefined) {
    problem(invalid.startsWith("selector2") ? "selector2" : "selector1", invalid);
    return;
  }
  d.selector1 = one;
  d.selector2 = two;
}
