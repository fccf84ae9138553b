/**
 * Provider type name -> factory, loaded on first use: each provider lives in its own folder and
 * some bring a large SDK (Cloudflare's takes most of a second to load), which a run that does
 * not use them should not pay for.
 */
import type { ProviderFactory } from "./types.js";

export type { ProviderFactory, ProviderContext } from "./types.js";

export const providerTypes: Record<string, () => Promise<ProviderFactory>> = {
  yaml: async () => (await import("./yaml/index.js")).createYamlProvider,
  powerdns: async () => (await import("./powerdns/index.js")).createPowerDnsProvider,
  cloudflare: async () => (await import("./cloudflare/index.js")).createCloudflareProvider,
  route53: async () => (await import("./route53/index.js")).createRoute53Provider,
  rfc2136: async () => (await import("./rfc2136/index.js")).createRfc2136Provider,
  gcloud: async () => (await import("./gcloud/index.js")).createGcloudProvider,
  azure: async () => (await import("./azure/index.js")).createAzureProvider,
};
