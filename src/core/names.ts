/**
 * One canonical name form inside dkimsync: lowercase A-labels, absolute, no trailing dot.
 * Providers convert to and from their own form (trailing dot or not) at their edge, once.
 */
import { domainToASCII, domainToUnicode } from "node:url";

/** Canonical form of a name or CNAME target as a provider or user wrote it. */
export function canonical(name: string): string {
  if (isCanonical(name)) return name;
  const trimmed = name.trim();
  const noDot = trimmed.endsWith(".") ? trimmed.slice(0, -1) : trimmed;
  return noDot.toLowerCase();
}

/**
 * True when canonical() would return the name unchanged: printable ASCII without capitals or
 * spaces, no trailing dot. Most names a provider answers with (and every name dkimsync made)
 * already are; returning them as they are saves three string copies per call, which at 10,000
 * domains is tens of thousands of names per run. Anything else (non-ASCII, whose lower case
 * and white space Unicode defines) takes the general path.
 */
function isCanonical(name: string): boolean {
  const n = name.length;
  if (n === 0 || name.charCodeAt(n - 1) === 0x2e) return n === 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || (c >= 0x41 && c <= 0x5a)) return false;
  }
  return true;
}

/** The name with one trailing dot, for providers that demand it (PowerDNS, DNS wire form). */
export function fqdn(name: string): string {
  return `${canonical(name)}.`;
}

/**
 * At most this much of a bad value is quoted in an error: enough to recognise it, never a whole
 * pasted file or secret. Control characters and non-ASCII are shown escaped, so a NUL, a newline
 * or a terminal escape sequence in the input cannot garble or forge the output.
 */
export const EXCERPT_CHARS = 80;

export function excerpt(value: string, max = EXCERPT_CHARS): string {
  const cut = value.length > max ? `${value.slice(0, max)}...` : value;
  return JSON.stringify(cut).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
// RFC 8552 2: "underscored" node names such as _domainkey (RFC 6376 3.6.2.1) are a leading
// underscore followed by an LDH label; they appear inside Microsoft's selector targets.
const UNDERSCORE_LABEL = /^_[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * The problem with an ASCII name, or undefined: labels are LDH (RFC 1123 2.1, RFC 1035 2.3.1),
 * optionally underscored (RFC 8552) when `underscore` is set, at most 63 octets each and 253 in
 * all (RFC 1035 2.3.4); an A-label (`xn--`) must be valid Punycode that survives the IDNA
 * round trip (RFC 5891 5.4, via WHATWG domainToUnicode/domainToASCII); the top-level label is
 * not all-numeric (RFC 3696 2), so no IPv4 address passes as a name.
 */
function asciiNameProblem(ascii: string, underscore: boolean): string | undefined {
  if (ascii.length > 253) return `is ${ascii.length} octets long; a domain name is at most 253 (RFC 1035 2.3.4)`;
  const labels = ascii.split(".");
  if (labels.some((l) => l === "")) return "has an empty label (two dots in a row, or a leading dot)";
  for (const label of labels) {
    if (label.length > 63)
      return `has a label longer than 63 octets (${excerpt(label, 20)}: a label of ${label.length} octets; at most 63 are allowed, RFC 1035 2.3.4)`;
    const ok = LDH_LABEL.test(label) || (underscore && UNDERSCORE_LABEL.test(label));
    if (!ok) {
      return `has an invalid label ${excerpt(label, 20)} (letters a-z, digits and inner hyphens only${underscore ? ", or a leading underscore as in _domainkey" : ""})`;
    }
    if (label.startsWith("xn--")) {
      const unicode = domainToUnicode(label);
      if (unicode === "" || unicode === label || domainToASCII(unicode) !== label) {
        return `has the label ${excerpt(label, 20)}, which is not valid Punycode (an xn-- label must decode to Unicode and back, RFC 5891 5.4)`;
      }
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string))
    return "ends in an all-numeric label; a top-level domain is never all digits (RFC 3696 2)";
  return undefined;
}

/**
 * Validate a host name taken from input (a CNAME target): canonical ASCII form, no spaces,
 * quotes, backslashes, NUL, `#`, newlines or non-ASCII anywhere, underscored labels allowed.
 * Returns the canonical name or an error phrase. Used at the edge (config, signing_config,
 * import) and again by the final guard before any write (src/plan/safety.ts).
 */
export function hostNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (!/^[\x21-\x7e]+$/.test(name))
    return `contains ${/[^\x00-\x7f]/.test(name) ? "non-ASCII characters (write internationalised labels as xn-- A-labels)" : "a space or control character"}`;
  return asciiNameProblem(name, true);
}

/**
 * Validate and normalise a domain name given by a user: IDN input becomes A-labels.
 * Returns an error phrase instead of throwing, so the caller can name file and line.
 * Rules: RFC 1035 2.3.4 (label <= 63 octets, name <= 253 octets in text form),
 * RFC 5891 (IDNA A-labels via WHATWG domainToASCII, and the round trip back), no all-numeric
 * top-level label (RFC 3696 2).
 */
export function normaliseDomain(input: string): { name: string } | { error: string } {
  return PLAIN_DOMAIN.test(input) ? { name: input } : normaliseDomainInGeneral(input);
}

/**
 * A name normaliseDomain returns as it is, in one test instead of its dozen steps (about 3 us a
 * domain, 10,000 domains in a large config): lowercase LDH labels of 1 to 63 octets, at least
 * two, 253 octets in all, no `xn--` label (those take the IDNA round trip), and a top-level
 * label with a letter or hyphen, so never all digits. Anything else takes the general path,
 * which gives every error; test/core/names.test.ts checks both agree.
 */
const PLAIN_DOMAIN =
  /^(?=.{1,253}$)(?!(?:.*\.)?xn--)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z-])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** normaliseDomain for any input (exported for the test that compares it with the fast path). */
export function normaliseDomainInGeneral(input: string): { name: string } | { error: string } {
  const raw = input.trim().replace(/\.$/, "");
  if (raw === "") return { error: "is empty" };
  if (raw.split(".").some((l) => l === ""))
    return { error: "has an empty label (two dots in a row, or a leading dot)" };
  if (/[\x00-\x20\x7f]/.test(raw)) return { error: "contains a space or control character" };
  const lower = raw.toLowerCase();
  // Checked before domainToASCII, which would read "123.456" as the IPv4 address 123.0.1.200.
  if (/^[0-9]+$/.test(lower.split(".").pop() as string))
    return { error: "ends in an all-numeric label; a top-level domain is never all digits (RFC 3696 2)" };
  // Underscore labels are legal in DNS but never part of a mail domain: checked as plain LDH.
  const ascii = /^[\x00-\x7f]*$/.test(lower) ? lower : domainToASCII(lower);
  if (ascii === "") return { error: "is not a valid internationalised domain name" };
  const problem = asciiNameProblem(ascii, false);
  if (problem !== undefined) return { error: problem };
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
