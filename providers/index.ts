/** Provider type name -> factory. Each provider lives in its own folder. */
import type { ProviderFactory } from "./registry.js";
import { createCloudflareProvider } from "./cloudflare/index.js";
import { createPowerDnsProvider } from "./powerdns/index.js";
import { createRfc2136Provider } from "./rfc2136/index.js";
import { createRoute53Provider } from "./route53/index.js";
import { createYamlProvider } from "./yaml/index.js";

export type { ProviderFactory, ProviderContext } from "./registry.js";

export const providerTypes: Record<string, ProviderFactory> = {
  yaml: createYamlProvider,
  powerdns: createPowerDnsProvider,
  cloudflare: createCloudflareProvider,
  route53: createRoute53Provider,
  rfc2136: createRfc2136Provider,
};
