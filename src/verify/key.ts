/** The DKIM key behind a selector's target (RFC 6376 3.6.1), and what a missing one means. */
import { keyInfo, parseKeyRecord } from "../dns/dkimkey.js";
import type { Selector } from "../core/names.js";
import type { SigningConfigEntry } from "../m365/targets.js";
import { isSilent, type Context } from "./context.js";
import { worst, type CheckStatus } from "./report.js";

export interface KeyOutcome {
  missing: boolean;
  status: CheckStatus;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The key TXT behind the expected target (what Microsoft signs with), through the resolver.
 * RFC 6376 3.6.2.2: several TXT records at the name are ambiguous; the first that parses is used.
 */
export async function readKey(
  ctx: Context,
  target: string,
  entry: SigningConfigEntry | undefined,
  selector: Selector,
): Promise<KeyOutcome> {
  const details: Record<string, unknown> = { target };
  ctx.stats.resolverAsked++;
  let records: string[][];
  try {
    records = await ctx.resolver.resolveTxt(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "ERROR";
    if (code === "ENOTFOUND" || code === "ENODATA") {
      return {
        missing: true,
        status: "info",
        message: `no key at ${target} (${code === "ENOTFOUND" ? "NXDOMAIN" : "no TXT"})`,
        details: { ...details, missing: true },
      };
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
    if (r.revoked)
      return {
        missing: false,
        status: "fail",
        message: `the key at ${target} is revoked (empty p=, RFC 6376 3.6.1)`,
        details,
      };
    const info = keyInfo(r);
    if ("error" in info)
      return { missing: false, status: "fail", message: `the key at ${target} is unusable: ${info.error}`, details };
    Object.assign(details, {
      keyType: info.type,
      bits: info.bits,
      encoding: info.encoding,
      testing: r.testing,
      strict: r.strict,
    });
    const verdicts: [CheckStatus, string][] = [];
    if (!r.serviceTypes.includes("*") && !r.serviceTypes.includes("email"))
      verdicts.push(["fail", `s=${r.serviceTypes.join(":")} excludes email`]);
    if (info.type === "rsa" && info.bits < 1024)
      verdicts.push(["fail", `${info.bits}-bit RSA is too weak: verifiers reject keys under 1024 bits (RFC 8301 3.2)`]);
    else if (info.type === "rsa" && info.bits < 2048)
      verdicts.push(["warn", `${info.bits}-bit RSA is weak; upgrade to 2048 (Rotate-DkimSigningConfig -KeySize 2048)`]);
    // RFC 6376 3.6.1 h=: a key may limit the hash algorithms its signatures use. Microsoft 365
    // signs rsa-sha256, so a key without sha256 in h= makes every signature fail.
    if (r.hashAlgorithms !== undefined && !r.hashAlgorithms.map((h) => h.toLowerCase()).includes("sha256")) {
      verdicts.push([
        "fail",
        `h=${r.hashAlgorithms.join(":")} excludes sha256, which Microsoft 365 signs with (RFC 6376 3.6.1)`,
      ]);
    }
    // RFC 6376 3.6.1 t=y: verifiers must treat signatures as if the message were unsigned.
    if (r.testing) verdicts.push(["warn", "t=y: testing mode, receivers treat the signatures as absent"]);
    const claimed = selector === "selector1" ? entry?.selector1KeySize : entry?.selector2KeySize;
    if (claimed !== undefined && info.type === "rsa" && claimed !== info.bits) {
      verdicts.push(["info", `signing_config says ${claimed} bits (an upgrade takes effect at the next rotation)`]);
    }
    const status = worst(verdicts.map((v) => v[0]));
    const base = `${info.type} ${info.bits}-bit key at ${target}`;
    return {
      missing: false,
      status,
      message: verdicts.length ? `${base}; ${verdicts.map((v) => v[1]).join("; ")}` : base,
      details,
    };
  }
  return { missing: false, status: "fail", message: `no valid DKIM key at ${target}: ${errors.join("; ")}`, details };
}

/**
 * A missing key is normal behind the selector Microsoft is not signing with (it publishes the key
 * when it rotates, per Microsoft Learn's DKIM article) and behind both before DKIM is enabled.
 */
export function missingKeyVerdict(
  selector: Selector,
  active: Selector | undefined,
  entry: SigningConfigEntry | undefined,
  missingCount: number,
): [CheckStatus, string] {
  if (active === undefined) {
    if (missingCount >= 2) return ["warn", "no key behind either selector: DKIM not yet enabled in Microsoft 365?"];
    return ["info", "Microsoft publishes a selector's key when it starts using it; the other selector has one"];
  }
  if (selector !== active)
    return ["info", `inactive selector (${active} signs now): Microsoft publishes this key when it rotates`];
  if (entry?.enabled === false)
    return ["warn", "active selector, but DKIM signing is disabled in Microsoft 365 (Enabled: false)"];
  return ["fail", "the active selector has no key: receivers cannot verify this domain's signatures"];
}
