import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/core/errors.js";
import { decodeInput, detectFormat, parseImport } from "../../src/m365/import-parse.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/import");

async function fixture(name: string): Promise<string> {
  return decodeInput(await fs.readFile(path.join(FIXTURES, name)));
}

function parseError(text: string, file = "in.txt"): InputError {
  try {
    parseImport(text, file);
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  throw new Error("expected an InputError");
}

const CONTOSO = {
  domain: "contoso.com",
  selector1: "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
  selector2: "selector2-contoso-com._domainkey.contoso.onmicrosoft.com",
};
const FABRIKAM = {
  domain: "fabrikam.com",
  selector1: "selector1-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft",
  selector2: "selector2-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft",
};

describe("ConvertTo-Json", () => {
  it("reads one object, ignores @odata sidecar keys and canonicalises targets", async () => {
    const parsed = parseImport(await fixture("signing-config-one.json"), "one.json");
    expect(parsed.format).toBe("json");
    // Selector2CNAME is written with capitals and a trailing dot in the fixture.
    expect(parsed.entries).toEqual([{ ...CONTOSO, status: "Valid", where: { file: "one.json", line: 2 } }]);
  });

  it("reads an array: new-format targets, IDN domains as A-labels, null targets kept absent", async () => {
    const parsed = parseImport(await fixture("signing-config-array.json"), "all.json");
    expect(parsed.entries.map((e) => [e.domain, e.selector1, e.selector2, e.status])).toEqual([
      [
        "contoso.onmicrosoft.com",
        "selector1-contoso-onmicrosoft-com._domainkey.contoso.onmicrosoft.com",
        "selector2-contoso-onmicrosoft-com._domainkey.contoso.onmicrosoft.com",
        "Valid",
      ],
      [FABRIKAM.domain, FABRIKAM.selector1, FABRIKAM.selector2, "CnameMissing"],
      [
        "xn--bcher-kva.example",
        "selector1-xn--bcher-kva-example._domainkey.contoso.a-v1.dkim.mail.microsoft",
        "selector2-xn--bcher-kva-example._domainkey.contoso.a-v1.dkim.mail.microsoft",
        "CnameMissing",
      ],
      ["wingtiptoys.com", undefined, undefined, "NoDKIMKeys"],
    ]);
  });

  it("accepts a UTF-8 BOM", async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      await fs.readFile(path.join(FIXTURES, "signing-config-one.json")),
    ]);
    expect(parseImport(decodeInput(bytes), "bom.json").entries[0]?.selector1).toBe(CONTOSO.selector1);
  });

  it("accepts UTF-16LE with a BOM, as Windows PowerShell 5.1 writes `> dkim.json`", async () => {
    const text = await fixture("signing-config-one.json");
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    expect(parseImport(decodeInput(bytes), "ps51.json").entries[0]?.selector2).toBe(CONTOSO.selector2);
  });

  it("names the file and line of invalid JSON", () => {
    const err = parseError('[\n  { "Domain": "a.com",\n  "Selector1CNAME": }\n]', "bad.json");
    expect(err.message).toMatch(/^bad\.json:3: is not valid JSON/);
  });

  it("keeps an object without targets (NoDKIMKeys) with no selectors, for the command to skip", () => {
    const parsed = parseImport(
      '{ "Domain": "contoso.com", "Selector1CNAME": null, "Selector2CNAME": null, "Status": "NoDKIMKeys" }',
      "none.json",
    );
    expect(parsed.entries).toEqual([
      { domain: "contoso.com", status: "NoDKIMKeys", where: { file: "none.json", line: 1 } },
    ]);
  });
});

describe("Format-List", () => {
  it("reads one domain's full Format-List output, rejoining values wrapped mid-hostname (CRLF)", async () => {
    const text = await fixture("format-list-single.txt");
    // The fixture is wrapped at 80 columns: the target breaks inside "onmicrosoft".
    expect(text).toContain("contoso.onmicros\r\n                               oft.com");
    const parsed = parseImport(text, "fl.txt");
    expect(parsed.format).toBe("format-list");
    expect(parsed.entries).toEqual([{ ...CONTOSO, status: "Valid", where: { file: "fl.txt", line: 5 } }]);
  });

  it("reads several domains separated by blank lines, with empty targets for NoDKIMKeys", async () => {
    const parsed = parseImport(await fixture("format-list-multi.txt"), "fl.txt");
    expect(parsed.entries.map((e) => [e.domain, e.selector1, e.selector2, e.status])).toEqual([
      [
        "contoso.onmicrosoft.com",
        "selector1-contoso-onmicrosoft-com._domainkey.contoso.onmicrosoft.com",
        "selector2-contoso-onmicrosoft-com._domainkey.contoso.onmicrosoft.com",
        "Valid",
      ],
      [CONTOSO.domain, CONTOSO.selector1, CONTOSO.selector2, "Valid"],
      [FABRIKAM.domain, FABRIKAM.selector1, FABRIKAM.selector2, "CnameMissing"],
      [
        "marketing.tailspintoys.com",
        "selector1-marketing-tailspintoys-com._domainkey.contoso.y-v1.dkim.mail.microsoft",
        "selector2-marketing-tailspintoys-com._domainkey.contoso.y-v1.dkim.mail.microsoft",
        "CnameMissing",
      ],
      ["wingtiptoys.com", undefined, undefined, "NoDKIMKeys"],
    ]);
  });

  it("accepts Name or Identity when Domain is not selected", () => {
    const text = [
      "Identity       : contoso.com",
      `Selector1CNAME : ${CONTOSO.selector1}`,
      `Selector2CNAME : ${CONTOSO.selector2}`,
    ].join("\n");
    expect(parseImport(text, "id.txt").entries[0]?.domain).toBe("contoso.com");
  });

  it("accepts output indented as a whole (pasted from a document)", () => {
    const text = [
      "    Domain         : fabrikam.com",
      "    Selector1CNAME : selector1-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.mi",
      "                     crosoft",
      "    Selector2CNAME : selector2-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.mi",
      "                     crosoft",
    ].join("\n");
    const [e] = parseImport(text, "ind.txt").entries;
    expect([e?.selector1, e?.selector2]).toEqual([FABRIKAM.selector1, FABRIKAM.selector2]);
  });

  it("names the line that is neither a key line nor a continuation", () => {
    const text = [
      "Domain         : contoso.com",
      `Selector1CNAME : ${CONTOSO.selector1}`,
      "garbage here",
      `Selector2CNAME : ${CONTOSO.selector2}`,
    ].join("\n");
    expect(parseError(text, "x.txt").message).toMatch(/^x\.txt:3: is neither/);
  });

  it("refuses a block that lacks Selector2CNAME", () => {
    const text = ["Domain         : contoso.com", `Selector1CNAME : ${CONTOSO.selector1}`].join("\n");
    expect(parseError(text, "x.txt").message).toBe("x.txt:1: contoso.com has no Selector2CNAME line");
  });
});

