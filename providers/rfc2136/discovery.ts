/**
 * Zone discovery by SOA query: DNS has no way to ask a server which zones it serves, but an
 * authoritative server's answer for any name tells which of its zones the name falls in. This
 * file reads one answer; index.ts sends the queries and turns the outcomes into results or
 * ProviderErrors.
 */
import { isInZone } from "../../src/provider-kit.js";
import { CLASS_IN, TYPES, readName, type ParsedMessage } from "./wire.js";

/** RFC 1035 4.1.1: Authoritative Answer bit of the header flags. */
const FLAG_AA = 0x0400;

export type SoaOutcome =
  /** The server is authoritative for `zone`, the closest enclosing zone of the name it serves. */
  | { kind: "zone"; zone: string }
  /** The server serves no zone that contains the name (REFUSED or NOTAUTH). */
  | { kind: "none"; rcode: number }
  /** The name owns a CNAME (or matches a wildcard CNAME): ask again for its parent. */
  | { kind: "alias" }
  /** The name lies at or below a delegation to another server: `zone` is the child zone. */
  | { kind: "referral"; zone: string; servers: string[] }
  /** Anything else: an answer no authoritative server gives for an SOA query. */
  | { kind: "unexpected"; reason: string };

/**
 * What an answer to `SOA? name` says about the zone of `name`.
 *
 * - NOERROR with the SOA at `name` in the answer section: `name` is a zone apex (RFC 1034 4.3.2
 *   step 3a).
 * - NXDOMAIN, or NOERROR without data (NODATA): the authority section carries the SOA of the
 *   zone the answer was drawn from, and its owner is that zone (RFC 2308 2.1, 2.2 and 3;
 *   RFC 1035 4.3.4). Observed on BIND 9.18 for both, with the AA bit set.
 * - REFUSED: the server serves no zone containing the name (observed on BIND 9.18 with
 *   `recursion no`); NOTAUTH without a TSIG error says the same (RFC 2136 2.2 uses it so).
 * - A CNAME at the name: an authoritative server answers with the CNAME and follows it only
 *   inside its data (RFC 1034 4.3.2 step 3a); BIND 9.18 was observed to answer the CNAME alone,
 *   with no SOA. A name that owns a CNAME is never a zone apex (the apex holds SOA and NS, and a
 *   CNAME shares its name with nothing: RFC 1034 3.6.2), so its zone is its parent's zone.
 * - A referral (NS in the authority section, AA clear, no SOA): the name is delegated to a child
 *   zone on other servers (RFC 1034 4.3.2 step 3b). Observed on BIND 9.18 for the cut itself and
 *   for names below it.
 */
export function readSoaAnswer(name: string, message: Buffer, parsed: ParsedMessage): SoaOutcome {
  if (parsed.rcode === 5 || parsed.rcode === 9) return { kind: "none", rcode: parsed.rcode };
  if (parsed.rcode !== 0 && parsed.rcode !== 3) return { kind: "unexpected", reason: `rcode ${parsed.rcode}` };
  const [answer, authority] = [parsed.sections[0], parsed.sections[1]].map((s) =>
    s.filter((r) => r.class === CLASS_IN),
  ) as [ParsedMessage["sections"][0], ParsedMessage["sections"][1]];
  const authoritative = (parsed.flags & FLAG_AA) !== 0;

  if (authoritative) {
    if (parsed.rcode === 0 && answer.some((r) => r.type === TYPES.SOA && r.name === name))
      return { kind: "zone", zone: name };
    // NXDOMAIN too: the chain may end at a missing name (RFC 2308 2.1), and that says nothing
    // about the zone of `name` itself.
    if (answer.some((r) => r.type === TYPES.CNAME && r.name === name)) return { kind: "alias" };
    const soa = authority.find((r) => r.type === TYPES.SOA);
    if (soa && answer.length === 0) {
      // A server that put some other zone's SOA here would make us write into the wrong zone.
      if (!isInZone(name, soa.name))
        return {
          kind: "unexpected",
          reason: `the SOA in the answer is of ${soa.name || "the root"}, which does not contain ${name}`,
        };
      return { kind: "zone", zone: soa.name };
    }
    return { kind: "unexpected", reason: "an authoritative answer without an SOA" };
  }

  const ns = authority.filter((r) => r.type === TYPES.NS);
  const cut = ns[0]?.name;
  if (parsed.rcode === 0 && answer.length === 0 && cut !== undefined && isInZone(name, cut)) {
    const servers = ns
      .filter((r) => r.name === cut)
      .map((r) => readName(message, r.rdataOffset).name)
      .sort();
    return { kind: "referral", zone: cut, servers };
  }
  return {
    kind: "unexpected",
    reason: "the answer is not authoritative (AA bit clear): the server looks like a resolver, not the zone's primary",
  };
}

/** The parent of a canonical name, or undefined for a single label. */
export function parentName(name: string): string | undefined {
  const dot = name.indexOf(".");
  return dot < 0 ? undefined : name.slice(dot + 1);
}
