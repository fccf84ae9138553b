import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { access, constants } from "node:fs/promises";
import dnsPacket from "dns-packet";
import { describe, it, expect } from "vitest";
import {
  CLASS_ANY,
  CLASS_IN,
  CLASS_NONE,
  addRecord,
  decodeTxt,
  deleteRRset,
  deleteRecord,
  encodeName,
  encodeQuery,
  encodeRdata,
  encodeTxt,
  encodeUpdate,
  nameNotInUse,
  parseMessage,
  readName,
  rrsetDoesNotExist,
  rrsetExistsWithValues,
  type ParsedRecord,
} from "../../../providers/rfc2136/wire.js";
import { readTsig, verifyRequest, type TsigAlgorithm, type TsigKey } from "../../../providers/rfc2136/tsig.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("encodeName", () => {
  it("writes lowercase length-prefixed labels ending in the root label (RFC 1035 3.1)", () => {
    expect(encodeName("Sel._DomainKey.example.com")).toEqual(
      hex("03 73656c 0a 5f646f6d61696e6b6579 07 6578616d706c65 03 636f6d 00"),
    );
    expect(encodeName("example.com.")).toEqual(encodeName("example.com"));
    expect(encodeName("")).toEqual(hex("00"));
  });
  it("rejects a label over 63 octets", () => {
    expect(() => encodeName(`${"a".repeat(64)}.com`)).toThrow(/invalid label/);
  });
});

describe("TXT rdata", () => {
  it("splits into character-strings of at most 255 octets and joins them back", () => {
    const value = "v=DKIM1; k=rsa; p=" + "A".repeat(600);
    const rdata = encodeTxt(value);
    const { strings, value: back } = decodeTxt(rdata);
    expect(strings.map((s) => s.length)).toEqual([255, 255, value.length - 510]);
    expect(back).toBe(value);
  });
  it("writes an empty value as one empty string", () => {
    expect(encodeTxt("")).toEqual(hex("00"));
  });
});

describe("encodeUpdate", () => {
  it("lays out header, zone, prerequisite and update sections byte for byte (RFC 2136 2)", () => {
    const msg = encodeUpdate({
      id: 0x1234,
      zone: "ex.com",
      prerequisites: [rrsetDoesNotExist("a.ex.com", "CNAME")],
      updates: [deleteRRset("a.ex.com", "TXT"), addRecord("a.ex.com", "CNAME", 3600, encodeRdata("CNAME", "t.ex.net"))],
    });
    expect(msg).toEqual(
      hex(
        // ID, flags: opcode 5 << 11, ZOCOUNT 1, PRCOUNT 1, UPCOUNT 2, ADCOUNT 0
        "1234 2800 0001 0001 0002 0000" +
          // zone: ex.com SOA IN
          "02 6578 03 636f6d 00 0006 0001" +
          // prerequisite: a.ex.com CNAME class NONE ttl 0 rdlength 0
          "01 61 02 6578 03 636f6d 00 0005 00fe 00000000 0000" +
          // update: delete TXT RRset: class ANY ttl 0 rdlength 0
          "01 61 02 6578 03 636f6d 00 0010 00ff 00000000 0000" +
          // update: add CNAME t.ex.net ttl 3600
          "01 61 02 6578 03 636f6d 00 0005 0001 00000e10 000a 01 74 02 6578 03 6e6574 00",
      ),
    );
  });

  it("is decoded by dns-packet with the same sections (opcode set in the flags)", () => {
    const msg = encodeUpdate({
      id: 7,
      zone: "example.com",
      prerequisites: rrsetExistsWithValues("s.example.com", "TXT", [encodeTxt("old")]),
      updates: [
        deleteRecord("s.example.com", "TXT", encodeTxt("old")),
        addRecord("s.example.com", "TXT", 300, encodeTxt("new")),
      ],
    });
    // @types/dns-packet leaves out opcode, class and ttl, which dns-packet does decode.
    type Rr = { name: string; type: string; class: string; ttl: number; data: unknown };
    const d = dnsPacket.decode(msg) as unknown as {
      opcode: string;
      questions: unknown[];
      answers?: Rr[];
      authorities?: Rr[];
    };
    expect(d.opcode).toBe("UPDATE");
    expect(d.questions).toEqual([{ name: "example.com", type: "SOA", class: "IN" }]);
    expect(d.answers?.map((a) => [a.name, a.type, a.class, a.ttl])).toEqual([["s.example.com", "TXT", "IN", 0]]);
    const auth = d.authorities ?? [];
    expect(auth.map((a) => [a.type, a.class, a.ttl])).toEqual([
      ["TXT", "UNKNOWN_254", 0],
      ["TXT", "IN", 300],
    ]);
    expect(((auth[1]?.data ?? []) as Buffer[]).map(String)).toEqual(["new"]);
  });

  it("encodes a query with RD clear", () => {
    const q = encodeQuery({ id: 9, name: "example.com", type: "SOA" });
    const d = dnsPacket.decode(q);
    expect(d.flags).toBe(0);
    expect(d.questions).toEqual([{ name: "example.com", type: "SOA", class: "IN" }]);
  });
});

