/**
 * dkim.zones.yaml -> validated Config (the format is described in README.md). Every problem is an
 * InputError that starts with file:line, names the key or domain and says what to write instead;
 * all problems of a file are reported together (up to MAX_LISTED), so one run shows them all.
 *
 * Reading uses js-yaml. js-yaml keeps no positions on the parsed values, so its `listener`
 * option records every node's start line while it parses (see PositionTree); nothing parses
 * the file a second time.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { Config, ProviderConfig } from "./types.js";
import { InputError, errorMessage } from "../core/errors.js";
import { MAX_CONFIG_BYTES, TooLargeError, readFileBounded } from "../util/fs.js";
import { readDomains } from "./domains.js";
import { ConfigError, Problems, unknownKeys, type ConfigProblem } from "./problems.js";
import { DEFAULT_PROVIDER_TYPES, readProviders } from "./providers.js";
import { readSigningConfig } from "./signing-config.js";
import { describe, isMapping, readTenant, readTtl } from "./values.js";
import { readYaml, type Entry } from "./yaml-source.js";

// What other modules import from here.
export { closest, ConfigError, type ConfigProblem } from "./problems.js";
export { DEFAULT_PROVIDER_TYPES } from "./providers.js";

export interface LoadOptions {
  /** Accepted for symmetry with the provider factories, which read env/NAME secrets later. */
  env?: NodeJS.ProcessEnv;
  /** The file name shown in messages; default: the path as given. */
  displayFile?: string;
  /**
   * Called with what could be read before problems are thrown, so loadConfigChecked and
   * `dkimsync validate` can also check the provider blocks of a file that has other problems,
   * and report everything at once.
   */
  onPartial?: (config: Config) => void;
}

/** Microsoft recommends 3600 for the selector CNAMEs (Microsoft Learn, DKIM setup). */
export const DEFAULT_TTL = 3600;

const TOP_KEYS = ["tenant", "ttl", "signing_config", "providers", "domains"] as const;

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
      throw new InputError(
        { file: displayFile },
        `the config file is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB; refusing to read it`,
        { hint: "check the path given with -c" },
      );
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
export async function loadConfigChecked(
  file: string,
  checkProvider: ProviderCheck,
  opts: LoadOptions = {},
): Promise<Config> {
  let config: Config | undefined;
  let problems: ConfigProblem[] = [];
  try {
    config = loadConfig(file, { ...opts, onPartial: (partial) => (config = partial) });
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
    throw new InputError(
      { file: displayFile, line: tree?.line ?? 1 },
      `the top level must be a mapping of ${TOP_KEYS.join(", ")}, not ${describe(data)}`,
      {
        hint: "start the file with keys like providers: and domains: at the left margin",
      },
    );
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
    if ("error" in tenant)
      p.add(
        lineOfTop("tenant"),
        `tenant ${tenant.error}`,
        "write the prefix of your initial domain: tenant: contoso for contoso.onmicrosoft.com (Get-AcceptedDomain | Where-Object InitialDomain)",
      );
    else config.tenant = tenant.name;
  }
  if (data.ttl !== undefined) {
    const ttl = readTtl(data.ttl);
    if (typeof ttl === "string")
      p.add(
        lineOfTop("ttl"),
        `ttl ${ttl}`,
        "write a whole number of seconds, like ttl: 3600 (Microsoft's recommendation)",
      );
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

  const declared = readProviders(
    p,
    data.providers,
    top.get("providers"),
    lineOfTop("providers"),
    config,
    DEFAULT_PROVIDER_TYPES,
  );
  readDomains(p, data.domains, top.get("domains"), lineOfTop("domains"), config, declared);

  // A domain without a usable target source is not a problem of the file: it is reported on that
  // domain (see desiredDomain), and every other domain is still planned and applied.
  opts.onPartial?.(config);
  p.throwIfAny();
  return config;
}
