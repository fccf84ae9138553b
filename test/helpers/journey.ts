/**
 * A Microsoft 365 tenant's DNS in one real PowerDNS on loopback (test/servers/pdns.ts), for the
 * verify and exchange tests: domains at every step of the journey, the keys Microsoft would
 * publish under contoso.onmicrosoft.com, and the matching Get-DkimSigningConfig export.
 */
import { generateKeyPairSync } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RecordSet } from "../../src/core/types.js";
import { createZone, startPowerDns, type PdnsServer } from "../servers/pdns.js";

export const TENANT = "contoso.onmicrosoft.com";
export const target = (sel: string, domain: string, suffix = TENANT) =>
  `${sel}-${domain.replace(/\./g, "-")}._domainkey.${suffix}`;

function rsa(bits: number): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return `v=DKIM1; k=rsa; p=${publicKey.export({ format: "der", type: "spki" }).toString("base64")}`;
}

const cname = (sel: string, domain: string, value = target(sel, domain)): RecordSet => ({
  name: `${sel}._domainkey.${domain}`,
  type: "CNAME",
  ttl: 3600,
  values: [value],
});
const key = (sel: string, domain: string, bits = 2048): RecordSet => ({
  name: target(sel, domain),
  type: "TXT",
  ttl: 3600,
  values: [rsa(bits)],
});

export interface Journey {
  server: PdnsServer;
  dir: string;
  configFile: string;
  dns: string;
  stop(): Promise<void>;
}

const entry = (domain: string, fields: Record<string, unknown>) => ({
  Domain: domain,
  Selector1CNAME: target("selector1", domain),
  Selector2CNAME: target("selector2", domain),
  Selector1KeySize: 2048,
  Selector2KeySize: 2048,
  RotateOnDate: "2025-01-01T00:00:00Z",
  SelectorBeforeRotateOnDate: "selector2",
  SelectorAfterRotateOnDate: "selector1",
  ...fields,
});

/**
 * The domains, one per case:
 * - nokeys.test: in the export with Status NoDKIMKeys (no targets yet);
 * - notyet.test: keys exist, CNAMEs not published;
 * - half.test: keys exist, only selector1 published;
 * - ready.test and xn--bcher-kva.test (bücher.test): keys exist, both CNAMEs published, key behind selector1;
 * - weak.test: signing, with 1024-bit keys;
 * - signing.test: signing with 2048-bit keys;
 * - moved.test: the config names legacy targets, Microsoft's export gives new-format ones, and DNS
 *   serves the config's;
 * - contoso.onmicrosoft.com: the initial domain, only in the export.
 */
export async function startJourney(): Promise<Journey> {
  const server = await startPowerDns();
  const both = (d: string) => [cname("selector1", d), cname("selector2", d)];
  await createZone(server, "notyet.test", []);
  await createZone(server, "half.test", [cname("selector1", "half.test")]);
  await createZone(server, "ready.test", both("ready.test"));
  await createZone(server, "xn--bcher-kva.test", both("xn--bcher-kva.test"));
  await createZone(server, "weak.test", both("weak.test"));
  await createZone(server, "signing.test", both("signing.test"));
  await createZone(server, "moved.test", both("moved.test"));
  await createZone(server, TENANT, [
    key("selector1", "notyet.test"),
    key("selector1", "half.test"),
    key("selector1", "ready.test"),
    key("selector1", "xn--bcher-kva.test"),
    key("selector1", "weak.test", 1024),
    key("selector2", "weak.test", 1024),
    key("selector1", "signing.test"),
    key("selector1", "moved.test"),
  ]);
  await createZone(server, "contoso.a-v1.dkim.mail.microsoft", [
    {
      name: target("selector1", "moved.test", "contoso.a-v1.dkim.mail.microsoft"),
      type: "TXT",
      ttl: 3600,
      values: [rsa(2048)],
    },
  ]);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-journey-"));
  await fs.writeFile(
    path.join(dir, "dkim.json"),
    JSON.stringify([
      { Domain: "nokeys.test", Status: "NoDKIMKeys", Enabled: false, Selector1CNAME: null, Selector2CNAME: null },
      entry("notyet.test", { Status: "CnameMissing", Enabled: false }),
      entry("half.test", { Status: "CnameMissing", Enabled: false }),
      entry("ready.test", { Status: "CnameMissing", Enabled: false }),
      entry("xn--bcher-kva.test", { Status: "CnameMissing", Enabled: false }),
      entry("weak.test", { Status: "Valid", Enabled: true, Selector1KeySize: 1024, Selector2KeySize: 1024 }),
      entry("signing.test", { Status: "Valid", Enabled: true }),
      entry("moved.test", {
        Status: "Valid",
        Enabled: true,
        Selector1CNAME: target("selector1", "moved.test", "contoso.a-v1.dkim.mail.microsoft"),
        Selector2CNAME: target("selector2", "moved.test", "contoso.a-v1.dkim.mail.microsoft"),
      }),
      { Domain: TENANT, Status: "Valid", Enabled: true, Selector1CNAME: null, Selector2CNAME: null },
    ]),
  );
  const domain = (d: string, extra: string[] = []) => [`  ${d}:`, "    provider: zones", ...extra];
  const configFile = path.join(dir, "dkim.zones.yaml");
  await fs.writeFile(
    configFile,
    [
      "tenant: contoso",
      "signing_config: dkim.json",
      "providers:",
      "  zones:",
      "    type: yaml",
      "    directory: ./zones",
      "domains:",
      ...domain("nokeys.test"),
      ...domain("notyet.test"),
      ...domain("half.test"),
      ...domain("ready.test"),
      ...domain("bücher.test"),
      ...domain("weak.test"),
      ...domain("signing.test"),
      ...domain("moved.test", [
        `    selector1: ${target("selector1", "moved.test")}`,
        `    selector2: ${target("selector2", "moved.test")}`,
      ]),
      "",
    ].join("\n"),
  );
  return {
    server,
    dir,
    configFile,
    dns: `127.0.0.1:${server.dnsPort}`,
    async stop() {
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
