/**
 * The real PowerDNS Authoritative Server (Debian `pdns-server` 4.7.x with `pdns-backend-lmdb`, or
 * `pdns-backend-sqlite3` with `dnsupdate`) on free loopback ports in a temporary folder, for tests
 * that need a real API and real DNS. Each flag was observed on PowerDNS 4.7.3 here; the reasons
 * are in comments beside them.
 *
 * The helpers below talk to the HTTP API directly, never through the dkimsync provider, so
 * tests can set up and inspect zones independently of the code under test.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { constants as fsConstants } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { RecordSet } from "../../src/core/types.js";
import { freePort } from "./ports.js";

export const PDNS_SERVER_BIN = "/usr/sbin/pdns_server";
const INSTALL_HINT = "PowerDNS is not installed: apt-get install -y pdns-server pdns-backend-lmdb";
const SQLITE_HINT =
  "PowerDNS with the gsqlite3 backend needs pdns-backend-sqlite3 and sqlite3: apt-get install -y pdns-backend-sqlite3 sqlite3";
export const SQLITE_BIN = "/usr/bin/sqlite3";
const SQLITE_SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const BIND_ATTEMPTS = 3;

export interface PdnsServer {
  /** The webserver's base URL, e.g. `http://127.0.0.1:40123` (the provider's `url` option). */
  apiUrl: string;
  apiKey: string;
  /** The DNS listen address: 127.0.0.1 unless `address` was given. */
  dnsHost: string;
  dnsPort: number;
  /** The gsqlite3 database (with `dnsupdate` or `backend: "gsqlite3"`). */
  sqlite?: string;
  /** Kills the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPowerDnsOptions {
  /** Zones to create once the API answers: zone name -> record sets (canonical form). */
  zones?: Record<string, RecordSet[]>;
  /** The server binary; default /usr/sbin/pdns_server (tests point it elsewhere to check the install message). */
  bin?: string;
  /** Extra pdns_server flags, after the defaults (a later flag wins), e.g. `--webserver-allow-from=10.0.0.1/32`. */
  args?: string[];
  /**
   * The loopback address DNS listens on; default 127.0.0.1. Any 127.0.0.0/8 address works on
   * Linux without configuring it (the whole block is routed to `lo`). The API stays on 127.0.0.1.
   */
  address?: string;
  /** The DNS port; default a free one. The caller checks a port it names is free (e.g. 53, as root). */
  dnsPort?: number;
  /**
   * `lmdb` (default): no schema, and no "database is locked" 500s under concurrent PATCHes.
   * `gsqlite3`: a SQL backend, the kind that answers search-data (lmdb answers it with an empty
   * list, observed on 4.7.3); needs `pdns-backend-sqlite3` and its schema file.
   */
  backend?: "lmdb" | "gsqlite3";
  /**
   * Accept RFC 2136 updates (`dnsupdate=yes`). The lmdb backend takes updates only from
   * PowerDNS 5.0 ("Dynamic DNS Update (RFC 2136)" in the PowerDNS docs), so this runs the
   * gsqlite3 backend instead; TSIG keys and zone metadata are then set with sql().
   */
  dnsupdate?: boolean;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startPowerDns(opts: StartPowerDnsOptions = {}): Promise<PdnsServer> {
  const bin = opts.bin ?? PDNS_SERVER_BIN;
  await assertInstalled(bin);
  if (opts.dnsupdate || opts.backend === "gsqlite3") {
    if (!(await backendPresent("libgsqlite3backend.so")))
      throw new Error(`${SQLITE_HINT} (libgsqlite3backend.so not found under /usr/lib/*/pdns)`);
    for (const file of [SQLITE_BIN, SQLITE_SCHEMA]) {
      try {
        await fs.access(file);
      } catch {
        throw new Error(`${SQLITE_HINT} (${file} not found)`);
      }
    }
  }
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    try {
      const server = await startOnce(bin, opts);
      try {
        for (const [zone, records] of Object.entries(opts.zones ?? {})) await createZone(server, zone, records);
      } catch (err) {
        await server.stop();
        throw err;
      }
      return server;
    } catch (err) {
      lastError = err as Error;
      // Another process can take a port between freePort() and the server's bind: try new ports.
      if (!(err instanceof PortTakenError)) throw err;
    }
  }
  throw lastError ?? new Error("PowerDNS did not start");
}

