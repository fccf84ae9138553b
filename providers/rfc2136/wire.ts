/**
 * DNS wire format for RFC 2136 UPDATE messages and the few queries the rfc2136 provider sends.
 *
 * Why our own encoder: `dns-packet` silently ignores opcode UPDATE and cannot express class
 * NONE or the empty-RDATA deletes and prerequisites, and no npm package signs TSIG.
 * Names are written uncompressed (RFC 1035 4.1.4 makes compression optional for senders).
 * The small parser here decompresses names so it can read what BIND and nsupdate send.
 */

/** RFC 1035 4.1.1 / RFC 2136 1.3 (opcode 5 = UPDATE). */
export const OPCODE_QUERY = 0;
export const OPCODE_UPDATE = 5;

/** RFC 1035 3.2.4 and RFC 2136 1.3: the classes an UPDATE uses to mean different things. */
export const CLASS_IN = 1;
export const CLASS_NONE = 254;
export const CLASS_ANY = 255;

/** RFC 1035 3.2.2, RFC 1035 3.2.3 (AXFR 252, ANY 255), RFC 8945 4.2 (TSIG 250). */
export const TYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  LOC: 29,
  SRV: 33,
  NAPTR: 35,
  DNAME: 39,
  DS: 43,
  SSHFP: 44,
  TLSA: 52,
  SPF: 99,
  CAA: 257,
  TSIG: 250,
  AXFR: 252,
  ANY: 255,
};

/** RFC 1035 4.1.1, RFC 2136 2.2, RFC 8945 (NOTAUTH reused for TSIG failures). */
export const RCODES: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  6: "YXDOMAIN",
  7: "YXRRSET",
  8: "NXRRSET",
  9: "NOTAUTH",
  10: "NOTZONE",
};

export function typeCode(type: string | number): number {
  if (typeof type === "number") return type;
  const known = TYPES[type.toUpperCase()];
  if (known !== undefined) return known;
  // RFC 3597 5: TYPEnnn for types without a mnemonic.
  const m = /^TYPE(\d+)$/i.exec(type);
  if (m) return Number(m[1]);
  throw new Error(`unknown record type ${type}`);
}

export function typeName(code: number): string {
  for (const [name, value] of Object.entries(TYPES)) if (value === code) return name;
  return `TYPE${code}`;
}

/**
 * A canonical name (lowercase, absolute, no trailing dot; "" is the root) in uncompressed wire
 * form. This is also the canonical wire form RFC 8945 4.3.3 asks for in the TSIG variables
 * (RFC 4034 6.2: lowercase, uncompressed).
 */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  const parts: Buffer[] = [];
  if (trimmed !== "") {
    for (const label of trimmed.split(".")) {
      const bytes = Buffer.from(label.toLowerCase(), "utf8");
      // RFC 1035 2.3.4: labels are 1..63 octets.
      if (bytes.length === 0 || bytes.length > 63) throw new Error(`invalid label "${label}" in ${name}`);
      parts.push(Buffer.from([bytes.length]), bytes);
    }
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  // RFC 1035 2.3.4: a name is at most 255 octets in wire form.
  if (wire.length > 255) throw new Error(`name ${name} is longer than 255 octets`);
  return wire;
}

/** TXT RDATA: RFC 1035 3.3.14, one or more <character-string>s of at most 255 octets. */
export function encodeTxt(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** RDATA for the types dkimsync writes. CNAME targets are canonical names. */
export function encodeRdata(type: string, value: string): Buffer {
  switch (type.toUpperCase()) {
    case "CNAME":
      return encodeName(value);
    case "TXT":
      return encodeTxt(value);
    default:
      throw new Error(`dkimsync does not write ${type} records over RFC 2136`);
  }
}

/** One record of an UPDATE's prerequisite or update section (RFC 2136 2.4, 2.5). */
export interface WireRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  rdata: Buffer;
}

const EMPTY = Buffer.alloc(0);

// RFC 2136 2.4.1: class ANY, type T, TTL 0, no RDATA.
export function rrsetExists(name: string, type: string): WireRecord {
  return { name, type: typeCode(type), class: CLASS_ANY, ttl: 0, rdata: EMPTY };
}

/**
 * RFC 2136 2.4.2 "RRset exists (value dependent)": the exact records, class IN, TTL 0. The server
 * compares RDATA only: TTL is not part of the comparison, so a TTL changed behind our back does
 * not fail the prerequisite.
 */
export function rrsetExistsWithValues(name: string, type: string, rdatas: readonly Buffer[]): WireRecord[] {
  return rdatas.map((rdata) => ({ name, type: typeCode(type), class: CLASS_IN, ttl: 0, rdata }));
}

// RFC 2136 2.4.3: class NONE, type T, TTL 0, no RDATA.
export function rrsetDoesNotExist(name: string, type: string): WireRecord {
  return { name, type: typeCode(type), class: CLASS_NONE, ttl: 0, rdata: EMPTY };
}

// RFC 2136 2.4.4: class ANY, type ANY.
export function nameInUse(name: string): WireRecord {
  return { name, type: TYPES.ANY as number, class: CLASS_ANY, ttl: 0, rdata: EMPTY };
}

// RFC 2136 2.4.5: class NONE, type ANY.
export function nameNotInUse(name: string): WireRecord {
  return { name, type: TYPES.ANY as number, class: CLASS_NONE, ttl: 0, rdata: EMPTY };
}

// RFC 2136 2.5.1: add to an RRset, class IN.
export function addRecord(name: string, type: string, ttl: number, rdata: Buffer): WireRecord {
  return { name, type: typeCode(type), class: CLASS_IN, ttl, rdata };
}

