/**
 * `HOST[:PORT]`: how a DNS server is written on the command line (`--nameserver`, `--resolver`)
 * and in a provider's options (the `server:` of an RFC 2136 provider). An IPv6 address with a port is written in
 * brackets, `[::1]:5353` (RFC 3986 3.2.2); a bare IPv6 address takes the default port. The one
 * parser for both, so the same text means the same server everywhere.
 */
import { isIP } from "node:net";

export interface HostPort {
  host: string;
  port: number;
}

/** The server, or a phrase saying what is wrong with the text (callers name where it came from). */
export function parseHostPort(input: string, defaultPort = 53): HostPort | { error: string } {
  const s = input.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  let host: string;
  let port: string | undefined;
  if (bracket) {
    host = bracket[1] as string;
    port = bracket[2];
    if (isIP(host) !== 6) return { error: `is not HOST[:PORT]: [${host}] is not an IPv6 address` };
  } else if (isIP(s) === 6) {
    host = s;
  } else {
    const m = /^([^:\s[\]]+)(?::(\d+))?$/.exec(s);
    if (!m) return { error: "is not HOST[:PORT] (an IPv6 address with a port is written [addr]:port)" };
    host = m[1] as string;
    port = m[2];
  }
  const n = port === undefined ? defaultPort : Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) return { error: `has port ${port}, which is not 1-65535` };
  return { host, port: n };
}
