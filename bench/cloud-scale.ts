/**
 * dkimsync at 500 to 10,000 domains against Route 53, Cloudflare and octoDNS zone files, as a
 * user runs it: the built CLI in a child process (start-up, config loading and output included),
 * whole-process CPU and peak RSS from the preload hook (usage-hook.ts). Route 53 and Cloudflare
 * are the loopback fakes of test/fakes, spoken to by the official SDKs; requests by kind come
 * from the fakes' own counters. Zone files live in a temporary folder.
 *
 * Two layouts: `own` (each domain the apex of its own zone) and `shared` (a parent domain and
 * four subdomains in the parent's zone, so the selector names of five domains share one zone).
 *
 * The bound of each scenario is the least requests the provider's API needs for that work,
 * computed from the data (see `bound` below); requests / bound above 1.10 is a budget (the
 * run fails). Wall time is for orientation only: the fakes answer in microseconds, so the
 * client-side limits (Route 53 `max_rps`, at most 100) decide it; real rate limits are the
 * `rate-limits` phase.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { startCloudflareFake, type CloudflareFake } from "../test/fakes/cloudflare/server.js";
import { useTestCredentials } from "../test/fakes/route53/credentials.js";
import { startRoute53Fake, type Route53Fake } from "../test/fakes/route53/server.js";
import { toSeedRecords } from "../test/conformance/backends/cloudflare.js";
import { toOctodns } from "../test/conformance/backends/yaml.js";
import type { RecordSet } from "../src/core/types.js";
import { runCli } from "./pdns-scale.js";
import type { Figure, Section } from "./report.js";

export type CloudProvider = "route53" | "cloudflare" | "yaml";
export type Layout = "own" | "shared";
export const CLOUD_PROVIDERS: CloudProvider[] = ["route53", "cloudflare", "yaml"];

/** Route 53 API reference, ListHostedZonesByName: at most 100 zones a page. */
const R53_ZONES_PER_PAGE = 100;
/** Cloudflare API reference, List Zones: per_page 5..50. */
const CF_ZONES_PER_PAGE = 50;
const CF_TOKEN_ENV = "DKIMSYNC_BENCH_CF_TOKEN";
/** Far above any count this bench reaches: the scale run measures requests, not limits. */
const CF_NO_LIMIT = 1_000_000_000;
/** Domains per zone in the `shared` layout: the parent and four subdomains. */
const SHARED = ["", "mail.", "news.", "shop.", "web."];

export interface CloudZone {
  name: string;
  domains: string[];
  records: RecordSet[];
}

/** N domains: each its own zone (`own`), or five to a parent zone (`shared`). */
export function cloudDataset(size: number, layout: Layout): CloudZone[] {
  const zones: CloudZone[] = [];
  const per = layout === "own" ? 1 : SHARED.length;
  for (let i = 0; i * per < size; i++) {
    const zone = `${layout === "own" ? "dom" : "org"}${i}.bench.test`;
    const domains = (layout === "own" ? [""] : SHARED).slice(0, size - i * per).map((p) => `${p}${zone}`);
    // The same three foreign records as pdns-scale: what a real mail domain holds at least.
    const records: RecordSet[] = [
      { name: zone, type: "MX", ttl: 3600, values: [`0 ${zone.replaceAll(".", "-")}.mail.protection.outlook.com`] },
      { name: zone, type: "TXT", ttl: 3600, values: ["v=spf1 include:spf.protection.outlook.com -all"] },
      { name: `google._domainkey.${zone}`, type: "TXT", ttl: 3600, values: ["v=DKIM1; k=rsa; p=MIGf"] },
    ];
    zones.push({ name: zone, domains, records });
  }
  return zones;
}