// RFC 2136 2.5.2: delete an RRset, class ANY, TTL 0, RDLENGTH 0.
export function deleteRRset(name: string, type: string): WireRecord {
  return { name, type: typeCode(type), class: CLASS_ANY, ttl: 0, rdata: EMPTY };
}

// RFC 2136 2.5.4: delete one RR from an RRset, class NONE, TTL 0.
export function deleteRecord(name: string, type: string, rdata: Buffer): WireRecord {
  return { name, type: typeCode(type), class: CLASS_NONE, ttl: 0, rdata };
}

export function encodeRecord(rr: WireRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(rr.class, 2);
  fixed.writeUInt32BE(rr.ttl >>> 0, 4);
  fixed.writeUInt16BE(rr.rdata.length, 8);
  return Buffer.concat([encodeName(rr.name), fixed, rr.rdata]);
}

function header(id: number, flags: number, counts: [number, number, number, number]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  for (const [i, c] of counts.entries()) h.writeUInt16BE(c, 4 + i * 2);
  return h;
}

export interface UpdateMessage {
  id: number;
  /** Canonical zone name (the zone section: ZNAME, ZTYPE SOA, ZCLASS IN; RFC 2136 2.3). */
  zone: string;
  prerequisites: readonly WireRecord[];
  updates: readonly WireRecord[];
}

/**
 * RFC 2136 2: header with opcode UPDATE, ZOCOUNT 1, PRCOUNT, UPCOUNT, ADCOUNT 0. The TSIG record
 * is appended afterwards by tsig.ts (it must be the last additional record, RFC 8945 5.1).
 */
export function encodeUpdate(msg: UpdateMessage): Buffer {
  const zone = Buffer.concat([encodeName(msg.zone), Buffer.from([0, TYPES.SOA as number, 0, CLASS_IN])]);
  return Buffer.concat([
    header(msg.id, OPCODE_UPDATE << 11, [1, msg.prerequisites.length, msg.updates.length, 0]),
    zone,
    ...msg.prerequisites.map(encodeRecord),
    ...msg.updates.map(encodeRecord),
  ]);
}

/** A standard query (RD clear: we ask the authoritative server itself), RFC 1035 4.1. */
export function encodeQuery(msg: { id: number; name: string; type: string }): Buffer {
  const q = Buffer.alloc(4);
  q.writeUInt16BE(typeCode(msg.type), 0);
  q.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header(msg.id, OPCODE_QUERY << 11, [1, 0, 0, 0]), encodeName(msg.name), q]);
}

// ---- parsing -------------------------------------------------------------------------------

export interface ParsedRecord extends WireRecord {
  /** Offset of the record's first octet in the message, and of the octet after it. */
  start: number;
  end: number;
  /** Offset of the RDATA in the message (for decompressing names inside it). */
  rdataOffset: number;
}

export interface ParsedMessage {
  id: number;
  flags: number;
  opcode: number;
  rcode: number;
  /** Question (or zone) section entries. */
  questions: { name: string; type: number; class: number }[];
  /** Answer / prerequisite, authority / update, additional sections. */
  sections: [ParsedRecord[], ParsedRecord[], ParsedRecord[]];
}

/** Read a possibly compressed name (RFC 1035 4.1.4). Returns the canonical name and the next offset. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  let next = -1;
  for (let jumps = 0; jumps < 128; jumps++) {
    const len = buf.readUInt8(at);
    if (len === 0) {
      if (next < 0) next = at + 1;
      return { name: labels.join("."), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (next < 0) next = at + 2;
      at = buf.readUInt16BE(at) & 0x3fff;
      continue;
    }
    if (at + 1 + len > buf.length) throw new Error("truncated name");
    labels.push(buf.toString("latin1", at + 1, at + 1 + len).toLowerCase());
    at += 1 + len;
  }
  throw new Error("name compression loop");
}

/** Parse a message into its sections, keeping raw RDATA and offsets (for TSIG). */
export function parseMessage(buf: Buffer): ParsedMessage {
  if (buf.length < 12) throw new Error(`message of ${buf.length} octets is shorter than a DNS header`);
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o)) as [number, number, number, number];
  let at = 12;
  const questions: ParsedMessage["questions"] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = readName(buf, at);
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    at = next + 4;
  }
  const sections: ParsedMessage["sections"] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < (counts[s + 1] as number); i++) {
      const start = at;
      const { name, next } = readName(buf, at);
      const rdlen = buf.readUInt16BE(next + 8);
      const rdataOffset = next + 10;
      if (rdataOffset + rdlen > buf.length) throw new Error("truncated record");
      sections[s]!.push({
        name,
        type: buf.readUInt16BE(next),
        class: buf.readUInt16BE(next + 2),
        ttl: buf.readUInt32BE(next + 4),
        rdata: buf.subarray(rdataOffset, rdataOffset + rdlen),
        start,
        end: rdataOffset + rdlen,
        rdataOffset,
      });
      at = rdataOffset + rdlen;
    }
  }
  return { id: buf.readUInt16BE(0), flags, opcode: (flags >> 11) & 0xf, rcode: flags & 0xf, questions, sections };
}

/** TXT RDATA back to the canonical value: the character-strings concatenated (RFC 6376 3.6.2.2). */
export function decodeTxt(rdata: Buffer): { strings: Buffer[]; value: string } {
  const strings: Buffer[] = [];
  for (let at = 0; at < rdata.length; ) {
    const len = rdata.readUInt8(at);
    strings.push(rdata.subarray(at + 1, at + 1 + len));
    at += 1 + len;
  }
  return { strings, value: Buffer.concat(strings).toString("utf8") };
}
