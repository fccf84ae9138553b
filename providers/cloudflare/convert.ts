/**
 * Pure conversions between Cloudflare DNS records and dkimsync's canonical record sets, and from
 * changes to bodies of the batch endpoint. No I/O here.
 *
 * Cloudflare form (Cloudflare API reference, DNS records): names and CNAME content come without a
 * trailing dot, `ttl: 1` means automatic, a record may be `proxied` and a CNAME may carry
 * `settings.flatten_cname`. Both of the latter break DKIM: a resolver asking for the selector's
 * TXT gets the proxy's addresses or a flattened answer instead of the CNAME to Microsoft.
 */
import { canonical, internType, type Change, type RecordSet } from "../../src/provider-kit.js";

/** The fields of a Cloudflare DNS record that dkimsync reads. */
export interface CfRecord {
  id: string;
  name: string;
  type: string;
  content?: string;
  ttl: number;
  proxied?: boolean;
  priority?: number;
  settings?: { flatten_cname?: boolean | null } | null;
}

/** Record sets the provider reports, plus the Cloudflare records behind each (for their ids). */
export interface ReadResult {
  sets: RecordSet[];
  records: Map<string, CfRecord[]>;
}

export const MANAGED_COMMENT = "managed by dkimsync";
export const DRIFT_PROXIED = "proxied (must be DNS only)";
export const DRIFT_FLATTENED = "flattened";

export function recordKey(name: string, type: string): string {
  return `${canonical(name)} ${type.toUpperCase()}`;
}

/**
 * TXT content: newer API responses quote the character-strings (`"v=DKIM1; " "p=..."`), older
 * ones and most writers do not. Strings are joined without separators (RFC 6376 3.6.2.2).
 */
