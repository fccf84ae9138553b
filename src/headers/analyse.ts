/**
 * `headers`: what a received message says about its DKIM, ARC, SPF and DMARC. Pure: parsing
 * and explanation only; signature verification over DNS lives in commands/headers.ts.
 *
 * Authentication-Results is read per RFC 8601 2.2 and also as Microsoft 365 writes it (Microsoft Learn, "Anti-spam message headers"):
 * no authserv-id first, the recipient domain interleaved as a bare `; vger.kernel.org;` segment,
 * and non-standard values (`dmarc=bestguesspass`, `compauth=pass reason=100`, `action=oreject`).
 */
import { parseTagList } from "../dns/dkimkey.js";
import { DkimsyncError } from "../core/errors.js";

export interface HeaderField {
  /** As written (case kept). */
  name: string;
  /** Unfolded (RFC 5322 2.2.3: CRLF before WSP removed), surrounding whitespace trimmed. */
  value: string;
  /** 0 = topmost, i.e. the last one added in transit. */
  index: number;
}

/**
 * The header block of a message: everything up to the first empty line. CRLF and bare LF both
 * end lines (files saved on Unix have LF). A line starting with space or tab continues the field
 * above it (RFC 5322 2.2.3).
 */
export function readHeaderBlock(text: string): HeaderField[] {
  const lines = text.split(/\r?\n/);
  const fields: HeaderField[] = [];
  let current: { name: string; value: string } | undefined;
  const flush = () => {
    if (current) fields.push({ name: current.name, value: current.value.trim(), index: fields.length });
    current = undefined;
  };
  for (const line of lines) {
    if (line === "") break;
    if (/^[ \t]/.test(line)) {
      if (current) current.value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(":");
    // A line without a colon is not a header field (an mbox "From " line, garbage): skip it.
    if (colon <= 0) continue;
    current = { name: line.slice(0, colon).trim(), value: line.slice(colon + 1) };
  }
  flush();
  return fields;
}

// ---------------------------------------------------------------------------------------------
// Authentication-Results (RFC 8601 2.2) and ARC-Authentication-Results (RFC 8617 4.1.1).

export interface AuthResult {
  /** Lowercased method (`dkim`, `spf`, `dmarc`, `arc`, `compauth`, ...), without `/version`. */
  method: string;
  /** Lowercased result (`pass`, `fail`, `bestguesspass`, ...). */
  result: string;
  reason?: string;
  /** `ptype.property` (lowercased) -> value: `header.d`, `header.s`, `smtp.mailfrom`, ... */
  props: Record<string, string>;
  /** Other `key=value` pairs after the result that RFC 8601 does not define (Microsoft's `action=`). */
  extras: Record<string, string>;
  /** Comment text from this resinfo, outer parentheses removed: `signature was verified`. */
  comments: string[];
}

export interface AuthResultsHeader {
  field: "Authentication-Results" | "ARC-Authentication-Results";
  /** Position among all header fields, 0 = topmost. */
  index: number;
  /** `i=` of an ARC-Authentication-Results. */
  instance?: number;
  /** Absent in Microsoft's Authentication-Results. */
  authservId?: string;
  version?: string;
  /** Bare tokens between results (Microsoft interleaves the recipient domain). */
  interleaved: string[];
  results: AuthResult[];
  /** `; none`: the server checked nothing (RFC 8601 2.2). */
  noResult: boolean;
  /** Where the field departs from RFC 8601, for the explanation. */
  nonStandard: string[];
  raw: string;
}

interface Segment {
  text: string;
  comments: string[];
}

/**
 * Split on `;` outside comments and quoted strings; comments nest and take quoted-pairs
 * (RFC 5322 3.2.2). Quoted strings become placeholders `\u0000N\u0000` so that their content
 * (which may hold `;`, `=` or spaces) survives tokenising; `quoted[N]` holds the unquoted text.
 */
function segment(value: string): { segments: Segment[]; quoted: string[] } {
  const segments: Segment[] = [];
  const quoted: string[] = [];
  let cur: Segment = { text: "", comments: [] };
  let depth = 0;
  let comment = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (depth > 0) {
      if (c === "\\" && i + 1 < value.length) {
        comment += value.charAt(++i);
      } else if (c === "(") {
        depth++;
        comment += c;
      } else if (c === ")") {
        depth--;
        if (depth === 0) {
          cur.comments.push(comment.trim());
          comment = "";
          cur.text += " ";
        } else comment += c;
      } else comment += c;
      continue;
    }
    if (c === "(") {
      depth = 1;
    } else if (c === '"') {
      let s = "";
      for (i++; i < value.length && value.charAt(i) !== '"'; i++) {
        if (value.charAt(i) === "\\" && i + 1 < value.length) i++;
        s += value.charAt(i);
      }
      quoted.push(s);
      cur.text += `\u0000${quoted.length - 1}\u0000`;
    } else if (c === ";") {
      segments.push(cur);
      cur = { text: "", comments: [] };
    } else cur.text += c;
  }
  if (depth > 0 && comment.trim() !== "") cur.comments.push(comment.trim());
  segments.push(cur);
  return { segments, quoted };
}