export function cloudConfig(
  zones: CloudZone[],
  type: CloudProvider,
  options: Record<string, unknown>,
  tenant: string,
): string {
  const lines = [`tenant: ${tenant}`, "providers:", "  p:", `    type: ${type}`];
  for (const [k, v] of Object.entries(options)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  lines.push("domains:");
  for (const z of zones) for (const d of z.domains) lines.push(`  ${d}:`, "    provider: p");
  return `${lines.join("\n")}\n`;
}

/** A value as a person would have sent it to Route 53: TXT quoted, names with their dot. */
function r53Value(type: string, v: string): string {
  if (type === "TXT") return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  if (type === "MX") return `${v}.`;
  return v;
}

/** One running backend: the options for dkim.zones.yaml, its counters, its environment. */
export interface Backend {
  options: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** Requests by kind since the last take (only kinds seen), and those that failed. */
  take(): { requests: Record<string, number>; failed: number };
  stop(): Promise<void>;
}

export async function startRoute53(
  dir: string,
  zones: CloudZone[],
  limits: { fakeRps?: number; maxRps?: number },
): Promise<Backend> {
  const aws = useTestCredentials(dir, "benchmark");
  const fake: Route53Fake = await startRoute53Fake({
    rateLimit: limits.fakeRps === undefined ? false : { rps: limits.fakeRps, burst: limits.fakeRps },
  });
  for (const z of zones) {
    const zone = fake.state.createZone(z.name);
    for (const r of z.records)
      fake.state.put(zone.id, {
        name: r.name,
        type: r.type,
        ttl: r.ttl,
        values: r.values.map((v) => r53Value(r.type, v)),
      });
  }
  const env = { ...process.env };
  aws.restore();
  fake.counts.reset();
  return {
    options: {
      endpoint: fake.endpoint,
      region: "us-east-1",
      ...(limits.maxRps === undefined ? {} : { max_rps: limits.maxRps }),
    },
    env,
    take() {
      const requests = Object.fromEntries(Object.entries(fake.counts).filter(([, n]) => (n as number) > 0)) as Record<
        string,
        number
      >;
      const failed = fake.throttled.count;
      fake.counts.reset();
      fake.throttled.count = 0;
      return { requests, failed };
    },
    stop: () => fake.stop(),
  };
}

export async function startCloudflare(
  zones: CloudZone[],
  limits: { fakeLimit?: number; maxPer5Min?: number },
): Promise<Backend> {
  const token = randomBytes(20).toString("hex");
  const fake: CloudflareFake = await startCloudflareFake({
    tokens: [token],
    rateLimit: limits.fakeLimit ?? CF_NO_LIMIT,
  });
  for (const z of zones) {
    const zone = fake.state.addZone({ name: z.name });
    for (const set of z.records) for (const r of toSeedRecords(set)) fake.state.createRecord(zone, r);
  }
  fake.resetCounts();
  return {
    options: {
      token: `env/${CF_TOKEN_ENV}`,
      base_url: fake.baseURL,
      ...(limits.maxPer5Min === undefined ? {} : { max_requests_per_5min: limits.maxPer5Min }),
    },
    env: { ...process.env, [CF_TOKEN_ENV]: token },
    take() {
      const requests: Record<string, number> = {};
      for (const [k, n] of Object.entries(fake.counts)) if (n > 0) requests[k] = n;
      // 429 (rate limited), 5xx, and connections closed without an answer (-1).
      const failed = fake.log.filter((r) => r.status === 429 || r.status >= 500 || r.status < 0).length;
      fake.resetCounts();
      return { requests, failed };
    },
    stop: () => fake.stop(),
  };
}

export async function startYaml(dir: string, zones: CloudZone[]): Promise<Backend> {
  const zdir = path.join(dir, "zones");
  await fs.mkdir(zdir);
  for (const z of zones) {
    const data: Record<string, unknown> = {};
    for (const set of z.records) {
      const key = set.name === z.name ? "" : set.name.slice(0, -(z.name.length + 1));
      const prev = data[key];
      data[key] = prev === undefined ? toOctodns(set) : [...(Array.isArray(prev) ? prev : [prev]), toOctodns(set)];
    }
    await fs.writeFile(path.join(zdir, `${z.name}.yaml`), `---\n${stringify(data, { lineWidth: 0 })}`);
  }
  return {
    options: { directory: "./zones" },
    env: { ...process.env },
    take: () => ({ requests: {}, failed: 0 }),
    stop: async () => {},
  };
}

export type ScenarioKind = "plan" | "apply" | "no-op plan" | "update";

/**
 * The least requests the API needs for a scenario over Z zones, all of which change in plan,
 * apply and update (every domain starts without selectors; update changes every target):
 *
 * Route 53: ceil(Z/100) ListHostedZonesByName pages (dkimsync must find each domain's zone) +
 * one ListResourceRecordSets per zone (every zone here holds far fewer than the 300 record sets
 * of one page) + for a write: one ChangeResourceRecordSets per changed zone (one batch holds up
 * to 1,000 values) and one ListResourceRecordSets read-back per written zone. GetChange is not
 * needed: `wait` is off by default.
 *
 * Cloudflare: ceil(Z/50) List Zones pages + one List DNS Records per zone (up to 5,000 a page)
 * + one GET dns_settings per zone (whether "CNAME flattening for all records" is on cannot be
 * learnt from the records, and it breaks DKIM selectors) + for a write: one batch per changed
 * zone and one List DNS Records read-back per written zone.
 */
export function bound(provider: CloudProvider, kind: ScenarioKind, zones: number): number {
  if (provider === "yaml") return 0;
  const read =
    provider === "route53"
      ? Math.ceil(zones / R53_ZONES_PER_PAGE) + zones
      : Math.ceil(zones / CF_ZONES_PER_PAGE) + 2 * zones;
  return kind === "apply" || kind === "update" ? read + 2 * zones : read;
}

export interface CloudResult {
  provider: CloudProvider;
  layout: Layout;
  domains: number;
  zones: number;
  scenario: ScenarioKind;
  exitCode: number;
  expectedExit: number;
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
  requests: Record<string, number>;
  totalRequests: number;
  failedRequests: number;
  bound: number;
  requestsOverBound: number;
  stderr?: string;
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export async function benchCloudAtScale(
  provider: CloudProvider,
  layout: Layout,
  size: number,
  log: (m: string) => void,
): Promise<CloudResult[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `dkimsync-bench-${provider}-`));
  const zones = cloudDataset(size, layout);
  let backend: Backend | undefined;
  try {
    log(`cloud-scale ${provider} ${layout} ${size}: seeding ${zones.length} zones`);
    // max_rps 100 is the option's ceiling; the fakes' rate limits are off for the scale run.
    backend =
      provider === "route53"
        ? await startRoute53(dir, zones, { maxRps: 100 })
        : provider === "cloudflare"
          ? await startCloudflare(zones, { maxPer5Min: CF_NO_LIMIT })
          : await startYaml(dir, zones);
    const b = backend;
    const file = path.join(dir, "dkim.zones.yaml");
    const results: CloudResult[] = [];
    const step = async (scenario: ScenarioKind, args: string[], expectedExit: number) => {
      b.take();
      const run = await runCli([...args, "-c", file], dir, b.env);
      const { requests, failed } = b.take();
      const total = sum(requests);
      const bnd = bound(provider, scenario === "no-op plan" ? "plan" : scenario, zones.length);
      results.push({
        provider,
        layout,
        domains: size,
        zones: zones.length,
        scenario,
        exitCode: run.code,
        expectedExit,
        wallMs: run.wallMs,
        cpuMs: run.usage.cpuMs,
        maxRssMb: run.usage.maxRssKb / 1024,
        requests,
        totalRequests: total,
        failedRequests: failed,
        bound: bnd,
        requestsOverBound: bnd === 0 ? 0 : total / bnd,
        ...(run.code === expectedExit ? {} : { stderr: run.stderr.slice(0, 2000) }),
      });
      log(
        `cloud-scale ${provider} ${layout} ${size}: ${scenario}: exit ${run.code}, ${(run.wallMs / 1000).toFixed(2)} s, ${total} requests (bound ${bnd}), cpu ${(run.usage.cpuMs / 1000).toFixed(2)} s, rss ${(run.usage.maxRssKb / 1024).toFixed(0)} MB, ${JSON.stringify(requests)}`,
      );
      if (run.code !== expectedExit) log(run.stderr.slice(0, 2000));
    };
    await fs.writeFile(file, cloudConfig(zones, provider, b.options, "contoso"));
    await step("plan", ["plan", "--detailed-exitcode"], 2);
    await step("apply", ["apply"], 0);
    await step("no-op plan", ["plan", "--detailed-exitcode"], 0);
    await fs.writeFile(file, cloudConfig(zones, provider, b.options, "fabrikam"));
    await step("update", ["apply"], 0);
    return results;
  } finally {
    await backend?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const SCENARIO_LABEL: Record<ScenarioKind, (d: number) => string> = {
  plan: () => "plan, creates pending",
  apply: (d) => `apply ${2 * d} creates`,
  "no-op plan": () => "no-op plan",
  update: (d) => `update all ${2 * d} targets`,
};

export interface TargetLine {
  target: string;
  measured: string;
  met: boolean;
}

export function judgeCloud(results: CloudResult[]): { figures: Figure[]; violations: string[]; targets: TargetLine[] } {
  const figures: Figure[] = [];
  const violations: string[] = [];
  const targets: TargetLine[] = [];
  for (const x of results) {
    const label = `${x.provider} ${x.layout} ${x.domains}: ${SCENARIO_LABEL[x.scenario](x.domains)}`;
    const req = x.provider === "yaml" ? "" : `, ${x.totalRequests} req, ${x.requestsOverBound.toFixed(2)}x bound`;
    figures.push({
      label,
      value: `${(x.wallMs / 1000).toFixed(2)} s${req}`,
      note: `${x.zones} zones; cpu ${(x.cpuMs / 1000).toFixed(2)} s; rss ${x.maxRssMb.toFixed(0)} MB${x.provider === "yaml" ? "" : `; bound ${x.bound}; ${JSON.stringify(x.requests)}`}`,
    });
    if (x.exitCode !== x.expectedExit) violations.push(`${label}: exit ${x.exitCode}, expected ${x.expectedExit}`);
    if (x.failedRequests > 0) violations.push(`${label}: ${x.failedRequests} failed requests (budget 0)`);
    if (x.provider !== "yaml" && x.requestsOverBound > 1.1)
      violations.push(
        `${label}: ${x.totalRequests} requests, ${x.requestsOverBound.toFixed(2)}x the bound ${x.bound} (budget 1.10x)`,
      );
  }
  for (const p of CLOUD_PROVIDERS) {
    const mine = results.filter((r) => r.provider === p);
    if (mine.length === 0) continue;
    if (p !== "yaml") {
      const worst = Math.max(...mine.map((r) => r.requestsOverBound));
      targets.push({
        target: `${p}: requests within 10 % of the bound, every scenario`,
        measured: `worst ${worst.toFixed(3)}x`,
        met: worst <= 1.1,
      });
    }
    for (const size of [...new Set(mine.map((r) => r.domains))].sort((a, b) => a - b)) {
      const peak = Math.max(...mine.filter((r) => r.domains === size).map((r) => r.maxRssMb));
      targets.push({
        target: `${p}: peak RSS at ${size} domains (target at most 100 MB at 10,000)`,
        measured: `${peak.toFixed(0)} MB`,
        met: size > 10_000 || peak <= 100,
      });
    }
  }
  return { figures, violations, targets };
}

export async function benchCloudScale(
  sizes: number[],
  providers: CloudProvider[],
  layouts: Layout[],
  log: (m: string) => void,
): Promise<{ section: Section; violations: string[]; results: CloudResult[]; targets: TargetLine[] }> {
  const results: CloudResult[] = [];
  for (const provider of providers)
    for (const layout of layouts)
      for (const size of sizes) results.push(...(await benchCloudAtScale(provider, layout, size, log)));
  const { figures, violations, targets } = judgeCloud(results);
  for (const line of targets)
    figures.push({ label: `target: ${line.target}`, value: line.met ? "met" : "MISSED", note: line.measured });
  return {
    section: {
      title: "Route 53, Cloudflare (loopback fakes, official SDKs) and zone files at scale (built CLI, whole process)",
      figures,
    },
    violations,
    results,
    targets,
  };
}
