/**
 * Pure: (existing, desired) -> changes and conflicts for one zone. No I/O.
 *
 * Only the desired names are ever looked at: a record at any other name is never a change
 * (we manage only the names we own).
 */
import { exact } from "../util/compact.js";
import { canonical } from "./names.js";
import type { Change, Conflict, RecordSet } from "./types.js";

/** What one selector name should hold. `ensure: absent` has no values: the CNAME must go. */
export interface DesiredRecord {
  record: RecordSet;
  ensure: "present" | "absent";
}

export interface ZoneDiff {
  changes: Change[];
  conflicts: Conflict[];
  unchanged: RecordSet[];
}

/**
 * `a.sort(compare)` in place, skipped when there is nothing to order. V8's sort sets up work
 * space on every call, even for one element; a plan sorts a few arrays of one or two elements
 * per zone (values, changes, names), which at 10,000 zones was about 40 MB of garbage.
 */
export function sortSmall<T>(a: T[], compare?: (x: T, y: T) => number): T[] {
  if (a.length < 2) return a;
  if (a.length === 2) {
    const [x, y] = a as [T, T];
    const order = compare ? compare(x, y) : defaultOrder(x, y);
    if (order > 0) {
      a[0] = y;
      a[1] = x;
    }
    return a;
  }
  return a.sort(compare);
}

