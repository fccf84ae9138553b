/**
 * The real Knot DNS (Debian `knot`, knotd 3.2.x) on a free loopback port in a temporary folder,
 * accepting RFC 2136 updates and AXFR signed with TSIG keys, as allowed by its `acl` section
 * (knot.conf(5), "ACL section"). Observed on Knot 3.2.6 here.
 *
 * The server knows four keys, so tests can reach each of Knot's refusals with a valid signature:
 * `tsig` may update and transfer every zone, `updateOnly` may only update, `transferOnly` may
 * only transfer, and `otherTsig` is known but named in no ACL.
 *
 * Zones are set up and inspected with BIND's `dig` and `nsupdate` (digAxfr, putRecordSet from
 * bind.ts: plain RFC 5936 / RFC 2136 clients), never with dkimsync's encoder.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RecordSet } from "../../src/core/types.js";
import { DIG_BIN, NSUPDATE_BIN, masterRdata, run, type BindTsig } from "./bind.js";
import { supervise } from "./daemon.js";
import { freePort } from "./ports.js";

export const KNOTD_BIN = "/usr/sbin/knotd";
export const KNOTC_BIN = "/usr/sbin/knotc";
const INSTALL_HINT = "Knot DNS is not installed: apt-get install -y knot knot-dnsutils bind9-dnsutils";
const PORT_ATTEMPTS = 3;

export interface KnotZone {
  name: string;
  records?: RecordSet[];
  /**
   * Least privilege for `tsig` instead of its full update+transfer rule: it may update only
   * these owner names (`update-owner: name`, `update-owner-match: equal`) and these types.
   */
  updateOwners?: { names: string[]; types: string[] };
}

export interface KnotServer {
  host: "127.0.0.1";
  port: number;
  /** May update and transfer every zone (unless the zone sets updateOwners). */
  tsig: BindTsig;
  /** May update every zone, not transfer it. */
  updateOnly: BindTsig;
  /** May transfer every zone, not update it. */
  transferOnly: BindTsig;
  /** Known to the server, allowed nothing. */
  otherTsig: BindTsig;
  dir: string;
  log(): string;
  /** Add a zone to the running server: rewrite knot.conf and `knotc reload`. */
  addZone(zone: KnotZone): Promise<void>;
  stop(): Promise<void>;
}

export async function startKnot(opts: { zones: KnotZone[] }): Promise<KnotServer> {
  for (const bin of [KNOTD_BIN, KNOTC_BIN, DIG_BIN, NSUPDATE_BIN]) {
    try {
      await fs.access(bin, fsConstants.X_OK);
    } catch {
      throw new Error(`${INSTALL_HINT} (${bin} is missing)`);
    }
  }
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err as Error;
      // Another process can take the port between freePort() and knotd's bind: try a new one.
      if (!/address already in use|cannot bind/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError;
}

function newKey(name: string): BindTsig {
  return { name, algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
}

async function startOnce(opts: { zones: KnotZone[] }): Promise<KnotServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-knot-"));
  const port = await freePort();
  const keys = {
    tsig: newKey("dkimsync"),
    updateOnly: newKey("update-only"),
    transferOnly: newKey("transfer-only"),
    otherTsig: newKey("other-dkimsync"),
  };
  const zones: KnotZone[] = [];
  const conf = path.join(dir, "knot.conf");
  const socket = path.join(dir, "knot.sock");
  const writeConf = () => fs.writeFile(conf, knotConf(dir, port, keys, zones));
  for (const z of opts.zones) {
    await writeZoneFile(dir, z);
    zones.push(z);
  }
  await writeConf();

  const child = spawn(KNOTD_BIN, ["-c", conf, "-s", socket], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const { stop, waitFor, ready } = supervise(child, { label: "knotd", port, dir, log: () => output });
  await ready(zones.map((z) => z.name));

  return {
    host: "127.0.0.1",
    port,
    ...keys,
    dir,
    log: () => output,
    async addZone(zone) {
      await writeZoneFile(dir, zone);
      zones.push(zone);
      await writeConf();
      await run(KNOTC_BIN, ["-c", conf, "-s", socket, "reload"]);
      await waitFor([zone.name]);
    },
    stop,
  };
}

function knotConf(
  dir: string,
  port: number,
  keys: Record<"tsig" | "updateOnly" | "transferOnly" | "otherTsig", BindTsig>,
  zones: KnotZone[],
): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    "server:",
    `  listen: 127.0.0.1@${port}`,
    `  rundir: ${q(dir)}`,
    // Two cores shared by many test servers: one worker of each kind is plenty.
    "  udp-workers: 1",
    "  tcp-workers: 1",
    "  background-workers: 1",
    "log:",
    "  - target: stderr",
    "    any: info",
    "database:",
    `  storage: ${q(dir)}`,
    "key:",
    ...Object.values(keys).flatMap((k) => [
      `  - id: ${k.name}`,
      `    algorithm: ${k.algorithm}`,
      `    secret: ${k.secret}`,
    ]),
    "acl:",
    `  - id: full`,
    `    key: ${keys.tsig.name}`,
    "    action: [update, transfer]",
    `  - id: transfer_full`,
    `    key: ${keys.tsig.name}`,
    "    action: transfer",
    `  - id: update_only`,
    `    key: ${keys.updateOnly.name}`,
    "    action: update",
    `  - id: transfer_only`,
    `    key: ${keys.transferOnly.name}`,
    "    action: transfer",
  ];
  zones.forEach((z, i) => {
    if (!z.updateOwners) return;
    lines.push(
      `  - id: owners_${i}`,
      `    key: ${keys.tsig.name}`,
      "    action: update",
      "    update-owner: name",
      "    update-owner-match: equal",
      `    update-owner-name: [${z.updateOwners.names.map((n) => q(`${n}.`)).join(", ")}]`,
      `    update-type: [${z.updateOwners.types.join(", ")}]`,
    );
  });
  lines.push(
    "template:",
    "  - id: default",
    `    storage: ${q(dir)}`,
    '    file: "%s.zone"',
    // Keep changes in the journal only: the zone file stays as the test wrote it.
    "    zonefile-sync: -1",
    "    journal-content: changes",
    ...(zones.length > 0 ? ["zone:"] : []),
    ...zones.flatMap((z, i) => [
      `  - domain: ${q(`${z.name}.`)}`,
      `    acl: [${(z.updateOwners ? [`owners_${i}`, "transfer_full"] : ["full"]).concat("update_only", "transfer_only").join(", ")}]`,
    ]),
    "",
  );
  return lines.join("\n");
}

async function writeZoneFile(dir: string, zone: KnotZone): Promise<void> {
  const z = zone.name;
  const lines = [
    "$TTL 3600",
    `${z}. IN SOA ns1.${z}. hostmaster.${z}. 1 3600 600 86400 60`,
    `${z}. IN NS ns1.${z}.`,
    `ns1.${z}. IN A 127.0.0.1`,
  ];
  for (const rs of zone.records ?? []) {
    for (const v of rs.values) lines.push(`${rs.name}. ${rs.ttl} IN ${rs.type} ${masterRdata(rs.type, v)}`);
  }
  await fs.writeFile(path.join(dir, `${z}.zone`), `${lines.join("\n")}\n`);
}
