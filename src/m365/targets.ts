/**
 * Microsoft 365 selector targets: validate explicit ones, read Get-DkimSigningConfig exports,
 * derive legacy ones where that is safe. Facts from Microsoft Learn "Set up DKIM to sign mail from your Microsoft 365 domain" and the
 * Get-DkimSigningConfig reference.
 */
import type { Config, DomainConfig } from "../config/types.js";
import { InputError } from "../core/errors.js";
import { canonical, excerpt, hostNameProblem, normaliseDomain, type Selector } from "../core/names.js";

export interface SigningConfigEntry {
  /** Canonical domain. */
  domain: string;
  /** Canonical targets; absent for NoDKIMKeys (null in the export). */
  selector1?: string;
  selector2?: string;
  selector1KeySize?: number;
  selector2KeySize?: number;
  enabled?: boolean;
  /** As exported: Valid, CnameMissing, NoDKIMKeys, or anything else (treated as not valid). */
  status?: string;
  keyCreationTime?: Date;
  rotateOnDate?: Date;
  selectorBeforeRotateOnDate?: Selector;
  selectorAfterRotateOnDate?: Selector;
  /**
   * Why this entry's targets cannot be used (they break the rules of validateTargets). Only the
   * entry's domain is refused; the rest of the export still counts.
   */
  problem?: string;
}

export interface ResolvedTargets {
  selector1: string;
  selector2: string;
  source: "config" | "signing_config" | "derived";
}

/** Exactly what `dkimsync` tells users to run; one place so docs, hints and tests agree. */
export const EXPORT_COMMAND = "Get-DkimSigningConfig | ConvertTo-Json | Out-File -Encoding utf8 m365/dkim.json";

/** `marketing.contoso.com` -> `marketing-contoso-com`: the middle of Microsoft's target label. */
export function dashedDomain(domain: string): string {
  return canonical(domain).replaceAll(".", "-");
}

// Microsoft's two target suffixes (Microsoft Learn, "Set up DKIM to sign mail from your Microsoft 365 domain"): legacy `<prefix>.onmicrosoft.com`, and since
// May 2025 `<prefix>.<letter>-v1.dkim.mail.microsoft`, the letter assigned per domain.
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const LEGACY_SUFFIX = new RegExp(`^${LABEL}\\.onmicrosoft\\.com$`);
const NEW_SUFFIX = new RegExp(`^${LABEL}\\.[a-z]-v1\\.dkim\\.mail\\.microsoft$`);
const DOMAINKEY = "._domainkey.";

interface TargetParts {
  /** What follows `selectorN-` in the first label: Microsoft's dashed form of the domain. */
  dashed: string;
  suffix: string;
}

function splitTarget(selector: Selector, target: string): TargetParts | string {
  const t = canonical(target);
  if (t === "") return `${selector} target is empty`;
  if (t.split(".").some((l) => l === "")) return `${selector} target ${excerpt(t)} has an empty label`;
  if (t.length > 253)
    return `${selector} target ${excerpt(t)} is ${t.length} octets long; at most 253 are allowed (RFC 1035 2.3.4)`;
  const at = t.indexOf(DOMAINKEY);
  if (at < 0)
    return `${selector} target ${excerpt(t)} has no "._domainkey." part; Microsoft's targets look like ${selector}-contoso-com._domainkey.contoso.onmicrosoft.com`;
  const first = t.slice(0, at);
  const suffix = t.slice(at + DOMAINKEY.length);
  if (!first.startsWith(`${selector}-`) || first.includes(".") || first.length === `${selector}-`.length) {
    return `${selector} target ${excerpt(t)} must start with "${selector}-<your domain with dashes>"`;
  }
  if (!LEGACY_SUFFIX.test(suffix) && !NEW_SUFFIX.test(suffix)) {
    return `${selector} target ${excerpt(t)} must end in "._domainkey.<tenant>.onmicrosoft.com" or "._domainkey.<tenant>.<letter>-v1.dkim.mail.microsoft", not ${excerpt(suffix)}`;
  }
  // Every label is checked as a host name too, so a space, quote, backslash, NUL, "#", newline
  // or non-ASCII character in the first label never reaches a zone file, an API body or a DNS
  // message (the shape checks above only look at the suffix).
  const bad = hostNameProblem(t);
  if (bad !== undefined) return `${selector} target ${excerpt(t)} ${bad}`;
  return { dashed: first.slice(`${selector}-`.length), suffix };
}

