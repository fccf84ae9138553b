/**
 * `dkimsync exchange`: the next Exchange Online step for each domain, as a PowerShell script to
 * review and run, or as JSON. It reads Microsoft's own view (the signing_config export of
 * Get-DkimSigningConfig) and a verify run made now, and follows Microsoft Learn "Set up DKIM to
 * sign mail from your Microsoft 365 domain":
 *
 * - no keys yet (Status NoDKIMKeys): New-DkimSigningConfig -DomainName <d> -Enabled $false creates
 *   them without signing, so the CNAME targets exist before anything signs;
 * - keys, CNAMEs published: Set-DkimSigningConfig -Identity <d> -Enabled $true. Microsoft refuses
 *   to enable a domain whose CNAMEs it cannot find, and mail signed with a key nobody can fetch
 *   fails DKIM, so the enable is emitted only when both CNAMEs verify at every authoritative
 *   server and the keys behind them resolve;
 * - a 1024-bit key: Rotate-DkimSigningConfig -Identity <d> -KeySize 2048 (the new key goes to the
 *   selector that is not signing and is used from the next rotation);
 * - the initial *.onmicrosoft.com domain: nothing, Microsoft signs it with its own keys.
 *
 * dkimsync never connects to Microsoft 365: it writes the commands, the admin runs them.
 */
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/types.js";
import { desiredState, type DesiredDomain } from "../core/desired.js";
import { unicodeOf } from "../core/display.js";
import { DkimsyncError } from "../core/errors.js";
import { normaliseDomain, SELECTORS } from "../core/names.js";
import { EXPORT_COMMAND, type SigningConfigEntry } from "../m365/targets.js";
import { parseHostPort, verifyConfig, type DomainReport, type VerifyOptions } from "../verify/checks.js";

export type ExchangeAction = "create-keys" | "enable" | "rotate" | "wait" | "none";

export interface ExchangeStep {
  /** The domain as an A-label (what Exchange Online accepts in -Identity). */
  domain: string;
  /** The U-label, for internationalised domains only. */
  unicode?: string;
  action: ExchangeAction;
  /** The PowerShell line to run, or null when there is nothing to run now. */
  command: string | null;
  /** Why: printed as the comment above the command. */
  reason: string;
}

export interface ExchangeOptions {
  config: string;
  domains: string[];
  nameserver?: string;
  resolver?: string;
  format: "text" | "json";
  now?: Date;
  timeoutMs?: number;
}

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Microsoft's initial domain (`contoso.onmicrosoft.com`): signed by Microsoft, never by these keys. */
export function isInitialDomain(domain: string): boolean {
  return /^[^.]+\.onmicrosoft\.com$/.test(domain);
}

const MIN_BITS = 2048;

/** Why a verified domain is (not) ready to be enabled; undefined when it is ready. */
export function notReady(report: DomainReport | undefined): string | undefined {
  if (report === undefined) return "it was not verified";
  const failing = report.checks.filter(
    (c) => c.status === "fail" && !c.check.endsWith(" key") && c.check !== "signing config",
  );
  // What the authoritative servers serve is the cause; the resolver only repeats it.
  const causes = failing.filter((c) => !c.check.endsWith("(resolver)"));
  if (failing.length > 0)
    return (causes.length > 0 ? causes : failing)
      .map((c) => `${c.check}: ${c.message.replace(/; run dkimsync apply$/, "")}`)
      .join("; ");
  for (const s of SELECTORS) {
    const auth = report.checks.find((c) => c.check === `${s} cname (authoritative)`);
    if (auth === undefined) return `${s} was not checked at the authoritative servers`;
    if (auth.status !== "pass" && auth.status !== "warn") return `${s} cname (authoritative): ${auth.message}`;
  }
  const keys = report.checks.filter((c) => c.check.endsWith(" key"));
  const bad = keys.filter((c) => c.status === "fail");
  if (bad.length > 0) return bad.map((c) => `${c.check}: ${c.message}`).join("; ");
  const found = keys.filter((c) => c.details?.missing !== true);
  if (found.length === 0)
    return "no key resolves behind either selector yet (Microsoft publishes them a few minutes after New-DkimSigningConfig)";
  const active = report.activeSelector;
  if (active !== undefined && !found.some((c) => c.check === `${active} key`))
    return `no key resolves behind ${active}, the selector Microsoft signs with first`;
  return undefined;
}

