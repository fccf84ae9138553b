/** The validated form of dkim.zones.yaml (docs/reference/configuration.md). Produced only by src/config/load.ts. */
import type { InputError, Where } from "../core/errors.js";
import type { SigningConfigEntry } from "../m365/targets.js";

export interface ProviderConfig {
  /** The user's name for it (the key under `providers:`). */
  name: string;
  type: string;
  /** Every key of the block except `type`, as parsed, for the provider factory to validate. */
  options: Record<string, unknown>;
  where: Where;
  /** Line of an option key; nested keys as `tsig.secret`. */
  lineOf: (key: string) => number | undefined;
}

export interface DomainConfig {
  /** Canonical: lowercase A-labels, no trailing dot. */
  name: string;
  /** Provider names, in the order written (`provider: x` or `providers: [x, y]`). */
  providers: string[];
  ensure: "present" | "absent";
  /** Canonical explicit targets, when written in the config. */
  selector1?: string;
  selector2?: string;
  /** Per-domain TTL override. */
  ttl?: number;
  /** Route 53 hosted zone id for this domain (split-horizon setups). */
  zoneId?: string;
  /**
   * Record types the reviewed config allows apply to replace at this domain's selector names
   * (`replace: [TXT]`), upper case; and the line that says so.
   */
  replace?: { types: string[]; where: Where };
  /**
   * A problem confined to this domain's targets (an invalid selector1/selector2): the domain is
   * not planned, every other domain is.
   */
  targetProblem?: InputError;
  where: Where;
}

export interface Config {
  /** Absolute path of the config file, and the name to show users (as given). */
  file: string;
  displayFile: string;
  dir: string;
  /** sha256 hex of the file's bytes, recorded in saved plans. */
  hash: string;
  tenant?: string;
  ttl: number;
  signingConfig?: { file: string; entries: Map<string, SigningConfigEntry> };
  /** In the order written. */
  providers: Map<string, ProviderConfig>;
  /** Sorted by canonical name. */
  domains: DomainConfig[];
}
