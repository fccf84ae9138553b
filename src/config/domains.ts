/** `domains:`, each domain with its providers, ensure, selectors, TTL, zone_id and replace. */
import { providerTypes } from "../../providers/index.js";
import { InputError, type Where } from "../core/errors.js";
import { canonical, excerpt, normaliseDomain, selectorName } from "../core/names.js";
import { validateTargets } from "../m365/targets.js";
import type { Config, DomainConfig } from "./types.js";
import { unknownKeys, type Problems } from "./problems.js";
import type { Entry, PositionTree } from "./yaml-source.js";
import { describe, isMapping, readTtl } from "./values.js";

/** RFC 1035 2.3.4: a name is at most 253 octets in text form (255 on the wire). */
const MAX_NAME = 253;
const DOMAIN_KEYS = ["provider", "providers", "ensure", "selector1", "selector2", "ttl", "zone_id", "replace"] as const;

/** The provider types that read a domain key of their own (Route 53's `zone_id`), from the registry. */
function typesReading(key: string): string[] {
  return Object.entries(providerTypes)
    .filter(([, t]) => t.domainKeys?.includes(key))
    .map(([name]) => name);
}

/** Returns the domains that had no problems, so target checks do not pile onto them. */
export function readDomains(
  p: Problems,
  v: unknown,
  entry: Entry | undefined,
  line: number | undefined,
  config: Config,
  declared: Set<string>,
): Set<string> {
  const ok = new Set<string>();
  if (v === undefined || v === null) return ok;
  if (!isMapping(v)) {
    p.add(
      line,
      `domains must be a mapping of domain names to their settings, not ${describe(v)}`,
      "write domains:\n  example.com:\n    provider: zones",
    );
    return ok;
  }
  const nodes = entry?.value?.entries() ?? new Map<string, Entry>();
  const seen = new Map<string, { raw: string; line: number | undefined }>();
  for (const [raw, block] of Object.entries(v)) {
    const e = nodes.get(raw);
    const keyLine = e?.keyLine ?? line;
    const norm = normaliseDomain(raw);
    if ("error" in norm) {
      p.add(
        keyLine,
        `domain ${excerpt(raw)} ${norm.error}`,
        "write the domain as it appears in DNS, like example.com or bücher.example",
      );
      continue;
    }
    const name = norm.name;
    const longest = selectorName("selector2", name).length;
    if (longest > MAX_NAME) {
      // RFC 1035 2.3.4: the selector names, not only the domain, must fit in 253 octets.
      p.add(
        keyLine,
        `domain "${name}" is ${name.length} octets long, so its selector name selector2._domainkey.<domain> would be ${longest}; a name is at most ${MAX_NAME}`,
        "write the domain as it appears in DNS; a domain this long cannot hold Microsoft 365 selector records",
      );
      continue;
    }
    const before = seen.get(name);
    if (before !== undefined) {
      p.add(
        keyLine,
        `domain "${name}" is listed twice: as "${before.raw}" at line ${before.line ?? "?"} and as "${raw}" here`,
        "keep one entry per domain",
      );
      continue;
    }
    seen.set(name, { raw, line: keyLine });
    const count = p.list.length;
    const d = readDomain(p, name, block, e?.value, { file: config.displayFile, line: keyLine }, config, declared);
    if (d === undefined) continue;
    config.domains.push(d);
    if (p.list.length === count) ok.add(name);
  }
  config.domains.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return ok;
}