/** Words of a segment, with `key = value` (CFWS around `=`, RFC 8601 2.2) joined as `key=value`. */
function words(text: string): string[] {
  return text
    .replace(/\s*=\s*/g, "=")
    .replace(/\s*\.\s*(?=[^=\s]*=)/g, ".")
    .split(/\s+/)
    .filter((w) => w !== "");
}

function unquote(word: string, quoted: string[]): string {
  return word.replace(/\u0000(\d+)\u0000/g, (_, n: string) => quoted[Number(n)] ?? "");
}

/**
 * Microsoft's composite authentication (compauth) and its reason codes, as Microsoft Learn
 * "Anti-spam message headers in Microsoft 365" (Authentication-results fields) documents them.
 */
export function compauthMeaning(reason: string | undefined): string | undefined {
  if (reason === undefined || !/^\d{3}$/.test(reason)) return undefined;
  if (reason === "000") return "explicit authentication failed: the message failed DMARC and the From domain's policy is quarantine or reject";
  if (reason === "001") return "implicit authentication failed: the From domain publishes no email authentication records, or only weak ones (SPF softfail or neutral, DMARC p=none)";
  if (reason === "002") return "the organization has a policy that prohibits this sender/domain pair from sending spoofed mail";
  if (reason === "010") return "the message failed DMARC with quarantine or reject, and the From domain is one of the receiving organization's accepted domains (spoofing inside the organization)";
  if (reason === "130") return "passed: the ARC result of a trusted intermediary overrode a DMARC failure";
  const first = reason[0];
  if (first === "1" || first === "7") return "passed (the last two digits are Microsoft's internal codes)";
  if (first === "2") return "soft-passed implicit authentication (the last two digits are Microsoft's internal codes)";
  if (first === "3") return "not checked for composite authentication";
  if (first === "4" || first === "9") return "composite authentication was bypassed (an allow entry or a mail flow rule, for example)";
  if (first === "6") return "implicit authentication failed, and the From domain is one of the receiving organization's accepted domains";
  return undefined;
}

function compauthNote(result: string, reason: string | undefined): string {
  const meaning = compauthMeaning(reason);
  const what = `compauth=${result}${reason ? ` reason=${reason}` : ""} is Microsoft's composite authentication`;
  const fix = result === "fail" || result === "softpass"
    ? "; fix: give the From domain aligned SPF and DKIM and a DMARC record (for a Microsoft 365 domain: dkimsync plan, apply, verify, then enable signing with the line dkimsync exchange writes)"
    : "";
  return `${what}${meaning ? `: ${meaning}` : ""}${fix}`;
}