export function txtValue(content: string): string {
  const trimmed = content.trim();
  if (!trimmed.startsWith('"')) return content;
  const parts = [...trimmed.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
  return parts.join("");
}

export function recordValue(r: CfRecord): string {
  const content = r.content ?? "";
  switch (r.type.toUpperCase()) {
    case "CNAME":
    case "NS":
    case "PTR":
      return canonical(content);
    case "TXT":
      return txtValue(content);
    case "MX":
      return `${r.priority ?? 0} ${canonical(content)}`;
    default:
      return content;
  }
}

/** Ways a record differs from what dkimsync writes, beyond ttl and value. */
export function recordDrift(r: CfRecord): string[] {
  if (r.type.toUpperCase() !== "CNAME") return [];
  const drift: string[] = [];
  if (r.proxied === true) drift.push(DRIFT_PROXIED);
  if (r.settings?.flatten_cname === true) drift.push(DRIFT_FLATTENED);
  return drift;
}

/**
 * Group records into canonical record sets, one per (name, type), sorted by name then type.
 * `ttl: 1` (automatic) is reported as 1, so it differs from the desired 3600 and gets fixed.
 */
export function toRecordSets(records: readonly CfRecord[]): ReadResult {
  const byKey = new Map<string, CfRecord[]>();
  for (const r of records) {
    const key = recordKey(r.name, r.type);
    const list = byKey.get(key) ?? [];
    list.push(r);
    byKey.set(key, list);
  }
  const sets: RecordSet[] = [];
  for (const list of byKey.values()) {
    const first = list[0]!;
    const drift = [...new Set(list.flatMap(recordDrift))];
    sets.push({
      name: canonical(first.name),
      type: internType(first.type),
      ttl: Math.min(...list.map((r) => r.ttl)),
      values: list.map(recordValue).sort(),
      ...(drift.length > 0 ? { drift } : {}),
    });
  }
  sets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return { sets, records: byKey };
}

/** One operation of the batch endpoint, in the order it must run. */
export type BatchOp =
  | { kind: "delete"; body: { id: string } }
  | { kind: "patch"; body: RecordBody & { id: string } }
  | { kind: "post"; body: RecordBody };

export interface RecordBody {
  name: string;
  type: string;
  content: string;
  ttl: number;
  comment: string;
  proxied?: boolean;
  settings?: { flatten_cname: boolean };
}

export interface BatchBody {
  deletes: { id: string }[];
  patches: (RecordBody & { id: string })[];
  posts: RecordBody[];
}

function writeBody(name: string, type: string, value: string, ttl: number): RecordBody {
  const t = type.toUpperCase();
  const body: RecordBody = { name: canonical(name), type: t, content: value, ttl, comment: MANAGED_COMMENT };
  if (t === "A" || t === "AAAA" || t === "CNAME") body.proxied = false;
  // Never flattened: a flattened selector answers with the target's addresses, not its TXT.
  if (t === "CNAME") body.settings = { flatten_cname: false };
  return body;
}

/**
 * Changes -> batch operations. `existing` holds the ids of the Cloudflare records at each (name,
 * type) as last read, in the order of the records' values (recordValue, localeCompare); updates
 * patch records in place (keeping ids), pairing them in that order with the new values, and
 * delete or post the difference when the number of values changes. Throws a plain Error naming
 * the record when an id is needed but unknown; the caller turns it into a ProviderError.
 */
export function toBatchOps(changes: readonly Change[], existing: ReadonlyMap<string, readonly string[]>): BatchOp[] {
  const deletes: BatchOp[] = [];
  const patches: BatchOp[] = [];
  const posts: BatchOp[] = [];
  for (const change of changes) {
    const key = recordKey(change.name, change.type);
    const current = existing.get(key) ?? [];
    if (change.action !== "create" && current.length === 0) {
      throw new Error(`${change.type} ${change.name} is no longer there`);
    }
    if (change.action === "delete") {
      for (const id of current) deletes.push({ kind: "delete", body: { id } });
      continue;
    }
    const after = change.after;
    if (!after) throw new Error(`${change.action} of ${change.type} ${change.name} has no record to write`);
    const values = [...after.values].sort();
    if (change.action === "create") {
      for (const v of values) posts.push({ kind: "post", body: writeBody(after.name, after.type, v, after.ttl) });
      continue;
    }
    values.forEach((v, i) => {
      const id = current[i];
      const body = writeBody(after.name, after.type, v, after.ttl);
      if (id !== undefined) patches.push({ kind: "patch", body: { id, ...body } });
      else posts.push({ kind: "post", body });
    });
    for (const id of current.slice(values.length)) deletes.push({ kind: "delete", body: { id } });
  }
  return [...deletes, ...patches, ...posts];
}

/**
 * Split operations into batches of at most `size` records. The API runs deletes, patches, puts,
 * posts in that order inside one batch; since `ops` is already in that order, splitting keeps
 * every delete ahead of the post that may need its name (a TXT replaced by the CNAME).
 */
export function chunkBatch(ops: readonly BatchOp[], size: number): BatchBody[] {
  const chunks: BatchBody[] = [];
  for (let i = 0; i < ops.length; i += size) {
    const chunk: BatchBody = { deletes: [], patches: [], posts: [] };
    for (const op of ops.slice(i, i + size)) {
      if (op.kind === "delete") chunk.deletes.push(op.body);
      else if (op.kind === "patch") chunk.patches.push(op.body);
      else chunk.posts.push(op.body);
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** A name filter of List DNS Records (query `name.exact`, `name.startswith`, `name.endswith`). */
export interface NameFilter {
  exact?: string;
  startswith?: string;
  endswith?: string;
}

/**
 * One filter that every requested name passes, for a single paged read per zone: the exact name
 * when there is one, else the longest prefix and the longest suffix all names share. Both are
 * plain string affixes, not whole labels, and the caller keeps only the exact names afterwards.
 *
 * For the selectors of one zone that is `startswith=selector` plus the common tail (at least
 * `.<zone>`, or `._domainkey.<domain>` for a single domain), so other DKIM keys
 * (`google._domainkey`, `s1._domainkey`) and the zone's other records are never sent. What it
 * cannot exclude: names starting with `selector` of domains this config does not manage, such as
 * the selectors of thousands of customer subdomains in one SaaS zone; those come along, at most
 * 5000 per request. Names sharing no prefix (not selector names) fall back to the suffix alone,
 * which may be the whole zone.
 */
export function nameFilter(names: readonly string[]): NameFilter {
  const list = [...new Set(names.map(canonical))];
  const [first] = list;
  if (first === undefined) return {};
  if (list.length === 1) return { exact: first };
  let prefix = first;
  let suffix = first;
  for (const n of list) {
    while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1);
    while (!n.endsWith(suffix)) suffix = suffix.slice(1);
  }
  return { ...(prefix ? { startswith: prefix } : {}), ...(suffix ? { endswith: suffix } : {}) };
}
