/** An OptionsReader for a provider block in tests: as the config loader builds one, at a fixed line. */
import { OptionsReader } from "../../src/config/options.js";

export function optionsReader(
  type: string,
  values: Record<string, unknown>,
  env: Record<string, string> = {},
  at: { provider: string; line: number } = { provider: type, line: 7 },
): OptionsReader {
  return new OptionsReader({
    provider: at.provider,
    type,
    values,
    where: { file: "dkim.zones.yaml", line: at.line },
    lineOf: () => undefined,
    configDir: "/tmp",
    env,
  });
}
