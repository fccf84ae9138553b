import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyInfo, parseKeyRecord, parseTagList, type DkimKeyRecord } from "../../src/dns/dkimkey.js";

function rsaKey(bits: number, type: "spki" | "pkcs1"): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return publicKey.export({ format: "der", type }).toString("base64");
}

function record(txt: string | string[]): DkimKeyRecord {
  const r = parseKeyRecord(txt);
  if ("error" in r) throw new Error(`expected a record, got: ${r.error}`);
  return r.record;
}

const RSA2048_SPKI = rsaKey(2048, "spki");
const RSA1024_SPKI = rsaKey(1024, "spki");

describe("parseTagList (RFC 6376 3.2)", () => {
  it("trims folding whitespace and allows a trailing semicolon", () => {
    const r = parseTagList(" v = DKIM1 ;\r\n\tk= rsa;  p=AB CD ;");
    expect(r).toEqual({
      tags: new Map([
        ["v", "DKIM1"],
        ["k", "rsa"],
        ["p", "AB CD"],
      ]),
    });
  });

  it("rejects a duplicate tag, which invalidates the whole list", () => {
    const r = parseTagList("p=abc; p=def");
    expect("error" in r && r.error).toMatch(/occurs twice/);
  });

  it("rejects a segment without =", () => {
    expect("error" in parseTagList("v=DKIM1; nonsense")).toBe(true);
  });
});

describe("parseKeyRecord (RFC 6376 3.6.1)", () => {
  it("concatenates TXT character-strings without separators", () => {
    const half = Math.floor(RSA2048_SPKI.length / 2);
    const r = record(["v=DKIM1; k=rsa; p=" + RSA2048_SPKI.slice(0, half), RSA2048_SPKI.slice(half)]);
    expect(r.publicKey).toBe(RSA2048_SPKI);
    expect(keyInfo(r)).toEqual({ type: "rsa", bits: 2048, encoding: "spki" });
  });

  it("removes whitespace folded into p=", () => {
    const folded = RSA1024_SPKI.replace(/(.{50})/g, "$1 \r\n\t");
    expect(record(`p=${folded}`).publicKey).toBe(RSA1024_SPKI);
  });

  it("defaults k= to rsa and s= to *", () => {
    const r = record(`p=${RSA1024_SPKI}`);
    expect(r.keyType).toBe("rsa");
    expect(r.serviceTypes).toEqual(["*"]);
    expect(r.version).toBeUndefined();
  });

  it("requires v= to be first when present", () => {
    const r = parseKeyRecord(`k=rsa; v=DKIM1; p=${RSA1024_SPKI}`);
    expect("error" in r && r.error).toMatch(/not the first tag/);
  });

  it("rejects a v= other than DKIM1", () => {
    const r = parseKeyRecord(`v=DKIM2; p=${RSA1024_SPKI}`);
    expect("error" in r && r.error).toMatch(/not DKIM1/);
  });

  it("requires p=", () => {
    const r = parseKeyRecord("v=DKIM1; k=rsa");
    expect("error" in r && r.error).toMatch(/p= .* missing/);
  });

  it("treats an empty p= as revoked", () => {
    const r = record("v=DKIM1; k=rsa; p=");
    expect(r.revoked).toBe(true);
    expect(keyInfo(r)).toEqual({ error: "the key is revoked (empty p=)" });
  });

  it("reads t=y (testing) and t=s (strict), h=, s= and Microsoft's n= notes", () => {
    const r = record(`v=DKIM1; k=rsa; h=sha256; s=email; t=y:s; n=2048,1452627113,1468351913; p=${RSA2048_SPKI}`);
    expect(r.testing).toBe(true);
    expect(r.strict).toBe(true);
    expect(r.hashAlgorithms).toEqual(["sha256"]);
    expect(r.serviceTypes).toEqual(["email"]);
    expect(r.notes).toBe("2048,1452627113,1468351913");
  });

  it("keeps unknown tags", () => {
    const r = record(`v=DKIM1; x_vendor=abc; p=${RSA1024_SPKI}`);
    expect(r.unknownTags).toEqual(["x_vendor"]);
    expect(r.tags.get("x_vendor")).toBe("abc");
  });
});

describe("keyInfo: size from the key itself", () => {
  it("reads 1024 and 2048 bit SubjectPublicKeyInfo keys", () => {
    expect(keyInfo(record(`p=${RSA1024_SPKI}`))).toEqual({ type: "rsa", bits: 1024, encoding: "spki" });
    expect(keyInfo(record(`p=${RSA2048_SPKI}`))).toEqual({ type: "rsa", bits: 2048, encoding: "spki" });
  });

  it("accepts a PKCS#1 RSAPublicKey", () => {
    expect(keyInfo(record(`k=rsa; p=${rsaKey(2048, "pkcs1")}`))).toEqual({
      type: "rsa",
      bits: 2048,
      encoding: "pkcs1",
    });
  });

  it("reads an Ed25519 key published as 32 raw bytes (RFC 8463)", () => {
    const { publicKey } = generateKeyPairSync("ed25519");
    const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("base64");
    expect(keyInfo(record(`v=DKIM1; k=ed25519; p=${raw}`))).toEqual({ type: "ed25519", bits: 256, encoding: "raw" });
  });

  it("rejects a key whose type differs from k=", () => {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ec = publicKey.export({ format: "der", type: "spki" }).toString("base64");
    expect(keyInfo(record(`k=rsa; p=${ec}`))).toEqual({ error: "k=rsa but p= holds a ec key" });
  });

  it("rejects garbage and unknown key types", () => {
    expect("error" in keyInfo(record("p=not*base64"))).toBe(true);
    expect("error" in keyInfo(record("p=AAAA"))).toBe(true);
    expect(keyInfo(record(`k=dsa; p=${RSA1024_SPKI}`))).toEqual({
      error: "k=dsa is not a key type DKIM verifiers know (rsa, ed25519)",
    });
  });
});
