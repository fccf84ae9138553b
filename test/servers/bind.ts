/**
 * The real BIND 9 (Debian `bind9`, named 9.18) on a free loopback port in a temporary folder,
 * accepting RFC 2136 updates and AXFR signed with a TSIG key. Each flag and setting was observed
 * with named 9.18 here; the reasons are in comments beside them.
 *
 * The helpers digAxfr() and nsupdate() use BIND's own tools (`dig`, `nsupdate`), never dkimsync's
 * encoder, so tests can set up and inspect zones independently of the code under test.
 */
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { constants as fsConstants, existsSync, mkdirSync, renameSync, rmdirSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import dnsPacket from "dns-packet";
import type { RecordSet } from "../../src/core/types.js";
import { READY_TIMEOUT_MS, supervise } from "./daemon.js";
import { freePort } from "./ports.js";

export const NAMED_BIN = "/usr/sbin/named";
export const DIG_BIN = "/usr/bin/dig";
export const NSUPDATE_BIN = "/usr/bin/nsupdate";
const INSTALL_HINT = "BIND is not installed: apt-get install -y bind9 bind9-dnsutils";
const PORT_ATTEMPTS = 3;

export interface BindTsig {
  name: string;
  algorithm: "hmac-sha256" | "hmac-sha512";
  /** base64, as `tsig-keygen` prints it. */
  secret: string;
}

export interface BindZone {
  name: string;
  records?: RecordSet[];
  /**
   * `update-policy` rules instead of `allow-update { key K; }`, e.g.
   * `grant dkimsync name selector1._domainkey.example.com. CNAME TXT`.
   */
  updatePolicy?: string[];
}

export interface BindServer {
  host: "127.0.0.1";
  port: number;
  /** The key every zone allows to update and transfer. */
  tsig: BindTsig;
  /** A second key the server knows but no zone allows (for REFUSED tests). */
  otherTsig: BindTsig;
  dir: string;
  /** What named wrote to stderr so far (it logs there with -g). */
  log(): string;
  /**
   * Make named fail the next UPDATE of the zone on the server side, after it has received and
   * applied it to a new zone version: the zone's journal path is made a directory, so writing
   * the journal fails, named rolls the version back and answers SERVFAIL (observed on named
   * 9.18: "journal open failed"). The trap is removed as soon as named logs that failure.
   */
  failNextUpdate(zone: string): void;
  /** Resolves when every armed failNextUpdate has fired (or rejects after a deadline). */
  trapsFired(): Promise<void>;
  /** Add a zone to the running server: rewrite named.conf and reload (SIGHUP). */
  addZone(zone: BindZone): Promise<void>;
  /** Kills named and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface BindOptions {
  zones: BindZone[];
  /** The key's name as written in named.conf (case kept), default `dkimsync`. */
  keyName?: string;
  /** The key's algorithm, default hmac-sha256. */
  keyAlgorithm?: BindTsig["algorithm"];
}

export async function startBind(opts: BindOptions): Promise<BindServer> {
  await assertInstalled();
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err as Error;
      // Another process can take the port between freePort() and named's bind: try a new one.
      if (!/address in use|could not listen/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError;
}

async function assertInstalled(): Promise<void> {
  for (const bin of [NAMED_BIN, DIG_BIN, NSUPDATE_BIN]) {
    try {
      await fs.access(bin, fsConstants.X_OK);
    } catch {
      throw new Error(`${INSTALL_HINT} (${bin} is missing)`);
    }
  }
}

function newKey(name: string, algorithm: BindTsig["algorithm"] = "hmac-sha256"): BindTsig {
  // tsig-keygen makes a secret as long as the hash's output (32 or 64 octets).
  return { name, algorithm, secret: randomBytes(algorithm === "hmac-sha512" ? 64 : 32).toString("base64") };
}

async function startOnce(opts: BindOptions): Promise<BindServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bind-"));
  const port = await freePort();
  const tsig = newKey(opts.keyName ?? "dkimsync", opts.keyAlgorithm);
  const otherTsig = newKey(`other-${tsig.name}`);
  const zones: BindZone[] = [];
  const writeConf = () => fs.writeFile(path.join(dir, "named.conf"), namedConf(dir, port, tsig, otherTsig, zones));
  for (const z of opts.zones) {
    await writeZoneFile(dir, z);
    zones.push(z);
  }
  await writeConf();

  const child = spawn(NAMED_BIN, ["-g", "-4", "-n", "1", "-c", path.join(dir, "named.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const traps = new Map<string, { saved: boolean; fired: Promise<void>; fire: () => void; from: number }>();
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const [zone, trap] of traps) {
      if (!stderr.slice(trap.from).includes(`updating zone '${zone}/IN': error: journal open failed`)) continue;
      // Synchronous, so the trap is gone before any later request can be handled.
      rmdirSync(journal(dir, zone));
      if (trap.saved) renameSync(`${journal(dir, zone)}.saved`, journal(dir, zone));
      traps.delete(zone);
      trap.fire();
    }
  });
  const { stop, waitFor, ready } = supervise(child, { label: "named", port, dir, log: () => stderr });
  await ready(zones.map((z) => z.name));

  return {
    host: "127.0.0.1",
    port,
    tsig,
    otherTsig,
    dir,
    log: () => stderr,
    failNextUpdate(zone) {
      if (traps.has(zone)) return;
      const saved = existsSync(journal(dir, zone));
      if (saved) renameSync(journal(dir, zone), `${journal(dir, zone)}.saved`);
      mkdirSync(journal(dir, zone));
      let fire = () => {};
      const fired = new Promise<void>((resolve) => {
        fire = resolve;
      });
      // Only failures logged from now on count.
      traps.set(zone, { saved, fired, fire, from: stderr.length });
    },
    async trapsFired() {
      const pendingTraps = [...traps.values()].map((t) => t.fired);
      if (pendingTraps.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`named did not fail the armed update within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([Promise.all(pendingTraps), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async addZone(zone) {
      await writeZoneFile(dir, zone);
      zones.push(zone);
      await writeConf();
      // SIGHUP makes named re-read named.conf and load new zones (named(8), like `rndc reload`).
      child.kill("SIGHUP");
      await waitFor([zone.name]);
    },
    stop,
  };
}

function keyStatement(k: BindTsig): string {
  return `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };`;
}

function namedConf(dir: string, port: number, tsig: BindTsig, other: BindTsig, zones: BindZone[]): string {
  const q = (p: string) => JSON.stringify(p);
  return [
    "options {",
    `  directory ${q(dir)};`,
    `  listen-on port ${port} { 127.0.0.1; };`,
    "  listen-on-v6 { none; };",
    `  pid-file ${q(path.join(dir, "named.pid"))};`,
    `  session-keyfile ${q(path.join(dir, "session.key"))};`,
    `  managed-keys-directory ${q(dir)};`,
    "  recursion no;",
    "  dnssec-validation no;",
    "  notify no;",
    "};",
    // Without this named opens the control channel on port 953 (named.conf(5), "controls").
    "controls { };",
    keyStatement(tsig),
    keyStatement(other),
    ...zones.map((z) => {
      const update = z.updatePolicy
        ? `update-policy { ${z.updatePolicy.map((r) => `${r};`).join(" ")} };`
        : `allow-update { key "${tsig.name}"; };`;
      return `zone "${z.name}" { type primary; file ${q(zoneFile(dir, z.name))}; ${update} allow-transfer { key "${tsig.name}"; }; };`;
    }),
    "",
  ].join("\n");
}

function zoneFile(dir: string, zone: string): string {
  return path.join(dir, `${zone}.zone`);
}

/** named keeps a dynamic zone's updates in `<zone file>.jnl`. */
function journal(dir: string, zone: string): string {
  return `${zoneFile(dir, zone)}.jnl`;
}

/** A master-file line's RDATA for a canonical value (RFC 1035 5.1). */
export function masterRdata(type: string, value: string): string {
  switch (type) {
    case "CNAME":
    case "NS":
    case "PTR":
    case "DNAME":
      return `${value.replace(/\.$/, "")}.`;
    case "MX": {
      const [pref, host] = value.split(/\s+/);
      return `${pref} ${(host ?? "").replace(/\.$/, "")}.`;
    }
    case "TXT": {
      const bytes = Buffer.from(value, "utf8");
      const parts: string[] = [];
      for (let at = 0; at < bytes.length || parts.length === 0; at += 255) {
        parts.push(
          `"${bytes
            .subarray(at, at + 255)
            .toString("utf8")
            .replace(/["\\]/g, (c) => `\\${c}`)}"`,
        );
      }
      return parts.join(" ");
    }
    default:
      return value;
  }
}

async function writeZoneFile(dir: string, zone: BindZone): Promise<void> {
  const z = zone.name;
  const lines = [
    "$TTL 3600",
    `${z}. IN SOA ns1.${z}. hostmaster.${z}. 1 3600 600 86400 60`,
    `${z}. IN NS ns1.${z}.`,
    // An in-zone NS target needs an address record, or named refuses to load the zone.
    `ns1.${z}. IN A 127.0.0.1`,
  ];
  for (const rs of zone.records ?? []) {
    for (const v of rs.values) lines.push(`${rs.name}. ${rs.ttl} IN ${rs.type} ${masterRdata(rs.type, v)}`);
  }
  await fs.writeFile(zoneFile(dir, z), `${lines.join("\n")}\n`);
}

/** An SOA query with dns-packet (not dkimsync's encoder): does named serve the zone yet? */
export function answersSoa(port: number, zone: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    const id = Math.floor(Math.random() * 65536);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    socket.on("error", () => done(false));
    socket.on("message", (raw) => {
      try {
        const answer = dnsPacket.decode(raw);
        if (answer.id !== id) return;
        const isVersion = zone === "version.bind";
        done(
          isVersion ||
            ((answer as { rcode?: string }).rcode === "NOERROR" &&
              (answer.answers ?? []).some((a) => a.type === "SOA")),
        );
      } catch {
        done(false);
      }
    });
    const query =
      zone === "version.bind"
        ? dnsPacket.encode({ type: "query", id, questions: [{ name: zone, type: "TXT", class: "CH" }] })
        : dnsPacket.encode({ type: "query", id, questions: [{ name: zone, type: "SOA" }] });
    socket.send(query, port, "127.0.0.1");
  });
}

export function run(bin: string, args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Split a master-file RDATA text into tokens, keeping quoted strings (RFC 1035 5.1). */
function tokens(text: string): { text: string; quoted: boolean }[] {
  const out: { text: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i] as string)) {
      i++;
      continue;
    }
    const quoted = text[i] === '"';
    if (quoted) i++;
    const bytes: number[] = [];
    while (i < text.length && (quoted ? text[i] !== '"' : !/\s/.test(text[i] as string))) {
      if (text[i] === "\\") {
        const ddd = /^\d{3}/.exec(text.slice(i + 1));
        if (ddd) {
          bytes.push(Number(ddd[0]));
          i += 4;
        } else {
          bytes.push(...Buffer.from(text[i + 1] as string, "utf8"));
          i += 2;
        }
      } else {
        bytes.push(...Buffer.from(text[i] as string, "utf8"));
        i++;
      }
    }
    if (quoted) i++;
    out.push({ text: Buffer.from(bytes).toString("utf8"), quoted });
  }
  return out;
}

const NAME_RDATA = new Set(["CNAME", "NS", "PTR", "DNAME"]);

/** The whole zone via `dig AXFR` signed with the key, as canonical RecordSets (SOA included once). */
export async function digAxfr(server: Pick<BindServer, "port" | "tsig">, zone: string): Promise<RecordSet[]> {
  const k = server.tsig;
  const { stdout } = await run(DIG_BIN, [
    "@127.0.0.1",
    "-p",
    String(server.port),
    "-y",
    `${k.algorithm}:${k.name}:${k.secret}`,
    "AXFR",
    `${zone}.`,
    "+noall",
    "+answer",
  ]);
  if (/Transfer failed|communications error|; TSIG error/i.test(stdout))
    throw new Error(`dig AXFR ${zone} failed:\n${stdout}`);
  const sets = new Map<string, RecordSet>();
  for (const line of stdout.split("\n")) {
    if (line.trim() === "" || line.startsWith(";")) continue;
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const name = (m[1] as string).toLowerCase().replace(/\.$/, "");
    const type = m[3] as string;
    const rdata = m[4] as string;
    let value: string;
    if (type === "TXT")
      value = tokens(rdata)
        .map((t) => t.text)
        .join("");
    else if (NAME_RDATA.has(type)) value = rdata.trim().toLowerCase().replace(/\.$/, "");
    else if (type === "MX") value = rdata.trim().toLowerCase().replace(/\.$/, "");
    else value = rdata.trim();
    const key = `${name}|${type}`;
    const set = sets.get(key) ?? { name, type, ttl: Number(m[2]), values: [] };
    if (!set.values.includes(value)) set.values.push(value);
    sets.set(key, set);
  }
  for (const s of sets.values()) s.values.sort();
  return [...sets.values()];
}

/** Run an `nsupdate` script (without `server`/`send`, which are added) signed with the key. */
export async function nsupdate(
  server: Pick<BindServer, "port" | "tsig">,
  zone: string,
  commands: string[],
): Promise<void> {
  const k = server.tsig;
  const script = [`server 127.0.0.1 ${server.port}`, `zone ${zone}.`, ...commands, "send", ""].join("\n");
  await run(NSUPDATE_BIN, ["-y", `${k.algorithm}:${k.name}:${k.secret}`], script);
}

/** Replace a record set behind dkimsync's back with nsupdate. */
export async function putRecordSet(
  server: Pick<BindServer, "port" | "tsig">,
  zone: string,
  rs: RecordSet,
): Promise<void> {
  await nsupdate(server, zone, [
    `update delete ${rs.name}. ${rs.type}`,
    ...rs.values.map((v) => `update add ${rs.name}. ${rs.ttl} ${rs.type} ${masterRdata(rs.type, v)}`),
  ]);
}
