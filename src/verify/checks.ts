/**
 * `verify`: prove over real DNS that each domain's selector CNAMEs are published, seen by
 * resolvers, and lead to sound keys. Facts: Microsoft Learn, "Set up DKIM to sign mail from your
 * Microsoft 365 domain"; key records: RFC 6376 3.6.1.
 *
 * Two views are asked, because they fail differently: the authoritative servers (what was
 * published, with the TTL as written; a raw dns-packet query because node:dns hides TTLs of
 * CNAME answers and folds NXDOMAIN/NODATA/REFUSED into error codes) and a recursive resolver
 * (what receivers see, caches included: "not yet visible" is not "wrong").
 */
import { providerTypes } from "../../providers/index.js";
import { parseHostPort as parseServerText, type HostPort } from "../dns/host-port.js";
import { lookup, Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import dnsPacket from "dns-packet";
import type { Config } from "../config/types.js";
import { desiredState, type DesiredDomain } from "../core/desired.js";
import { tcpExchange, udpExchange } from "../dns/transport.js";
import { keyInfo, parseKeyRecord } from "../dns/dkimkey.js";
import { DkimsyncError, errorWithHint } from "../core/errors.js";
import { activeSelector, type SigningConfigEntry } from "../m365/targets.js";
import { canonical, SELECTORS, type Selector } from "../core/names.js";
import { pool } from "../util/pool.js";

export type CheckStatus = "pass" | "warn" | "info" | "fail";

export interface Check {
  domain: string;
  /** `selector1 cname (authoritative)`, `selector1 cname (resolver)`, `selector1 key`, `signing config`, `nameservers`. */
  check: string;
  status: CheckStatus;
  message: string;
  details?: Record<string, unknown>;
}

export interface DomainReport {
  domain: string;
  ensure: "present" | "absent";
  /** Known only from signing_config (RotateOnDate and the selectors around it). */
  activeSelector?: Selector;
  checks: Check[];
}

export interface VerifySummary {
  pass: number;
  warn: number;
  info: number;
  fail: number;
}

export interface VerifyReport {
  domains: DomainReport[];
  summary: VerifySummary;
  /** Set when no DNS server answered at all: the run proves nothing (exit 1, not 2). */
  unreachable?: string;
}

export type { HostPort };

export interface VerifyOptions {
  /** Canonical domains to check; default every configured domain. Each must be configured. */
  domains?: string[];
  /** Authoritative server to ask instead of the zone's NS records. */
  nameserver?: HostPort;
  /** Recursive resolver; default the system's (/etc/resolv.conf). */
  resolver?: HostPort;
  now?: Date;
  /** Per-query timeout; each query is tried twice. Default 2000 ms. */
  timeoutMs?: number;
}

const SEVERITY: Record<CheckStatus, number> = { pass: 0, info: 1, warn: 2, fail: 3 };

export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), "pass");
}

/** `HOST[:PORT]` of a command-line option; port 53 by default (src/dns/host-port.ts). */
export function parseHostPort(input: string, option: string): HostPort {
  const hp = parseServerText(input);
  if ("error" in hp) throw new DkimsyncError(`${option} "${input}" ${hp.error}`, { hint: "write it like 127.0.0.1:5353 or [::1]:53" });
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
      timer = setTimeout(() => reject(Object.assign(new Error("timed out"), { code: `no answer within ${LOOKUP_TIMEOUT_MS} ms` })), LOOKUP_TIMEOUT_MS);
    });
    try {
      addresses = await Promise.race([lookup(hp.host, { all: true }), limit]);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    throw new DkimsyncError(`${option} "${hp.host}:${hp.port}": cannot resolve ${hp.host} (${(err as NodeJS.ErrnoException).code ?? "error"})`, {
      cause: err,
      hint: `give the resolver's IP address, like ${option} 127.0.0.1:53 or ${option} [::1]:53`,
    });
  }
  return addresses.sort((a, b) => a.family - b.family).map((a) => serverLabel({ host: a.address, port: hp.port }));
}

function serverLabel(s: HostPort): string {
  const host = isIP(s.host) === 6 ? `[${s.host}]` : s.host;
  return `${host}:${s.port}`;
}

// ---------------------------------------------------------------------------------------------
// Authoritative view: one raw query over UDP, over TCP when the UDP answer is truncated.

