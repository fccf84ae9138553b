/** The selector CNAME checks: as published (each authoritative server) and as resolvers see it. */
import { canonical } from "../core/names.js";
import type { HostPort } from "../dns/host-port.js";
import { isSilent, type Context } from "./context.js";
import { NETWORK_FAILURES, queryAuthoritative, type AuthAnswer } from "./query.js";
import { worst, type CheckStatus } from "./report.js";
import { serverLabel } from "./servers.js";

export interface AuthOutcome {
  status: CheckStatus;
  message: string;
  /** The right CNAME is published (a TTL difference still counts as published). */
  published: boolean;
  /** Every server answered that the name has no CNAME. */
  gone: boolean;
  details: Record<string, unknown>;
}

export async function checkAuthoritative(
  ctx: Context,
  servers: HostPort[],
  name: string,
  expected: string | undefined,
  ttl: number,
): Promise<AuthOutcome> {
  const perServer: { server: string; status: CheckStatus; message: string; published: boolean; gone: boolean }[] = [];
  for (const server of servers) {
    ctx.stats.authAsked++;
    const a = await queryAuthoritative(server, name, "CNAME", { timeoutMs: ctx.timeoutMs });
    if (NETWORK_FAILURES.has(a.rcode)) ctx.stats.authSilent++;
    perServer.push({ server: a.server, ...(await judgeAuthoritative(ctx, server, a, name, expected, ttl)) });
  }
  const status = worst(perServer.map((p) => p.status));
  const shown = perServer.find((p) => p.status === status) ?? perServer[0];
  const many = perServer.length > 1;
  return {
    status,
    message: shown ? (many ? `${shown.server}: ${shown.message}` : shown.message) : "no nameserver to ask",
    published: perServer.length > 0 && perServer.every((p) => p.published),
    gone: perServer.length > 0 && perServer.every((p) => p.gone),
    details: { name, expected: expected ?? null, ttl, servers: perServer },
  };
}

async function judgeAuthoritative(
  ctx: Context,
  server: HostPort,
  a: AuthAnswer,
  name: string,
  expected: string | undefined,
  ttl: number,
): Promise<{ status: CheckStatus; message: string; published: boolean; gone: boolean }> {
  const at = serverLabel(server);
  if (NETWORK_FAILURES.has(a.rcode))
    return { status: "fail", message: `no answer from ${at} (${a.error ?? a.rcode})`, published: false, gone: false };
  if (a.rcode === "REFUSED") {
    return {
      status: "fail",
      message: `${at} refused the query: it does not serve the zone of ${name}; is --nameserver right?`,
      published: false,
      gone: false,
    };
  }
  if (a.rcode !== "NOERROR" && a.rcode !== "NXDOMAIN")
    return { status: "fail", message: `${at} answered ${a.rcode}`, published: false, gone: false };
  if (!a.aa) {
    return {
      status: "fail",
      message: `${at} is not authoritative for ${name} (no AA flag in its answer); give the zone's own nameserver`,
      published: false,
      gone: false,
    };
  }
  const cname = a.records.find((r) => r.type === "CNAME");
  if (expected === undefined) {
    // ensure: absent.
    if (!cname)
      return {
        status: "pass",
        message: `gone (${a.rcode === "NXDOMAIN" ? "NXDOMAIN" : "no CNAME"})`,
        published: false,
        gone: true,
      };
    return {
      status: "fail",
      message: `still published -> ${cname.data}; run dkimsync apply to delete it`,
      published: false,
      gone: false,
    };
  }
  if (!cname) {
    if (a.rcode === "NXDOMAIN")
      return { status: "fail", message: "missing (NXDOMAIN); run dkimsync apply", published: false, gone: true };
    // NODATA: something else lives at the name. RFC 1034 3.6.2: a CNAME cannot coexist with it.
    const txt = await queryAuthoritative(server, name, "TXT", { timeoutMs: ctx.timeoutMs });
    if (txt.records.some((r) => r.type === "TXT")) {
      return {
        status: "fail",
        message:
          "a TXT record is published there instead of the CNAME (an old on-premises key?); remove it, then run dkimsync apply (or apply --force)",
        published: false,
        gone: false,
      };
    }
    return {
      status: "fail",
      message: "the name exists but has no CNAME (NODATA); run dkimsync apply",
      published: false,
      gone: true,
    };
  }
  if (cname.data !== expected) {
    return { status: "fail", message: `points to ${cname.data}, expected ${expected}`, published: false, gone: false };
  }
  if (cname.ttl !== ttl) {
    return {
      status: "warn",
      message: `-> ${expected}, but TTL ${cname.ttl}, expected ${ttl}`,
      published: true,
      gone: false,
    };
  }
  return { status: "pass", message: `-> ${expected} (TTL ${ttl})`, published: true, gone: false };
}

export async function checkResolver(
  ctx: Context,
  name: string,
  expected: string | undefined,
  auth: AuthOutcome | undefined,
): Promise<{ status: CheckStatus; message: string; details: Record<string, unknown> }> {
  const at = ctx.resolverLabel;
  const details: Record<string, unknown> = { name, resolver: at };
  ctx.stats.resolverAsked++;
  let targets: string[] = [];
  let code = "";
  try {
    targets = (await ctx.resolver.resolveCname(name)).map(canonical);
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code ?? "ERROR";
    if (isSilent(code)) ctx.stats.resolverSilent++;
  }
  details.answer = code || targets;
  const absentAnswer = code === "ENOTFOUND" || code === "ENODATA";
  if (code !== "" && !absentAnswer) return { status: "fail", message: `the resolver ${at} failed: ${code}`, details };

  if (expected === undefined) {
    if (absentAnswer) return { status: "pass", message: `gone at ${at}`, details };
    if (auth?.gone)
      return {
        status: "warn",
        message: `still visible at ${at} (-> ${targets.join(", ")}), cached until its TTL runs out`,
        details,
      };
    return { status: "fail", message: `still visible at ${at} -> ${targets.join(", ")}`, details };
  }
  if (absentAnswer) {
    const what = code === "ENOTFOUND" ? "NXDOMAIN" : "no CNAME";
    // A negative answer is cached for the SOA minimum (RFC 2308 5): published but not yet seen.
    if (auth?.published)
      return {
        status: "warn",
        message: `not yet visible at ${at} (${what}); its negative answer is cached: check again later`,
        details,
      };
    return { status: "fail", message: `missing at ${at} (${what})`, details };
  }
  if (targets.includes(expected)) return { status: "pass", message: `-> ${expected}`, details };
  if (auth?.published)
    return {
      status: "warn",
      message: `${at} still has the old target ${targets.join(", ")} cached; expected ${expected}`,
      details,
    };
  return { status: "fail", message: `points to ${targets.join(", ")} at ${at}, expected ${expected}`, details };
}
