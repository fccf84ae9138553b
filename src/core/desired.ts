/** Config -> the desired selector records per domain. Pure. */
import type { Config, DomainConfig } from "../config/types.js";
import { resolveTargets } from "../m365/targets.js";
import { ownString } from "../util/compact.js";
import { InputError, type Where } from "./errors.js";
import { SELECTORS, selectorName } from "./names.js";
import type { RecordSet, TargetSource } from "./types.js";

export interface DesiredDomain {
  domain: string;
  providers: string[];
  ensure: "present" | "absent";
  /** The two CNAMEs (present), or the two names to clear (absent: records are empty). */
  records: RecordSet[];
  zoneId?: string;
  /** Where each target came from, for plan output: "config", "signing_config", "derived" ("config" for absent). */
  source: TargetSource;
  /** Warnings a reviewer must see on this domain in every output (derived, unconfirmed targets...). */
  warnings: string[];
  /**
   * A problem confined to this domain (no usable targets, a NoDKIMKeys entry, an invalid target):
   * the domain has no records and is reported instead of planned; every other domain still is.
   */
  problem?: InputError;
  /** Record types the config allows apply to replace at this domain's selector names, and where. */
  replace?: { types: string[]; where: Where };
}

/**
 * Build the desired state of every configured domain. Never throws for one domain's problem:
 * a domain without a safe target source carries it in `problem` (see resolveTargets).
 */
export function desiredState(config: Config): DesiredDomain[] {
  return config.domains.map((d) => desiredDomain(config, d));
}

/** How every derived-target warning starts; the renderers recognise them by it (isDerivedNote). */
export const DERIVED_START = "targets derived from tenant, not confirmed by signing_config";

/** DERIVED_START as the start of a sentence: the renderers' one note for every derived target. */
export const DERIVED_TITLE = DERIVED_START.replace(/^t/, "T");

/**
 * Why a derived target deserves a warning, and how to replace it with Microsoft's values. A
 * derived target is never confirmed: when signing_config lists the domain, its targets win.
 */
export function derivedWarning(domain: string): string {
  // Kept per derived domain until the plan is written: the domain between two shared constant
  // parts is two rope nodes (64 bytes), where the advice built piece by piece was five.
  return `${WARNING_HEAD}${domain}${ADVICE_TAIL}`;
}

/** derivedAdvice's text before and after the identity. */
const ADVICE_HEAD =
  `right only if the domain was added to Microsoft 365 before May 2025 ` +
  `(later domains get per-domain *.<letter>-v1.dkim.mail.microsoft targets that cannot be derived); get the exact values: ` +
  `Get-DkimSigningConfig -Identity `;
const ADVICE_TAIL = ` | Format-List Selector1CNAME,Selector2CNAME, or dkimsync import of a Get-DkimSigningConfig | ConvertTo-Json export`;
const WARNING_HEAD = `${DERIVED_START}: ${ADVICE_HEAD}`;

/** The part of the derived-target warning after its first phrase, for `identity` (a domain, or `<domain>`). */
export function derivedAdvice(identity: string): string {
  return `${ADVICE_HEAD}${identity}${ADVICE_TAIL}`;
}

/**
 * True for a plan note that is the derived-target warning: the text and Markdown plans show it
 * as one short line per domain and explain it once. The planner marks it (`derived`), so the
 * renderers need not read the message; a saved plan of an earlier version has no mark, and its
 * message made by derivedWarning is what is recognised.
 */
export function isDerivedNote(note: { message: string; derived?: true }): boolean {
  return note.derived === true || note.message.startsWith(`${DERIVED_START}: `);
}

export function desiredDomain(config: Config, d: DomainConfig): DesiredDomain {
  const ttl = d.ttl ?? config.ttl;
  // One object of one shape per domain, filled in place: at 10,000 domains the spread copies
  // this used to make were a third of what building the desired state allocated.
  const out: DesiredDomain = {
    domain: d.name,
    providers: d.providers,
    ensure: d.ensure,
    records: [],
    source: "config",
    warnings: [],
  };
  if (d.zoneId) out.zoneId = d.zoneId;
  if (d.replace) out.replace = d.replace;
  if (d.ensure === "absent") {
    out.records = SELECTORS.map((s) => ({ name: selectorName(s, d.name), type: "CNAME", ttl, values: [] }));
    return out;
  }
  let targets: ReturnType<typeof resolveTargets>;
  try {
    targets = resolveTargets(config, d);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    out.problem = err;
    return out;
  }
  const entry = config.signingConfig?.entries.get(d.name);
  // Kept per domain for the whole plan: built as a literal, not grown by push() from [] (which
  // reserves 17 slots: 1.5 MB at 10,000 derived domains).
  if (targets.source === "derived") out.warnings = [derivedWarning(d.name)];
  if (
    targets.source === "config" &&
    entry?.selector1 !== undefined &&
    entry.selector2 !== undefined &&
    entry.problem === undefined
  ) {
    // Microsoft signs with the export's targets; a config that says otherwise publishes CNAMEs
    // that lead to no key of this domain.
    for (const s of SELECTORS) {
      if (entry[s] !== targets[s]) {
        out.warnings.push(
          `${s} in the config (${targets[s]}) differs from the signing_config export (${entry[s]}), which is what Microsoft signs with: copy the export's value, or run dkimsync import`,
        );
      }
    }
  }
  out.source = targets.source;
  // A derived target is built by concatenation (a rope of four to five pieces, about 130 bytes);
  // the plan keeps it to the end, as one flat string of about 60 (util/compact.ts).
  out.records = [
    { name: selectorName("selector1", d.name), type: "CNAME", ttl, values: [ownString(targets.selector1)] },
    { name: selectorName("selector2", d.name), type: "CNAME", ttl, values: [ownString(targets.selector2)] },
  ];
  return out;
}

/** The domain a selector name belongs to: `selector1._domainkey.example.com` -> `example.com`. */
export function domainOfSelectorName(name: string): string | undefined {
  const m = /^selector[12]\._domainkey\.(.+)$/.exec(name);
  return m?.[1];
}
