/** A PowerDNS provider for the provider tests, its API key passed through an env reference. */
import { createPowerDnsProvider } from "../../providers/powerdns/index.js";
import { OptionsReader } from "../../src/config/options.js";
import type { Provider } from "../../src/core/types.js";

export const KEY_VAR = "TEST_PDNS_KEY";

/** The Microsoft 365 target of a selector of `domain` under `tenant`. */
export const target = (sel: string, domain: string, tenant = "contoso"): string =>
  `${sel}-${domain.replaceAll(".", "-")}._domainkey.${tenant}.onmicrosoft.com`;

export function pdnsProvider(url: string, key: string, extra: Record<string, unknown> = {}): Provider {
  const reader = new OptionsReader({
    provider: "pdns",
    type: "powerdns",
    values: { url, api_key: `env/${KEY_VAR}`, ...extra },
    where: { file: "dkim.zones.yaml", line: 1 },
    lineOf: () => undefined,
    configDir: "/tmp",
    env: { [KEY_VAR]: key },
  });
  return createPowerDnsProvider(reader, {});
}
