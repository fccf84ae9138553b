/** `dkimsync verify`: load the config, run the DNS checks, render, and turn the result into an exit code. */
import { loadConfig } from "../config/load.js";
import { DkimsyncError } from "../core/errors.js";
import { normaliseDomain } from "../core/names.js";
import { ansi, plain } from "../render/style.js";
import { renderVerifyJson, renderVerifyMarkdown, renderVerifyText } from "../verify/render.js";
import { parseHostPort, verifyConfig, type VerifyOptions, type VerifyReport } from "../verify/checks.js";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  color: boolean;
}

export type Format = "text" | "markdown" | "json";

export interface VerifyCommandOptions {
  config: string;
  domains: string[];
  nameserver?: string;
  resolver?: string;
  format: Format;
  now?: Date;
  /** Per-query timeout in ms (tests); default 2000. */
  timeoutMs?: number;
}

/** 0 every check passed (warnings and info allowed), 2 a check failed, 1 verify could not run. */
export async function verifyCommand(opts: VerifyCommandOptions, io: Io): Promise<number> {
  const config = loadConfig(opts.config);
  const domains = opts.domains.map((d) => {
    const n = normaliseDomain(d);
    if ("error" in n) throw new DkimsyncError(`--domain "${d}" ${n.error}`);
    return n.name;
  });
  const vo: VerifyOptions = {};
  if (domains.length > 0) vo.domains = domains;
  if (opts.nameserver !== undefined) vo.nameserver = parseHostPort(opts.nameserver, "--nameserver");
  if (opts.resolver !== undefined) vo.resolver = parseHostPort(opts.resolver, "--resolver");
  if (opts.now !== undefined) vo.now = opts.now;
  if (opts.timeoutMs !== undefined) vo.timeoutMs = opts.timeoutMs;
  const report = await verifyConfig(config, vo);
  io.stdout(renderVerify(report, opts.format, io.color));
  if (report.unreachable) {
    io.stderr(
      `dkimsync: error: could not verify: ${report.unreachable}\n  hint: check --resolver/--nameserver, or the network\n`,
    );
    return 1;
  }
  return report.summary.fail > 0 ? 2 : 0;
}

export function renderVerify(report: VerifyReport, format: Format, color = false): string {
  if (format === "json") return renderVerifyJson(report);
  if (format === "markdown") return renderVerifyMarkdown(report);
  return renderVerifyText(report, color ? ansi : plain);
}
