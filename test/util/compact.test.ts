/**
 * util/compact.ts: equal values, held in less memory. The memory checks count bytes of live
 * heap after a full collection (no timing): a value cut from a large text must not keep the text.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { exact, internType, ownString } from "../../src/util/compact.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** Live heap bytes held by what `make` returns, measured after full collections. */
function retained(make: () => unknown): number {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const held = make();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  expect(held).toBeDefined();
  return after - before;
}

const TEXTS = 1000;
const PAD = 20_000;
const VALUE = "selector1-contoso-com._domainkey.contoso.onmicrosoft.com";
/** A 20 KB text per value, as a zone file's text is to the values parsed from it. */
const cut = (i: number) => `${"x".repeat(PAD)}${VALUE}${i}`.slice(PAD);

describe("ownString", () => {
  it("returns an equal string, for short, long, sliced, concatenated and non-ASCII input", () => {
    for (const s of [
      "",
      "a",
      "CNAME",
      "twelve chars",
      "thirteen char",
      VALUE,
      cut(7),
      `${VALUE}.${"x".repeat(3)}`,
      "ünï-cødé ☃ name.example",
      // Lone surrogates and a pair split by the copy's cut survive exactly (no UTF-8 round trip).
      "v=DKIM1; p=\ud800 lone \udfff",
      "\u{1f600} and more than thirteen",
      'a"b\\c and more than thirteen',
    ])
      expect(ownString(s)).toBe(s);
  });

  it("does not keep the text a value was cut from: 1,000 values of 20 KB texts", () => {
    // The control: plain slices keep every text (20 MB), which is what the check must catch.
    const sliced = retained(() => Array.from({ length: TEXTS }, (_, i) => cut(i)));
    const owned = retained(() => Array.from({ length: TEXTS }, (_, i) => ownString(cut(i))));
    expect(sliced).toBeGreaterThan(TEXTS * PAD * 0.8);
    expect(owned).toBeLessThan(TEXTS * 200);
  });
});

describe("internType", () => {
  it("returns an equal string, the one shared copy for common types", () => {
    const made = "cname".toUpperCase();
    expect(internType(made)).toBe("CNAME");
    // Providers answer in any case; the result is the upper-case type either way.
    expect(internType("cname")).toBe("CNAME");
    expect(internType("Txt")).toBe("TXT");
    expect(internType("type65534")).toBe("TYPE65534");
    expect(internType("TYPE65534")).toBe("TYPE65534");
    expect(internType("")).toBe("");
  });
});

describe("exact", () => {
  it("returns a new array with the same elements", () => {
    const grown: number[] = [];
    grown.push(1, 2, 3);
    const e = exact(grown);
    expect(e).toEqual([1, 2, 3]);
    expect(e).not.toBe(grown);
    expect(exact([])).toEqual([]);
  });

  it("holds less than an array grown by push: 10,000 one-element arrays", () => {
    const pushed = retained(() =>
      Array.from({ length: 10_000 }, (_, i) => {
        const a: number[] = [];
        a.push(i);
        return a;
      }),
    );
    const fitted = retained(() =>
      Array.from({ length: 10_000 }, (_, i) => {
        const a: number[] = [];
        a.push(i);
        return exact(a);
      }),
    );
    expect(fitted).toBeLessThan(pushed * 0.6);
  });
});
