/** `signing_config:`, the path of Microsoft 365's Get-DkimSigningConfig export, read and checked. */
import path from "node:path";
import { InputError, errorMessage } from "../core/errors.js";
import { EXPORT_COMMAND, parseSigningConfig, type SigningConfigEntry } from "../m365/targets.js";
import { MAX_SIGNING_CONFIG_BYTES, TooLargeError, readFileBounded } from "../util/fs.js";
import { describe } from "./values.js";

export function readSigningConfig(
  v: unknown,
  dir: string,
  displayFile: string,
): { file: string; entries: Map<string, SigningConfigEntry> } | { error: string; hint?: string; cause?: unknown } {
  if (typeof v !== "string" || v.trim() === "") {
    return {
      error: `must be the path of a JSON file, not ${describe(v)}`,
      hint: `export it with ${EXPORT_COMMAND} and write signing_config: m365/dkim.json`,
    };
  }
  const abs = path.resolve(dir, v);
  // Shown relative to the config as the user named it, so messages match what they typed.
  const shown = path.isAbsolute(v) ? v : path.join(path.dirname(displayFile), v);
  let text: string;
  try {
    text = readFileBounded(abs, MAX_SIGNING_CONFIG_BYTES).toString("utf8");
  } catch (err) {
    if (err instanceof TooLargeError) {
      return {
        error: `${shown} is larger than ${MAX_SIGNING_CONFIG_BYTES / 1024 / 1024} MiB; refusing to read it`,
        hint: `point signing_config at the file written by ${EXPORT_COMMAND}`,
      };
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
    if (entries.has(e.domain))
      return { error: `is unusable: ${shown} lists ${e.domain} twice`, hint: `export it again with ${EXPORT_COMMAND}` };
    entries.set(e.domain, e);
  }
  return { file: abs, entries };
}
