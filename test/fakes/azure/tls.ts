/**
 * A throw-away TLS certificate for the loopback Azure server (and the HTTPS tests of the
 * Cloudflare fetch), made at run time with the `openssl` command line tool: the Azure SDK sends
 * bearer tokens only over HTTPS, and the tests
 * make the SDK trust this certificate through dkimsync's `ca_file` option (added to Node's
 * built-in roots) or NODE_EXTRA_CA_CERTS in a child process, never by turning verification off.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TestCertificate {
  /** PEM certificate; self-signed, so it is also the CA to trust. */
  cert: string;
  key: string;
}

let cached: TestCertificate | undefined;

/** A certificate for 127.0.0.1 and localhost, valid for two days. One per process. */
export function testCertificate(): TestCertificate {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(os.tmpdir(), "dkimsync-azure-tls-"));
  try {
    try {
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          path.join(dir, "key.pem"),
          "-out",
          path.join(dir, "cert.pem"),
          "-days",
          "2",
          "-subj",
          "/CN=dkimsync azure test server",
          "-addext",
          "subjectAltName=IP:127.0.0.1,DNS:localhost",
          "-addext",
          "basicConstraints=critical,CA:TRUE",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
    } catch (err) {
      throw new Error(
        `the Azure test server needs the openssl command to make its TLS certificate (${(err as Error).message}); install it: apt-get install openssl`,
      );
    }
    cached = {
      cert: readFileSync(path.join(dir, "cert.pem"), "utf8"),
      key: readFileSync(path.join(dir, "key.pem"), "utf8"),
    };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
