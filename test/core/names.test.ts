import { describe, expect, it } from "vitest";
import {
  canonical,
  findZone,
  fqdn,
  isInZone,
  normaliseDomain,
  normaliseDomainInGeneral,
  relativeName,
  selectorName,
} from "../../src/core/names.js";

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

describe("normaliseDomain: the one-test path for plain names agrees with the general path", () => {
  // A fixed seed: the same inputs every run.
  let seed = 13;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pieces = [
    "a",
    "z",
    "0",
    "9",
    "-",
    ".",
    "xn--",
    "A",
    "_",
    " ",
    "é",
    "ex",
    "com",
    "123",
    "x".repeat(62),
    "b".repeat(64),
  ];
  const plainPieces = ["a", "z", "0", "9", "-", "ex", "com", "123"];
  // Labels of plain pieces joined by dots, one in three with any piece at all in it.
  const made = (): string => {
    const labels = 1 + Math.floor(random() * 4);
    const out: string[] = [];
    for (let l = 0; l < labels; l++) {
      const from = random() < 0.33 ? pieces : plainPieces;
      let label = "";
      for (let i = 0, n = 1 + Math.floor(random() * 4); i < n; i++) label += from[Math.floor(random() * from.length)];
      out.push(label);
    }
    return out.join(".");
  };
  const cases = [
    "example.com",
    "dom1.bench.test",
    "a.b",
    "1.2",
    "1.a2",
    "a.1-2",
    "a.-b",
    "a-.b",
    "xn--bcher-kva.example",
    "a.xn--p1ai",
    "axn--b.com",
    "Example.com",
    "example.com.",
    " example.com",
    "com",
    "a..b",
    ".a.b",
    `${"a".repeat(63)}.com`,
    `${"a".repeat(64)}.com`,
    `${"a.".repeat(125)}ab`,
    `${"a.".repeat(126)}ab`,
    "_dmarc.example.com",
    "bücher.example",
  ];
  it("gives the same name or the same error for edge cases and 20,000 made-up names", () => {
    let plain = 0;
    for (const input of [...cases, ...Array.from({ length: 20_000 }, made)]) {
      const got = normaliseDomain(input);
      expect(got, input).toEqual(normaliseDomainInGeneral(input));
      if ("name" in got && got.name === input) plain++;
    }
    // Both paths were exercised: many inputs are plain names, and many are not.
    expect(plain).toBeGreaterThan(1000);
    expect(plain).toBeLessThan(19_000);
  });
});
