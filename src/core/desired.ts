/** Config -> the desired selector records per domain. Pure. */
import type { Config, DomainConfig } from "../config/types.js";
import { resolveTargets } from "../m365/targets.js";
import { SELECTORS, selectorName } from "./names.js";
import type { RecordSet } from "./types.js";

export interface DesiredDomain {
  domain: string;
  providers: string[];
  ensure: "present" | "absent";
  /** The two CNAMEs (present), or the two names to clear (absent: records are empty). */
  records: RecordSet[];
  zoneId?: string;
  /** Where each target came from, for plan output: "config", "signing_config", "derived". */
  source: string;
}

/**
 * Build the desired state of every configured domain. A domain without a safe target source is
 * an InputError naming the domain and how to get its values (raised by resolveTargets).
 */
export function desiredState(config: Config): DesiredDomain[] {
  return config.domains.map((d) => desiredDomain(config, d));
}

export function desiredDomain(config: Config, d: DomainConfig): DesiredDomain {
  const ttl = d.ttl ?? config.ttl;
  const base = { domain: d.name, providers: d.providers, ensure: d.ensure, ...(d.zoneId ? { zoneId: d.zoneId } : {}) };
  if (d.ensure === "absent") {
    return { ...base, source: "absent", records: SELECTORS.map((s) => ({ name: selectorName(s, d.name), type: "CNAME", ttl, values: [] })) };
  }
  const targets = resolveTargets(config, d);
  return {
    ...base,
    source: targets.source,
    records: [
      { name: selectorName("selector1", d.name), type: "CNAME", ttl, values: [targets.selector1] },
      { name: selectorName("selector2", d.name), type: "CNAME", ttl, values: [targets.selector2] },
    ],
  };
}
