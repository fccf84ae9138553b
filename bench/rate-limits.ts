/**
 * dkimsync under the providers' real rate limits, with its default limiters, as a user runs it
 * (the built CLI in a child process): does it stay inside the limit (no throttled request) and
 * how close does it come to the fastest the limit allows?
 *
 * - Route 53: the fake's token bucket at 5 requests/s, burst 5 (Route 53 quotas: "five requests
 *   per second per AWS account"), dkimsync's default `max_rps` (5). Floor: requests / 5 s.
 * - Cloudflare: the fake allows 1,200 requests per token in a sliding 5-minute window
 *   (Cloudflare API limits: 1,200 requests per five minutes), dkimsync's default
 *   `max_requests_per_5min` (1,200). The provider's window is fixed at 5 minutes (no option),
 *   so the run uses the real window with just over 1,200 requests. Floor, the least time any
 *   client needs for N requests at L per window W: floor((N - 1) / L) x W.
 *
 * Both runs apply from nothing (read, write and read back every zone), in parallel: each has its
 * own fake and its own process, and both spend their time waiting for their limiters.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cloudConfig, cloudDataset, startCloudflare, startRoute53, type Backend } from "./cloud-scale.js";
import { runCli } from "./pdns-scale.js";
import type { Section } from "./report.js";

/** 150 zones: 2 zone pages + 3 x 150 requests = 452 requests, about 90 s at 5/s. */
const R53_DOMAINS = 150;
/** 300 zones: 6 zone pages + 4 x 300 requests = 1,206, just over one window of 1,200. */
const CF_DOMAINS = 300;
const R53_RPS = 5;
const CF_LIMIT = 1200;
const CF_WINDOW_MS = 5 * 60 * 1000;

export interface RateResult {
  provider: "route53" | "cloudflare";
  domains: number;
  exitCode: number;
  wallMs: number;
  cpuMs: number;
  maxRssMb: number;
  requests: Record<string, number>;
  totalRequests: number;
  failedRequests: number;
  floorMs: number;
  wallOverFloor: number;
  rule: string;
}

async function one(provider: "route53" | "cloudflare", size: number, log: (m: string) => void): Promise<RateResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `dkimsync-bench-rate-${provider}-`));
  const zones = cloudDataset(size, "own");
  let backend: Backend | undefined;
  try {
    // Fakes at the real limits; dkimsync with no limit option, i.e. its defaults.
    backend =
      provider === "route53"
        ? await startRoute53(dir, zones, { fakeRps: R53_RPS })
        : await startCloudflare(zones, { fakeLimit: CF_LIMIT });
    const file = path.join(dir, "dkim.zones.yaml");
    await fs.writeFile(file, cloudConfig(zones, provider, backend.options, "contoso"));
    log(`rate-limits ${provider}: apply of ${size} domains under the real limit`);
    backend.take();
    const run = await runCli(["apply", "-c", file], dir, backend.env);
    const { requests, failed } = backend.take();
    const total = Object.values(requests).reduce((a, b) => a + b, 0);
    const floorMs =
      provider === "route53" ? (total / R53_RPS) * 1000 : Math.floor((total - 1) / CF_LIMIT) * CF_WINDOW_MS;
    log(
      `rate-limits ${provider}: exit ${run.code}, ${(run.wallMs / 1000).toFixed(1)} s, ${total} requests, ${failed} failed, floor ${(floorMs / 1000).toFixed(1)} s`,
    );
    if (run.code !== 0) log(run.stderr.slice(0, 2000));
    return {
      provider,
      domains: size,
      exitCode: run.code,
      wallMs: run.wallMs,
      cpuMs: run.usage.cpuMs,
      maxRssMb: run.usage.maxRssKb / 1024,
      requests,
      totalRequests: total,
      failedRequests: failed,
      floorMs,
      wallOverFloor: floorMs === 0 ? Number.NaN : run.wallMs / floorMs,
      rule:
        provider === "route53"
          ? `${R53_RPS} requests/s, floor = requests / ${R53_RPS}`
          : `${CF_LIMIT} per 5 min sliding, floor = floor((N-1)/${CF_LIMIT}) x 300 s`,
    };
  } finally {
    await backend?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * `sizes` (the bench's --sizes): run both providers at each of these domain counts, one size
 * after the other, instead of the default 150 (Route 53) and 300 (Cloudflare). At the real
 * limits an apply of N domains takes about 3N/5 s on Route 53 and 4N/1200 x 5 min on
 * Cloudflare: 500 domains about 5 minutes each; 5,000 domains about 50 and 80 minutes.
 */
export async function benchRateLimits(
  log: (m: string) => void,
  sizes?: number[],
): Promise<{
  section: Section;
  violations: string[];
  results: RateResult[];
  targets: { target: string; measured: string; met: boolean }[];
}> {
  const results: RateResult[] = [];
  const pairs: [number, number][] = sizes ? sizes.map((n) => [n, n]) : [[R53_DOMAINS, CF_DOMAINS]];
  for (const [r53, cf] of pairs)
    results.push(...(await Promise.all([one("route53", r53, log), one("cloudflare", cf, log)])));
  const violations: string[] = [];
  const targets = [];
  const figures = [];
  for (const r of results) {
    const label = `${r.provider} apply ${r.domains} domains (${r.rule})`;
    figures.push({
      label,
      value: `${(r.wallMs / 1000).toFixed(1)} s, ${r.wallOverFloor.toFixed(3)}x floor`,
      note: `${r.totalRequests} req, ${r.failedRequests} failed; floor ${(r.floorMs / 1000).toFixed(1)} s; cpu ${(r.cpuMs / 1000).toFixed(2)} s; rss ${r.maxRssMb.toFixed(0)} MB; ${JSON.stringify(r.requests)}`,
    });
    if (r.exitCode !== 0) violations.push(`rate-limits ${label}: exit ${r.exitCode}, expected 0`);
    if (r.failedRequests > 0)
      violations.push(`rate-limits ${label}: ${r.failedRequests} throttled or failed requests (budget 0)`);
    if (r.provider === "cloudflare" && r.totalRequests <= CF_LIMIT && r.domains >= CF_DOMAINS)
      violations.push(`rate-limits ${label}: ${r.totalRequests} requests never crossed the window of ${CF_LIMIT}`);
    targets.push({
      target: `${r.provider} ${r.domains} domains: wall within 15 % of the rate-limit floor`,
      measured: `${r.wallOverFloor.toFixed(3)}x`,
      met: r.wallOverFloor <= 1.15,
    });
  }
  for (const t of targets)
    figures.push({ label: `target: ${t.target}`, value: t.met ? "met" : "MISSED", note: t.measured });
  return {
    section: { title: "Rate limits: real limits on the fakes, dkimsync's default limiters (built CLI)", figures },
    violations,
    results,
    targets,
  };
}
