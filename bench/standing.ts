/**
 * A data set that stays up between runs, for measuring one CLI run at a time (memhook.ts,
 * --cpu-prof, --trace-gc) instead of a whole bench phase:
 *
 *   node dist/bench/standing.js powerdns gsqlite3|lmdb N DIR   a real PowerDNS with N zones of
 *       the pdns-scale data; writes DIR/contoso.yaml, DIR/fabrikam.yaml and DIR/env (`. DIR/env`
 *       sets PDNS_KEY), prints "ready", serves until Ctrl-C. `apply -c DIR/contoso.yaml` and
 *       `apply -c DIR/fabrikam.yaml` in turn each update all 2N targets.
 *   node dist/bench/standing.js yaml N DIR                      N zone files of the cloud-scale
 *       data (`own` layout) and DIR/dkim.zones.yaml; copy DIR before an apply to run it again.
 *
 * Everything listens on 127.0.0.1 only; the PowerDNS needs `pdns-server` and its backend
 * package (`npm run setup:servers`).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { pool } from "../src/util/pool.js";
import { createZone, startPowerDns } from "../test/servers/pdns.js";
import { cloudConfig, cloudDataset, startYaml } from "./cloud-scale.js";

const [kind, a, b, c] = process.argv.slice(2);

async function powerdns(backend: "gsqlite3" | "lmdb", size: number, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const server = await startPowerDns({ backend });
  const domains = Array.from({ length: size }, (_, i) => `dom${i}.bench.test`);
  await pool(domains, 8, (d) =>
    createZone(server, d, [
      { name: d, type: "MX", ttl: 3600, values: [`0 ${d.replaceAll(".", "-")}.mail.protection.outlook.com`] },
      { name: d, type: "TXT", ttl: 3600, values: ["v=spf1 include:spf.protection.outlook.com -all"] },
      { name: `google._domainkey.${d}`, type: "TXT", ttl: 3600, values: ["v=DKIM1; k=rsa; p=MIGf"] },
    ]),
  );
  for (const tenant of ["contoso", "fabrikam"]) {
    const lines = [`tenant: ${tenant}`, "providers:", "  pdns:", "    type: powerdns", `    url: ${server.apiUrl}`];
    lines.push("    api_key: env/PDNS_KEY", "domains:");
    for (const d of domains) lines.push(`  ${d}:`, "    provider: pdns");
    await fs.writeFile(path.join(dir, `${tenant}.yaml`), `${lines.join("\n")}\n`);
  }
  await fs.writeFile(path.join(dir, "env"), `export PDNS_KEY=${server.apiKey}\n`);
  console.log(`ready: ${size} zones at ${server.apiUrl}, configs in ${dir}`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  setInterval(() => undefined, 1 << 30);
}

async function yaml(size: number, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const zones = cloudDataset(size, "own");
  const backend = await startYaml(dir, zones);
  await fs.writeFile(path.join(dir, "dkim.zones.yaml"), cloudConfig(zones, "yaml", backend.options, "contoso"));
  console.log(`ready: ${size} zone files and dkim.zones.yaml in ${dir}`);
}

if (kind === "powerdns" && (a === "gsqlite3" || a === "lmdb") && Number(b) > 0 && c) await powerdns(a, Number(b), c);
else if (kind === "yaml" && Number(a) > 0 && b) await yaml(Number(a), b);
else {
  console.error("usage: standing powerdns gsqlite3|lmdb N DIR | standing yaml N DIR");
  process.exit(1);
}
