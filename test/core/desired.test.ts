import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { desiredState, domainOfSelectorName } from "../../src/core/desired.js";

const modern = (sel: string, d: string) =>
  `${sel}-${d.replace(/\./g, "-")}._domainkey.contoso.q-v1.dkim.mail.microsoft`;
const legacy = (sel: string, d: string) => `${sel}-${d.replace(/\./g, "-")}._domainkey.contoso.onmicrosoft.com`;

function config(domains: string, entries: unknown[] = []) {
  const c = parseConfig(
    `tenant: contoso\nproviders:\n  zones: { type: yaml, directory: ./zones }\ndomains:\n${domains}`,
    "dkim.zones.yaml",
  );
  c.signingConfig = {
    file: "m365/dkim.json",
    entries: new Map(entries.map((e) => [(e as { domain: string }).domain, e as never])),
  };
  return c;
}

describe("desiredState", () => {
  it("gives every domain its source; a derived one carries the warning with how to get the exact values", () => {
    const states = desiredState(
      config("  a.example: { provider: zones }\n  b.example: { provider: zones }\n", [
        {
          domain: "b.example",
          selector1: modern("selector1", "b.example"),
          selector2: modern("selector2", "b.example"),
          status: "Valid",
        },
      ]),
    );
    expect(states.map((d) => [d.domain, d.source])).toEqual([
      ["a.example", "derived"],
      ["b.example", "signing_config"],
    ]);
    expect(states[0]?.warnings).toEqual([
      expect.stringMatching(
        /derived from tenant, not confirmed by signing_config.*May 2025.*Get-DkimSigningConfig -Identity a\.example \| Format-List Selector1CNAME,Selector2CNAME/,
      ),
    ]);
    expect(states[1]?.warnings).toEqual([]);
  });

  it("warns when the config's targets differ from the export's, naming the export's as the one Microsoft signs with", () => {
    const [d] = desiredState(
      config(
        `  c.example:\n    provider: zones\n    selector1: ${legacy("selector1", "c.example")}\n    selector2: ${legacy("selector2", "c.example")}\n`,
        [
          {
            domain: "c.example",
            selector1: modern("selector1", "c.example"),
            selector2: modern("selector2", "c.example"),
            status: "Valid",
          },
        ],
      ),
    );
    expect(d?.source).toBe("config");
    expect(d?.warnings).toHaveLength(2);
    expect(d?.warnings[0]).toContain(
      `differs from the signing_config export (${modern("selector1", "c.example")}), which is what Microsoft signs with`,
    );
  });

  it("keeps a domain's own problem on the domain instead of throwing", () => {
    const states = desiredState(
      config("  ok.example: { provider: zones }\n  nokeys.example: { provider: zones }\n", [
        { domain: "nokeys.example", status: "NoDKIMKeys" },
      ]),
    );
    expect(states.find((d) => d.domain === "ok.example")?.records).toHaveLength(2);
    const bad = states.find((d) => d.domain === "nokeys.example");
    expect(bad?.records).toEqual([]);
    expect(bad?.problem?.message).toMatch(
      /^dkim\.zones\.yaml:6: domain "nokeys\.example": the signing_config export .* has no DKIM keys/,
    );
  });

  it("finds the domain of a selector name", () => {
    expect(domainOfSelectorName("selector2._domainkey.marketing.contoso.com")).toBe("marketing.contoso.com");
    expect(domainOfSelectorName("google._domainkey.contoso.com")).toBeUndefined();
  });
});