/** The smallest RSA key size known for the domain: from the export, else from the keys verify read. */
function smallestKey(entry: SigningConfigEntry | undefined, report: DomainReport | undefined): number | undefined {
  const sizes: number[] = [];
  if (entry?.selector1KeySize !== undefined) sizes.push(entry.selector1KeySize);
  if (entry?.selector2KeySize !== undefined) sizes.push(entry.selector2KeySize);
  for (const c of report?.checks ?? []) {
    if (c.check.endsWith(" key") && c.details?.keyType === "rsa" && typeof c.details.bits === "number")
      sizes.push(c.details.bits);
  }
  return sizes.length > 0 ? Math.min(...sizes) : undefined;
}

/** The next step of one domain. Pure: the verify report is passed in. */
export function stepFor(
  d: DesiredDomain,
  entry: SigningConfigEntry | undefined,
  haveExport: boolean,
  report: DomainReport | undefined,
): ExchangeStep {
  const base = { domain: d.domain, ...(unicodeOf(d.domain) !== d.domain ? { unicode: unicodeOf(d.domain) } : {}) };
  const id = d.domain;
  if (isInitialDomain(d.domain)) {
    return {
      ...base,
      action: "none",
      command: null,
      reason:
        "the initial *.onmicrosoft.com domain is signed by Microsoft with its own keys; there is nothing to create or enable",
    };
  }
  if (d.ensure === "absent") {
    return {
      ...base,
      action: "none",
      command: null,
      reason: `ensure: absent; if Microsoft 365 still signs for it, stop that before the CNAMEs go: Set-DkimSigningConfig -Identity ${id} -Enabled $false`,
    };
  }
  const noKeys =
    entry !== undefined &&
    (entry.selector1 === undefined ||
      entry.selector2 === undefined ||
      (entry.status ?? "").toLowerCase() === "nodkimkeys");
  if (noKeys) {
    return {
      ...base,
      action: "create-keys",
      command: `New-DkimSigningConfig -DomainName ${id} -Enabled $false`,
      reason: `Microsoft has no DKIM keys for it yet (Status ${entry?.status ?? "unknown"}): create them without signing, then export again (${EXPORT_COMMAND}), run dkimsync import, plan and apply`,
    };
  }
  if (entry === undefined && haveExport && d.source !== "config") {
    return {
      ...base,
      action: "create-keys",
      command: `New-DkimSigningConfig -DomainName ${id} -Enabled $false`,
      reason: `not in the signing_config export, so Microsoft probably has no keys for it: create them without signing (if it says they exist, export again instead: ${EXPORT_COMMAND})`,
    };
  }
  if (d.problem !== undefined) {
    return {
      ...base,
      action: "wait",
      command: null,
      reason: `not planned, so nothing to enable: ${d.problem.message.replace(/^[^ ]*: /, "")}`,
    };
  }
  const enabled = entry?.enabled === true && (entry.status ?? "valid").toLowerCase() === "valid";
  if (enabled) {
    const broken = notReady(report);
    if (broken !== undefined) {
      return {
        ...base,
        action: "wait",
        command: null,
        reason: `signing is enabled, but receivers cannot verify it: ${broken}; fix DNS first (dkimsync import, plan, apply), then verify`,
      };
    }
    const bits = smallestKey(entry, report);
    if (bits !== undefined && bits < MIN_BITS) {
      return {
        ...base,
        action: "rotate",
        command: `Rotate-DkimSigningConfig -Identity ${id} -KeySize ${MIN_BITS}`,
        reason: `signs with a ${bits}-bit key; this puts a ${MIN_BITS}-bit key on the selector that is not signing and switches to it at the next rotation (allow up to 4 days, then verify; rotate once more later so both selectors hold ${MIN_BITS}-bit keys)`,
      };
    }
    return { ...base, action: "none", command: null, reason: "DKIM signing is enabled and Valid; nothing to do" };
  }
  const why = notReady(report);
  if (why !== undefined) {
    return {
      ...base,
      action: "wait",
      command: null,
      reason: `not ready to enable: ${why}; run dkimsync apply, then dkimsync verify, then this again`,
    };
  }
  return {
    ...base,
    action: "enable",
    command: `Set-DkimSigningConfig -Identity ${id} -Enabled $true`,
    reason: "both CNAMEs verify at every authoritative server and the keys behind them resolve: enable signing",
  };
}

