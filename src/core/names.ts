/**
 * One canonical name form inside dkimsync: lowercase A-labels, absolute, no trailing dot.
 * Providers convert to and from their own form (trailing dot or not) at their edge, once.
 */
import { domainToASCII } from "node:url";

/** Canonical form of a name or CNAME target as a provider or user wrote it. */
export function canonical(name: string): string {
  const trimmed = name.trim();
  const noDot = trimmed.endsWith(".") ? trimmed.slice(0, -1) : trimmed;
  return noDot.toLowerCase();
}

/** The name with one trailing dot, for providers that demand it (PowerDNS, DNS wire form). */
export function fqdn(name: string): string {
  return `${canonical(name)}.`;
}

/**
 * Validate and normalise a domain name given by a user: IDN input becomes A-labels.
 * Returns an error phrase instead of throwing, so the caller can name file and line.
 * Rules: RFC 1035 2.3.4 (label <= 63 octets, name <= 253 octets in text form),
 * RFC 5891 (IDNA A-labels via WHATWG domainToASCII).
 */
export function normaliseDomain(input: string): { name: string } | { error: string } {
  const raw = input.trim().replace(/\.$/, "");
  if (raw === "") return { error: "is empty" };
  if (raw.split(".").some((l) => l === "")) return { error: "has an empty label (two dots in a row, or a leading dot)" };
  // Underscore labels are legal in DNS but never part of a mail domain.
  const ascii = /^[\x00-\x7f]*$/.test(raw) ? raw.toLowerCase() : domainToASCII(raw.toLowerCase());
  if (ascii === "") return { error: "is not a valid internationalised domain name" };
  for (const label of ascii.split(".")) {
    if (label.length > 63) return { error: `has a label longer than 63 octets ("${label.slice(0, 20)}...")` };
    if (!/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(label)) {
      return { error: `has an invalid label "${label}" (letters, digits and inner hyphens only)` };
    }
  }
  if (ascii.length > 253) return { error: `is ${ascii.length} octets long; a domain name is at most 253` };
  if (!ascii.includes(".")) return { error: "is a single label; give the full domain, like example.com" };
  return { name: ascii };
}

/** True when `name` equals `zone` or lies below it. Both canonical. */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** The longest zone that contains the name, or undefined. Both canonical. */
export function findZone(name: string, zones: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const z of zones) {
    if (isInZone(name, z) && (best === undefined || z.length > best.length)) best = z;
  }
  return best;
}

/** The name relative to its zone (`''` for the apex), as zone files and some APIs want it. */
export function relativeName(name: string, zone: string): string {
  if (name === zone) return "";
  if (!name.endsWith(`.${zone}`)) throw new Error(`${name} is not in zone ${zone}`);
  return name.slice(0, -(zone.length + 1));
}

/** The two Microsoft 365 selector host names of a domain (fixed by Microsoft). */
export const SELECTORS = ["selector1", "selector2"] as const;
export type Selector = (typeof SELECTORS)[number];

export function selectorName(selector: Selector, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}