class PortTakenError extends Error {}

async function assertInstalled(bin: string): Promise<void> {
  try {
    await fs.access(bin, fsConstants.X_OK);
  } catch {
    throw new Error(`${INSTALL_HINT} (${bin} not found)`);
  }
  if (!(await backendPresent("liblmdbbackend.so")))
    throw new Error(`${INSTALL_HINT} (liblmdbbackend.so not found under /usr/lib/*/pdns)`);
}

/** Debian puts backends in /usr/lib/<multiarch triplet>/pdns; look in every triplet. */
async function backendPresent(file: string): Promise<boolean> {
  const dirs = ["/usr/lib/pdns"];
  for (const entry of await fs.readdir("/usr/lib").catch(() => [] as string[]))
    dirs.push(path.join("/usr/lib", entry, "pdns"));
  for (const dir of dirs) {
    try {
      await fs.access(path.join(dir, file));
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

async function startOnce(bin: string, opts: StartPowerDnsOptions): Promise<PdnsServer> {
  const extraArgs = opts.args ?? [];
  const dnsHost = opts.address ?? "127.0.0.1";
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-pdns-"));
  // An empty pdns.conf in our own config-dir, else pdns_server reads /etc/powerdns.
  await fs.writeFile(path.join(dir, "pdns.conf"), "");
  const dnsPort = opts.dnsPort ?? (await freePort());
  const webPort = await freePort();
  const apiKey = randomBytes(18).toString("base64url");
  const sqlite = opts.dnsupdate || opts.backend === "gsqlite3" ? path.join(dir, "pdns.sqlite3") : undefined;
  if (sqlite) await runSqlite(sqlite, `.read ${SQLITE_SCHEMA}`);
  const backend = sqlite
    ? [
        "--launch=gsqlite3",
        `--gsqlite3-database=${sqlite}`,
        // gsqlite3 has no busy timeout: a concurrent write is answered 500 "database is locked"
        // (observed on 4.7.3); no fsync is fine for throwaway data.
        "--gsqlite3-pragma-synchronous=0",
        ...(opts.dnsupdate
          ? [
              "--dnsupdate=yes",
              // Metadata (TSIG-ALLOW-DNSUPDATE ...) changed by a test must count at once (default 60 s).
              "--zone-metadata-cache-ttl=0",
            ]
          : []),
      ]
    : [
        // lmdb: no schema to load, and no "database is locked" 500s under concurrent PATCHes
        // (observed with the sqlite backend); nosync is fine for throwaway data.
        "--launch=lmdb",
        `--lmdb-filename=${path.join(dir, "pdns.lmdb")}`,
        "--lmdb-shards=1",
        "--lmdb-sync-mode=nosync",
      ];
  const args = [
    "--daemon=no",
    "--guardian=no",
    "--write-pid=no",
    "--disable-syslog",
    `--config-dir=${dir}`,
    `--socket-dir=${dir}`,
    ...backend,
    `--local-address=${dnsHost}`,
    `--local-port=${dnsPort}`,
    "--api=yes",
    `--api-key=${apiKey}`,
    "--webserver=yes",
    "--webserver-address=127.0.0.1",
    `--webserver-port=${webPort}`,
    "--webserver-allow-from=127.0.0.1/32",
    // With caches on, a name asked before its zone existed kept answering REFUSED.
    "--cache-ttl=0",
    "--query-cache-ttl=0",
    "--negquery-cache-ttl=0",
    // No security-status query to secpoll.powerdns.com: tests stay on loopback.
    "--security-poll-suffix=",
    ...extraArgs,
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let output = "";
  const collect = (chunk: Buffer): void => {
    if (output.length < 64_000) output += chunk.toString("utf8");
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    });
    child.once("error", (err) => {
      output += `\n${err.message}`;
      running.delete(child);
      resolve(-1);
    });
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await fs.rm(dir, { recursive: true, force: true });
  };

  const apiUrl = `http://127.0.0.1:${webPort}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      await stop();
      if (/Unable to bind|Address already in use/i.test(output))
        throw new PortTakenError(`PowerDNS could not bind its ports:\n${output}`);
      if (/Unable to load module/i.test(output)) throw new Error(`${INSTALL_HINT}\n${output}`);
      throw new Error(`pdns_server exited with code ${String(exitCode)} before its API answered:\n${output}`);
    }
    try {
      const res = await fetch(`${apiUrl}/api/v1/servers/localhost`, {
        headers: { "X-API-Key": apiKey, Accept: "application/json" },
        signal: AbortSignal.timeout(1000),
      });
      await res.arrayBuffer();
      if (res.ok) return { apiUrl, apiKey, dnsHost, dnsPort, sqlite, stop };
    } catch {
      // Not listening yet, or (with a webserver-allow-from that excludes us, for tests of that
      // case) up and refusing us: PowerDNS logs the refusal, which proves it is ready.
      if (output.includes("does not match the set ACL")) return { apiUrl, apiKey, dnsHost, dnsPort, sqlite, stop };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await stop();
  throw new Error(`PowerDNS API at ${apiUrl} did not answer within ${READY_TIMEOUT_MS} ms; server output:\n${output}`);
}

function runSqlite(db: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      SQLITE_BIN,
      ["-bail", "-cmd", ".timeout 5000", db],
      { timeout: 15_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`sqlite3 ${db} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(`${input}\n`);
  });
}

