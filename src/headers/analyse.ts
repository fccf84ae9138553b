/**
 * `headers`: what a received message says about its DKIM, ARC, SPF and DMARC. Pure: parsing
 * and explanation only; signature verification over DNS lives in commands/headers.ts.
 *
 * This module explains; each header field is parsed in its own module (header-block.ts,
 * auth-results.ts, dkim-signature.ts, arc.ts).
 */
import { parseTagList } from "../dns/dkimkey.js";
import { DkimsyncError } from "../core/errors.js";
import { arcChain, instanceOf, type ArcSet } from "./arc.js";
import {
  DKIM_RESULT_MEANING,
  dkimFix,
  parseAuthResults,
  type AuthResult,
  type AuthResultsHeader,
} from "./auth-results.js";
import { parseDkimSignature, unixDate, type DkimSignatureInfo } from "./dkim-signature.js";
import { readHeaderBlock, type HeaderField } from "./header-block.js";

// What other modules import from here.
export { readHeaderBlock, type HeaderField } from "./header-block.js";
export {
  compauthMeaning,
  dkimFix,
  parseAuthResults,
  DKIM_RESULT_MEANING,
  type AuthResult,
  type AuthResultsHeader,
} from "./auth-results.js";
export { parseDkimSignature, type DkimSignatureInfo } from "./dkim-signature.js";
export type { ArcSet } from "./arc.js";

export interface DkimVerdict {
  /** Where the result came from: an Authentication-Results field, or our own check. */
  source: string;
  domain?: string;
  selector?: string;
  /** `header.i`: the signing identity (RFC 6376 3.5 i=), e.g. `@contoso.com`. */
  identity?: string;
  /** `header.b`: the first characters of the signature's b=, to tell several apart (RFC 6008). */
  b?: string;
  result: string;
  meaning: string;
  configured?: boolean;
  m365Selector?: boolean;
  comment?: string;
}

export interface HeadersReport {
  /** Canonical configured domains, or undefined when no config was given. */
  configuredDomains?: string[];
  authResults: AuthResultsHeader[];
  dkimResults: DkimVerdict[];
  signatures: (DkimSignatureInfo & { configured?: boolean; m365Selector: boolean })[];
  arc: { sets: ArcSet[]; chain: string; problems: string[] };
  spf: AuthResult[];
  dmarc: AuthResult[];
  /** Filled by commands/headers.ts when --verify is given. */
  verified?: DkimVerdict[];
  /** The DKIM verdict that decides the exit code. */
  dkimPass: boolean;
  notes: string[];
}

const M365_SELECTORS = new Set(["selector1", "selector2"]);

function domainOf(v: string | undefined): string | undefined {
  if (v === undefined || v === "" || v.toLowerCase() === "none") return undefined;
  return v
    .slice(v.lastIndexOf("@") + 1)
    .toLowerCase()
    .replace(/\.$/, "");
}

/** The domain of the From address (RFC 5322 3.6.2), the one DMARC aligns with. */
function fromDomainOf(fields: readonly HeaderField[]): string | undefined {
  const from = fields.find((f) => f.name.toLowerCase() === "from")?.value;
  if (from === undefined) return undefined;
  const m = /<[^<>@\s]+@([^<>\s]+)>/.exec(from) ?? /[^\s<>@"]+@([^\s<>",;]+)/.exec(from);
  return m?.[1]?.toLowerCase().replace(/\.$/, "");
}

/**
 * The header section analysed is at most this long (1 MiB). RFC 5322 2.1.1 limits a line to 998
 * characters; real header sections are a few tens of KiB even after many hops. A file without
 * an end of headers within this bound (a binary file, /dev/zero) is refused, not scanned.
 */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** Explain the header block. `domains`: configured domains (canonical), if a config is known. */
