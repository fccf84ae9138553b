/**
 * `dkimsync validate`: everything that can be checked without credentials and without the
 * network, all at once, for a pull request from a fork (which gets no secrets) or an editor hook.
 *
 * - dkim.zones.yaml itself: the loader's checks, every problem with file:line;
 * - `signing_config`: the loader reads and checks the export (missing, not JSON, duplicates);
 * - each provider block: its type's own option checks (the same code `plan` runs), where a secret
 *   only has to be written as `env/NAME`: the variable is not read, so none need to be set;
 * - providers whose records are local files (zone files): every zone file in the folder parses (file:line), and every domain
 *   published there has a zone file that holds its selector names.
 *
 * Nothing is written; exit 0 when there is no problem, 1 otherwise.
 */
import { providerTypes } from "../../providers/index.js";
import { ConfigError, loadConfig } from "../config/load.js";
import { desiredState } from "../core/desired.js";
import type { Config } from "../config/types.js";
import { DkimsyncError, errorMessage } from "../core/errors.js";
import { findZone, selectorName } from "../core/names.js";
import type { Provider } from "../core/types.js";
import { checkProviderOptions, createProvider } from "../plan/build.js";

export interface ValidateIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export interface ValidateOptions {
  config: string;
  format?: "text" | "json";
}

export interface ValidateProblem {
  /** `file:line: what is wrong` (or `[provider] zone z: file:line: ...` for zone files). */
  message: string;
  hint?: string;
}

export interface ValidateResult {
  ok: boolean;
  problems: ValidateProblem[];
  domains: number;
  providers: number;
  zoneFiles: number;
  /** Environment variables the config refers to with env/NAME; not read by validate. */
  secrets: string[];
}

/**
 * An environment that records every `env/NAME` a provider block refers to and holds none of
 * them: the options are checked exactly as every run checks them when it loads the config (a
 * secret that is not set gets the reader's stand-in), and no secret is read.
 */
function recordingEnv(seen: Set<string>): NodeJS.ProcessEnv {
  return new Proxy({} as NodeJS.ProcessEnv, {
    get(_target, key) {
      if (typeof key === "string") seen.add(key);
      return undefined;
    },
  });
}

function problemOf(err: unknown): ValidateProblem {
  if (err instanceof DkimsyncError)
    return { message: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) };
  return { message: `internal error: ${errorMessage(err)}` };
}

/** `zoneFiles: false` checks the config and provider options only (the schema's ground). */
export async function validateConfig(file: string, opts: { zoneFiles?: boolean } = {}): Promise<ValidateResult> {
  const problems: ValidateProblem[] = [];
  const secrets = new Set<string>();
  let config: Config | undefined;
  let complete = false;
  try {
    config = loadConfig(file, { onPartial: (partial) => (config = partial) });
    complete = true;
  } catch (err) {
    if (err instanceof ConfigError) problems.push(...err.problems.map(problemOf));
    else if (err instanceof DkimsyncError) problems.push(problemOf(err));
    else throw err;
  }
  let zoneFiles = 0;
  // A domain's own target problem (no safe target source, a bad or mixed target, a NoDKIMKeys
  // entry) does not stop plan or apply for the other domains, but it is a problem of the config.
  if (config !== undefined && complete) {
    for (const d of desiredState(config)) if (d.problem !== undefined) problems.push(problemOf(d.problem));
  }
  if (config !== undefined) {
    const env = recordingEnv(secrets);
    for (const pc of config.providers.values()) {
      // The same check every run makes when it loads the config: the type's options reader,
      // which loads no SDK. Only providers whose records are local files are created, to read them.
      const problem = await checkProviderOptions(pc, config, env);
      if (problem !== undefined) {
        problems.push(problemOf(problem));
        continue;
      }
      // Only the yaml provider is local; every other type needs its API (and credentials).
      if (providerTypes[pc.type]?.localRecords !== true || opts.zoneFiles === false) continue;
      const provider = await createProvider(pc, config, env, {});
      try {
        zoneFiles += await checkZoneFiles(provider, config, complete, problems);
      } finally {
        await provider.close?.();
      }
    }
  }
  return {
    ok: problems.length === 0,
    problems,
    domains: config?.domains.length ?? 0,
    providers: config?.providers.size ?? 0,
    zoneFiles,
    secrets: [...secrets].sort(),
  };
}

/** Parse every zone file; when the config is complete, every domain must have its zone. */
async function checkZoneFiles(
  provider: Provider,
  config: Config,
  complete: boolean,
  problems: ValidateProblem[],
): Promise<number> {
  let zones: string[];
  try {
    zones = await provider.zones();
  } catch (err) {
    // A missing or unreadable folder: point at the `directory` line of the provider block.
    const pc = config.providers.get(provider.name);
    const p = problemOf(err);
    problems.push({
      ...p,
      message: `${config.displayFile}:${pc?.lineOf("directory") ?? pc?.where.line ?? "?"}: ${p.message}`,
    });
    return 0;
  }
  let parsed = 0;
  for (const zone of zones) {
    try {
      // list() reads and parses the whole file (src/providers/yaml): a parse error names file:line.
      await provider.list(zone, []);
      parsed++;
    } catch (err) {
      problems.push(problemOf(err));
    }
  }
  if (!complete) return parsed;
  for (const d of config.domains) {
    if (!d.providers.includes(provider.name)) continue;
    const zone = findZone(selectorName("selector1", d.name), zones);
    if (zone === undefined) {
      const dir = String((config.providers.get(provider.name)?.options.directory as string | undefined) ?? "");
      problems.push({
        message: `${config.displayFile}:${d.where.line ?? "?"}: domain "${d.name}": provider "${provider.name}" has no zone file for it in ${dir}`,
        hint: `create ${dir.replace(/\/+$/, "")}/${d.name}.yaml (or the file of a parent zone) with the content "--- {}", or publish the domain through another provider`,
      });
    }
  }
  return parsed;
}

export async function validateCommand(opts: ValidateOptions, io: ValidateIo): Promise<number> {
  const r = await validateConfig(opts.config);
  if (opts.format === "json") {
    io.stdout(`${JSON.stringify({ version: 1, file: opts.config, ...r }, null, 2)}\n`);
    return r.ok ? 0 : 1;
  }
  for (const p of r.problems) {
    io.stderr(`dkimsync: error: ${p.message}\n`);
    for (const line of p.hint?.split("\n") ?? []) io.stderr(`  hint: ${line}\n`);
  }
  const counts = `${r.domains} domain${r.domains === 1 ? "" : "s"}, ${r.providers} provider${r.providers === 1 ? "" : "s"}, ${r.zoneFiles} zone file${r.zoneFiles === 1 ? "" : "s"} read`;
  const secrets = r.secrets.length > 0 ? `; secrets referenced (not read): ${r.secrets.join(", ")}` : "";
  if (r.ok) io.stdout(`${opts.config}: valid (${counts}${secrets})\n`);
  else
    io.stderr(
      `dkimsync: ${opts.config}: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"} (${counts})\n`,
    );
  return r.ok ? 0 : 1;
}
