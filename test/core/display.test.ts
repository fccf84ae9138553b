import { describe, expect, it } from "vitest";
import { showDomain, unicodeOf } from "../../src/core/display.js";

describe("showDomain", () => {
  it("shows an internationalised domain as its U-label with the A-label beside it, and leaves ASCII names alone", () => {
    expect(showDomain("xn--bcher-kva.example")).toBe("bücher.example (xn--bcher-kva.example)");
    expect(showDomain("marketing.xn--mnchen-3ya.de")).toBe("marketing.münchen.de (marketing.xn--mnchen-3ya.de)");
    expect(showDomain("contoso.com")).toBe("contoso.com");
    expect(unicodeOf("my-shop.com")).toBe("my-shop.com");
    // xn-- only counts at the start of a label.
    expect(unicodeOf("axn--bcher-kva.example")).toBe("axn--bcher-kva.example");
    expect(unicodeOf("shop.example.xn--p1ai")).toBe("shop.example.рф");
  });
});