/**
 * Check the two explicit targets of a domain. Returns an error phrase, or undefined when valid.
 * A dashed part that differs from the domain is valid (Microsoft shortens and varies it for
 * hyphenated and long names); see targetWarnings.
 */
export function validateTargets(domain: string, selector1: string, selector2: string): string | undefined {
  const one = splitTarget("selector1", selector1);
  if (typeof one === "string") return one;
  const two = splitTarget("selector2", selector2);
  if (typeof two === "string") return two;
  if (one.suffix !== two.suffix) {
    // Microsoft gives both selectors of a domain the same suffix (one format, one letter).
    return `selector1 ends in "${one.suffix}" but selector2 in "${two.suffix}"; both selectors of a domain have the same suffix`;
  }
  if (one.dashed !== two.dashed) {
    return `selector1 names "${one.dashed}" but selector2 names "${two.dashed}"; both selectors of a domain name the same domain (values copied from two domains?)`;
  }
  return undefined;
}

/** Valid but worth a look: the dashed part of the targets does not spell the domain. */
export function targetWarnings(domain: string, selector1: string): string[] {
  const one = splitTarget("selector1", selector1);
  if (typeof one === "string") return [];
  const expected = dashedDomain(domain);
  if (one.dashed === expected) return [];
  return [
    `the targets name "${one.dashed}", not "${expected}"; Microsoft varies this for hyphenated and long names, so check it against Get-DkimSigningConfig -Identity ${domain}`,
  ];
}

/**
 * The legacy targets `selectorN-<dashed>._domainkey.<tenant>.onmicrosoft.com`, only where
 * Microsoft's rule is known to hold (Microsoft Learn's DKIM setup article): no `-` anywhere in the A-label (hyphenated and
 * every `xn--` domain are undocumented; the label has followed the MX token, which differs) and
 * a first label of at most 63 octets. Only correct for domains added before May 2025.
 */
export function deriveLegacyTargets(
  domain: string,
  tenant: string,
): { selector1: string; selector2: string } | { error: string } {
  const d = canonical(domain);
  if (d.includes("-")) {
    const what = d.split(".").some((l) => l.startsWith("xn--"))
      ? "is an internationalised (xn--) name"
      : "contains a hyphen";
    return {
      error: `cannot derive targets for ${d}: it ${what}, and Microsoft's target for such domains is not documented and often differs`,
    };
  }
  const dashed = dashedDomain(d);
  const label = `selector1-${dashed}`;
  if (label.length > 63) {
    return {
      error: `cannot derive targets for ${d}: the target label "${label.slice(0, 30)}..." would be ${label.length} octets, more than 63, and Microsoft shortens such names in an undocumented way`,
    };
  }
  const suffix = `${canonical(tenant)}.onmicrosoft.com`;
  return {
    selector1: `selector1-${dashed}._domainkey.${suffix}`,
    selector2: `selector2-${dashed}._domainkey.${suffix}`,
  };
}

function hintFor(domain: string): string {
  return `copy Selector1CNAME and Selector2CNAME from Get-DkimSigningConfig -Identity ${domain} | Format-List into selector1/selector2 of this domain, or export ${EXPORT_COMMAND} and point signing_config at it (dkimsync import does either for you)`;
}

/**
 * The targets of a domain with `ensure: present`. Precedence: explicit in the config, then the
 * signing_config export, then legacy derivation from `tenant`. Throws an InputError at the
 * domain's line when none applies.
 */