describe("the Exchange 'CNAME record does not exist' error text", () => {
  it("reads the dialog text with wraps inside a key, after 'selector1-' and inside a label", async () => {
    const parsed = parseImport(await fixture("exchange-error.txt"), "err.txt");
    expect(parsed.format).toBe("exchange-error");
    expect(parsed.entries).toEqual([{ ...FABRIKAM, where: { file: "err.txt", line: 2 } }]);
  });

  it("reads a legacy-target text on one long line, stopping before the closing ' .'", async () => {
    const parsed = parseImport(await fixture("exchange-error-legacy.txt"), "err.txt");
    expect(parsed.entries).toEqual([{ ...CONTOSO, where: { file: "err.txt", line: 1 } }]);
  });

  it("reads several pasted errors and the portal's 'Hostname:' wording", () => {
    const text = [
      "Domain Name : contoso.com",
      `Hostname: selector1._domainkey Points to address or value: ${CONTOSO.selector1}`,
      `Hostname: selector2._domainkey Points to address or value: ${CONTOSO.selector2}`,
      "",
      `Domain Name : fabrikam.com Host Name : selector1._domainkey Points to address or value: ${FABRIKAM.selector1}`,
      `Host Name : selector2._domainkey Points to address or value: ${FABRIKAM.selector2} .`,
    ].join("\n");
    expect(parseImport(text, "two.txt").entries.map((e) => e.domain)).toEqual(["contoso.com", "fabrikam.com"]);
  });

  it("asks for the domain when the text has no 'Domain Name'", () => {
    const text = `Host Name : selector1._domainkey\nPoints to address or value: ${CONTOSO.selector1}\n`;
    const err = parseError(text, "nodomain.txt");
    expect(err.message).toContain("names no domain");
    expect(err.hint).toContain("Domain Name : example.com");
  });
});

describe("validation and unknown input", () => {
  it("refuses an unknown format, naming the file and the accepted formats", async () => {
    const err = parseError(await fixture("dig-output.txt"), "dig.txt");
    expect(err.message).toBe("dig.txt: is not a format dkimsync can import");
    expect(err.hint).toContain("ConvertTo-Json");
    expect(err.hint).toContain("Format-List");
    expect(err.hint).toContain("CNAME record does not exist");
    expect(detectFormat("")).toBeUndefined();
  });

  it("refuses targets that are not Microsoft's, naming the domain", () => {
    const text = JSON.stringify({
      Domain: "contoso.com",
      Selector1CNAME: "selector1-contoso-com._domainkey.contoso.example.net",
      Selector2CNAME: CONTOSO.selector2,
    });
    // The JSON is read (and validated) by m365.parseSigningConfig: its message names the domain.
    expect(parseError(text, "x.json").message).toMatch(
      /^x\.json(:\d+)?: .*contoso\.com.*selector1 target .* must end in/,
    );
  });

  it("refuses swapped selectors and targets of two different suffixes in every format", () => {
    const swapped = [
      "Domain         : contoso.com",
      `Selector1CNAME : ${CONTOSO.selector2}`,
      `Selector2CNAME : ${CONTOSO.selector1}`,
    ].join("\n");
    expect(parseError(swapped, "fl.txt").message).toMatch(
      /^fl\.txt:1: contoso\.com: selector1 target .* must start with "selector1-/,
    );
    const mixed =
      `Domain Name : fabrikam.com Host Name : selector1._domainkey Points to address or value: ${FABRIKAM.selector1} ` +
      `Host Name : selector2._domainkey Points to address or value: ${FABRIKAM.selector2.replace(".r-v1.", ".a-v1.")}`;
    expect(parseError(mixed, "err.txt").message).toContain("same suffix");
    expect(parseError(mixed, "err.txt").hint).toContain("nothing was written");
  });

  it("refuses one domain listed twice with different targets", () => {
    const a = { Domain: "contoso.com", Selector1CNAME: CONTOSO.selector1, Selector2CNAME: CONTOSO.selector2 };
    const b = {
      ...a,
      Selector1CNAME: a.Selector1CNAME.replace("contoso.onm", "contoso2.onm"),
      Selector2CNAME: a.Selector2CNAME.replace("contoso.onm", "contoso2.onm"),
    };
    expect(parseError(JSON.stringify([a, b]), "dup.json").message).toContain("listed twice");
    expect(parseImport(JSON.stringify([a, a]), "same.json").entries).toHaveLength(1);
  });
});
