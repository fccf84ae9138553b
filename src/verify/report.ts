/** What `verify` reports: one check per selector and view, and their worst status. */
import type { Selector } from "../core/names.js";
import type { HostPort } from "../dns/host-port.js";

export type CheckStatus = "pass" | "warn" | "info" | "fail";

export interface Check {
  domain: string;
  /** `selector1 cname (authoritative)`, `selector1 cname (resolver)`, `selector1 key`, `signing config`, `nameservers`. */
  check: string;
  status: CheckStatus;
  message: string;
  details?: Record<string, unknown>;
}

export interface DomainReport {
  domain: string;
  ensure: "present" | "absent";
  /** Known only from signing_config (RotateOnDate and the selectors around it). */
  activeSelector?: Selector;
  checks: Check[];
}

export interface VerifySummary {
  pass: number;
  warn: number;
  info: number;
  fail: number;
}

export interface VerifyReport {
  domains: DomainReport[];
  summary: VerifySummary;
  /** Set when no DNS server answered at all: the run proves nothing (exit 1, not 2). */
  unreachable?: string;
}

export interface VerifyOptions {
  /** Canonical domains to check; default every configured domain. Each must be configured. */
  domains?: string[];
  /** Authoritative server to ask instead of the zone's NS records. */
  nameserver?: HostPort;
  /** Recursive resolver; default the system's (/etc/resolv.conf). */
  resolver?: HostPort;
  now?: Date;
  /** Per-query timeout; each query is tried twice. Default 2000 ms. */
  timeoutMs?: number;
}

const SEVERITY: Record<CheckStatus, number> = { pass: 0, info: 1, warn: 2, fail: 3 };

export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>((a, b) => (SEVERITY[b] > SEVERITY[a] ? b : a), "pass");
}
