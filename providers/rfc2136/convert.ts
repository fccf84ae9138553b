/**
 * Between DNS wire records and dkimsync's canonical RecordSets and Changes.
 */
import { isIP } from "node:net";
import type { Change, RecordSet } from "../../src/provider-kit.js";
import type { ReceivedRecord } from "./api.js";
import {
  CLASS_IN,
  TYPES,
  addRecord,
  decodeTxt,
  deleteRRset,
  encodeName,
  encodeRdata,
  nameNotInUse,
  readName,
  rrsetDoesNotExist,
  rrsetExists,
  rrsetExistsWithValues,
  typeName,
  type WireRecord,
} from "./wire.js";

const NAME_TYPES = new Set<number>([TYPES.CNAME, TYPES.NS, TYPES.PTR, TYPES.DNAME] as number[]);

/** The canonical text of one record's RDATA; names inside RDATA may be compressed (RFC 1035 4.1.4). */
export function recordValue(message: Buffer, rec: ReceivedRecord["record"]): string {
  const rd = rec.rdata;
  if (NAME_TYPES.has(rec.type)) return readName(message, rec.rdataOffset).name;
  switch (rec.type) {
    case TYPES.TXT:
      return decodeTxt(rd).value;
    case TYPES.A:
      return [...rd].join(".");
    case TYPES.AAAA: {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(rd.readUInt16BE(i).toString(16));
      const text = groups.join(":");
      // Shortest form via the platform's parser (RFC 5952).
      return isIP(text) ? new URL(`http://[${text}]/`).hostname.slice(1, -1) : text;
    }
    case TYPES.MX:
      return `${rd.readUInt16BE(0)} ${readName(message, rec.rdataOffset + 2).name}`;
    case TYPES.HINFO:
      // RFC 1035 3.3.2: CPU and OS, two character-strings, shown quoted as in a zone file.
      return decodeTxt(rd)
        .strings.map((b) => `"${b.toString("latin1").replace(/["\\]/g, (c) => `\\${c}`)}"`)
        .join(" ");
    case TYPES.SRV:
      return `${rd.readUInt16BE(0)} ${rd.readUInt16BE(2)} ${rd.readUInt16BE(4)} ${readName(message, rec.rdataOffset + 6).name}`;
    default:
      // RFC 3597 5: the generic form for types this tool has no text form for.
      return `\\# ${rd.length}${rd.length ? ` ${rd.toString("hex")}` : ""}`;
  }
}

/**
 * The exact RDATA of the records read, by name, type and canonical value. A value-dependent
 * prerequisite (RFC 2136 2.4.2) compares RDATA octet for octet, and a TXT value written by another
 * tool may be split into character-strings differently than dkimsync would split it.
 */
export class RdataMemory {
  private readonly seen = new Map<string, Buffer>();

  remember(name: string, type: string, value: string, rdata: Buffer): void {
    this.seen.set(`${name}|${type}|${value}`, Buffer.from(rdata));
  }

  /** RDATA for a value, or undefined when it cannot be rebuilt octet for octet. */
  rdata(name: string, type: string, value: string): Buffer | undefined {
    const known = this.seen.get(`${name}|${type}|${value}`);
    if (known) return known;
    if (type === "CNAME" || type === "TXT") return encodeRdata(type, value);
    return undefined;
  }
}

/** Group the records at the wanted names into canonical RecordSets (sorted by name, type). */
export function toRecordSets(
  received: readonly ReceivedRecord[],
  names: ReadonlySet<string>,
  memory?: RdataMemory,
): RecordSet[] {
  const sets = new Map<string, RecordSet>();
  for (const { message, record } of received) {
    if (record.class !== CLASS_IN || !names.has(record.name)) continue;
    const type = typeName(record.type);
    if (type === "SOA" || type === "TSIG") continue;
    const value = recordValue(message, record);
    if (
      record.type !== TYPES.CNAME &&
      !NAME_TYPES.has(record.type) &&
      record.type !== TYPES.MX &&
      record.type !== TYPES.SRV
    ) {
      memory?.remember(record.name, type, value, record.rdata);
    }
    const key = `${record.name}|${type}`;
    const set = sets.get(key);
    if (!set) {
      sets.set(key, { name: record.name, type, ttl: record.ttl, values: [value] });
    } else if (!set.values.includes(value)) {
      set.values.push(value);
      // An RRset has one TTL (RFC 2181 5.2); if a server disagrees, show the lowest.
      set.ttl = Math.min(set.ttl, record.ttl);
    }
  }
  for (const set of sets.values()) set.values.sort();
  return [...sets.values()].sort((a, b) =>
    a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name),
  );
}

/**
 * One UPDATE for a zone's changes. Prerequisites make a concurrent change fail instead of being
 * overwritten: a create requires that the RRset does not exist (RFC 2136 2.4.3); an update or
 * delete requires the RRset to hold exactly the values that were read (2.4.2; the server compares
 * RDATA only, not TTL). Updates are applied in order (RFC 2136 3.4.2), so a --force deletion of a
 * TXT that comes before the CNAME add lets the CNAME in, in one atomic message (RFC 2136 3.7).
 *
 * A create at a name no other change of the message touches also requires that the name holds
 * nothing at all (RFC 2136 2.4.5 "name is not in use"). The plan saw nothing there, but
 * `transfer: query` asks only for some types, and a record of another type (HINFO, say) would
 * otherwise be invisible: BIND 9.18 and Knot 3.2.6 then answer NOERROR and silently drop the
 * CNAME (RFC 1034 3.6.2 forbids it next to other data), PowerDNS 4.7.3 refuses the whole update.
 * With the prerequisite all three answer YXDOMAIN and write nothing (observed), which names the
 * real cause. For `transfer: axfr` it guards the same race as the RRset prerequisite.
 */
export function changesToUpdate(
  changes: readonly Change[],
  memory: RdataMemory,
): { prerequisites: WireRecord[]; updates: WireRecord[] } {
  const prerequisites: WireRecord[] = [];
  const updates: WireRecord[] = [];
  const touches = new Map<string, number>();
  for (const c of changes) touches.set(canonicalName(c.name), (touches.get(canonicalName(c.name)) ?? 0) + 1);
  for (const change of changes) {
    const type = change.type.toUpperCase();
    if (change.before && change.action !== "create") {
      const rdatas = change.before.values.map((v) => memory.rdata(change.name, type, v));
      if (rdatas.every((r): r is Buffer => r !== undefined))
        prerequisites.push(...rrsetExistsWithValues(change.name, type, rdatas));
      else prerequisites.push(rrsetExists(change.name, type));
    } else {
      prerequisites.push(rrsetDoesNotExist(change.name, type));
      if (touches.get(canonicalName(change.name)) === 1) prerequisites.push(nameNotInUse(change.name));
    }
    if (change.action !== "create") updates.push(deleteRRset(change.name, type));
    if (change.after && change.action !== "delete") {
      for (const value of change.after.values)
        updates.push(addRecord(change.name, type, change.after.ttl, encodeRdata(type, value)));
    }
  }
  return { prerequisites, updates };
}

function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** Whether the key name is a valid DNS name (it goes on the wire). */
export function validKeyName(name: string): boolean {
  try {
    encodeName(name);
    return name.trim() !== "";
  } catch {
    return false;
  }
}
