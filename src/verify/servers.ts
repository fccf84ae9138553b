/**
 * Which DNS servers verify asks: the resolver given with --resolver (by address), the servers a
 * provider's own options name, or the zone's NS records found through the resolver.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { providerTypes } from "../../providers/index.js";
import type { Config } from "../config/types.js";
import type { DesiredDomain } from "../core/desired.js";
import { DkimsyncError } from "../core/errors.js";
import { parseHostPort as parseServerText, type HostPort } from "../dns/host-port.js";
import { isSilent, type Context } from "./context.js";

/** `HOST[:PORT]` of a command-line option; port 53 by default (src/dns/host-port.ts). */
export function parseHostPort(input: string, option: string): HostPort {
  const hp = parseServerText(input);
  if ("error" in hp)
    throw new DkimsyncError(`${option} "${input}" ${hp.error}`, { hint: "write it like 127.0.0.1:5353 or [::1]:53" });
  return hp;
}

/**
 * The `ip:port` entries for Resolver#setServers, which takes IP addresses only (c-ares): a host
 * name given to --resolver is looked up with the system's resolver first, IPv4 addresses first.
 */
const LOOKUP_TIMEOUT_MS = 10_000;

export async function resolverServers(hp: HostPort, option: string): Promise<string[]> {
  if (isIP(hp.host)) return [serverLabel(hp)];
  let addresses: { address: string; family: number }[];
  try {
    // getaddrinfo has no time limit of its own (only the system resolver's): bound it here.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error("timed out"), { code: `no answer within ${LOOKUP_TIMEOUT_MS} ms` })),
        LOOKUP_TIMEOUT_MS,
      );
    });
    try {
      addresses = await Promise.race([lookup(hp.host, { all: true }), limit]);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    throw new DkimsyncError(
      `${option} "${hp.host}:${hp.port}": cannot resolve ${hp.host} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      {
        cause: err,
        hint: `give the resolver's IP address, like ${option} 127.0.0.1:53 or ${option} [::1]:53`,
      },
    );
  }
  return addresses.sort((a, b) => a.family - b.family).map((a) => serverLabel({ host: a.address, port: hp.port }));
}

export function serverLabel(s: HostPort): string {
  const host = isIP(s.host) === 6 ? `[${s.host}]` : s.host;
  return `${host}:${s.port}`;
}

/**
 * Authoritative servers the config itself names for a domain: a provider type that talks to a
 * DNS server directly declares how to find it in its options (the registry's `servers`; an RFC
 * 2136 provider's `server` is, by definition, a primary for the zones it updates).
 */
export function providerServers(config: Config, d: DesiredDomain): HostPort[] | undefined {
  const servers: HostPort[] = [];
  for (const name of d.providers) {
    const pc = config.providers.get(name);
    if (pc === undefined) continue;
    for (const server of providerTypes[pc.type]?.servers?.(pc.options) ?? []) {
      const hp = parseServerText(server);
      // A malformed server option is reported by the provider itself; fall back to NS lookup.
      if (!("error" in hp)) servers.push(hp);
    }
  }
  return servers.length > 0 ? servers : undefined;
}

/** The zone's NS records through the resolver, walking up from the domain (RFC 1034 4.3.2). */
export async function findAuthServers(ctx: Context, domain: string): Promise<HostPort[] | { error: string }> {
  const labels = domain.split(".");
  for (let i = 0; i < labels.length - 1; i++) {
    const zone = labels.slice(i).join(".");
    let hosts: string[];
    ctx.stats.resolverAsked++;
    try {
      hosts = await ctx.resolver.resolveNs(zone);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (code === "ENODATA" || code === "ENOTFOUND") continue;
      if (isSilent(code)) ctx.stats.resolverSilent++;
      return {
        error: `could not look up the NS records of ${zone} at ${ctx.resolverLabel} (${code}); give --nameserver HOST[:PORT]`,
      };
    }
    const servers: HostPort[] = [];
    for (const host of hosts.sort()) {
      if (isIP(host)) {
        servers.push({ host, port: 53 });
        continue;
      }
      try {
        for (const a of await ctx.resolver.resolve4(host)) servers.push({ host: a, port: 53 });
      } catch {
        // A nameserver without an IPv4 address cannot be asked from here; the others still can.
      }
    }
    if (servers.length === 0)
      return {
        error: `the NS records of ${zone} (${hosts.join(", ")}) have no IPv4 address at ${ctx.resolverLabel}; give --nameserver HOST[:PORT]`,
      };
    return servers;
  }
  return { error: `no zone above ${domain} has NS records at ${ctx.resolverLabel}; give --nameserver HOST[:PORT]` };
}
