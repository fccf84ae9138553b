/** Provider type name -> factory. Each provider lives in its own folder. */
import type { ProviderFactory } from "./registry.js";
import { createCloudflareProvider } from "./cloudflare/index.js";
import { createPowerDnsProvider } from "./powerdns/index.js";
import { createYamlProvider } from "./yaml/index.js";

export type { ProviderFactory, ProviderContext } from "./registry.js";

export const providerTypes: Record<string, ProviderFactory> = {
  yaml: createYamlProvider,
  powerdns: createPowerDnsProvider,
  cloudflare: createCloudflareProvider,
};
