/** Small builders the provider tests share: record sets, changes, and a caught failure. */
import type { Change, RecordSet } from "../../src/types.js";

export const cname = (name: string, target: string, ttl = 3600): RecordSet => ({ name, type: "CNAME", ttl, values: [target] });
export const create = (after: RecordSet): Change => ({ action: "create", name: after.name, type: after.type, before: null, after });
export const update = (before: RecordSet, after: RecordSet): Change => ({ action: "update", name: after.name, type: after.type, before, after });
export const remove = (before: RecordSet): Change => ({ action: "delete", name: before.name, type: before.type, before, after: null });

/** The error a promise rejects with, so a test can look at more than the message. */
export async function failure<E extends Error = Error>(p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (err) {
    return err as E;
  }
  throw new Error("expected a failure");
}
