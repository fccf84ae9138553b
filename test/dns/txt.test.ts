import { describe, expect, it } from "vitest";
import { formatCharacterStrings, parseCharacterStrings } from "../../src/dns/txt.js";

describe("parseCharacterStrings (RFC 1035 5.1 presentation form)", () => {
  it("joins several quoted strings without a separator (RFC 6376 3.6.2.2)", () => {
    expect(parseCharacterStrings('"v=DKIM1; k=rsa; " "p=MIIB"', "decimal")).toBe("v=DKIM1; k=rsa; p=MIIB");
  });
  it("reads bare words separated by blanks as separate strings", () => {
    expect(parseCharacterStrings("abc\tdef  ghi", "decimal")).toBe("abcdefghi");
  });
  it("reads a backslash before any character as that character", () => {
    expect(parseCharacterStrings('"say \\"hi\\" \\\\ there"', "decimal")).toBe('say "hi" \\ there');
  });
  it("reads three digits as one octet in the provider's base", () => {
    // PowerDNS writes decimal escapes, Route 53 octal ones: \059 and \073 are both ";".
    expect(parseCharacterStrings('"a\\059b"', "decimal")).toBe("a;b");
    expect(parseCharacterStrings('"a\\073b"', "octal")).toBe("a;b");
  });
  it("joins escaped octets into UTF-8 characters", () => {
    expect(parseCharacterStrings('"\\303\\274"', "octal")).toBe("ü");
    expect(parseCharacterStrings('"\\195\\188"', "decimal")).toBe("ü");
  });
  it("keeps an octal-looking escape with digits 8 or 9 as plain characters in octal mode", () => {
    expect(parseCharacterStrings('"\\089"', "octal")).toBe("089");
  });
});

describe("formatCharacterStrings", () => {
  it("quotes and escapes quote and backslash", () => {
    expect(formatCharacterStrings('a"b\\c', "decimal")).toBe('"a\\"b\\\\c"');
  });
  it("escapes octets outside printable ASCII in the provider's base", () => {
    expect(formatCharacterStrings("ü", "decimal")).toBe('"\\195\\188"');
    expect(formatCharacterStrings("ü", "octal")).toBe('"\\303\\274"');
  });
  it("splits into character-strings of at most 255 octets (RFC 1035 3.3.14)", () => {
    const long = "p".repeat(600);
    const out = formatCharacterStrings(long, "decimal");
    const parts = out.split(" ");
    expect(parts.map((p) => p.length - 2)).toEqual([255, 255, 90]);
    expect(parseCharacterStrings(out, "decimal")).toBe(long);
  });
  it("writes an empty value as one empty string", () => {
    expect(formatCharacterStrings("", "octal")).toBe('""');
  });
  it("round-trips every byte value through both bases", () => {
    const all = Buffer.from(Array.from({ length: 0x7f }, (_, i) => i + 1)).toString("latin1") + "é€";
    for (const base of ["decimal", "octal"] as const) {
      expect(parseCharacterStrings(formatCharacterStrings(all, base), base)).toBe(all);
    }
  });
});