export interface AuthAnswer {
  server: string;
  /** NOERROR, NXDOMAIN, REFUSED, SERVFAIL, ... or "TIMEOUT"/"NETWORK" when nothing came back. */
  rcode: string;
  aa: boolean;
  records: { type: string; ttl: number; data: string }[];
  /** How the answer that counts arrived: "tcp" after a truncated UDP answer. */
  transport: "udp" | "tcp";
  error?: string;
}

export interface QueryOptions {
  /** Per exchange; a UDP query that gets no answer is sent once more. Default 2000 ms. */
  timeoutMs?: number;
  /** The UDP payload size advertised in EDNS0 (RFC 6891 6.2.3). Default 4096. */
  udpPayloadSize?: number;
}

const NETWORK_FAILURES = new Set(["TIMEOUT", "NETWORK"]);

/**
 * Ask one server one question, without recursion. EDNS0 advertises a 4096-byte buffer (RFC 6891),
 * but a server may truncate well below it: PowerDNS 4.7.3 sets TC on any UDP answer over its
 * udp-truncation-threshold (1232 bytes by default, observed here) and sends no records at all.
 * A truncated answer is therefore asked again over TCP (RFC 1035 4.2.2, RFC 7766 5), so a large
 * TXT set (a long key, or several records) is read whole rather than mistaken for NODATA.
 */