function readDomain(
  p: Problems,
  name: string,
  block: unknown,
  node: PositionTree | undefined,
  where: Where,
  config: Config,
  declared: Set<string>,
): DomainConfig | undefined {
  const firstProvider = config.providers.keys().next().value ?? "<provider name>";
  if (!isMapping(block)) {
    p.add(
      where.line,
      `domain "${name}" must be a mapping of settings, not ${describe(block)}`,
      `write ${name}:\n    provider: ${firstProvider}`,
    );
    return undefined;
  }
  const lineOf = (key: string) => node?.lineOf(key) ?? where.line;
  const at = `domain "${name}": `;
  unknownKeys(p, block, DOMAIN_KEYS, lineOf, "key", at);

  const d: DomainConfig = { name, providers: [], ensure: "present", where };

  // provider: x, or providers: [x, y] -- exactly one of them.
  if (block.provider !== undefined && block.providers !== undefined) {
    p.add(lineOf("providers"), `${at}has both provider and providers`, "keep one: provider: x, or providers: [x, y]");
  } else if (block.provider === undefined && block.providers === undefined) {
    p.add(
      where.line,
      `${at}has no provider`,
      `add provider: ${firstProvider} (or providers: [a, b] to publish in several)`,
    );
  } else if (block.provider !== undefined) {
    if (typeof block.provider !== "string" || block.provider.trim() === "") {
      p.add(
        lineOf("provider"),
        `${at}provider must be a provider name, not ${describe(block.provider)}`,
        "for several, write providers: [a, b]",
      );
    } else {
      d.providers = [block.provider];
    }
  } else {
    const list = block.providers;
    if (!Array.isArray(list) || list.length === 0 || list.some((x) => typeof x !== "string" || x.trim() === "")) {
      p.add(
        lineOf("providers"),
        `${at}providers must be a non-empty list of provider names, not ${describe(list)}`,
        "write providers: [a, b], or provider: a for one",
      );
    } else {
      const names = list as string[];
      const dup = names.find((x, i) => names.indexOf(x) !== i);
      if (dup !== undefined)
        p.add(lineOf("providers"), `${at}provider "${dup}" is listed twice in providers`, "list each provider once");
      else d.providers = names;
    }
  }
  d.providers.forEach((ref, i) => {
    if (config.providers.has(ref) || declared.has(ref)) return;
    const refLine =
      block.provider !== undefined
        ? lineOf("provider")
        : (node?.entry("providers")?.value?.item(i)?.line ?? lineOf("providers"));
    const known = [...config.providers.keys()];
    p.add(
      refLine,
      `${at}unknown provider ${excerpt(String(ref))}; known: ${known.length > 0 ? known.join(", ") : "(none defined)"}`,
      "add it under providers: or fix the name",
    );
  });

  if (block.ensure !== undefined) {
    if (block.ensure === "present" || block.ensure === "absent") d.ensure = block.ensure;
    else
      p.add(
        lineOf("ensure"),
        `${at}ensure must be present or absent, not ${describe(block.ensure)}`,
        "ensure: absent deletes the selector records; leave it out to publish them",
      );
  }

  if (block.ttl !== undefined) {
    const ttl = readTtl(block.ttl);
    if (typeof ttl === "string")
      p.add(lineOf("ttl"), `${at}ttl ${ttl}`, "write a whole number of seconds, like ttl: 3600");
    else d.ttl = ttl;
  }

  if (block.zone_id !== undefined) {
    if (typeof block.zone_id !== "string" || block.zone_id.trim() === "") {
      p.add(
        lineOf("zone_id"),
        `${at}zone_id must be a Route 53 hosted zone id string, not ${describe(block.zone_id)}`,
        'quote it: zone_id: "Z0123456789ABC"',
      );
    } else if (
      d.providers.length > 0 &&
      d.providers.every(
        (ref) => config.providers.has(ref) && !typesReading("zone_id").includes(config.providers.get(ref)?.type ?? ""),
      )
    ) {
      const types = typesReading("zone_id").join(" or ");
      p.add(
        lineOf("zone_id"),
        `${at}zone_id is only used by ${types} providers, and this domain has none`,
        `remove zone_id, or publish through a ${types} provider`,
      );
    } else {
      d.zoneId = block.zone_id.trim();
    }
  }

  if (block.replace !== undefined) readReplace(p, block.replace, d, lineOf, at);
  readSelectors(block, d, lineOf, at);
  return d;
}

