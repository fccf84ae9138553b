/**
 * DKIM key records (RFC 6376 3.6.1) and the key inside them. Pure: no DNS here.
 *
 * Also the tag=value list grammar shared by key records and DKIM-Signature / ARC header
 * fields (RFC 6376 3.2), so headers.ts reads signatures with the same rules.
 */
import { createPublicKey, type KeyObject } from "node:crypto";

/** Tags in the order written; values trimmed of surrounding folding whitespace. */
export type TagList = Map<string, string>;

/**
 * Parse an RFC 6376 3.2 tag-list. Returns an error phrase instead of throwing so the caller can
 * say where the text came from.
 *
 * Rules applied: tag names are case-sensitive `ALPHA *(ALPHA / DIGIT / "_")`; whitespace
 * (including folded CRLF) around names, `=` and values is ignored; a trailing `;` is allowed;
 * a tag that occurs twice makes the whole list invalid ("if a tag name does occur more than
 * once, the entire tag-list is invalid"). Empty segments (`;;`) are tolerated: real records
 * carry them and every verifier we know accepts them.
 */
export function parseTagList(text: string): { tags: TagList } | { error: string } {
  const tags: TagList = new Map();
  for (const segment of text.split(";")) {
    if (segment.trim() === "") continue;
    const eq = segment.indexOf("=");
    if (eq < 0) return { error: `"${clip(segment.trim())}" is not a tag=value pair` };
    const name = segment.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) return { error: `"${clip(name)}" is not a valid tag name` };
    if (tags.has(name)) return { error: `tag "${name}" occurs twice (RFC 6376 3.2: the whole record is then invalid)` };
    tags.set(
      name,
      segment
        .slice(eq + 1)
        .replace(/\r?\n/g, "")
        .trim(),
    );
  }
  return { tags };
}

export interface DkimKeyRecord {
  /** Every tag as written, including ones this tool does not know (kept, per RFC 6376 3.6.1). */
  tags: TagList;
  /** `v=`, when present (then it was first and `DKIM1`). */
  version?: string;
  /** `k=`, default `rsa`. */
  keyType: string;
  /** `p=` with all whitespace removed; empty means the key was revoked. */
  publicKey: string;
  revoked: boolean;
  /** `t=` flags, lowercased: `y` testing, `s` strict (same-domain `i=` only). */
  flags: string[];
  testing: boolean;
  strict: boolean;
  /** `h=` acceptable hash algorithms; undefined means all. */
  hashAlgorithms?: string[];
  /** `s=` service types, default `*`. */
  serviceTypes: string[];
  /** `n=` notes (Microsoft writes `n=2048,1452627113,1468351913`). */
  notes?: string;
  /** Tags RFC 6376 does not define for key records. */
  unknownTags: string[];
}

const KNOWN_KEY_TAGS = new Set(["v", "h", "k", "n", "p", "s", "t"]);

/**
 * Parse a DKIM key TXT record. `txt` is the record as DNS returns it: one string, or the
 * character-strings of one TXT record, which are concatenated without separators
 * (RFC 6376 3.6.2.2).
 */
export function parseKeyRecord(txt: string | readonly string[]): { record: DkimKeyRecord } | { error: string } {
  const text = typeof txt === "string" ? txt : txt.join("");
  const parsed = parseTagList(text);
  if ("error" in parsed) return parsed;
  const { tags } = parsed;
  if (tags.size === 0) return { error: "the record is empty" };

  const version = tags.get("v");
  if (version !== undefined) {
    // RFC 6376 3.6.1 v=: "MUST be the first tag in the record"; other values are discarded.
    if ([...tags.keys()][0] !== "v") return { error: "v= is present but not the first tag (RFC 6376 3.6.1)" };
    if (version !== "DKIM1") return { error: `v=${clip(version)} is not DKIM1 (RFC 6376 3.6.1)` };
  }
  const p = tags.get("p");
  if (p === undefined) return { error: "p= (the public key) is missing; it is required (RFC 6376 3.6.1)" };
  const publicKey = p.replace(/\s+/g, "");
  const flags = colonList(tags.get("t")).map((f) => f.toLowerCase());
  const h = tags.get("h");
  const notes = tags.get("n");
  const record: DkimKeyRecord = {
    tags,
    keyType: (tags.get("k") ?? "rsa").trim().toLowerCase() || "rsa",
    publicKey,
    revoked: publicKey === "",
    flags,
    testing: flags.includes("y"),
    strict: flags.includes("s"),
    serviceTypes: tags.has("s") ? colonList(tags.get("s")).map((s) => s.toLowerCase()) : ["*"],
    unknownTags: [...tags.keys()].filter((k) => !KNOWN_KEY_TAGS.has(k)),
  };
  if (version !== undefined) record.version = version;
  if (h !== undefined) record.hashAlgorithms = colonList(h).map((a) => a.toLowerCase());
  if (notes !== undefined) record.notes = notes;
  return { record };
}

export interface KeyInfo {
  /** `rsa` or `ed25519` as found in the key itself. */
  type: string;
  /** RSA modulus length, or 256 for Ed25519. */
  bits: number;
  /** How `p=` was encoded: SubjectPublicKeyInfo, PKCS#1 RSAPublicKey, or raw Ed25519 bytes. */
  encoding: "spki" | "pkcs1" | "raw";
}

// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 4): SEQUENCE { SEQUENCE { OID
// 1.3.101.112 }, BIT STRING (33 bytes) }. RFC 8463 3 publishes only the 32 raw key bytes.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/**
 * The key behind `p=`: its type and size, read from the key itself rather than from notes.
 * RFC 6376 3.6.1 says `p=` for rsa is an RSAPublicKey (PKCS#1) but 3.6.1's own example and every
 * signer we know publish a SubjectPublicKeyInfo; both are accepted. Ed25519 (RFC 8463 4.2) is
 * the 32 raw bytes.
 */
export function keyInfo(record: DkimKeyRecord): KeyInfo | { error: string } {
  if (record.revoked) return { error: "the key is revoked (empty p=)" };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(record.publicKey)) return { error: "p= is not base64" };
  const der = Buffer.from(record.publicKey, "base64");
  if (record.keyType === "ed25519") {
    if (der.length !== 32)
      return { error: `k=ed25519 needs 32 raw key bytes in p=, found ${der.length} (RFC 8463 4.2)` };
    const key = tryKey(() =>
      createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, der]), format: "der", type: "spki" }),
    );
    if (!key) return { error: "p= is not a valid Ed25519 key" };
    return { type: "ed25519", bits: 256, encoding: "raw" };
  }
  if (record.keyType !== "rsa")
    return { error: `k=${record.keyType} is not a key type DKIM verifiers know (rsa, ed25519)` };
  let encoding: KeyInfo["encoding"] = "spki";
  let key = tryKey(() => createPublicKey({ key: der, format: "der", type: "spki" }));
  if (!key) {
    encoding = "pkcs1";
    key = tryKey(() => createPublicKey({ key: der, format: "der", type: "pkcs1" }));
  }
  if (!key) return { error: "p= is neither a SubjectPublicKeyInfo nor a PKCS#1 RSA public key" };
  if (key.asymmetricKeyType !== "rsa")
    return { error: `k=rsa but p= holds a ${key.asymmetricKeyType ?? "unknown"} key` };
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) return { error: "could not read the RSA modulus length" };
  return { type: "rsa", bits, encoding };
}

function tryKey(make: () => KeyObject): KeyObject | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}

function colonList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(":")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
