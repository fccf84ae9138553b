/**
 * The provider factory type. A provider is a factory plus an options type: the factory reads
 * and validates its options (through OptionsReader, which names file, line and option in every
 * error) before it does anything else, and never performs I/O while constructing.
 */
import type { OptionsReader, Provider } from "../src/provider-kit.js";

export interface ProviderContext {
  /** Progress and warnings for people go here (stderr in the CLI). */
  log?: (message: string) => void;
  /** apply --wait: after writing, wait until the provider reports the change live everywhere. */
  wait?: boolean;
  /**
   * True when this run never writes (plan): a provider need not keep what only a write needs
   * (record ids), which at 10,000 domains it would hold until the run ends.
   */
  readOnly?: boolean;
}

export type ProviderFactory = (options: OptionsReader, context: ProviderContext) => Provider;
