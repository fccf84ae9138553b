/**
 * Three ways of holding the same data in less memory, for what a run keeps per domain until its
 * output is written (the plan's records, names and arrays: 10,000s of each at 10,000 domains).
 * Each answers one way V8 keeps more than the characters or elements themselves:
 *
 * - ownString: a substring of 13 characters or more is a "sliced string" that points into the
 *   whole string it was cut from (V8 SlicedString::kMinLength), and `a + b` is a "cons string"
 *   that points to both parts. A record value cut by the YAML parser from a zone file kept that
 *   whole file's text alive: in an update of 10,000 zone files, 20,000 values held 11 MB of file
 *   texts (heap snapshot, bench/README.md "Peak RSS at 10,000, session 6").
 * - internType: a record type read from a file or an API is a new string each time ("CNAME" made
 *   by toUpperCase()); 60,000 `.type` strings of the same few words were 1.4 MB (zone files), and
 *   78,000 were 1.9 MB in a 10,000-zone PowerDNS apply.
 * - exact: an array grown by push() from [] reserves 17 slots (152 bytes for one element), as do
 *   filter() and flatMap(); a plan holds several per zone (about 1.5 MB per 10,000 arrays).
 *   slice(), map(), spread and literals allocate exactly.
 *
 * None of these change a value: they return an equal string or an array of the same elements.
 */

/** An equal string that owns its characters: flat, pointing into no larger string or rope. */
export function ownString(s: string): string {
  // Shorter substrings are copied by V8 already (SlicedString::kMinLength is 13), and a copy of
  // them would only be garbage.
  if (s.length < 13) return s;
  // Array.prototype.join writes its parts into one new sequential string; neither `s.slice()`
  // (a slice of the same parent), a template literal nor `"" + s` (the same string) copies.
  return [s.slice(0, 1), s.slice(1)].join("");
}

/** The record types of a selector name and of what commonly blocks it, held once each. */
const TYPES = new Map(
  ["A", "AAAA", "ALIAS", "CAA", "CNAME", "DNAME", "HTTPS", "MX", "NS", "PTR", "SOA", "SPF", "SRV", "SVCB", "TXT"].map(
    (t) => [t, t],
  ),
);

/**
 * `type` in upper case, as the one shared copy of that type name when it is a common one. An API's
 * or a file's "CNAME" is a string of its own per record set, and `toUpperCase()` makes another
 * each time even when nothing changes.
 */
export function internType(type: string): string {
  const known = TYPES.get(type);
  if (known !== undefined) return known;
  const upper = type.toUpperCase();
  return TYPES.get(upper) ?? upper;
}

/** A copy of `a` with no spare capacity (JavaScript cannot tell how much `a` reserved, so it always copies). */
export function exact<T>(a: T[]): T[] {
  // A literal [] holds no backing store at all; slice() allocates exactly `length` slots.
  return a.length === 0 ? [] : a.slice();
}
