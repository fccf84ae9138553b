/** What every check of one verify run shares: the resolver, the nameserver override, the clock, and counts of silence. */
import type { Resolver } from "node:dns/promises";
import type { HostPort } from "../dns/host-port.js";

export interface Context {
  resolver: Resolver;
  resolverLabel: string;
  nameserver?: HostPort;
  now: Date;
  timeoutMs: number;
  /** Queries that got no answer at all, per view; all of them failing means "could not run". */
  stats: { resolverAsked: number; resolverSilent: number; authAsked: number; authSilent: number };
}

/** A query that got no answer at all (as opposed to an answer that says "no"). */
export function isSilent(code: string): boolean {
  return code === "ETIMEOUT" || code === "ECONNREFUSED" || code === "TIMEOUT" || code === "NETWORK";
}
