/**
 * TSIG (RFC 8945) signing of requests and verification of responses, on node:crypto.
 *
 * The MAC covers the message without its TSIG record, then the "TSIG variables" in canonical
 * wire form (RFC 8945 4.3.3). A response's MAC also covers the request's MAC first (RFC 8945
 * 5.3), and each later message of a TCP stream (AXFR) covers the prior MAC, the unsigned messages
 * since, this message and only the timers (RFC 8945 5.3.1). Compatible with BIND's and miekg/dns's
 * construction (observed against named 9.18 and nsupdate here: see test/providers/rfc2136).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { CLASS_ANY, TYPES, encodeName, parseMessage, readName } from "./wire.js";

export type TsigAlgorithm = "hmac-sha256" | "hmac-sha512";
export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = ["hmac-sha256", "hmac-sha512"];

export interface TsigKey {
  /** Canonical key name, e.g. `dkimsync`. */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

/** RFC 8945 5.2 (and 4.3.3 for the default fudge of 300 s). */
export const FUDGE = 300;

/** TSIG error codes, RFC 8945 and RFC 2845 (in the TSIG RDATA "Error" field). */
export const TSIG_ERRORS: Record<number, string> = {
  0: "NOERROR",
  16: "BADSIG",
  17: "BADKEY",
  18: "BADTIME",
  22: "BADTRUNC",
};

/** Why a response could not be trusted. */
export class TsigError extends Error {
  constructor(
    readonly code: "UNSIGNED" | "BADSIG" | "BADKEY" | "BADTIME" | "FORMAT",
    message: string,
  ) {
    super(message);
    this.name = "TsigError";
  }
}

/** Decode a base64 secret as written by `tsig-keygen`; rejects anything that is not base64. */
export function decodeSecret(secret: string): Buffer | undefined {
  const s = secret.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(s, "base64");
  return bytes.length === 0 ? undefined : bytes;
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(key.algorithm === "hmac-sha256" ? "sha256" : "sha512", key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

function uint48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32) & 0xffff, 0);
  b.writeUInt32BE(seconds >>> 0, 2);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** RFC 8945 4.3.3: the TSIG variables, in order. */
function variables(key: TsigKey, time: number, fudge: number, error: number, other: Buffer): Buffer {
  const classTtl = Buffer.alloc(6);
  classTtl.writeUInt16BE(CLASS_ANY, 0);
  classTtl.writeUInt32BE(0, 2);
  return Buffer.concat([
    encodeName(key.name),
    classTtl,
    encodeName(key.algorithm),
    uint48(time),
    u16(fudge),
    u16(error),
    u16(other.length),
    other,
  ]);
}

/** RFC 8945 5.3.1: only the timers, for the later messages of a TCP stream. */
function timers(time: number, fudge: number): Buffer {
  return Buffer.concat([uint48(time), u16(fudge)]);
}

function tsigRecord(
  key: TsigKey,
  f: { time: number; fudge: number; mac: Buffer; originalId: number; error: number; other: Buffer },
): Buffer {
  const rdata = Buffer.concat([
    encodeName(key.algorithm),
    uint48(f.time),
    u16(f.fudge),
    u16(f.mac.length),
    f.mac,
    u16(f.originalId),
    u16(f.error),
    u16(f.other.length),
    f.other,
  ]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPES.TSIG as number, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(key.name), fixed, rdata]);
}

/**
 * Sign a request: MAC over the message and the variables, then append the TSIG record and
 * increment ARCOUNT (RFC 8945 4.3.3, 5.1). Returns the MAC, which the response's MAC covers.
 */