/** What to do about one DKIM result Microsoft 365 (or any receiver) reported for `domain`. */
export function dkimFix(result: string, domain: string | undefined, selector: string | undefined): string | undefined {
  const d = domain ?? "the signing domain";
  switch (result) {
    case "none":
      return `dkim=none${domain ? ` for ${domain}` : ""}: the message carries no signature the receiver could use; if the domain sends through Microsoft 365, enable DKIM for it (dkimsync verify, then the Set-DkimSigningConfig line dkimsync exchange writes)`;
    case "fail":
      return `dkim=fail for ${d}: the signature did not verify; if the message was changed on the way (a gateway adding a footer), that is the cause, otherwise run dkimsync verify --domain ${d}: a selector CNAME pointing at the wrong target gives the wrong key`;
    case "temperror":
      return `dkim=temperror for ${d}: the key lookup failed for now; if it persists, run dkimsync verify --domain ${d} (the CNAMEs or the key behind ${selector ?? "the selector"} do not resolve reliably)`;
    case "permerror":
      return `dkim=permerror for ${d}: the key behind ${selector ?? "the selector"} is missing or unusable; run dkimsync verify --domain ${d}`;
    case "policy":
      return `dkim=policy for ${d}: the receiver refused part of the signature, most often a 1024-bit key; dkimsync exchange writes Rotate-DkimSigningConfig -KeySize 2048 for such domains`;
    case "neutral":
      return `dkim=neutral for ${d}: the signature could not be processed (a syntax error); if Microsoft 365 signed it, report the message to Microsoft`;
    default:
      return undefined;
  }
}

export function parseAuthResults(field: AuthResultsHeader["field"], value: string, index = 0): AuthResultsHeader {
  const { segments, quoted } = segment(value);
  const header: AuthResultsHeader = { field, index, interleaved: [], results: [], noResult: false, nonStandard: [], raw: value };
  let rest = segments;
  if (field === "ARC-Authentication-Results") {
    // RFC 8617 4.1.1: arc-info = instance ";" authres-payload.
    const first = words(rest[0]?.text ?? "");
    const inst = /^i=(\d+)$/i.exec(first[0] ?? "");
    if (inst) {
      header.instance = Number(inst[1]);
      rest = rest.slice(1);
    } else header.nonStandard.push("no i= instance first (RFC 8617 4.1.1)");
  }
  const head = words(rest[0]?.text ?? "");
  if (head.length > 0 && !head[0]?.includes("=")) {
    header.authservId = unquote(head[0] as string, quoted);
    if (head[1] !== undefined && /^\d+$/.test(head[1])) header.version = head[1];
    rest = rest.slice(1);
  } else {
    header.nonStandard.push("no authserv-id before the results (Microsoft 365 writes it this way)");
  }
  for (const seg of rest) {
    const ws = words(seg.text);
    if (ws.length === 0) continue;
    const first = ws[0] as string;
    if (!first.includes("=")) {
      if (ws.length === 1 && first.toLowerCase() === "none") header.noResult = true;
      else {
        header.interleaved.push(unquote(ws.join(" "), quoted));
        header.nonStandard.push(`bare "${unquote(ws.join(" "), quoted)}" between results (Microsoft interleaves the recipient domain)`);
      }
      continue;
    }
    // A segment may hold more than one method=result when a sender forgot a `;`; each
    // method=result word that is not a ptype.property or reason starts a new result.
    let current: AuthResult | undefined;
    for (const w of ws) {
      const eq = w.indexOf("=");
      if (eq <= 0) {
        if (current) current.extras[unquote(w, quoted)] = "";
        continue;
      }
      const key = w.slice(0, eq).toLowerCase();
      const val = unquote(w.slice(eq + 1), quoted);
      if (!current) {
        current = { method: key.split("/")[0] as string, result: val.toLowerCase(), props: {}, extras: {}, comments: [...seg.comments] };
        header.results.push(current);
      } else if (key === "reason") {
        current.reason = val;
      } else if (key.includes(".")) {
        current.props[key] = val;
      } else {
        current.extras[key] = val;
      }
    }
  }
  for (const r of header.results) {
    if (r.method === "dmarc" && r.result === "bestguesspass") header.nonStandard.push("dmarc=bestguesspass is Microsoft's: no DMARC record, but it would have passed");
    if (r.method === "compauth") header.nonStandard.push(compauthNote(r.result, r.reason));
    if (r.extras.action !== undefined) header.nonStandard.push(`action=${r.extras.action} is Microsoft's DMARC action`);
  }
  return header;
}

