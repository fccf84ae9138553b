import { describe, expect, it } from "vitest";
import { findZone } from "../../src/core/names.js";
import { findZoneIn } from "../../src/plan/build.js";

describe("findZoneIn: the longest listed zone of a name, one lookup per label", () => {
  const zones = ["example.com", "sub.example.com", "example.net", "co.uk", "shop.example.co.uk", "com"];
  const set = new Set(zones);

  it.each([
    ["example.com", "example.com"],
    ["mail.example.com", "example.com"],
    ["sub.example.com", "sub.example.com"],
    ["deep.sub.example.com", "sub.example.com"],
    ["notexample.com", "com"],
    ["x.shop.example.co.uk", "shop.example.co.uk"],
    ["other.example.co.uk", "co.uk"],
    ["example.org", undefined],
    ["nosuch", undefined],
  ])("%s -> %s", (name, zone) => {
    expect(findZoneIn(name, set)).toBe(zone);
  });

  it("agrees with findZone on every suffix of many names", () => {
    const names: string[] = [];
    for (const z of zones) for (const p of ["", "a.", "b.a.", "sub.", "xsub.", "example."]) names.push(`${p}${z}`);
    names.push("net", "uk", "example.com.evil.net", "subexample.com");
    for (const name of names) expect(findZoneIn(name, set), name).toBe(findZone(name, zones));
  });

  it("does not match a zone that is only a string suffix, not a label suffix", () => {
    expect(findZoneIn("badexample.net", new Set(["example.net"]))).toBeUndefined();
  });
});
