/**
 * Domains as people read them. Inside dkimsync every name is an A-label (RFC 5890 2.3.2.1); an
 * internationalised domain is shown as its U-label with the A-label beside it, so the reader
 * recognises `bücher.example` and can still match `xn--bcher-kva.example` in DNS tools.
 */
import { domainToUnicode } from "node:url";

export function unicodeOf(domain: string): string {
  // A label starts with xn-- at the start of the name or after a dot: no split per name shown.
  if (!domain.startsWith("xn--") && !domain.includes(".xn--")) return domain;
  const u = domainToUnicode(domain);
  return u === "" ? domain : u;
}

/** `bücher.example (xn--bcher-kva.example)`, or the name itself when it is plain ASCII. */
export function showDomain(domain: string): string {
  const u = unicodeOf(domain);
  return u === domain ? domain : `${u} (${domain})`;
}