/** RFC 8601 2.7.1: what each DKIM result means. */
export const DKIM_RESULT_MEANING: Record<string, string> = {
  none: "The message was not signed.",
  pass: "The message was signed, the signature was acceptable to the receiver, and it passed verification.",
  fail: "The message was signed and the signature was acceptable, but it failed verification (body or headers changed, or the wrong key).",
  policy: "The message was signed, but the receiver did not accept some aspect of the signature (for example a weak key or missing headers).",
  neutral: "The message was signed, but the signature had syntax errors or could not otherwise be processed.",
  temperror: "The signature could not be checked because of a likely transient error, such as a failed key lookup; a later attempt may succeed.",
  permerror: "The signature could not be checked because of an unrecoverable error, such as a missing required header field or an invalid key.",
};

// ---------------------------------------------------------------------------------------------
// DKIM-Signature (RFC 6376 3.5) and the ARC set (RFC 8617 4.1).

export interface DkimSignatureInfo {
  index: number;
  d?: string;
  s?: string;
  a?: string;
  c?: string;
  i?: string;
  /** Signed header field names, lowercased. */
  h: string[];
  t?: Date;
  x?: Date;
  /** `l=` body length limit: a risk (content can be appended). */
  l?: number;
  /** The first characters of b= (RFC 6008 header.b matching). */
  bPrefix?: string;
  error?: string;
  raw: string;
}

