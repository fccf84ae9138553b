/**
 * Microsoft 365 selector targets: validate explicit ones, read Get-DkimSigningConfig exports,
 * derive legacy ones where that is safe. Facts: ../shared/FACTS.md "Microsoft 365 DKIM".
 * (Interface fixed by the core; implementation in progress.)
 */
import type { Config, DomainConfig } from "./config-types.js";
import type { Selector } from "./names.js";

export interface SigningConfigEntry {
  /** Canonical domain. */
  domain: string;
  /** Canonical targets; absent for NoDKIMKeys (null in the export). */
  selector1?: string;
  selector2?: string;
  selector1KeySize?: number;
  selector2KeySize?: number;
  enabled?: boolean;
  /** As exported: Valid, CnameMissing, NoDKIMKeys, or anything else (treated as not valid). */
  status?: string;
  keyCreationTime?: Date;
  rotateOnDate?: Date;
  selectorBeforeRotateOnDate?: Selector;
  selectorAfterRotateOnDate?: Selector;
}

export interface ResolvedTargets {
  selector1: string;
  selector2: string;
  source: "config" | "signing_config" | "derived";
}

export declare function resolveTargets(config: Config, domain: DomainConfig): ResolvedTargets;