/** Array.prototype.sort's order without a compare function: by String(), undefined last. */
function defaultOrder(x: unknown, y: unknown): number {
  if (x === undefined) return y === undefined ? 0 : 1;
  if (y === undefined) return -1;
  const sx = String(x);
  const sy = String(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}

const ACTION_ORDER: Record<Change["action"], number> = { delete: 0, create: 1, update: 2 };

/** Deterministic order, deletes first (so a --force replacement frees the name before the add). */
export function sortChanges<T extends Pick<Change, "action" | "name" | "type">>(changes: T[]): T[] {
  return sortSmall(
    changes,
    (a, b) => ACTION_ORDER[a.action] - ACTION_ORDER[b.action] || cmp(a.name, b.name) || cmp(a.type, b.type),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function normaliseSet(set: RecordSet): RecordSet {
  // Most sets already are (every set normaliseSet made, and what most providers answer), and a
  // plan normalises each set up to three times (the read, the diff, the fingerprint): returned
  // as they are, not copied each time.
  if (isNormal(set)) return set;
  const type = set.type.toUpperCase();
  // CNAME targets are names: compare lowercased without the trailing dot (Route 53 stores
  // values as sent, Cloudflare strips the dot, PowerDNS demands it). Other types' values are data and keep their case.
  const values = type === "CNAME" ? set.values.map(canonical) : [...set.values];
  return { ...set, name: canonical(set.name), type, values: sortSmall(values) };
}

/** True when normaliseSet(set) would equal `set`: upper-case type, canonical name, values in order. */
function isNormal(set: RecordSet): boolean {
  const { type, values } = set;
  for (let i = 0; i < type.length; i++) {
    const c = type.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return false;
    if (c >= 0x80) return false;
  }
  if (canonical(set.name) !== set.name) return false;
  const cname = type === "CNAME";
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string;
    if (cname && canonical(v) !== v) return false;
    // Array.prototype.sort's default order (by UTF-16 code units), as normaliseSet sorts.
    if (i > 0 && (values[i - 1] as string) > v) return false;
  }
  return true;
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Why an existing CNAME differs from the desired one, or [] when it does not. */
export function differences(existing: RecordSet, desired: RecordSet): string[] {
  const out: string[] = [];
  if (!sameValues(existing.values, desired.values)) out.push("target");
  if (existing.ttl !== desired.ttl) out.push(`ttl ${existing.ttl} -> ${desired.ttl}`);
  for (const d of existing.drift ?? []) out.push(d);
  return out;
}

export function conflictReason(set: RecordSet): string {
  return (
    `a ${set.type} record at ${set.name} blocks the CNAME: a CNAME cannot share its name with other ` +
    `data (RFC 1034 3.6.2, RFC 2181 10.1); apply --force replaces it with the CNAME`
  );
}

export function diffZone(existingSets: readonly RecordSet[], desired: readonly DesiredRecord[]): ZoneDiff {
  const byName = new Map<string, RecordSet[]>();
  for (const raw of existingSets) {
    const set = normaliseSet(raw);
    const list = byName.get(set.name);
    if (list) list.push(set);
    else byName.set(set.name, [set]);
  }

  const changes: Change[] = [];
  const conflicts: Conflict[] = [];
  const unchanged: RecordSet[] = [];

  for (const { record, ensure } of desired) {
    const want = normaliseSet(record);
    const here = byName.get(want.name) ?? [];
    const cname = here.find((s) => s.type === "CNAME");
    const others = here.filter((s) => s.type !== "CNAME");

    if (ensure === "absent") {
      // Only the selector CNAME is ours to remove; other data at the name is left alone.
      if (cname) changes.push({ action: "delete", name: want.name, type: "CNAME", before: cname, after: null });
      continue;
    }
    if (others.length > 0) {
      for (const o of others) {
        conflicts.push({
          name: o.name,
          type: o.type,
          ttl: o.ttl,
          values: o.values,
          reason: conflictReason(o),
          desired: want,
          ...(cname ? { cname } : {}),
        });
      }
      continue;
    }
    if (!cname) {
      changes.push({ action: "create", name: want.name, type: "CNAME", before: null, after: want });
      continue;
    }
    const why = differences(cname, want);
    if (why.length === 0) unchanged.push(cname);
    else
      changes.push({
        action: "update",
        name: want.name,
        type: "CNAME",
        before: cname,
        after: want,
        reason: why.join(", "),
      });
  }

  // A ZonePlan keeps these to the end of the run: exact-size, not with the slots push() reserved.
  return {
    changes: exact(sortChanges(changes)),
    conflicts: exact(sortSmall(conflicts, (a, b) => cmp(a.name, b.name) || cmp(a.type, b.type))),
    unchanged: exact(sortSmall(unchanged, (a, b) => cmp(a.name, b.name))),
  };
}

/**
 * The writes `apply --force` adds for a zone's conflicts: delete each conflicting record set and
 * write the CNAME, in one provider call so atomic providers replace them in one step.
 * A CNAME already beside the conflicting data is updated rather than created.
 */
export function forcedChanges(conflicts: readonly Conflict[]): Change[] {
  const out: Change[] = [];
  const seen = new Set<string>();
  for (const c of conflicts) {
    out.push({
      action: "delete",
      name: c.name,
      type: c.type,
      before: { name: c.name, type: c.type, ttl: c.ttl, values: c.values },
      after: null,
      reason: "replaced by the selector CNAME (--force)",
    });
    if (seen.has(c.name)) continue;
    seen.add(c.name);
    const cname = c.cname;
    if (!cname) {
      out.push({
        action: "create",
        name: c.name,
        type: "CNAME",
        before: null,
        after: c.desired,
        reason: `replaces ${c.type} (--force)`,
      });
    } else if (differences(cname, c.desired).length > 0) {
      out.push({
        action: "update",
        name: c.name,
        type: "CNAME",
        before: cname,
        after: c.desired,
        reason: `replaces ${c.type} (--force)`,
      });
    }
  }
  return sortChanges(out);
}

/**
 * After a write: what the re-read shows that does not match the changes written. Empty when
 * the zone converged.
 */
export function unconverged(changes: readonly Change[], reread: readonly RecordSet[]): string[] {
  const sets = reread.map(normaliseSet);
  const problems: string[] = [];
  for (const ch of changes) {
    const found = sets.find((s) => s.name === canonical(ch.name) && s.type === ch.type.toUpperCase());
    if (ch.after === null) {
      if (found) problems.push(`${ch.name} ${ch.type} still exists after its delete`);
      continue;
    }
    if (!found) {
      problems.push(`${ch.name} ${ch.type} is missing after the write (the server accepted it but did not store it)`);
      continue;
    }
    const why = differences(found, normaliseSet(ch.after));
    if (why.length > 0) problems.push(`${ch.name} ${ch.type} differs after the write (${why.join(", ")})`);
  }
  return problems;
}