export function resolveTargets(config: Config, domain: DomainConfig): ResolvedTargets {
  if (domain.targetProblem !== undefined) throw domain.targetProblem;
  if (domain.selector1 !== undefined && domain.selector2 !== undefined) {
    return { selector1: domain.selector1, selector2: domain.selector2, source: "config" };
  }
  const sc = config.signingConfig;
  const entry = sc?.entries.get(domain.name);
  if (entry !== undefined) {
    if (entry.problem !== undefined) {
      throw new InputError(
        domain.where,
        `domain "${domain.name}": its signing_config entry is unusable: ${entry.problem}`,
        {
          hint: `export it again with ${EXPORT_COMMAND}, or write this domain's selector1/selector2 from Get-DkimSigningConfig -Identity ${domain.name} | Format-List`,
        },
      );
    }
    if (entry.selector1 !== undefined && entry.selector2 !== undefined) {
      return { selector1: entry.selector1, selector2: entry.selector2, source: "signing_config" };
    }
    // NoDKIMKeys: Microsoft has not generated keys, so there are no targets to publish yet.
    throw new InputError(
      domain.where,
      `domain "${domain.name}": the signing_config export ${sc?.file ?? ""} has no DKIM keys for it yet (Status ${entry.status ?? "unknown"}, Selector1CNAME/Selector2CNAME empty)`,
      {
        hint: `run New-DkimSigningConfig -DomainName ${domain.name} -Enabled $false in Exchange Online PowerShell, then export again: ${EXPORT_COMMAND}`,
      },
    );
  }
  const why: string[] = [];
  if (config.tenant !== undefined) {
    const derived = deriveLegacyTargets(domain.name, config.tenant);
    if (!("error" in derived)) return { selector1: derived.selector1, selector2: derived.selector2, source: "derived" };
    why.push(derived.error);
  } else {
    why.push("no tenant is set to derive them from");
  }
  why.push(sc === undefined ? "no signing_config is set" : `${sc.file} has no entry for it`);
  throw new InputError(
    domain.where,
    `domain "${domain.name}": no selector targets: no selector1/selector2 given, ${why.join("; ")}`,
    {
      hint: hintFor(domain.name),
    },
  );
}

/** Which selector signs at `now`: the one before RotateOnDate, or the one after it. */
export function activeSelector(entry: SigningConfigEntry, now: Date): Selector | undefined {
  const { rotateOnDate, selectorBeforeRotateOnDate: before, selectorAfterRotateOnDate: after } = entry;
  if (rotateOnDate === undefined) return before !== undefined && before === after ? before : undefined;
  return now.getTime() < rotateOnDate.getTime() ? before : after;
}

/**
 * A date as ConvertTo-Json writes it: ISO 8601 (PowerShell 7, up to 7 fractional digits) or
 * `/Date(ms)/` with an optional informational offset (Windows PowerShell 5.1; ms is UTC).
 * An ISO time without an offset is read as UTC, so the result never depends on this machine.
 */
export function parseMsDate(s: string): Date | undefined {
  const ms = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(s.trim());
  if (ms) return validDate(new Date(Number(ms[1])));
  const iso = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s.trim());
  if (!iso) return undefined;
  const frac = iso[2] === undefined ? "" : iso[2].slice(0, 4);
  return validDate(new Date(`${iso[1]}${frac}${iso[3] ?? "Z"}`));
}

function validDate(d: Date): Date | undefined {
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Read the JSON of `Get-DkimSigningConfig | ConvertTo-Json`: one object for one domain, an
 * array for several. Unknown keys and REST sidecars (`Selector1KeySize@odata.type`) are ignored.
 */
export function parseSigningConfig(text: string, file: string): SigningConfigEntry[] {
  // Windows PowerShell's Out-File -Encoding utf8 writes a byte order mark.
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    // V8's message quotes the text around the error; the file may be anything (a wrong path such
    // as /proc/self/environ), so only the position is shown, never the content.
    throw new InputError({ file }, `is not valid JSON (${jsonErrorPosition(body, err)})`, {
      cause: err,
      hint: `export it again with ${EXPORT_COMMAND}`,
    });
  }
  const list = Array.isArray(data) ? data : [data];
  return list.map((item, i) => parseEntry(item, file, i + 1, list.length));
}