export function explainHeaders(text: string, opts: { domains?: string[] } = {}): HeadersReport {
  const end = text.search(/\r?\n\r?\n/);
  if ((end < 0 ? text.length : end) > MAX_HEADER_BYTES) {
    throw new DkimsyncError(
      `the message's header section is longer than ${MAX_HEADER_BYTES} bytes (1 MiB) or has no end; this is not a mail message`,
      {
        hint: "save the message with its headers (Outlook: File > Save As .eml; Gmail: Show original > Download)",
      },
    );
  }
  if (text.slice(0, end < 0 ? text.length : end).includes("\u0000")) {
    throw new DkimsyncError(
      "the message's header section contains NUL bytes; this is not a mail message (RFC 5322 2.2 allows only printable characters and WSP in header fields)",
      {
        hint: "save the message with its headers (Outlook: File > Save As .eml; Gmail: Show original > Download)",
      },
    );
  }
  const fields = readHeaderBlock(text);
  const configured = opts.domains ? new Set(opts.domains) : undefined;
  const isConfigured = (d: string | undefined) => (configured && d ? configured.has(d) : undefined);

  const authResults: AuthResultsHeader[] = [];
  const signatures: HeadersReport["signatures"] = [];
  const sets = new Map<number, ArcSet>();
  const setOf = (i: number) => {
    let s = sets.get(i);
    if (!s) sets.set(i, (s = { instance: i }));
    return s;
  };
  const problems: string[] = [];
  for (const f of fields) {
    const name = f.name.toLowerCase();
    if (name === "authentication-results")
      authResults.push(parseAuthResults("Authentication-Results", f.value, f.index));
    else if (name === "arc-authentication-results") {
      const ar = parseAuthResults("ARC-Authentication-Results", f.value, f.index);
      authResults.push(ar);
      if (ar.instance !== undefined) setOf(ar.instance).authResults = ar;
      else problems.push("an ARC-Authentication-Results has no i=");
    } else if (name === "dkim-signature") {
      const sig = parseDkimSignature(f.value, f.index);
      const c = isConfigured(sig.d);
      signatures.push({
        ...sig,
        ...(c === undefined ? {} : { configured: c }),
        m365Selector: M365_SELECTORS.has(sig.s ?? ""),
      });
    } else if (name === "arc-message-signature") {
      const sig = parseDkimSignature(f.value, f.index);
      const tags = parseTagList(f.value);
      const i = "tags" in tags ? instanceOf(tags.tags) : undefined;
      if (i === undefined) problems.push("an ARC-Message-Signature has no valid i=");
      else setOf(i).messageSignature = sig;
    } else if (name === "arc-seal") {
      const tags = parseTagList(f.value);
      if ("error" in tags) {
        problems.push(`an ARC-Seal is unreadable: ${tags.error}`);
        continue;
      }
      const i = instanceOf(tags.tags);
      if (i === undefined) {
        problems.push("an ARC-Seal has no valid i=");
        continue;
      }
      const t = unixDate(tags.tags.get("t"));
      const seal: NonNullable<ArcSet["seal"]> = {};
      for (const k of ["cv", "d", "s", "a"] as const) {
        const v = tags.tags.get(k);
        if (v !== undefined) seal[k] = v.toLowerCase();
      }
      if (t) seal.t = t;
      setOf(i).seal = seal;
    }
  }

  const arcSets = [...sets.values()].sort((a, b) => a.instance - b.instance);
  const chain = arcChain(arcSets, problems);

  const dkimResults: DkimVerdict[] = [];
  const spf: AuthResult[] = [];
  const dmarc: AuthResult[] = [];
  for (const ar of authResults) {
    const source =
      ar.field === "ARC-Authentication-Results"
        ? `ARC-Authentication-Results i=${ar.instance ?? "?"}${ar.authservId ? ` (${ar.authservId})` : ""}`
        : `Authentication-Results${ar.authservId ? ` (${ar.authservId})` : " (Microsoft 365 form)"}`;
    for (const r of ar.results) {
      if (r.method === "spf") spf.push(r);
      if (r.method === "dmarc") dmarc.push(r);
      if (r.method !== "dkim") continue;
      const domain = domainOf(r.props["header.d"]) ?? domainOf(r.props["header.i"]);
      const selector = r.props["header.s"]?.toLowerCase();
      const v: DkimVerdict = {
        source,
        result: r.result,
        meaning: DKIM_RESULT_MEANING[r.result] ?? `"${r.result}" is not an RFC 8601 DKIM result.`,
      };
      if (domain) v.domain = domain;
      if (selector) {
        v.selector = selector;
        v.m365Selector = M365_SELECTORS.has(selector);
      }
      const identity = r.props["header.i"];
      if (identity) v.identity = identity;
      const b = r.props["header.b"];
      if (b) v.b = b;
      const c = isConfigured(domain);
      if (c !== undefined) v.configured = c;
      if (r.comments.length) v.comment = r.comments.join("; ");
      dkimResults.push(v);
    }
  }

  const notes: string[] = [];
  if (fields.length === 0) notes.push("no header fields found: is this a message file?");
  if (authResults.length === 0)
    notes.push("no Authentication-Results: the receiving server added none, or this is the sent copy");
  if (signatures.length === 0) notes.push("no DKIM-Signature: the message was not DKIM-signed");
  const fromDomain = fromDomainOf(fields);
  for (const s of signatures) {
    if (s.d !== undefined && /^[^.]+\.onmicrosoft\.com$/.test(s.d) && fromDomain !== undefined && fromDomain !== s.d) {
      // Microsoft 365 signs with the initial domain when DKIM is not enabled for the custom one.
      notes.push(
        `d=${s.d} is the tenant's initial domain: Microsoft 365 signs with it when DKIM signing is not enabled for the sending domain ${fromDomain}, ` +
          `so this DKIM does not align with From for DMARC; enable it for ${fromDomain}: publish the CNAMEs (dkimsync plan, apply, verify), then run the Set-DkimSigningConfig line dkimsync exchange writes`,
      );
    }
    if (s.l !== undefined)
      notes.push(
        `the signature by ${s.d ?? "?"} has l=${s.l}: content appended after that many body bytes is not covered`,
      );
    if (configured && s.d && !s.configured) notes.push(`d=${s.d} is not a configured domain`);
    if (s.configured && !s.m365Selector)
      notes.push(`d=${s.d} is configured but s=${s.s ?? "?"} is not selector1/selector2: not signed by Microsoft 365`);
  }
  for (const v of dkimResults) {
    if (!v.source.startsWith("Authentication-Results")) continue;
    if (v.domain !== undefined && /^[^.]+\.onmicrosoft\.com$/.test(v.domain)) continue;
    const fix = dkimFix(v.result, v.domain, v.selector);
    if (fix !== undefined && !notes.includes(fix)) notes.push(fix);
  }
  const report: HeadersReport = {
    authResults,
    dkimResults,
    signatures,
    arc: { sets: arcSets, chain, problems },
    spf,
    dmarc,
    dkimPass: dkimPasses(
      dkimResults.filter((v) => v.source.startsWith("Authentication-Results")),
      configured,
    ),
    notes,
  };
  if (opts.domains) report.configuredDomains = opts.domains;
  return report;
}

/** A DKIM pass that counts: for a configured domain, or any domain when no config is known. */
export function dkimPasses(verdicts: readonly DkimVerdict[], configured: Set<string> | undefined): boolean {
  return verdicts.some(
    (v) => v.result === "pass" && (!configured || (v.domain !== undefined && configured.has(v.domain))),
  );
}
