/**
 * `npm run bench`: dkimsync at thousands of domains, through the real code path against the
 * loopback fakes, zone files and a real PowerDNS. Prints a table (or `--json`) to stdout and
 * progress to stderr. Figures are counts and ratios measured in this one run; the machine is
 * shared, so no absolute time is ever a pass/fail criterion. The run fails (exit 1) only when
 * the bench itself fails or a budget that does not depend on timing is broken: record reads per
 * zone beyond paging, writes beyond the zones with changes, a second plan that is not empty.
 *
 * Options: --json (the same data as JSON), --only PHASE[,PHASE] (yaml, route53, cloudflare,
 * concurrency, powerdns, pdns-scale, cloud-scale, rate-limits, gcloud, azure, startup), --sizes N[,N]
 * (pdns-scale and cloud-scale: domains; default 500,5000,10000; rate-limits: domains per
 * provider instead of its own 150 and 300), --backends B[,B] (pdns-scale:
 * gsqlite3, lmdb; default both), --providers P[,P] (cloud-scale: route53, cloudflare, yaml;
 * default all), --layouts L[,L] (cloud-scale: own, shared; default both), --baseline DIR
 * (startup: also measure the built checkout in DIR, e.g. the commit before a change).
 */
import os from "node:os";
import { benchAzureScale } from "./azure.js";
import { SCALE_SHAPE, PDNS_SHAPE, type DatasetShape } from "./dataset.js";
import { benchCloudflareConcurrency, benchCloudflareScale } from "./cloudflare.js";
import { benchPowerDns } from "./powerdns.js";
import { benchPowerDnsScale, type Backend } from "./pdns-scale.js";
import { renderText, ratio, type BenchResult, type Section } from "./report.js";
import { benchRoute53Concurrency, benchRoute53Scale } from "./route53.js";
import { benchYaml } from "./yaml.js";
import { benchGcloudScale } from "./gcloud.js";
import { CLOUD_PROVIDERS, benchCloudScale, type CloudProvider, type Layout } from "./cloud-scale.js";
import { benchRateLimits } from "./rate-limits.js";
import { benchStartup } from "./startup.js";

/** 410 domains in 150 zones: enough requests for a stable ratio, short at concurrency 1. */
const CONCURRENCY_SHAPE: DatasetShape = {
  single: 100,
  parent: { zones: 40, subdomains: 5 },
  busy: { zones: 10, subdomains: 6, foreign: 400 },
};
const LATENCY_MS = 20;
/** The Route 53 provider's max_rps ceiling, used in the concurrency run. */
const R53_MAX_RPS = 100;
const PHASES = [
  "yaml",
  "route53",
  "cloudflare",
  "concurrency",
  "powerdns",
  "pdns-scale",
  "cloud-scale",
  "rate-limits",
  "gcloud",
  "azure",
  "startup",
] as const;
type Phase = (typeof PHASES)[number];

interface Args {
  json: boolean;
  only: Set<Phase>;
  sizes: number[];
  backends: Backend[];
  providers: CloudProvider[];
  layouts: Layout[];
  baseline?: string;
  /** --sizes was given (rate-limits then runs those sizes instead of its own). */
  sizesGiven: boolean;
}

function parseArgs(argv: string[]): Args {
  let json = false;
  let only = new Set<Phase>(PHASES);
  let sizes = [500, 5000, 10000];
  let backends: Backend[] = ["gsqlite3", "lmdb"];
  let providers: CloudProvider[] = [...CLOUD_PROVIDERS];
  let layouts: Layout[] = ["own", "shared"];
  let baseline: string | undefined;
  let sizesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = true;
    else if (a === "--only") {
      const list = (argv[++i] ?? "").split(",").filter((s) => s !== "");
      const bad = list.filter((p) => !(PHASES as readonly string[]).includes(p));
      if (list.length === 0 || bad.length > 0) throw new Error(`--only takes phases from: ${PHASES.join(", ")}`);
      only = new Set(list as Phase[]);
    } else if (a === "--sizes") {
      sizes = (argv[++i] ?? "").split(",").map(Number);
      sizesGiven = true;
      if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1))
        throw new Error("--sizes takes whole numbers, e.g. 500,5000");
    } else if (a === "--backends") {
      const list = (argv[++i] ?? "").split(",");
      if (list.some((b) => b !== "gsqlite3" && b !== "lmdb")) throw new Error("--backends takes gsqlite3 and/or lmdb");
      backends = list as Backend[];
    } else if (a === "--providers") {
      const list = (argv[++i] ?? "").split(",");
      if (list.some((p) => !(CLOUD_PROVIDERS as string[]).includes(p)))
        throw new Error(`--providers takes ${CLOUD_PROVIDERS.join(", ")}`);
      providers = list as CloudProvider[];
    } else if (a === "--layouts") {
      const list = (argv[++i] ?? "").split(",");
      if (list.some((l) => l !== "own" && l !== "shared")) throw new Error("--layouts takes own and/or shared");
      layouts = list as Layout[];
    } else if (a === "--baseline") {
      baseline = argv[++i];
      if (!baseline) throw new Error("--baseline takes the folder of a built dkimsync checkout");
    } else throw new Error(`unknown argument ${a}; use --json and --only ${PHASES.join(",")}`);
  }
  return { json, only, sizes, sizesGiven, backends, providers, layouts, ...(baseline ? { baseline } : {}) };
}