/** Run SQL against a dnsupdate server's gsqlite3 database (TSIG keys, zone metadata, triggers). */
export function sql(server: Pick<PdnsServer, "sqlite">, statements: string): Promise<string> {
  if (!server.sqlite) throw new Error("sql() needs a server started with dnsupdate: true or backend: gsqlite3");
  return runSqlite(server.sqlite, statements);
}

/** A TSIG key as PowerDNS stores it (`pdnsutil import-tsig-key NAME ALGORITHM SECRET` does the same). */
export async function addTsigKey(
  server: Pick<PdnsServer, "sqlite">,
  key: { name: string; algorithm: string; secret: string },
): Promise<void> {
  await sql(
    server,
    `INSERT INTO tsigkeys(name, algorithm, secret) VALUES(${quote(key.name)}, ${quote(key.algorithm)}, ${quote(key.secret)});`,
  );
}

/**
 * Replace a zone's metadata of one kind (`pdnsutil set-meta ZONE KIND VALUE...`), e.g.
 * TSIG-ALLOW-DNSUPDATE, TSIG-ALLOW-AXFR, ALLOW-DNSUPDATE-FROM ("Domain Metadata" in the PowerDNS
 * docs). Read at once: the server runs with zone-metadata-cache-ttl=0.
 */
export async function setMeta(
  server: Pick<PdnsServer, "sqlite">,
  zone: string,
  kind: string,
  values: string[],
): Promise<void> {
  const id = `(SELECT id FROM domains WHERE name = ${quote(zone)})`;
  await sql(
    server,
    [
      `DELETE FROM domainmetadata WHERE domain_id = ${id} AND kind = ${quote(kind)};`,
      ...values.map(
        (v) => `INSERT INTO domainmetadata(domain_id, kind, content) VALUES(${id}, ${quote(kind)}, ${quote(v)});`,
      ),
    ].join("\n"),
  );
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** One API call; throws with the server's error text unless the status is 2xx. */
export async function pdnsRequest(
  server: Pick<PdnsServer, "apiUrl" | "apiKey">,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${server.apiUrl}/api/v1/servers/localhost${apiPath}`, {
    method,
    headers: { "X-API-Key": server.apiKey, Accept: "application/json", "Content-Type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`PowerDNS ${method} ${apiPath} -> ${res.status}: ${text}`);
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

const zonePath = (zone: string): string => `/zones/${encodeURIComponent(`${zone}.`)}`;

/**
 * Create a Native zone holding these records. A zone needs an SOA and NS to be served: both are
 * added at the apex unless `records` has them. Their host names sit under `.test` (RFC 6761):
 * PowerDNS refuses an NS like `ns1._sub.example.org.` ("non-hostname content", observed on 4.7.3).
 */
export async function createZone(
  server: Pick<PdnsServer, "apiUrl" | "apiKey">,
  zone: string,
  records: RecordSet[],
): Promise<void> {
  const all = [...records];
  if (!records.some((r) => r.name === zone && r.type === "SOA")) {
    all.push({
      name: zone,
      type: "SOA",
      ttl: 3600,
      values: ["ns1.dkimsync.test. hostmaster.dkimsync.test. 1 10800 3600 604800 3600"],
    });
  }
  if (!records.some((r) => r.name === zone && r.type === "NS")) {
    all.push({ name: zone, type: "NS", ttl: 3600, values: ["ns1.dkimsync.test"] });
  }
  await pdnsRequest(server, "POST", "/zones", {
    name: `${zone}.`,
    kind: "Native",
    nameservers: [],
    rrsets: all.map((r) => ({
      name: `${r.name}.`,
      type: r.type,
      ttl: r.ttl,
      records: r.values.map((v) => ({ content: encodeContent(r.type, v), disabled: false })),
    })),
  });
}

/** Add or replace one record set (a change made behind dkimsync's back). */
export async function putRecordSet(
  server: Pick<PdnsServer, "apiUrl" | "apiKey">,
  zone: string,
  record: RecordSet,
  opts: { disabled?: boolean } = {},
): Promise<void> {
  await pdnsRequest(server, "PATCH", zonePath(zone), {
    rrsets: [
      {
        name: `${record.name}.`,
        type: record.type,
        ttl: record.ttl,
        changetype: "REPLACE",
        records: record.values.map((v) => ({
          content: encodeContent(record.type, v),
          disabled: opts.disabled ?? false,
        })),
      },
    ],
  });
}

/**
 * Every record set of the zone in canonical form, read with one full GET (the only read that
 * also returns disabled records on 4.7.3). Disabled records carry `drift: ["disabled"]`.
 */
export async function readZone(server: Pick<PdnsServer, "apiUrl" | "apiKey">, zone: string): Promise<RecordSet[]> {
  const body = (await pdnsRequest(server, "GET", zonePath(zone))) as {
    rrsets: { name: string; type: string; ttl: number; records: { content: string; disabled: boolean }[] }[];
  };
  return body.rrsets.map((rr) => {
    const set: RecordSet = {
      name: rr.name.replace(/\.$/, "").toLowerCase(),
      type: rr.type,
      ttl: rr.ttl,
      values: rr.records.map((r) => decodeContent(rr.type, r.content)).sort(),
    };
    if (rr.records.some((r) => r.disabled)) set.drift = ["disabled"];
    return set;
  });
}

/** Types whose content is one domain name, written with a trailing dot. */
const NAME_TYPES = new Set(["CNAME", "NS", "PTR", "DNAME"]);

function encodeContent(type: string, value: string): string {
  if (NAME_TYPES.has(type)) return `${value.replace(/\.$/, "")}.`;
  if (type === "MX") return value.replace(/^(\d+)\s+(\S+?)\.?$/, "$1 $2.");
  if (type === "TXT") return encodeTxt(value);
  return value;
}

/** RFC 1035 5.1 character-strings of at most 255 octets, quoted, with `"`, `\` and non-ASCII escaped. */
function encodeTxt(value: string): string {
  const bytes = Buffer.from(value, "utf8");
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
  if (chunks.length === 0) chunks.push(bytes);
  const parts = chunks.map((chunk) => {
    let s = "";
    for (const b of chunk) {
      if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
      else if (b < 0x20 || b > 0x7e) s += `\\${String(b).padStart(3, "0")}`;
      else s += String.fromCharCode(b);
    }
    return `"${s}"`;
  });
  return parts.join(" ");
}

function decodeContent(type: string, content: string): string {
  if (NAME_TYPES.has(type)) return content.replace(/\.$/, "").toLowerCase();
  if (type === "MX") return content.replace(/\.$/, "").toLowerCase();
  if (type !== "TXT") return content;
  const bytes: number[] = [];
  for (const m of content.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    const inner = m[1] ?? "";
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i] as string;
      if (c !== "\\") {
        bytes.push(...Buffer.from(c, "utf8"));
      } else if (/^\d{3}$/.test(inner.slice(i + 1, i + 4))) {
        bytes.push(Number(inner.slice(i + 1, i + 4)));
        i += 3;
      } else {
        bytes.push(inner.charCodeAt(i + 1));
        i += 1;
      }
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
