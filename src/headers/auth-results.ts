/**
 * Authentication-Results (RFC 8601 2.2) and ARC-Authentication-Results (RFC 8617 4.1.1), read
 * per the RFC and also as Microsoft 365 writes it (Microsoft Learn, "Anti-spam message headers"):
 * no authserv-id first, the recipient domain interleaved as a bare `; vger.kernel.org;` segment,
 * and non-standard values (`dmarc=bestguesspass`, `compauth=pass reason=100`, `action=oreject`).
 */

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
  if (reason === "000")
    return "explicit authentication failed: the message failed DMARC and the From domain's policy is quarantine or reject";
  if (reason === "001")
    return "implicit authentication failed: the From domain publishes no email authentication records, or only weak ones (SPF softfail or neutral, DMARC p=none)";
  if (reason === "002")
    return "the organization has a policy that prohibits this sender/domain pair from sending spoofed mail";
  if (reason === "010")
    return "the message failed DMARC with quarantine or reject, and the From domain is one of the receiving organization's accepted domains (spoofing inside the organization)";
  if (reason === "130") return "passed: the ARC result of a trusted intermediary overrode a DMARC failure";
  const first = reason[0];
  if (first === "1" || first === "7") return "passed (the last two digits are Microsoft's internal codes)";
  if (first === "2") return "soft-passed implicit authentication (the last two digits are Microsoft's internal codes)";
  if (first === "3") return "not checked for composite authentication";
  if (first === "4" || first === "9")
    return "composite authentication was bypassed (an allow entry or a mail flow rule, for example)";
  if (first === "6")
    return "implicit authentication failed, and the From domain is one of the receiving organization's accepted domains";
  return undefined;
}

function compauthNote(result: string, reason: string | undefined): string {
  const meaning = compauthMeaning(reason);
  const what = `compauth=${result}${reason ? ` reason=${reason}` : ""} is Microsoft's composite authentication`;
  const fix =
    result === "fail" || result === "softpass"
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
  const header: AuthResultsHeader = {
    field,
    index,
    interleaved: [],
    results: [],
    noResult: false,
    nonStandard: [],
    raw: value,
  };
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
        header.nonStandard.push(
          `bare "${unquote(ws.join(" "), quoted)}" between results (Microsoft interleaves the recipient domain)`,
        );
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
        current = {
          method: key.split("/")[0] as string,
          result: val.toLowerCase(),
          props: {},
          extras: {},
          comments: [...seg.comments],
        };
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
    if (r.method === "dmarc" && r.result === "bestguesspass")
      header.nonStandard.push("dmarc=bestguesspass is Microsoft's: no DMARC record, but it would have passed");
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
  policy:
    "The message was signed, but the receiver did not accept some aspect of the signature (for example a weak key or missing headers).",
  neutral: "The message was signed, but the signature had syntax errors or could not otherwise be processed.",
  temperror:
    "The signature could not be checked because of a likely transient error, such as a failed key lookup; a later attempt may succeed.",
  permerror:
    "The signature could not be checked because of an unrecoverable error, such as a missing required header field or an invalid key.",
};