/**
 * `replace: [TXT]`: the reviewed permission to replace what blocks this domain's selector CNAMEs
 * (an old on-premises key, say). A CNAME cannot share its name with other data (RFC 1034 3.6.2),
 * so apply deletes records of these types at the two selector names only, and only for this domain.
 */
function readReplace(
  p: Problems,
  v: unknown,
  d: DomainConfig,
  lineOf: (k: string) => number | undefined,
  at: string,
): void {
  const list = typeof v === "string" ? [v] : v;
  const hint = "write replace: [TXT] to let apply replace an old TXT key at this domain's selector names";
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((x) => typeof x !== "string" || !/^[A-Za-z][A-Za-z0-9]*$/.test(x.trim()))
  ) {
    p.add(lineOf("replace"), `${at}replace must be a list of record types, like [TXT], not ${describe(v)}`, hint);
    return;
  }
  const types = [...new Set((list as string[]).map((x) => x.trim().toUpperCase()))];
  if (types.includes("CNAME")) {
    p.add(lineOf("replace"), `${at}replace: CNAME is not needed: dkimsync updates the selector CNAME itself`, hint);
    return;
  }
  if (d.ensure === "absent") {
    p.add(
      lineOf("replace"),
      `${at}replace has no effect with ensure: absent (only the selector CNAMEs are deleted)`,
      "remove replace:",
    );
    return;
  }
  d.replace = { types, where: { file: d.where.file, line: lineOf("replace") } };
}

/**
 * selector1/selector2 of a domain. A problem here concerns only this domain's targets: it is kept
 * on the domain (targetProblem) and reported when the domain is planned, so every other domain
 * still plans and applies.
 */
function readSelectors(
  block: Record<string, unknown>,
  d: DomainConfig,
  lineOf: (k: string) => number | undefined,
  at: string,
): void {
  const s1 = block.selector1;
  const s2 = block.selector2;
  if (s1 === undefined && s2 === undefined) return;
  const hint = `copy both values from Get-DkimSigningConfig -Identity ${d.name} | Format-List (Selector1CNAME, Selector2CNAME)`;
  const problem = (key: string, message: string) => {
    d.targetProblem = new InputError({ file: d.where.file, line: lineOf(key) }, `${at}${message}`, { hint });
  };
  if (s1 === undefined || s2 === undefined) {
    const missing = s1 === undefined ? "selector1" : "selector2";
    problem(
      s1 === undefined ? "selector2" : "selector1",
      `${missing} is missing; give both selector1 and selector2 or neither (Microsoft rotates between the two)`,
    );
    return;
  }
  for (const [key, v] of [
    ["selector1", s1],
    ["selector2", s2],
  ] as const) {
    if (typeof v !== "string" || v.trim() === "") {
      problem(key, `${key} must be a host name string, not ${describe(v)}`);
      return;
    }
  }
  const one = canonical(s1 as string);
  const two = canonical(s2 as string);
  const invalid = validateTargets(d.name, one, two);
  if (invalid !== undefined) {
    problem(invalid.startsWith("selector2") ? "selector2" : "selector1", invalid);
    return;
  }
  d.selector1 = one;
  d.selector2 = two;
}

/**
 * A config's domain by name, from an index built once per config: the planner, the saved-plan
 * check and the final guard look a domain up once per zone or domain, and a search of the whole
 * list each time made an apply of 10,000 zones quadratic (50 million comparisons). The first
 * entry of a name wins, as Array.find would. Rebuilt when the list is replaced or its length
 * changes.
 */
const domainIndex = new WeakMap<readonly DomainConfig[], { length: number; byName: Map<string, DomainConfig> }>();

export function configuredDomain(config: Config, name: string): DomainConfig | undefined {
  let index = domainIndex.get(config.domains);
  if (index === undefined || index.length !== config.domains.length) {
    const byName = new Map<string, DomainConfig>();
    for (const d of config.domains) if (!byName.has(d.name)) byName.set(d.name, d);
    index = { length: config.domains.length, byName };
    domainIndex.set(config.domains, index);
  }
  return index.byName.get(name);
}
