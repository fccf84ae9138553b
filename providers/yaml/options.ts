/**
 * The `type: yaml` options block, read and checked through the OptionsReader (every problem with
 * file:line). Kept apart from the provider (index.ts) so that checking a config, which every run
 * and `validate` do for every provider block, loads no SDK: this module imports none.
 */
import type { OptionsReader } from "../../src/provider-kit.js";

export interface YamlOptions {
  /** Folder of the zone files, resolved from the config file's folder. Required. */
  directory: string;
}

export function readYamlOptions(options: OptionsReader): YamlOptions {
  const directory = options.path("directory", { required: true });
  options.done();
  return { directory };
}