export async function queryAuthoritative(server: HostPort, name: string, type: "CNAME" | "TXT", opts: QueryOptions = {}): Promise<AuthAnswer> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const label = serverLabel(server);
  const id = Math.floor(Math.random() * 65536);
  const query = dnsPacket.encode({
    type: "query",
    id,
    flags: 0,
    questions: [{ type, name, class: "IN" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: opts.udpPayloadSize ?? 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
  let lastError = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    let packet: dnsPacket.DecodedPacket;
    try {
      packet = dnsPacket.decode(await udpExchange(server, query, id, timeoutMs));
    } catch (err) {
      lastError = (err as Error).message;
      if ((err as NodeJS.ErrnoException).code !== "TIMEOUT") return failed(label, "NETWORK", "udp", lastError);
      continue;
    }
    if (!packet.flag_tc) return answer(label, packet, name, "udp");
    try {
      const [reply] = await tcpExchange(server, query, id, timeoutMs);
      return answer(label, dnsPacket.decode(reply as Buffer), name, "tcp");
    } catch (err) {
      const rcode = (err as NodeJS.ErrnoException).code === "TIMEOUT" ? "TIMEOUT" : "NETWORK";
      return failed(label, rcode, "tcp", `the UDP answer was truncated and TCP failed: ${(err as Error).message}`);
    }
  }
  return failed(label, "TIMEOUT", "udp", lastError);
}

function answer(server: string, packet: dnsPacket.DecodedPacket, name: string, transport: "udp" | "tcp"): AuthAnswer {
  const records = (packet.answers ?? [])
    .filter((a) => canonical(a.name) === canonical(name))
    .map((a) => ({ type: a.type, ttl: "ttl" in a ? (a.ttl ?? 0) : 0, data: answerText(a) }));
  return { server, rcode: (packet as { rcode?: string }).rcode ?? "NOERROR", aa: packet.flag_aa, records, transport };
}

function failed(server: string, rcode: "TIMEOUT" | "NETWORK", transport: "udp" | "tcp", error: string): AuthAnswer {
  return { server, rcode, aa: false, records: [], transport, error };
}

function answerText(a: dnsPacket.Answer): string {
  const data = (a as { data?: unknown }).data;
  if (typeof data === "string") return canonical(data);
  if (Array.isArray(data)) return data.map((d) => (Buffer.isBuffer(d) ? d.toString("utf8") : String(d))).join("");
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  return "";
}

// ---------------------------------------------------------------------------------------------
// The run.

interface Context {
  resolver: Resolver;
  resolverLabel: string;
  nameserver?: HostPort;
  now: Date;
  timeoutMs: number;
  /** Queries that got no answer at all, per view; all of them failing means "could not run". */
  stats: { resolverAsked: number; resolverSilent: number; authAsked: number; authSilent: number };
}

/**
 * Check the configured domains (or `opts.domains`). Pure of the CLI: takes a loaded Config.
 * Throws a DkimsyncError for a domain that is not configured.
 */
export async function verifyConfig(config: Config, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (opts.resolver) resolver.setServers(await resolverServers(opts.resolver, "--resolver"));
  const ctx: Context = {
    resolver,
    resolverLabel: opts.resolver ? serverLabel(opts.resolver) : `system resolver (${resolver.getServers().join(", ") || "none configured"})`,
    now: opts.now ?? new Date(),
    timeoutMs,
    stats: { resolverAsked: 0, resolverSilent: 0, authAsked: 0, authSilent: 0 },
    ...(opts.nameserver ? { nameserver: opts.nameserver } : {}),
  };
  const wanted = opts.domains;
  if (wanted) {
    const known = new Set(config.domains.map((d) => d.name));
    for (const d of wanted) {
      if (!known.has(d)) {
        throw new DkimsyncError(`--domain ${d} is not configured in ${config.displayFile}`, {
          hint: `configured domains: ${[...known].join(", ") || "(none)"}`,
        });
      }
    }
  }
  const desired = desiredState({ ...config, domains: config.domains.filter((d) => !wanted || wanted.includes(d.name)) });
  // Domains are independent: ask about several at once (results keep the config's order).
  const domains = await pool(desired, 8, (d) =>
    verifyDomain(ctx, d, config.signingConfig?.entries.get(d.domain), config.signingConfig !== undefined, providerServers(config, d)),
  );

  const summary: VerifySummary = { pass: 0, warn: 0, info: 0, fail: 0 };
  for (const d of domains) for (const c of d.checks) summary[c.status]++;
  const report: VerifyReport = { domains, summary };
  const { stats } = ctx;
  if (stats.resolverAsked > 0 && stats.resolverSilent === stats.resolverAsked) {
    report.unreachable = `the resolver ${ctx.resolverLabel} did not answer any query`;
  } else if (stats.authAsked > 0 && stats.authSilent === stats.authAsked && ctx.nameserver) {
    report.unreachable = `the nameserver ${serverLabel(ctx.nameserver)} did not answer any query`;
  }
  return report;
}

/**
 * Authoritative servers the config itself names for a domain: a provider type that talks to a
 * DNS server directly declares how to find it in its options (the registry's `servers`; an RFC
 * 2136 provider's `server` is, by definition, a primary for the zones it updates).
 */
function providerServers(config: Config, d: DesiredDomain): HostPort[] | undefined {
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

async function verifyDomain(
  ctx: Context,
  d: DesiredDomain,
  entry: SigningConfigEntry | undefined,
  haveSigningConfig: boolean,
  fromProviders: HostPort[] | undefined,
): Promise<DomainReport> {
  const checks: Check[] = [];
  const report: DomainReport = { domain: d.domain, ensure: d.ensure, checks };
  const add = (check: string, status: CheckStatus, message: string, details?: Record<string, unknown>) =>
    checks.push({ domain: d.domain, check, status, message, ...(details ? { details } : {}) });

  if (d.problem !== undefined) {
    // The domain has no usable targets (see desiredDomain): there is nothing to compare DNS with.
    add("targets", "fail", errorWithHint(d.problem));
    return report;
  }
  const servers = ctx.nameserver ? [ctx.nameserver] : (fromProviders ?? (await findAuthServers(ctx, d.domain)));
  if ("error" in servers) add("nameservers", "fail", servers.error);

  const active = entry ? activeSelector(entry, ctx.now) : undefined;
  if (active) report.activeSelector = active;

  const cnameOk: Record<Selector, boolean> = { selector1: false, selector2: false };
  const keys: Partial<Record<Selector, KeyOutcome>> = {};
  for (const [i, selector] of SELECTORS.entries()) {
    const rs = d.records[i];
    if (!rs) continue;
    let expected = rs.values[0];
    // Microsoft signs with the targets of its own export: a CNAME to anything else leads to no key
    // of this domain, whatever the config says. The export is right; the config must follow it.
    const microsoft = entry !== undefined && entry.problem === undefined ? entry[selector] : undefined;
    if (microsoft !== undefined && expected !== undefined && microsoft !== expected) {
      add(`${selector} target`, "fail", `${d.source === "derived" ? "the derived target" : "the config's target"} ${expected} is not the one Microsoft gave ${d.domain} in signing_config; ${microsoft} is right: set ${selector} to it (dkimsync import does), apply, and verify again`, { config: expected, signingConfig: microsoft });
      expected = microsoft;
    }
    let auth: AuthOutcome | undefined;
    if (!("error" in servers)) {
      auth = await checkAuthoritative(ctx, servers, rs.name, expected, rs.ttl);
      add(`${selector} cname (authoritative)`, auth.status, auth.message, auth.details);
      cnameOk[selector] = auth.published;
    }
    const rec = await checkResolver(ctx, rs.name, expected, auth);
    add(`${selector} cname (resolver)`, rec.status, rec.message, rec.details);
    if (expected !== undefined) keys[selector] = await readKey(ctx, expected, entry, selector);
  }

  if (d.ensure === "present") {
    const missing = SELECTORS.filter((s) => keys[s]?.missing);
    for (const selector of SELECTORS) {
      const k = keys[selector];
      if (!k) continue;
      if (k.missing) {
        let [status, message] = missingKeyVerdict(selector, active, entry, missing.length);
        if (d.source === "derived" && missing.length >= 2) {
          // No key behind either derived target: most often the derivation is wrong (a domain
          // added since May 2025 has per-domain targets), so this must not pass as a warning.
          status = "fail";
          message = `no key behind either derived target: these targets were derived from tenant and are probably not Microsoft's; get the exact values with Get-DkimSigningConfig -Identity ${d.domain} | Format-List Selector1CNAME,Selector2CNAME (or dkimsync import)`;
        }
        add(`${selector} key`, status, `${k.message}: ${message}`, k.details);
      } else {
        add(`${selector} key`, k.status, k.message + (active === selector ? " (active)" : ""), k.details);
      }
    }
    if (entry) {
      const sc = signingConfigCheck(d.domain, entry, active, ctx.now, cnameOk.selector1 && cnameOk.selector2);
      add("signing config", sc.status, sc.message, sc.details);
    } else if (haveSigningConfig) {
      add("signing config", "info", "not in the signing_config export; the active selector is unknown");
    }
  }
  return report;
}

/** The zone's NS records through the resolver, walking up from the domain (RFC 1034 4.3.2). */
async function findAuthServers(ctx: Context, domain: string): Promise<HostPort[] | { error: string }> {
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
      return { error: `could not look up the NS records of ${zone} at ${ctx.resolverLabel} (${code}); give --nameserver HOST[:PORT]` };
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
    if (servers.length === 0) return { error: `the NS records of ${zone} (${hosts.join(", ")}) have no IPv4 address at ${ctx.resolverLabel}; give --nameserver HOST[:PORT]` };
    return servers;
  }
  return { error: `no zone above ${domain} has NS records at ${ctx.resolverLabel}; give --nameserver HOST[:PORT]` };
}

function isSilent(code: string): boolean {
  return code === "ETIMEOUT" || code === "ECONNREFUSED" || code === "TIMEOUT" || code === "NETWORK";
}

interface AuthOutcome {
  status: CheckStatus;
  message: string;
  /** The right CNAME is published (a TTL difference still counts as published). */
  published: boolean;
  /** Every server answered that the name has no CNAME. */
  gone: boolean;
  details: Record<string, unknown>;
}

async function checkAuthoritative(ctx: Context, servers: HostPort[], name: string, expected: string | undefined, ttl: number): Promise<AuthOutcome> {
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
  if (NETWORK_FAILURES.has(a.rcode)) return { status: "fail", message: `no answer from ${at} (${a.error ?? a.rcode})`, published: false, gone: false };
  if (a.rcode === "REFUSED") {
    return { status: "fail", message: `${at} refused the query: it does not serve the zone of ${name}; is --nameserver right?`, published: false, gone: false };
  }
  if (a.rcode !== "NOERROR" && a.rcode !== "NXDOMAIN") return { status: "fail", message: `${at} answered ${a.rcode}`, published: false, gone: false };
  if (!a.aa) {
    return { status: "fail", message: `${at} is not authoritative for ${name} (no AA flag in its answer); give the zone's own nameserver`, published: false, gone: false };
  }
  const cname = a.records.find((r) => r.type === "CNAME");
  if (expected === undefined) {
    // ensure: absent.
    if (!cname) return { status: "pass", message: `gone (${a.rcode === "NXDOMAIN" ? "NXDOMAIN" : "no CNAME"})`, published: false, gone: true };
    return { status: "fail", message: `still published -> ${cname.data}; run dkimsync apply to delete it`, published: false, gone: false };
  }
  if (!cname) {
    if (a.rcode === "NXDOMAIN") return { status: "fail", message: "missing (NXDOMAIN); run dkimsync apply", published: false, gone: true };
    // NODATA: something else lives at the name. RFC 1034 3.6.2: a CNAME cannot coexist with it.
    const txt = await queryAuthoritative(server, name, "TXT", { timeoutMs: ctx.timeoutMs });
    if (txt.records.some((r) => r.type === "TXT")) {
      return {
        status: "fail",
        message: "a TXT record is published there instead of the CNAME (an old on-premises key?); remove it, then run dkimsync apply (or apply --force)",
        published: false,
        gone: false,
      };
    }
    return { status: "fail", message: "the name exists but has no CNAME (NODATA); run dkimsync apply", published: false, gone: true };
  }
  if (cname.data !== expected) {
    return { status: "fail", message: `points to ${cname.data}, expected ${expected}`, published: false, gone: false };
  }
  if (cname.ttl !== ttl) {
    return { status: "warn", message: `-> ${expected}, but TTL ${cname.ttl}, expected ${ttl}`, published: true, gone: false };
  }
  return { status: "pass", message: `-> ${expected} (TTL ${ttl})`, published: true, gone: false };
}

async function checkResolver(
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
    if (auth?.gone) return { status: "warn", message: `still visible at ${at} (-> ${targets.join(", ")}), cached until its TTL runs out`, details };
    return { status: "fail", message: `still visible at ${at} -> ${targets.join(", ")}`, details };
  }
  if (absentAnswer) {
    const what = code === "ENOTFOUND" ? "NXDOMAIN" : "no CNAME";
    // A negative answer is cached for the SOA minimum (RFC 2308 5): published but not yet seen.
    if (auth?.published) return { status: "warn", message: `not yet visible at ${at} (${what}); its negative answer is cached: check again later`, details };
    return { status: "fail", message: `missing at ${at} (${what})`, details };
  }
  if (targets.includes(expected)) return { status: "pass", message: `-> ${expected}`, details };
  if (auth?.published) return { status: "warn", message: `${at} still has the old target ${targets.join(", ")} cached; expected ${expected}`, details };
  return { status: "fail", message: `points to ${targets.join(", ")} at ${at}, expected ${expected}`, details };
}

interface KeyOutcome {
  missing: boolean;
  status: CheckStatus;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The key TXT behind the expected target (what Microsoft signs with), through the resolver.
 * RFC 6376 3.6.2.2: several TXT records at the name are ambiguous; the first that parses is used.
 */
async function readKey(ctx: Context, target: string, entry: SigningConfigEntry | undefined, selector: Selector): Promise<KeyOutcome> {
  const details: Record<string, unknown> = { target };
  ctx.stats.resolverAsked++;
  let records: string[][];
  try {
    records = await ctx.resolver.resolveTxt(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "ERROR";
    if (code === "ENOTFOUND" || code === "ENODATA") {
      return { missing: true, status: "info", message: `no key at ${target} (${code === "ENOTFOUND" ? "NXDOMAIN" : "no TXT"})`, details: { ...details, missing: true } };
    }
    if (isSilent(code)) ctx.stats.resolverSilent++;
    return { missing: false, status: "fail", message: `could not read the key at ${target}: ${code}`, details };
  }
  const errors: string[] = [];
  for (const txt of records) {
    const parsed = parseKeyRecord(txt);
    if ("error" in parsed) {
      errors.push(parsed.error);
      continue;
    }
    const r = parsed.record;
    details.record = txt.join("");
    if (records.length > 1) details.records = records.length;
    if (r.revoked) return { missing: false, status: "fail", message: `the key at ${target} is revoked (empty p=, RFC 6376 3.6.1)`, details };
    const info = keyInfo(r);
    if ("error" in info) return { missing: false, status: "fail", message: `the key at ${target} is unusable: ${info.error}`, details };
    Object.assign(details, { keyType: info.type, bits: info.bits, encoding: info.encoding, testing: r.testing, strict: r.strict });
    const verdicts: [CheckStatus, string][] = [];
    if (!r.serviceTypes.includes("*") && !r.serviceTypes.includes("email")) verdicts.push(["fail", `s=${r.serviceTypes.join(":")} excludes email`]);
    if (info.type === "rsa" && info.bits < 1024) verdicts.push(["fail", `${info.bits}-bit RSA is too weak: verifiers reject keys under 1024 bits (RFC 8301 3.2)`]);
    else if (info.type === "rsa" && info.bits < 2048) verdicts.push(["warn", `${info.bits}-bit RSA is weak; upgrade to 2048 (Rotate-DkimSigningConfig -KeySize 2048)`]);
    // RFC 6376 3.6.1 h=: a key may limit the hash algorithms its signatures use. Microsoft 365
    // signs rsa-sha256, so a key without sha256 in h= makes every signature fail.
    if (r.hashAlgorithms !== undefined && !r.hashAlgorithms.map((h) => h.toLowerCase()).includes("sha256")) {
      verdicts.push(["fail", `h=${r.hashAlgorithms.join(":")} excludes sha256, which Microsoft 365 signs with (RFC 6376 3.6.1)`]);
    }
    // RFC 6376 3.6.1 t=y: verifiers must treat signatures as if the message were unsigned.
    if (r.testing) verdicts.push(["warn", "t=y: testing mode, receivers treat the signatures as absent"]);
    const claimed = selector === "selector1" ? entry?.selector1KeySize : entry?.selector2KeySize;
    if (claimed !== undefined && info.type === "rsa" && claimed !== info.bits) {
      verdicts.push(["info", `signing_config says ${claimed} bits (an upgrade takes effect at the next rotation)`]);
    }
    const status = worst(verdicts.map((v) => v[0]));
    const base = `${info.type} ${info.bits}-bit key at ${target}`;
    return { missing: false, status, message: verdicts.length ? `${base}; ${verdicts.map((v) => v[1]).join("; ")}` : base, details };
  }
  return { missing: false, status: "fail", message: `no valid DKIM key at ${target}: ${errors.join("; ")}`, details };
}

/**
 * A missing key is normal behind the selector Microsoft is not signing with (it publishes the key
 * when it rotates, per Microsoft Learn's DKIM article) and behind both before DKIM is enabled.
 */
function missingKeyVerdict(selector: Selector, active: Selector | undefined, entry: SigningConfigEntry | undefined, missingCount: number): [CheckStatus, string] {
  if (active === undefined) {
    if (missingCount >= 2) return ["warn", "no key behind either selector: DKIM not yet enabled in Microsoft 365?"];
    return ["info", "Microsoft publishes a selector's key when it starts using it; the other selector has one"];
  }
  if (selector !== active) return ["info", `inactive selector (${active} signs now): Microsoft publishes this key when it rotates`];
  if (entry?.enabled === false) return ["warn", "active selector, but DKIM signing is disabled in Microsoft 365 (Enabled: false)"];
  return ["fail", "the active selector has no key: receivers cannot verify this domain's signatures"];
}

function signingConfigCheck(
  domain: string,
  entry: SigningConfigEntry,
  active: Selector | undefined,
  now: Date,
  dnsOk: boolean,
): { status: CheckStatus; message: string; details: Record<string, unknown> } {
  const details: Record<string, unknown> = {
    status: entry.status ?? null,
    enabled: entry.enabled ?? null,
    activeSelector: active ?? null,
    rotateOnDate: entry.rotateOnDate?.toISOString() ?? null,
    keyCreationTime: entry.keyCreationTime?.toISOString() ?? null,
    selector1KeySize: entry.selector1KeySize ?? null,
    selector2KeySize: entry.selector2KeySize ?? null,
  };
  const facts: string[] = [];
  if (active) facts.push(`${active} active`);
  if (entry.rotateOnDate) {
    const when = entry.rotateOnDate.toISOString();
    if (entry.rotateOnDate.getTime() > now.getTime()) facts.push(`rotation on ${when}${entry.selectorAfterRotateOnDate ? ` to ${entry.selectorAfterRotateOnDate}` : ""}`);
    else facts.push(`last rotation ${when}`);
  }
  if (entry.selector1KeySize !== undefined || entry.selector2KeySize !== undefined) {
    facts.push(`key sizes ${entry.selector1KeySize ?? "?"}/${entry.selector2KeySize ?? "?"}`);
  }
  const tail = facts.length ? ` (${facts.join(", ")})` : "";
  const status = (entry.status ?? "").toLowerCase();
  if (status === "valid") {
    if (entry.enabled === false) {
      return { status: "warn", message: `Valid but not enabled${tail}: run Set-DkimSigningConfig -Identity ${domain} -Enabled $true`, details };
    }
    return { status: "pass", message: `Valid${tail}`, details };
  }
  if (status === "cnamemissing") {
    if (dnsOk) {
      return { status: "info", message: `CnameMissing, but DNS is right: wait for Microsoft to sync (up to 4 days), then enable DKIM${tail}`, details };
    }
    return { status: "fail", message: `CnameMissing and the CNAMEs are not published correctly yet: run dkimsync apply${tail}`, details };
  }
  if (status === "nodkimkeys") {
    return { status: "fail", message: `NoDKIMKeys: run New-DkimSigningConfig -DomainName ${domain} -Enabled $false in Exchange Online PowerShell`, details };
  }
  if (status === "") return { status: "info", message: `no Status in the export${tail}`, details };
  return { status: "fail", message: `Status ${entry.status} is not Valid${tail}`, details };
}
