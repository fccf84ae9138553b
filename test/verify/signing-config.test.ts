/**
 * verify holds the published CNAMEs to the targets Microsoft gave in signing_config, against a
 * real PowerDNS (test/helpers/journey.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { parseHostPort, verifyConfig, type VerifyReport } from "../../src/verify/checks.js";
import { startJourney, target, type Journey } from "../helpers/journey.js";

let journey: Journey;
let report: VerifyReport;
beforeAll(async () => {
  journey = await startJourney();
  const hp = parseHostPort(journey.dns, "--nameserver");
  report = await verifyConfig(loadConfig(journey.configFile), {
    nameserver: hp,
    resolver: hp,
    now: new Date("2025-06-01T00:00:00Z"),
    timeoutMs: 1500,
  });
});
afterAll(async () => {
  await journey?.stop();
});

const checks = (domain: string) => report.domains.find((d) => d.domain === domain)?.checks ?? [];

describe("verify and signing_config", () => {
  it("fails a selector whose CNAME is not the target Microsoft gave, and says which is right", () => {
    const mine = target("selector1", "moved.test");
    const microsoft = target("selector1", "moved.test", "contoso.a-v1.dkim.mail.microsoft");
    const t = checks("moved.test").find((c) => c.check === "selector1 target");
    expect(t?.status).toBe("fail");
    expect(t?.message).toContain(
      `the config's target ${mine} is not the one Microsoft gave moved.test in signing_config; ${microsoft} is right`,
    );
    const auth = checks("moved.test").find((c) => c.check === "selector1 cname (authoritative)");
    expect(auth?.status).toBe("fail");
    expect(auth?.message).toBe(`points to ${mine}, expected ${microsoft}`);
    expect(report.summary.fail).toBeGreaterThan(0);
  });

  it("fails a domain without usable targets (a NoDKIMKeys entry) on that domain only", () => {
    expect(checks("nokeys.test")).toEqual([
      expect.objectContaining({
        check: "targets",
        status: "fail",
        message: expect.stringMatching(
          /no DKIM keys for it yet.*New-DkimSigningConfig -DomainName nokeys\.test -Enabled \$false/,
        ),
      }),
    ]);
    expect(checks("ready.test").find((c) => c.check === "selector1 cname (authoritative)")?.status).toBe("pass");
  });
});
