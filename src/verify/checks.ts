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
import { Resolver } from "node:dns/promises";
import type { Config } from "../config/types.js";
import { desiredState, type DesiredDomain } from "../core/desired.js";
import { DkimsyncError, errorWithHint } from "../core/errors.js";
import { SELECTORS, type Selector } from "../core/names.js";
import type { HostPort } from "../dns/host-port.js";
import { activeSelector, type SigningConfigEntry } from "../m365/targets.js";
import { pool } from "../util/pool.js";
import { checkAuthoritative, checkResolver, type AuthOutcome } from "./cname.js";
import type { Context } from "./context.js";
import { missingKeyVerdict, readKey, type KeyOutcome } from "./key.js";
import type { Check, CheckStatus, DomainReport, VerifyOptions, VerifyReport, VerifySummary } from "./report.js";
import { findAuthServers, providerServers, resolverServers, serverLabel } from "./servers.js";
import { signingConfigCheck } from "./signing-config.js";

// What other modules import from here (the commands, the tests).
export type { Check, CheckStatus, DomainReport, HostPort, VerifyOptions, VerifyReport, VerifySummary };
export { worst } from "./report.js";
export { parseHostPort, resolverServers } from "./servers.js";
export { queryAuthoritative, type AuthAnswer, type QueryOptions } from "./query.js";

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
    resolverLabel: opts.resolver
      ? serverLabel(opts.resolver)
      : `system resolver (${resolver.getServers().join(", ") || "none configured"})`,
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
  const desired = desiredState({
    ...config,
    domains: config.domains.filter((d) => !wanted || wanted.includes(d.name)),
  });
  // Domains are independent: ask about several at once (results keep the config's order).
  const domains = await pool(desired, 8, (d) =>
    verifyDomain(
      ctx,
      d,
      config.signingConfig?.entries.get(d.domain),
      config.signingConfig !== undefined,
      providerServers(config, d),
    ),
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
      add(
        `${selector} target`,
        "fail",
        `${d.source === "derived" ? "the derived target" : "the config's target"} ${expected} is not the one Microsoft gave ${d.domain} in signing_config; ${microsoft} is right: set ${selector} to it (dkimsync import does), apply, and verify again`,
        { config: expected, signingConfig: microsoft },
      );
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
