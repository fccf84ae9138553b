/** DKIM-Signature header fields (RFC 6376 3.5), read for explanation, not verified here. */
import { parseTagList } from "../dns/dkimkey.js";

export interface DkimSignatureInfo {
  index: number;
  d?: string;
  s?: string;
  a?: string;
  c?: string;
  i?: string;
  /** Signed header field names, lowercased. */
  h: string[];
  t?: Date;
  x?: Date;
  /** `l=` body length limit: a risk (content can be appended). */
  l?: number;
  /** The first characters of b= (RFC 6008 header.b matching). */
  bPrefix?: string;
  error?: string;
  raw: string;
}

export function unixDate(v: string | undefined): Date | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  // RFC 6376 3.5 t=/x= are seconds since the epoch; a value beyond what a JavaScript Date can
  // hold (year 275760) is no time at all, shown as absent rather than crashing toISOString().
  const d = new Date(Number(v.trim()) * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function parseDkimSignature(value: string, index = 0): DkimSignatureInfo {
  const parsed = parseTagList(value);
  const info: DkimSignatureInfo = { index, h: [], raw: value };
  if ("error" in parsed) {
    info.error = parsed.error;
    return info;
  }
  const tag = (k: string) => parsed.tags.get(k);
  const set = <K extends "d" | "s" | "a" | "c" | "i">(k: K) => {
    const v = tag(k);
    if (v !== undefined) info[k] = k === "d" || k === "s" || k === "a" ? v.toLowerCase() : v;
  };
  (["d", "s", "a", "c", "i"] as const).forEach(set);
  info.h = (tag("h") ?? "")
    .split(":")
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);
  const t = unixDate(tag("t"));
  const x = unixDate(tag("x"));
  if (t) info.t = t;
  if (x) info.x = x;
  const l = tag("l");
  if (l !== undefined && /^\d+$/.test(l)) info.l = Number(l);
  const b = tag("b")?.replace(/\s+/g, "");
  if (b) info.bPrefix = b.slice(0, 8);
  return info;
}
