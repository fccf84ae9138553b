/** `dkimsync headers MESSAGE.eml`: explain a received message, optionally verify its signatures. */
import fs from "node:fs";
import { Resolver } from "node:dns/promises";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { loadConfig } from "../config/load.js";
import { MAX_MESSAGE_BYTES, TooLargeError, readFileBounded } from "../util/fs.js";
import { DkimsyncError, errorMessage } from "../core/errors.js";
import { parseKeyRecord } from "../dns/dkimkey.js";
import {
  DKIM_RESULT_MEANING,
  dkimPasses,
  explainHeaders,
  type DkimVerdict,
  type HeadersReport,
} from "../headers/analyse.js";
import { ansi, plain } from "../render/style.js";
import { renderHeadersJson, renderHeadersMarkdown, renderHeadersText } from "../headers/render.js";
import { parseHostPort, resolverServers, type HostPort } from "../verify/checks.js";
import type { Format, Io } from "./verify.js";

export interface HeadersCommandOptions {
  message: string;
  /** Config file; used only when it exists (the CLI passes the default ./dkim.zones.yaml). */
  config?: string;
  /** True when the user named the config with -c (then it must exist). */
  configExplicit?: boolean;
  verify: boolean;
  resolver?: string;
  format: Format;
}

/**
 * 0 when the message shows a DKIM pass for a configured domain (any domain without a config);
 * with --verify the signatures as checked now over DNS decide. 2 otherwise; 1 when the file
 * cannot be read (thrown).
 */
export async function headersCommand(opts: HeadersCommandOptions, io: Io): Promise<number> {
  let bytes: Buffer;
  try {
    bytes = readFileBounded(opts.message, MAX_MESSAGE_BYTES);
  } catch (err) {
    if (err instanceof TooLargeError)
      throw new DkimsyncError(
        `the message ${opts.message} is larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB; refusing to read it`,
        { hint: "save just the message's headers (View message source) and pass that file" },
      );
    throw new DkimsyncError(`cannot read the message ${opts.message} (${errorMessage(err)})`, {
      cause: err,
      hint: "save the message with its headers (Outlook: File > Save As .eml, or View > View message source; Gmail: Show original > Download)",
    });
  }
  // The default ./dkim.zones.yaml is optional here (a message can be explained without it);
  // a config named with -c must exist, and loadConfig says so when it does not.
  const useConfig = opts.config !== undefined && (opts.configExplicit === true || fs.existsSync(opts.config));
  const domains = useConfig ? loadConfig(opts.config as string).domains.map((d) => d.name) : undefined;
  const report = explainHeaders(bytes.toString("utf8"), domains ? { domains } : {});
  if (opts.verify) {
    const resolver = opts.resolver === undefined ? undefined : parseHostPort(opts.resolver, "--resolver");
    report.verified = await verifySignatures(bytes, {
      ...(resolver ? { resolver } : {}),
      ...(domains ? { domains } : {}),
    });
    report.dkimPass = dkimPasses(report.verified, domains ? new Set(domains) : undefined);
  }
  io.stdout(renderHeaders(report, opts.format, io.color));
  return report.dkimPass ? 0 : 2;
}

export function renderHeaders(report: HeadersReport, format: Format, color = false): string {
  if (format === "json") return renderHeadersJson(report);
  if (format === "markdown") return renderHeadersMarkdown(report);
  return renderHeadersText(report, color ? ansi : plain);
}

/**
 * Check every DKIM-Signature with mailauth, fetching keys through node:dns (the given resolver
 * or the system's). mailauth reports a body-hash mismatch as `neutral` with the comment "body
 * hash did not verify"; RFC 6376 6.3 calls that a failed signature, so it is reported as `fail`.
 */
export async function verifySignatures(
  message: Buffer | string,
  opts: { resolver?: HostPort; domains?: string[]; now?: Date } = {},
): Promise<DkimVerdict[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  if (opts.resolver) resolver.setServers(await resolverServers(opts.resolver, "--resolver"));
  const lookup = async (name: string, rrtype: string): Promise<string[][] | string[]> => {
    if (rrtype === "TXT") return resolver.resolveTxt(name);
    return (await resolver.resolve(name, rrtype)) as string[];
  };
  const result = await dkimVerify(message, { resolver: lookup, ...(opts.now ? { curTime: opts.now } : {}) });
  const configured = opts.domains ? new Set(opts.domains) : undefined;
  const verdicts: DkimVerdict[] = [];
  for (const r of result.results) {
    let status = r.status.result as string;
    let comment = (r.status as { comment?: string }).comment;
    if (status === "neutral" && comment === "body hash did not verify") status = "fail";
    // mailauth says "invalid public key" for an empty p= too; RFC 6376 6.1.2 step 5 makes a
    // revoked key a permanent failure (PERMFAIL "key revoked"), RFC 8601 2.7.1 permerror.
    const rr = (r as { rr?: string }).rr;
    if (status === "neutral" && comment === "invalid public key" && rr !== undefined) {
      const parsed = parseKeyRecord(rr);
      if ("record" in parsed && parsed.record.revoked) {
        status = "permerror";
        comment = "key revoked (empty p=)";
      }
    }
    const domain = r.signingDomain?.toLowerCase();
    const v: DkimVerdict = {
      source: "mailauth (now, over DNS)",
      result: status,
      meaning: DKIM_RESULT_MEANING[status] ?? status,
    };
    if (domain) v.domain = domain;
    if (r.selector) {
      v.selector = r.selector.toLowerCase();
      v.m365Selector = v.selector === "selector1" || v.selector === "selector2";
    }
    if (configured && domain) v.configured = configured.has(domain);
    if (comment) v.comment = comment;
    verdicts.push(v);
  }
  return verdicts;
}