async function concurrencySection(log: (m: string) => void): Promise<Section> {
  const r53 = await benchRoute53Concurrency(CONCURRENCY_SHAPE, LATENCY_MS, log);
  const cf = await benchCloudflareConcurrency(CONCURRENCY_SHAPE, LATENCY_MS, log);
  // max_rps paces every request: at concurrency 8 the plan cannot beat requests / max_rps.
  const r53Floor = (r53.requests / R53_MAX_RPS) * 1000;
  return {
    title: `Concurrency: plan with every response held ${LATENCY_MS} ms, concurrency 1 vs 8 (${r53.zones} zones)`,
    figures: [
      {
        label: "route53: speed-up c1/c8",
        value: ratio(r53.c1, r53.c8),
        note: `${r53.requests} requests; max_rps ${R53_MAX_RPS} caps it at ${ratio(r53.c1, r53Floor).toFixed(1)}x here`,
      },
      { label: "route53: c8 / pacing floor", value: ratio(r53.c8, r53Floor), note: "1.0 = as fast as max_rps allows" },
      { label: "cloudflare: speed-up c1/c8", value: ratio(cf.c1, cf.c8), note: `${cf.requests} requests` },
      {
        label: "times (orientation only)",
        value: `r53 ${(r53.c1 / 1000).toFixed(1)} s -> ${(r53.c8 / 1000).toFixed(1)} s, cf ${(cf.c1 / 1000).toFixed(1)} s -> ${(cf.c8 / 1000).toFixed(1)} s`,
      },
    ],
  };
}

async function main(): Promise<number> {
  const { json, only, sizes, sizesGiven, backends, providers, layouts, baseline } = parseArgs(process.argv.slice(2));
  const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: os.availableParallelism(),
    sections: [],
    violations: [],
  };
  const t0 = performance.now();
  const phase = async (name: Phase, fn: () => Promise<{ section: Section; violations: string[] } | Section>) => {
    if (!only.has(name)) return;
    try {
      const out = await fn();
      if ("violations" in out) {
        result.sections.push(out.section);
        result.violations.push(...out.violations);
      } else result.sections.push(out);
    } catch (err) {
      const e = err as Error;
      log(`${name} failed: ${e.stack ?? e.message}`);
      result.violations.push(`${name}: the bench itself failed: ${e.message.split("\n")[0]}`);
    }
  };
  // yaml first: its memory figures are taken in the freshest process.
  await phase("yaml", () => benchYaml(SCALE_SHAPE, log));
  await phase("route53", () => benchRoute53Scale(SCALE_SHAPE, log));
  await phase("cloudflare", () => benchCloudflareScale(SCALE_SHAPE, log));
  await phase("concurrency", () => concurrencySection(log));
  await phase("powerdns", () => benchPowerDns(PDNS_SHAPE, log));
  await phase("pdns-scale", async () => {
    const out = await benchPowerDnsScale(sizes, backends, log);
    result.scale = out.results;
    result.targets = [...(result.targets ?? []), ...out.targets];
    return out;
  });
  await phase("cloud-scale", async () => {
    const out = await benchCloudScale(sizes, providers, layouts, log);
    result.cloudScale = out.results;
    result.targets = [...(result.targets ?? []), ...out.targets];
    return out;
  });
  await phase("rate-limits", async () => {
    const out = await benchRateLimits(log, sizesGiven ? sizes : undefined);
    result.rateLimits = out.results;
    result.targets = [...(result.targets ?? []), ...out.targets];
    return out;
  });
  await phase("gcloud", () => benchGcloudScale(SCALE_SHAPE, log));
  await phase("azure", () => benchAzureScale(SCALE_SHAPE, log));
  await phase("startup", async () => {
    const out = await benchStartup(baseline, log);
    result.startup = out.results;
    return out;
  });
  log(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : renderText(result));
  return result.violations.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
