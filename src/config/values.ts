/** Plain values of the config: shapes, the tenant prefix, TTLs. */
import { canonical, excerpt } from "../core/names.js";

/** RFC 2181 section 8: a TTL is 31 bits; a value with the top bit set is treated as zero. */
const MAX_TTL = 2147483647;
const TENANT_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);
}

export function describe(v: unknown): string {
  if (v === null) return "empty (null)";
  if (Array.isArray(v)) return "a list";
  if (v instanceof Date) return `the date ${v.toISOString().slice(0, 10)}`;
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${excerpt(v)}`;
  return `${typeof v} ${String(v)}`;
}

export function readTenant(v: unknown): { name: string } | { error: string } {
  if (typeof v !== "string") return { error: `must be a string, not ${describe(v)}` };
  const name = canonical(v).replace(/\.onmicrosoft\.com$/, "");
  if (!TENANT_LABEL.test(name)) {
    return {
      error: `${excerpt(v)} is not a tenant prefix (one DNS label: letters, digits and inner hyphens, at most 63)`,
    };
  }
  return { name };
}

export function readTtl(v: unknown): number | string {
  if (typeof v !== "number" || !Number.isInteger(v)) return `must be a whole number of seconds, not ${describe(v)}`;
  if (v < 1 || v > MAX_TTL) return `must be between 1 and ${MAX_TTL} (RFC 2181 section 8), not ${v}`;
  return v;
}