export function signRequest(
  message: Buffer,
  key: TsigKey,
  opts: { time?: number; fudge?: number } = {},
): { message: Buffer; mac: Buffer; time: number } {
  const time = opts.time ?? Math.floor(Date.now() / 1000);
  const fudge = opts.fudge ?? FUDGE;
  const mac = hmac(key, [message, variables(key, time, fudge, 0, Buffer.alloc(0))]);
  const signed = Buffer.concat([
    message,
    tsigRecord(key, { time, fudge, mac, originalId: message.readUInt16BE(0), error: 0, other: Buffer.alloc(0) }),
  ]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { message: signed, mac, time };
}

export interface TsigFields {
  keyName: string;
  algorithm: string;
  time: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
  /** The message without its TSIG record, ARCOUNT decremented, ID set back to the original. */
  unsigned: Buffer;
}

/** Find and decode the TSIG record; it must be the last additional record (RFC 8945 5.1). */
export function readTsig(message: Buffer): TsigFields | undefined {
  const parsed = parseMessage(message);
  const additional = parsed.sections[2];
  const last = additional[additional.length - 1];
  if (!last || last.type !== TYPES.TSIG) return undefined;
  const rd = message;
  let at = last.rdataOffset;
  const alg = readName(rd, at);
  at = alg.next;
  const time = rd.readUInt16BE(at) * 2 ** 32 + rd.readUInt32BE(at + 2);
  const fudge = rd.readUInt16BE(at + 6);
  const macSize = rd.readUInt16BE(at + 8);
  const mac = rd.subarray(at + 10, at + 10 + macSize);
  at += 10 + macSize;
  const originalId = rd.readUInt16BE(at);
  const error = rd.readUInt16BE(at + 2);
  const otherLen = rd.readUInt16BE(at + 4);
  const other = rd.subarray(at + 6, at + 6 + otherLen);
  const unsigned = Buffer.from(message.subarray(0, last.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(message.readUInt16BE(10) - 1, 10);
  return {
    keyName: last.name,
    algorithm: alg.name,
    time,
    fudge,
    mac: Buffer.from(mac),
    originalId,
    error,
    other: Buffer.from(other),
    unsigned,
  };
}

/** Verify the MAC of a signed request (as a server would); used by tests on nsupdate's packets. */
export function verifyRequest(message: Buffer, key: TsigKey): TsigFields {
  const t = readTsig(message);
  if (!t) throw new TsigError("UNSIGNED", "the message has no TSIG record");
  const expected = hmac(key, [t.unsigned, variables(key, t.time, t.fudge, t.error, t.other)]);
  if (!equalMac(expected, t.mac)) throw new TsigError("BADSIG", "the request's MAC does not verify");
  return t;
}

function equalMac(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Verifies the responses to one signed request: a single response, or every message of a TCP
 * stream such as AXFR (RFC 8945 5.3.1; BIND may sign only every Nth message, so unsigned
 * messages in between are carried into the next MAC, and the last message must be signed).
 */
export class ResponseVerifier {
  private priorMac: Buffer;
  private pending: Buffer[] = [];
  private first = true;

  constructor(
    private readonly key: TsigKey,
    requestMac: Buffer,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    this.priorMac = requestMac;
  }

  /** True when the stream ended on a signed message. */
  get complete(): boolean {
    return !this.first && this.pending.length === 0;
  }

  /**
   * Verify one message. Returns the TSIG error the server reported (0 when all is well).
   * BADSIG and BADKEY answers are unsigned by design (RFC 8945 5.3.2): they are returned, never
   * trusted as success. Throws TsigError when the message is unsigned or its MAC is wrong.
   */
  verify(message: Buffer): { tsigError: number; serverTime: number } {
    const t = readTsig(message);
    if (!t) {
      // RFC 8945 5.3.1: only messages after the first may be unsigned (at most 99 in a row).
      if (this.first) throw new TsigError("UNSIGNED", "the server's answer is not signed with TSIG");
      this.pending.push(message);
      if (this.pending.length > 99) throw new TsigError("UNSIGNED", "more than 99 unsigned messages in a row");
      return { tsigError: 0, serverTime: 0 };
    }
    if (t.keyName !== this.key.name)
      throw new TsigError("FORMAT", `the answer is signed with key ${t.keyName}, not ${this.key.name}`);
    if ((t.error === 16 || t.error === 17) && t.mac.length === 0) {
      return { tsigError: t.error, serverTime: t.time };
    }
    if (t.algorithm !== this.key.algorithm)
      throw new TsigError("FORMAT", `the answer is signed with ${t.algorithm}, not ${this.key.algorithm}`);
    const vars = this.first ? variables(this.key, t.time, t.fudge, t.error, t.other) : timers(t.time, t.fudge);
    const expected = hmac(this.key, [u16(this.priorMac.length), this.priorMac, ...this.pending, t.unsigned, vars]);
    if (!equalMac(expected, t.mac))
      throw new TsigError(
        "BADSIG",
        "the MAC of the server's answer does not verify (wrong secret, or the answer was altered)",
      );
    // RFC 8945 5.4.3: the client checks the server's clock as the server checks ours.
    if (t.error === 0 && Math.abs(this.now() - t.time) > t.fudge) {
      throw new TsigError(
        "BADTIME",
        `the server's signature time is ${this.now() - t.time} s away from this machine's clock`,
      );
    }
    this.priorMac = t.mac;
    this.pending = [];
    this.first = false;
    // RFC 8945 5.2.3: a BADTIME answer keeps the request's Time Signed and carries the server's
    // own clock in Other Data (48 bits); observed on named 9.18.
    const serverTime =
      t.error === 18 && t.other.length === 6 ? t.other.readUInt16BE(0) * 2 ** 32 + t.other.readUInt32BE(2) : t.time;
    return { tsigError: t.error, serverTime };
  }
}
