/**
 * The registry: provider type name -> what the core needs to know about it. Everything that
 * differs between providers and that the core must act on before a provider exists is data here
 * (a domain key only one type reads, the DNS servers an options block names, whether its records
 * are local files); everything after is the Provider interface and its `capabilities`. Factories
 * are loaded on first use: some bring a large SDK (Cloudflare's takes most of a second to load),
 * which a run that does not use them should not pay for. Checking an options block needs only the
 * type's options reader (providers/<type>/options.ts), which imports no SDK: every run checks
 * every provider block, and a run pays for an SDK only when it creates that provider.
 */
import type { OptionsReader } from "../src/provider-kit.js";
import type { ProviderFactory } from "./types.js";

export type { ProviderFactory, ProviderContext } from "./types.js";

/** Reads and checks an options block exactly as the type's factory does; throws its InputError. */
export type OptionsCheck = (options: OptionsReader) => unknown;

export interface ProviderType {
  load(): Promise<ProviderFactory>;
  /** The options reader alone, which the factory also uses: loads no SDK. */
  options(): Promise<OptionsCheck>;
  /** Keys of a domain block that only this type reads (Route 53's `zone_id`). */
  domainKeys?: readonly string[];
  /**
   * The authoritative DNS servers an options block names, as `HOST[:PORT]`, for `verify` to ask
   * directly (an RFC 2136 provider's `server`). Reads the raw options; never fails.
   */
  servers?(options: Readonly<Record<string, unknown>>): string[];
  /** Its records are local files: `validate` checks them without credentials or network. */
  localRecords?: boolean;
}

export const providerTypes: Record<string, ProviderType> = {
  yaml: {
    load: async () => (await import("./yaml/index.js")).createYamlProvider,
    options: async () => (await import("./yaml/options.js")).readYamlOptions,
    localRecords: true,
  },
  powerdns: {
    load: async () => (await import("./powerdns/index.js")).createPowerDnsProvider,
    options: async () => (await import("./powerdns/options.js")).readPowerDnsOptions,
  },
  route53: {
    load: async () => (await import("./route53/index.js")).createRoute53Provider,
    options: async () => (await import("./route53/options.js")).readRoute53Options,
    domainKeys: ["zone_id"],
  },
  cloudflare: {
    load: async () => (await import("./cloudflare/index.js")).createCloudflareProvider,
    options: async () => (await import("./cloudflare/options.js")).readCloudflareOptions,
  },
  rfc2136: {
    load: async () => (await import("./rfc2136/index.js")).createRfc2136Provider,
    options: async () => (await import("./rfc2136/options.js")).readRfc2136Options,
    servers: (options) => (typeof options.server === "string" ? [options.server] : []),
  },
  gcloud: {
    load: async () => (await import("./gcloud/index.js")).createGcloudProvider,
    options: async () => (await import("./gcloud/options.js")).readGcloudOptions,
  },
  azure: {
    load: async () => (await import("./azure/index.js")).createAzureProvider,
    options: async () => (await import("./azure/options.js")).readAzureOptions,
  },
};