function unixDate(v: string | undefined): Date | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  // RFC 6376 3.5 t=/x= are seconds since the epoch; a value beyond what a JavaScript Date can
  // hold (year 275760) is no time at all, shown as absent rather than crashing toISOString().
  const d = new Date(Number(v.trim()) * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function parseDkimSignature(value: string, index = 0): DkimSignatureInfo {
  const parsed = parseTagList(value);
  const info: DkimSignatureInfo = { index, h: [], raw: value };
  if ("error" in parsed) {
    info.error = parsed.error;
    return info;
  }
  const tag = (k: string) => parsed.tags.get(k);
  const set = <K extends "d" | "s" | "a" | "c" | "i">(k: K) => {
    const v = tag(k);
    if (v !== undefined) info[k] = k === "d" || k === "s" || k === "a" ? v.toLowerCase() : v;
  };
  (["d", "s", "a", "c", "i"] as const).forEach(set);
  info.h = (tag("h") ?? "").split(":").map((x) => x.trim().toLowerCase()).filter(Boolean);
  const t = unixDate(tag("t"));
  const x = unixDate(tag("x"));
  if (t) info.t = t;
  if (x) info.x = x;
  const l = tag("l");
  if (l !== undefined && /^\d+$/.test(l)) info.l = Number(l);
  const b = tag("b")?.replace(/\s+/g, "");
  if (b) info.bPrefix = b.slice(0, 8);
  return info;
}

export interface ArcSet {
  instance: number;
  seal?: { cv?: string; d?: string; s?: string; a?: string; t?: Date; error?: string };
  messageSignature?: DkimSignatureInfo;
  authResults?: AuthResultsHeader;
}

function instanceOf(tags: Map<string, string>): number | undefined {
  const i = tags.get("i");
  return i !== undefined && /^\d+$/.test(i.trim()) ? Number(i.trim()) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The explanation.

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
  return v.slice(v.lastIndexOf("@") + 1).toLowerCase().replace(/\.$/, "");
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
    throw new DkimsyncError(`the message's header section is longer than ${MAX_HEADER_BYTES} bytes (1 MiB) or has no end; this is not a mail message`, {
      hint: "save the message with its headers (Outlook: File > Save As .eml; Gmail: Show original > Download)",
    });
  }
  if (text.slice(0, end < 0 ? text.length : end).includes("\u0000")) {
    throw new DkimsyncError("the message's header section contains NUL bytes; this is not a mail message (RFC 5322 2.2 allows only printable characters and WSP in header fields)", {
      hint: "save the message with its headers (Outlook: File > Save As .eml; Gmail: Show original > Download)",
    });
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
    if (name === "authentication-results") authResults.push(parseAuthResults("Authentication-Results", f.value, f.index));
    else if (name === "arc-authentication-results") {
      const ar = parseAuthResults("ARC-Authentication-Results", f.value, f.index);
      authResults.push(ar);
      if (ar.instance !== undefined) setOf(ar.instance).authResults = ar;
      else problems.push("an ARC-Authentication-Results has no i=");
    } else if (name === "dkim-signature") {
      const sig = parseDkimSignature(f.value, f.index);
      const c = isConfigured(sig.d);
      signatures.push({ ...sig, ...(c === undefined ? {} : { configured: c }), m365Selector: M365_SELECTORS.has(sig.s ?? "") });
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
    const source = ar.field === "ARC-Authentication-Results"
      ? `ARC-Authentication-Results i=${ar.instance ?? "?"}${ar.authservId ? ` (${ar.authservId})` : ""}`
      : `Authentication-Results${ar.authservId ? ` (${ar.authservId})` : " (Microsoft 365 form)"}`;
    for (const r of ar.results) {
      if (r.method === "spf") spf.push(r);
      if (r.method === "dmarc") dmarc.push(r);
      if (r.method !== "dkim") continue;
      const domain = domainOf(r.props["header.d"]) ?? domainOf(r.props["header.i"]);
      const selector = r.props["header.s"]?.toLowerCase();
      const v: DkimVerdict = { source, result: r.result, meaning: DKIM_RESULT_MEANING[r.result] ?? `"${r.result}" is not an RFC 8601 DKIM result.` };
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
  if (authResults.length === 0) notes.push("no Authentication-Results: the receiving server added none, or this is the sent copy");
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
    if (s.l !== undefined) notes.push(`the signature by ${s.d ?? "?"} has l=${s.l}: content appended after that many body bytes is not covered`);
    if (configured && s.d && !s.configured) notes.push(`d=${s.d} is not a configured domain`);
    if (s.configured && !s.m365Selector) notes.push(`d=${s.d} is configured but s=${s.s ?? "?"} is not selector1/selector2: not signed by Microsoft 365`);
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
    dkimPass: dkimPasses(dkimResults.filter((v) => v.source.startsWith("Authentication-Results")), configured),
    notes,
  };
  if (opts.domains) report.configuredDomains = opts.domains;
  return report;
}

/** A DKIM pass that counts: for a configured domain, or any domain when no config is known. */
export function dkimPasses(verdicts: readonly DkimVerdict[], configured: Set<string> | undefined): boolean {
  return verdicts.some((v) => v.result === "pass" && (!configured || (v.domain !== undefined && configured.has(v.domain))));
}

/**
 * RFC 8617 5.2: instances run 1..N without gaps, each set has all three fields, the first seal
 * says cv=none and later ones cv=pass; any cv=fail ends the chain.
 */
function arcChain(sets: ArcSet[], problems: string[]): string {
  if (sets.length === 0) return "none";
  sets.forEach((s, n) => {
    if (s.instance !== n + 1) problems.push(`ARC instance ${n + 1} is missing (found i=${s.instance})`);
    const missing = [!s.seal && "ARC-Seal", !s.messageSignature && "ARC-Message-Signature", !s.authResults && "ARC-Authentication-Results"].filter(Boolean);
    if (missing.length) problems.push(`ARC set i=${s.instance} lacks ${missing.join(", ")}`);
  });
  const cvs = sets.map((s) => s.seal?.cv);
  if (cvs.includes("fail")) return "fail";
  if (cvs[0] !== "none") problems.push(`the first ARC-Seal says cv=${cvs[0] ?? "?"}; it must be cv=none`);
  if (cvs.slice(1).some((cv) => cv !== "pass")) problems.push("a later ARC-Seal does not say cv=pass");
  return problems.length ? "invalid" : "pass (as sealed; signatures not checked)";
}
