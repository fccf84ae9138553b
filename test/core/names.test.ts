import { describe, expect, it } from "vitest";
import { canonical, findZone, fqdn, isInZone, relativeName, selectorName } from "../../src/core/names.js";

describe("canonical names", () => {
  it("lowercases, trims and drops one trailing dot", () => {
    expect(canonical(" Selector1._DomainKey.Example.COM. ")).toBe("selector1._domainkey.example.com");
    expect(canonical("example.com")).toBe("example.com");
  });
  it("fqdn adds exactly one trailing dot", () => {
    expect(fqdn("Example.com.")).toBe("example.com.");
    expect(fqdn("example.com")).toBe("example.com.");
  });
});

describe("zones", () => {
  it("a name is in its zone, at the apex or below, never by a shared suffix alone", () => {
    expect(isInZone("example.com", "example.com")).toBe(true);
    expect(isInZone("selector1._domainkey.example.com", "example.com")).toBe(true);
    expect(isInZone("badexample.com", "example.com")).toBe(false);
  });
  it("findZone picks the longest zone that contains the name", () => {
    const zones = ["com", "example.com", "marketing.example.com", "other.example.com"];
    expect(findZone("selector1._domainkey.marketing.example.com", zones)).toBe("marketing.example.com");
    expect(findZone("selector1._domainkey.shop.example.com", zones)).toBe("example.com");
    expect(findZone("selector1._domainkey.example.net", zones)).toBeUndefined();
  });
  it("relativeName is '' at the apex and refuses a name outside the zone", () => {
    expect(relativeName("example.com", "example.com")).toBe("");
    expect(relativeName("selector1._domainkey.shop.example.com", "example.com")).toBe("selector1._domainkey.shop");
    expect(() => relativeName("example.net", "example.com")).toThrow(/not in zone/);
  });
  it("selectorName builds Microsoft's fixed host names", () => {
    expect(selectorName("selector1", "example.com")).toBe("selector1._domainkey.example.com");
    expect(selectorName("selector2", "xn--bcher-kva.example")).toBe("selector2._domainkey.xn--bcher-kva.example");
  });
});

describe("canonical: names already canonical are returned as they are", () => {
  it("gives the same result as the general path for every kind of input", () => {
    const general = (n: string) => {
      const t = n.trim();
      return (t.endsWith(".") ? t.slice(0, -1) : t).toLowerCase();
    };
    for (const n of [
      "",
      ".",
      "example.com",
      "example.com.",
      "Example.com",
      " example.com",
      "example.com\t",
      "_domainkey.example.com",
      "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
      "bücher.example",
      "B\u00dcCHER.example",
      "example.com\u00a0",
      "a~b!c.example",
      "@",
      "Z",
      "z",
    ]) {
      expect(canonical(n), JSON.stringify(n)).toBe(general(n));
    }
  });
});
