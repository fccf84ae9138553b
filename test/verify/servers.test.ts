/**
 * verify without --nameserver: an rfc2136 provider's `server` is a primary of the zones it
 * updates, so verify asks it directly rather than following NS records (which, for a test zone
 * on a loopback port, point at a server that is not there).
 */
import { generateKeyPairSync } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { RecordSet } from "../../src/core/types.js";
import { verifyConfig } from "../../src/verify/checks.js";
import { startBind, type BindServer } from "../servers/bind.js";

const DOMAIN = "example.test";
const TARGET_ZONE = "contoso.onmicrosoft.com";
const target = (n: 1 | 2) => `selector${n}-example-test._domainkey.${TARGET_ZONE}`;

function dkimKey(): string {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;
}

describe("verify asks an rfc2136 provider's server as the authoritative one", () => {
  let bind: BindServer;
  let dir: string;

  beforeAll(async () => {
    const cname = (n: 1 | 2): RecordSet => ({
      name: `selector${n}._domainkey.${DOMAIN}`,
      type: "CNAME",
      ttl: 3600,
      values: [target(n)],
    });
    const key = (n: 1 | 2): RecordSet => ({ name: target(n), type: "TXT", ttl: 3600, values: [dkimKey()] });
    bind = await startBind({
      zones: [
        { name: DOMAIN, records: [cname(1), cname(2)] },
        { name: TARGET_ZONE, records: [key(1), key(2)] },
      ],
    });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-verify-servers-"));
  });
  afterAll(async () => {
    await bind?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function config(providerBlock: string) {
    const file = path.join(dir, `dkim-${Math.random().toString(36).slice(2)}.zones.yaml`);
    await fs.writeFile(
      file,
      `tenant: contoso\nproviders:\n${providerBlock}\ndomains:\n  ${DOMAIN}:\n    provider: dns\n`,
    );
    return loadConfig(file, { env: { ...process.env, VERIFY_TSIG: bind.tsig.secret } });
  }

  it("passes the authoritative checks against the provider's server, without --nameserver", async () => {
    const cfg = await config(
      `  dns:\n    type: rfc2136\n    server: 127.0.0.1:${bind.port}\n    zones: [${DOMAIN}]\n    tsig: { name: ${bind.tsig.name}, secret: env/VERIFY_TSIG }`,
    );
    const report = await verifyConfig(cfg, { resolver: { host: "127.0.0.1", port: bind.port }, timeoutMs: 1500 });
    const auth = report.domains[0]?.checks.filter((c) => c.check.endsWith("cname (authoritative)"));
    expect(auth?.map((c) => c.status)).toEqual(["pass", "pass"]);
  });

  it("without such a provider it follows NS records, which here lead nowhere (the contrast)", async () => {
    const cfg = await config(`  dns:\n    type: yaml\n    directory: ./zones`);
    const report = await verifyConfig(cfg, { resolver: { host: "127.0.0.1", port: bind.port }, timeoutMs: 500 });
    const auth = report.domains[0]?.checks.filter(
      (c) => c.check.endsWith("cname (authoritative)") || c.check === "nameservers",
    );
    expect(auth?.some((c) => c.status === "fail")).toBe(true);
  });
});
