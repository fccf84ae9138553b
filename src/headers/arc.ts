/** The ARC set (RFC 8617 4.1) and whether its chain holds together (RFC 8617 5.2). */
import type { AuthResultsHeader } from "./auth-results.js";
import type { DkimSignatureInfo } from "./dkim-signature.js";

export interface ArcSet {
  instance: number;
  seal?: { cv?: string; d?: string; s?: string; a?: string; t?: Date; error?: string };
  messageSignature?: DkimSignatureInfo;
  authResults?: AuthResultsHeader;
}

export function instanceOf(tags: Map<string, string>): number | undefined {
  const i = tags.get("i");
  return i !== undefined && /^\d+$/.test(i.trim()) ? Number(i.trim()) : undefined;
}

/**
 * RFC 8617 5.2: instances run 1..N without gaps, each set has all three fields, the first seal
 * says cv=none and later ones cv=pass; any cv=fail ends the chain.
 */
export function arcChain(sets: ArcSet[], problems: string[]): string {
  if (sets.length === 0) return "none";
  sets.forEach((s, n) => {
    if (s.instance !== n + 1) problems.push(`ARC instance ${n + 1} is missing (found i=${s.instance})`);
    const missing = [
      !s.seal && "ARC-Seal",
      !s.messageSignature && "ARC-Message-Signature",
      !s.authResults && "ARC-Authentication-Results",
    ].filter(Boolean);
    if (missing.length) problems.push(`ARC set i=${s.instance} lacks ${missing.join(", ")}`);
  });
  const cvs = sets.map((s) => s.seal?.cv);
  if (cvs.includes("fail")) return "fail";
  if (cvs[0] !== "none") problems.push(`the first ARC-Seal says cv=${cvs[0] ?? "?"}; it must be cv=none`);
  if (cvs.slice(1).some((cv) => cv !== "pass")) problems.push("a later ARC-Seal does not say cv=pass");
  return problems.length ? "invalid" : "pass (as sealed; signatures not checked)";
}