describe("parseMessage", () => {
  it("follows compression pointers (RFC 1035 4.1.4)", () => {
    const resp = hex(
      "0003 8400 0001 0001 0000 0000" +
        // question at offset 12: a.example.com CNAME IN
        "01 61 07 6578616d706c65 03 636f6d 00 0005 0001" +
        // answer: owner = pointer to 12; rdata "b" + pointer to example.com at 14
        "c00c 0005 0001 0000003c 0004 01 62 c00e",
    );
    const p = parseMessage(resp);
    const rec = p.sections[0][0] as ParsedRecord;
    expect(rec.name).toBe("a.example.com");
    expect(rec.ttl).toBe(60);
    expect(readName(resp, rec.rdataOffset).name).toBe("b.example.com");
  });
});

// ---- against what BIND's nsupdate sends -----------------------------------------------------

async function captureNsupdate(script: string[], key: TsigKey): Promise<Buffer> {
  await access("/usr/bin/nsupdate", constants.X_OK).catch(() => {
    throw new Error("nsupdate is not installed: apt-get install -y bind9-dnsutils");
  });
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  const port = socket.address().port;
  const packet = new Promise<Buffer>((resolve) => socket.once("message", (m) => resolve(m)));
  const child = spawn("/usr/bin/nsupdate", ["-y", `${key.algorithm}:${key.name}:${key.secret.toString("base64")}`], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.stdin.end([`server 127.0.0.1 ${port}`, "zone example.com.", ...script, "send", ""].join("\n"));
  try {
    return await Promise.race([
      packet,
      new Promise<Buffer>((_, reject) => setTimeout(() => reject(new Error("nsupdate sent nothing within 5 s")), 5000)),
    ]);
  } finally {
    child.kill("SIGKILL");
    socket.close();
  }
}

/** A record with names inside RDATA expanded, so compressed and uncompressed forms compare equal. */
function normalise(msg: Buffer, r: ParsedRecord) {
  const rdata =
    r.type === 5 && r.rdata.length > 0 ? encodeName(readName(msg, r.rdataOffset).name) : Buffer.from(r.rdata);
  return { name: r.name, type: r.type, class: r.class, ttl: r.ttl, rdata: rdata.toString("hex") };
}

describe.each<TsigAlgorithm>(["hmac-sha256", "hmac-sha512"])("the same UPDATE as nsupdate (%s)", (algorithm) => {
  it("has the same sections, and nsupdate's TSIG MAC verifies with our MAC construction", async () => {
    const key: TsigKey = { name: "dkimsync", algorithm, secret: randomBytes(32) };
    const theirs = await captureNsupdate(
      [
        "prereq nxrrset sel.example.com. CNAME",
        'prereq yxrrset old.example.com. TXT "abc" "def"',
        "update delete old.example.com. TXT",
        "update delete gone.example.com. CNAME target.example.net.",
        "update add sel.example.com. 3600 CNAME Target.Example.NET.",
      ],
      key,
    );
    // RFC 8945 4.3.3: our MAC over nsupdate's message and variables equals nsupdate's MAC.
    const tsig = verifyRequest(theirs, key);
    expect(tsig.algorithm).toBe(algorithm);
    expect(tsig.fudge).toBe(300);

    const ours = encodeUpdate({
      id: tsig.originalId,
      zone: "example.com",
      prerequisites: [
        rrsetDoesNotExist("sel.example.com", "CNAME"),
        {
          name: "old.example.com",
          type: 16,
          class: CLASS_IN,
          ttl: 0,
          rdata: Buffer.concat([hex("03"), Buffer.from("abc"), hex("03"), Buffer.from("def")]),
        },
      ],
      updates: [
        deleteRRset("old.example.com", "TXT"),
        deleteRecord("gone.example.com", "CNAME", encodeRdata("CNAME", "target.example.net")),
        addRecord("sel.example.com", "CNAME", 3600, encodeRdata("CNAME", "target.example.net")),
      ],
    });
    const a = parseMessage(tsig.unsigned);
    const b = parseMessage(ours);
    expect(b.flags).toBe(a.flags);
    expect(b.questions).toEqual(a.questions);
    for (const s of [0, 1, 2] as const) {
      expect(b.sections[s].map((r) => normalise(ours, r))).toEqual(
        a.sections[s].map((r) => normalise(tsig.unsigned, r)),
      );
    }
    expect(b.sections[1].map((r) => r.class)).toEqual([CLASS_ANY, CLASS_NONE, CLASS_IN]);
    // The name-not-in-use form nsupdate writes for "prereq nxdomain".
    expect(nameNotInUse("x.example.com")).toMatchObject({ type: 255, class: CLASS_NONE, ttl: 0 });
    expect(readTsig(ours)).toBeUndefined();
  });
});
