import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, it, expect } from "vitest";
import {
  ResponseVerifier,
  TsigError,
  decodeSecret,
  readTsig,
  signRequest,
  verifyRequest,
  type TsigKey,
} from "../../../providers/rfc2136/tsig.js";
import { encodeQuery, parseMessage } from "../../../providers/rfc2136/wire.js";
import { startBind, type BindServer } from "../../servers/bind.js";

let server: BindServer;
let key: TsigKey;

beforeAll(async () => {
  server = await startBind({
    zones: [{ name: "example.com", records: [{ name: "t.example.com", type: "TXT", ttl: 60, values: ["hello"] }] }],
  });
  key = { name: server.tsig.name, algorithm: "hmac-sha256", secret: decodeSecret(server.tsig.secret) as Buffer };
});
afterAll(async () => {
  await server?.stop();
});

function udp(message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error("no answer"));
    }, 3000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(message, server.port, "127.0.0.1");
  });
}

async function signedExchange(k: TsigKey) {
  const signed = signRequest(encodeQuery({ id: 4242, name: "t.example.com", type: "TXT" }), k);
  return { signed, response: await udp(signed.message) };
}

describe("signRequest / verifyRequest", () => {
  it("appends a TSIG record as the last additional record and bumps ARCOUNT", () => {
    const plain = encodeQuery({ id: 1, name: "example.com", type: "SOA" });
    const { message, mac, time } = signRequest(plain, key, { time: 1_700_000_000 });
    expect(message.readUInt16BE(10)).toBe(1);
    const t = verifyRequest(message, key);
    expect(t).toMatchObject({
      keyName: key.name,
      algorithm: "hmac-sha256",
      time: 1_700_000_000,
      fudge: 300,
      originalId: 1,
      error: 0,
    });
    expect(t.mac).toEqual(mac);
    expect(mac.length).toBe(32);
    expect(t.unsigned).toEqual(plain);
    expect(time).toBe(1_700_000_000);
  });

  it("rejects a signed message that was altered", () => {
    const { message } = signRequest(encodeQuery({ id: 1, name: "example.com", type: "SOA" }), key);
    const tampered = Buffer.from(message);
    tampered[13] = (tampered[13] as number) ^ 0x20; // a letter of the question name changes case
    expect(() => verifyRequest(tampered, key)).toThrow(TsigError);
  });

  it("uses a 64-octet MAC for hmac-sha512", () => {
    const { mac } = signRequest(encodeQuery({ id: 1, name: "example.com", type: "SOA" }), {
      ...key,
      algorithm: "hmac-sha512",
    });
    expect(mac.length).toBe(64);
  });
});

describe("ResponseVerifier against named", () => {
  it("accepts named's signed answer (RFC 8945 5.3: request MAC, response, variables)", async () => {
    const { signed, response } = await signedExchange(key);
    const result = new ResponseVerifier(key, signed.mac).verify(response);
    expect(result.tsigError).toBe(0);
    expect(parseMessage(response).sections[0]).toHaveLength(1);
  });

  it("rejects a tampered answer", async () => {
    const { signed, response } = await signedExchange(key);
    const tampered = Buffer.from(response);
    const answer = parseMessage(response).sections[0][0];
    // Change one octet of the TXT data: "hello" -> "jello".
    tampered[(answer?.rdataOffset as number) + 1] = "j".charCodeAt(0);
    expect(() => new ResponseVerifier(key, signed.mac).verify(tampered)).toThrow(/does not verify/);
  });

  it("rejects an answer whose MAC does not chain to our request's MAC", async () => {
    const { response } = await signedExchange(key);
    expect(() => new ResponseVerifier(key, randomBytes(32)).verify(response)).toThrow(/does not verify/);
  });

  it("rejects an unsigned answer to a signed request", async () => {
    const { signed, response } = await signedExchange(key);
    const t = readTsig(response);
    expect(() => new ResponseVerifier(key, signed.mac).verify(t?.unsigned as Buffer)).toThrow(/not signed/);
  });

  it("rejects an answer signed too far from our clock (RFC 8945 5.4.3)", async () => {
    const { signed, response } = await signedExchange(key);
    const later = () => Math.floor(Date.now() / 1000) + 3600;
    expect(() => new ResponseVerifier(key, signed.mac, later).verify(response)).toThrow(/clock/);
  });

  it("reports BADSIG from named for a wrong secret, without trusting the answer", async () => {
    const wrong = { ...key, secret: randomBytes(32) };
    const { signed, response } = await signedExchange(wrong);
    expect(parseMessage(response).rcode).toBe(9); // NOTAUTH
    expect(new ResponseVerifier(wrong, signed.mac).verify(response).tsigError).toBe(16);
  });

  it("reports BADKEY from named for an unknown key name", async () => {
    const unknown = { ...key, name: "nobody" };
    const { signed, response } = await signedExchange(unknown);
    expect(new ResponseVerifier(unknown, signed.mac).verify(response).tsigError).toBe(17);
  });
});

describe("decodeSecret", () => {
  it("accepts base64 and rejects anything else", () => {
    expect(decodeSecret("c2VjcmV0")).toEqual(Buffer.from("secret"));
    expect(decodeSecret("not base64!")).toBeUndefined();
    expect(decodeSecret("")).toBeUndefined();
  });
});