/** Every configured domain's next step (and the export's initial domain), verified now. */
export async function exchangeSteps(
  config: Config,
  opts: VerifyOptions & { domains?: string[] } = {},
): Promise<ExchangeStep[]> {
  const desired = desiredState(config).filter((d) => !opts.domains || opts.domains.includes(d.domain));
  const entries = config.signingConfig?.entries;
  // Only domains whose step depends on DNS are verified: those that have keys and are not yet
  // signing, and the signing ones whose key size verify reads.
  const toVerify = desired
    .filter((d) => d.ensure === "present" && d.problem === undefined && !isInitialDomain(d.domain))
    .map((d) => d.domain);
  const reports = new Map<string, DomainReport>();
  if (toVerify.length > 0) {
    const report = await verifyConfig(config, { ...opts, domains: toVerify });
    if (report.unreachable)
      throw new DkimsyncError(`could not verify: ${report.unreachable}`, {
        hint: "check --resolver/--nameserver, or the network; no enable is written without a verify",
      });
    for (const r of report.domains) reports.set(r.domain, r);
  }
  const steps = desired.map((d) => stepFor(d, entries?.get(d.domain), entries !== undefined, reports.get(d.domain)));
  for (const [domain] of entries ?? []) {
    if (
      isInitialDomain(domain) &&
      !desired.some((d) => d.domain === domain) &&
      (!opts.domains || opts.domains.includes(domain))
    ) {
      steps.push({
        domain,
        action: "none",
        command: null,
        reason:
          "the initial *.onmicrosoft.com domain is signed by Microsoft with its own keys; there is nothing to create or enable",
      });
    }
  }
  return steps.sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
}

export function renderScript(steps: readonly ExchangeStep[], configName: string): string {
  const out = [
    `# dkimsync exchange: the next Exchange Online step of each domain in ${configName}.`,
    "# Review it, then run it in Exchange Online PowerShell (Connect-ExchangeOnline).",
    "# Only domains whose CNAMEs verified just now are enabled; run dkimsync exchange again after each step.",
    "",
  ];
  for (const s of steps) {
    const name = s.unicode ? `${s.unicode} (${s.domain})` : s.domain;
    out.push(`# ${name}: ${s.reason}`);
    if (s.command !== null) out.push(s.command);
    out.push("");
  }
  const count = (a: ExchangeAction) => steps.filter((s) => s.action === a).length;
  out.push(
    `# ${count("create-keys")} to create keys, ${count("enable")} to enable, ${count("rotate")} to rotate, ${count("wait")} not ready, ${count("none")} with nothing to do.`,
  );
  return `${out.join("\n")}\n`;
}

export function renderExchangeJson(steps: readonly ExchangeStep[]): string {
  const count = (a: ExchangeAction) => steps.filter((s) => s.action === a).length;
  const summary = {
    "create-keys": count("create-keys"),
    enable: count("enable"),
    rotate: count("rotate"),
    wait: count("wait"),
    none: count("none"),
  };
  return `${JSON.stringify({ version: 1, domains: steps, summary }, null, 2)}\n`;
}

export async function exchangeCommand(opts: ExchangeOptions, io: Io): Promise<number> {
  const config = loadConfig(opts.config);
  if (config.signingConfig === undefined) {
    io.stderr(
      `dkimsync: warning: ${config.displayFile} has no signing_config: without Microsoft's view of the keys, only verified domains get a step; export it with ${EXPORT_COMMAND}\n`,
    );
  }
  const domains = opts.domains.map((raw) => {
    const n = normaliseDomain(raw);
    if ("error" in n) throw new DkimsyncError(`--domain "${raw}" ${n.error}`);
    if (!config.domains.some((d) => d.name === n.name) && !config.signingConfig?.entries.has(n.name)) {
      throw new DkimsyncError(`--domain ${raw}: not configured in ${config.displayFile}`, {
        hint: "add it under domains:, or check the spelling",
      });
    }
    return n.name;
  });
  const vo: VerifyOptions & { domains?: string[] } = {};
  if (domains.length > 0) vo.domains = domains;
  if (opts.nameserver !== undefined) vo.nameserver = parseHostPort(opts.nameserver, "--nameserver");
  if (opts.resolver !== undefined) vo.resolver = parseHostPort(opts.resolver, "--resolver");
  if (opts.now !== undefined) vo.now = opts.now;
  if (opts.timeoutMs !== undefined) vo.timeoutMs = opts.timeoutMs;
  const steps = await exchangeSteps(config, vo);
  io.stdout(opts.format === "json" ? renderExchangeJson(steps) : renderScript(steps, config.displayFile));
  return 0;
}
