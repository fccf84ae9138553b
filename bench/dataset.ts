/**
 * The benchmark's data: zones, the records already in them, and the domains of dkim.zones.yaml,
 * generated deterministically so two runs plan the same changes and the figures compare.
 *
 * Three kinds of zone, because they stress different parts of a provider's read path:
 * - single: one domain at the apex, a handful of foreign records (the common case);
 * - parent: an apex domain plus subdomains whose selectors live in the parent zone (a domain's
 *   zone is the longest existing zone that is a suffix of it);
 * - busy: the same, plus hundreds of foreign hosts spread over the alphabet and other
 *   `_domainkey` names, so the selector names sit far apart in Route 53's reversed-label order
 *   and a name-range reader must skip gaps or page.
 *
 * Each domain starts in one state: missing (both selectors to create), correct (nothing to do),
 * stale (both selectors at TTL 300 or an old tenant's target: two updates) or absent (the config
 * says `ensure: absent` and both selectors exist: two deletes).
 */
import type { RecordSet } from "../src/core/types.js";
import { foreignRecords } from "../test/helpers/records.js";

export const TENANT = "contoso";

export type DomainState = "missing" | "correct" | "stale" | "absent";
export type ZoneKind = "single" | "parent" | "busy";

export interface BenchDomain {
  name: string;
  zone: string;
  state: DomainState;
}

export interface BenchZone {
  name: string;
  kind: ZoneKind;
  /** Every record set the zone holds before the run (foreign ones and existing selectors). */
  records: RecordSet[];
  domains: BenchDomain[];
}

export interface Dataset {
  zones: BenchZone[];
  domains: BenchDomain[];
}

export interface DatasetShape {
  single: number;
  parent: { zones: number; subdomains: number };
  busy: { zones: number; subdomains: number; foreign: number };
}

/** 2,000 domains in 700 zones: 450 single, 200 parents with 5 subdomains, 50 busy with 6. */
export const SCALE_SHAPE: DatasetShape = {
  single: 450,
  parent: { zones: 200, subdomains: 5 },
  busy: { zones: 50, subdomains: 6, foreign: 400 },
};

/** 300 domains in 100 zones, for the real PowerDNS server. */
export const PDNS_SHAPE: DatasetShape = {
  single: 50,
  parent: { zones: 40, subdomains: 4 },
  busy: { zones: 10, subdomains: 4, foreign: 100 },
};

const SUBDOMAINS = ["alpha", "mail", "news", "shop", "team", "web", "zeta"];
const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/** The legacy Microsoft 365 target, as dkimsync derives it from `tenant` (docs/reference/configuration.md). */
export function target(selector: 1 | 2, domain: string, tenant = TENANT): string {
  return `selector${selector}-${domain.replace(/\./g, "-")}._domainkey.${tenant}.onmicrosoft.com`;
}

const cname = (name: string, value: string, ttl = 3600): RecordSet => ({ name, type: "CNAME", ttl, values: [value] });
const txt = (name: string, value: string, ttl = 3600): RecordSet => ({ name, type: "TXT", ttl, values: [value] });

/** 60 % missing, 20 % correct, 15 % stale, 5 % absent, interleaved by index. */
function stateOf(i: number): DomainState {
  const r = i % 20;
  return r < 12 ? "missing" : r < 16 ? "correct" : r < 19 ? "stale" : "absent";
}

function selectorsFor(d: BenchDomain, i: number): RecordSet[] {
  const names = [`selector1._domainkey.${d.name}`, `selector2._domainkey.${d.name}`] as const;
  switch (d.state) {
    case "missing":
      return [];
    case "correct":
    case "absent":
      return [cname(names[0], target(1, d.name)), cname(names[1], target(2, d.name))];
    case "stale":
      return i % 2 === 0
        ? [cname(names[0], target(1, d.name), 300), cname(names[1], target(2, d.name), 300)]
        : [cname(names[0], target(1, d.name, "fabrikam")), cname(names[1], target(2, d.name, "fabrikam"))];
  }
}

function subdomainForeign(sub: string): RecordSet[] {
  return [
    txt(sub, "v=spf1 include:spf.protection.outlook.com -all"),
    txt(`_dmarc.${sub}`, "v=DMARC1; p=quarantine"),
    cname(`k1._domainkey.${sub}`, "dkim.mcsv.net"),
  ];
}

/** Hosts named a0, b1, c2, ... so they fall between the subdomains in every sort order. */
function busyForeign(zone: string, count: number): RecordSet[] {
  const out: RecordSet[] = [];
  for (let i = 0; i < count; i++) {
    const host = `${LETTERS[i % LETTERS.length]}${i}.${zone}`;
    out.push(
      i % 5 === 0
        ? txt(`mandrill${i}._domainkey.${zone}`, "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ")
        : { name: host, type: "A", ttl: 300, values: [`192.0.2.${i % 250}`] },
    );
  }
  return out;
}

export function makeDataset(shape: DatasetShape): Dataset {
  const zones: BenchZone[] = [];
  const domains: BenchDomain[] = [];
  let n = 0;
  const add = (kind: ZoneKind, zone: string, subs: number, foreign: RecordSet[]) => {
    const names = [zone, ...SUBDOMAINS.slice(0, subs).map((s) => `${s}.${zone}`)];
    const records = [...foreignRecords(zone), ...foreign];
    const ds: BenchDomain[] = [];
    for (const name of names) {
      const d: BenchDomain = { name, zone, state: stateOf(n) };
      if (name !== zone) records.push(...subdomainForeign(name));
      records.push(...selectorsFor(d, n));
      ds.push(d);
      n++;
    }
    zones.push({ name: zone, kind, records, domains: ds });
    domains.push(...ds);
  };
  const pad = (i: number) => String(i).padStart(4, "0");
  for (let i = 0; i < shape.single; i++) add("single", `single${pad(i)}.com`, 0, []);
  for (let i = 0; i < shape.parent.zones; i++) add("parent", `parent${pad(i)}.net`, shape.parent.subdomains, []);
  for (let i = 0; i < shape.busy.zones; i++) {
    const zone = `busy${pad(i)}.org`;
    add("busy", zone, shape.busy.subdomains, busyForeign(zone, shape.busy.foreign));
  }
  return { zones, domains };
}

/** What a correct plan of the dataset must contain, counted from the data alone. */
export function expectedChanges(ds: Dataset): {
  create: number;
  update: number;
  delete: number;
  unchanged: number;
  zonesWithChanges: number;
} {
  const count = (s: DomainState) => ds.domains.filter((d) => d.state === s).length * 2;
  return {
    create: count("missing"),
    update: count("stale"),
    delete: count("absent"),
    unchanged: count("correct"),
    zonesWithChanges: ds.zones.filter((z) => z.domains.some((d) => d.state !== "correct")).length,
  };
}

/** dkim.zones.yaml for the dataset, every domain at the one provider `under_bench`. */
export function configYaml(ds: Dataset, providerType: string, options: Record<string, unknown>): string {
  const lines = [`tenant: ${TENANT}`, "ttl: 3600", "providers:", "  under_bench:", `    type: ${providerType}`];
  for (const [k, v] of Object.entries(options)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  lines.push("domains:");
  for (const d of ds.domains) {
    lines.push(`  ${d.name}:`, "    provider: under_bench");
    if (d.state === "absent") lines.push("    ensure: absent");
  }
  return `${lines.join("\n")}\n`;
}
