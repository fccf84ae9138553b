/**
 * The cloud-scale bench's arithmetic: the bounds it judges dkimsync against, and that its
 * budgets really fail a run. The bench itself runs the built CLI (`npm run bench`); this
 * checks only what it computes.
 */
import { describe, expect, it } from "vitest";
import { bound, cloudDataset, judgeCloud, type CloudResult } from "../../bench/cloud-scale.js";

describe("cloud-scale bounds", () => {
  it("Route 53: one zones page per 100 zones, one read per zone; writes add a batch and a read-back per zone", () => {
    expect(bound("route53", "plan", 10_000)).toBe(100 + 10_000);
    expect(bound("route53", "apply", 10_000)).toBe(100 + 3 * 10_000);
    expect(bound("route53", "plan", 101)).toBe(2 + 101);
  });

  it("Cloudflare: one zones page per 50 zones, records and dns_settings per zone; writes add a batch and a read-back", () => {
    expect(bound("cloudflare", "plan", 500)).toBe(10 + 2 * 500);
    expect(bound("cloudflare", "update", 500)).toBe(10 + 4 * 500);
    expect(bound("cloudflare", "plan", 51)).toBe(2 + 2 * 51);
  });

  it("datasets: own zones hold one domain, shared zones five (the last one may hold fewer)", () => {
    expect(cloudDataset(7, "own").map((z) => z.domains.length)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    const shared = cloudDataset(7, "shared");
    expect(shared.map((z) => z.domains)).toEqual([
      [
        "org0.bench.test",
        "mail.org0.bench.test",
        "news.org0.bench.test",
        "shop.org0.bench.test",
        "web.org0.bench.test",
      ],
      ["org1.bench.test", "mail.org1.bench.test"],
    ]);
  });
});

describe("cloud-scale budgets", () => {
  const result = (over: Partial<CloudResult>): CloudResult => ({
    provider: "route53",
    layout: "own",
    domains: 100,
    zones: 100,
    scenario: "plan",
    exitCode: 2,
    expectedExit: 2,
    wallMs: 1000,
    cpuMs: 500,
    maxRssMb: 80,
    requests: { ListResourceRecordSets: 101 },
    totalRequests: 101,
    failedRequests: 0,
    bound: 101,
    requestsOverBound: 1,
    ...over,
  });

  it("holds at the bound and at 1.10x", () => {
    expect(judgeCloud([result({}), result({ totalRequests: 111, requestsOverBound: 111 / 101 })]).violations).toEqual(
      [],
    );
  });

  it("fails above 1.10x the bound, on a failed request and on an unexpected exit code", () => {
    const v = judgeCloud([
      result({ totalRequests: 112, requestsOverBound: 112 / 101 }),
      result({ failedRequests: 1 }),
      result({ exitCode: 1 }),
    ]).violations;
    expect(v).toHaveLength(3);
    expect(v[0]).toMatch(/1\.11x the bound 101/);
    expect(v[1]).toMatch(/1 failed requests/);
    expect(v[2]).toMatch(/exit 1, expected 2/);
  });

  it("reports peak RSS over 100 MB at 10,000 domains as a missed target", () => {
    const t = judgeCloud([result({ domains: 10_000, maxRssMb: 146 })]).targets;
    expect(t.find((x) => x.target.includes("peak RSS"))).toMatchObject({ met: false, measured: "146 MB" });
  });
});