/** "line L, column C" of a JSON.parse failure, from V8's "position N"; never the text itself. */
function jsonErrorPosition(text: string, err: unknown): string {
  const m = /position (\d+)/.exec(err instanceof Error ? err.message : "");
  if (!m)
    return /Unexpected end/.test(err instanceof Error ? err.message : "") ? "it ends too early" : "a syntax error";
  const before = text.slice(0, Number(m[1]));
  const line = before.split("\n").length;
  return `syntax error at line ${line}, column ${before.length - before.lastIndexOf("\n")}`;
}

function parseEntry(item: unknown, file: string, n: number, of: number): SigningConfigEntry {
  const at = of > 1 ? `entry ${n} of ${of}` : "the entry";
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw new InputError(
      { file },
      `${at} is not an object; expected the output of Get-DkimSigningConfig | ConvertTo-Json`,
      {
        hint: `export it again with ${EXPORT_COMMAND}`,
      },
    );
  }
  const fields = fieldReader(item as Record<string, unknown>);
  const rawDomain = fields.string("Domain") ?? fields.string("Name") ?? fields.string("Identity");
  if (rawDomain === undefined) {
    throw new InputError({ file }, `${at} has no Domain, Name or Identity`, {
      hint: `export it again with ${EXPORT_COMMAND}`,
    });
  }
  const norm = normaliseDomain(rawDomain);
  if ("error" in norm) throw new InputError({ file }, `${at}: domain ${excerpt(rawDomain)} ${norm.error}`);
  const entry: SigningConfigEntry = { domain: norm.name };
  const s1 = fields.string("Selector1CNAME");
  const s2 = fields.string("Selector2CNAME");
  if (s1 !== undefined) entry.selector1 = canonical(s1);
  if (s2 !== undefined) entry.selector2 = canonical(s2);
  if (entry.selector1 !== undefined && entry.selector2 !== undefined) {
    const problem = validateTargets(entry.domain, entry.selector1, entry.selector2);
    if (problem !== undefined) entry.problem = `${file}: ${at} (${entry.domain}): ${problem}`;
  }
  const k1 = fields.number("Selector1KeySize");
  const k2 = fields.number("Selector2KeySize");
  if (k1 !== undefined) entry.selector1KeySize = k1;
  if (k2 !== undefined) entry.selector2KeySize = k2;
  const enabled = fields.raw("Enabled");
  if (typeof enabled === "boolean") entry.enabled = enabled;
  const status = fields.string("Status");
  if (status !== undefined) entry.status = status;
  const created = fields.date("KeyCreationTime");
  const rotate = fields.date("RotateOnDate");
  if (created !== undefined) entry.keyCreationTime = created;
  if (rotate !== undefined) entry.rotateOnDate = rotate;
  const before = fields.selector("SelectorBeforeRotateOnDate");
  const after = fields.selector("SelectorAfterRotateOnDate");
  if (before !== undefined) entry.selectorBeforeRotateOnDate = before;
  if (after !== undefined) entry.selectorAfterRotateOnDate = after;
  return entry;
}

/** Case-insensitive field access: exports from different module versions vary in case. */
function fieldReader(obj: Record<string, unknown>) {
  const byLower = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    if (!k.includes("@")) byLower.set(k.toLowerCase(), v);
  }
  const raw = (key: string): unknown => byLower.get(key.toLowerCase());
  return {
    raw,
    string(key: string): string | undefined {
      const v = raw(key);
      return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
    },
    number(key: string): number | undefined {
      const v = raw(key);
      if (typeof v === "number" && Number.isFinite(v)) return v;
      if (typeof v === "string" && /^\d+$/.test(v.trim())) return Number(v);
      return undefined;
    },
    date(key: string): Date | undefined {
      const v = raw(key);
      if (typeof v === "string") return parseMsDate(v);
      // Windows PowerShell 5.1 wraps some DateTimes as { value: "/Date(..)/", DateTime: "..." }.
      if (v !== null && typeof v === "object" && typeof (v as { value?: unknown }).value === "string") {
        return parseMsDate((v as { value: string }).value);
      }
      return undefined;
    },
    selector(key: string): Selector | undefined {
      const v = raw(key);
      if (typeof v !== "string") return undefined;
      const s = v.trim().toLowerCase();
      return s === "selector1" || s === "selector2" ? s : undefined;
    },
  };
}
