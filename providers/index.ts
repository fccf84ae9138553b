/** Provider type name -> factory. Each provider lives in its own folder. */
import type { ProviderFactory } from "./registry.js";
import { createYamlProvider } from "./yaml/index.js";
import { createPowerDnsProvider } from "./powerdns/index.js";

export type { ProviderFactory, ProviderContext } from "./registry.js";

export const providerTypes: Record<string, ProviderFactory> = {
  yaml: createYamlProvider,
  powerdns: createPowerDnsProvider,
};
