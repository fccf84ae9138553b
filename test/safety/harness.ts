/**
 * Shared by the safety tests: the real CLI entry point (main) run in-process with captured
 * output, config files written like a user would, and a Route 53 backend without the fake's
 * request-rate limit (the safety tables make hundreds of calls; throttling is tested elsewhere).
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { main, type Io } from "../../src/cli.js";
import { canonical } from "../../src/core/names.js";
import type { RecordSet } from "../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../conformance/backend.js";
import { startRoute53Fake } from "../fakes/route53/server.js";
import { decodeWireName, type FakeRecordSet } from "../fakes/route53/state.js";
import { useTestCredentials } from "../fakes/route53/credentials.js";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** dkimsync as a user runs it, in this process (main() is the bin's only code). */
export async function run(args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    color: false,
    progress: () => undefined,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** Every record set in canonical, sorted form: two zones are equal when these are. */
export function sortedZone(sets: RecordSet[]): string[] {
  return sets
    .map(
      (s) =>
        `${canonical(s.name)} ${s.type} ${s.ttl} ${[...(s.type === "CNAME" ? s.values.map(canonical) : s.values)].sort().join(" | ")}`,
    )
    .sort();
}

export async function tempDir(label: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `dkimsync-safety-${label}-`));
}

export const TENANT = "contoso";
export const target = (sel: 1 | 2, domain: string) =>
  `selector${sel}-${domain.replace(/\./g, "-")}._domainkey.${TENANT}.onmicrosoft.com`;

/** A dkim.zones.yaml with one provider `p` and these domains (explicit targets). */
export async function writeConfig(
  dir: string,
  type: string,
  options: Record<string, unknown>,
  domains: string[],
  name = "dkim.zones.yaml",
): Promise<string> {
  const opts = Object.entries(options)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join("\n");
  const doms = domains
    .map((d) => `  ${d}:\n    provider: p\n    selector1: ${target(1, d)}\n    selector2: ${target(2, d)}`)
    .join("\n");
  const file = path.join(dir, name);
  await fs.writeFile(
    file,
    `tenant: ${TENANT}\nttl: 3600\nproviders:\n  p:\n    type: ${type}\n${opts}\ndomains:\n${doms}\n`,
  );
  return file;
}

function toWireValue(type: string, value: string): string {
  if (type !== "TXT") return value;
  return (value.match(/[\s\S]{1,255}/g) ?? [""])
    .map((c) => `"${c.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)
    .join(" ");
}

function unquoteTxt(value: string): string {
  const parts = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
  return parts.length > 0 ? parts.join("") : value;
}

function fromFake(r: FakeRecordSet): RecordSet {
  const values = r.values.map((v) =>
    r.type === "CNAME" ? canonical(v) : r.type === "TXT" ? unquoteTxt(v) : r.type === "MX" ? v.replace(/\.$/, "") : v,
  );
  return { name: canonical(decodeWireName(r.name)), type: r.type, ttl: r.ttl, values: values.sort() };
}

/** The loopback Route 53 server (real SDK, real wire protocol) without its rate limit. */
export const route53Unthrottled: ConformanceTarget = {
  type: "route53",
  async start(): Promise<ConformanceBackend> {
    const fake = await startRoute53Fake({ rateLimit: false, insyncAfterPolls: 0 });
    const dir = await tempDir("r53");
    const credentials = useTestCredentials(dir, "safety");
    const zoneId = (zone: string) => {
      const [z] = fake.state.zonesNamed(zone);
      if (!z) throw new Error(`no zone ${zone}`);
      return z.id;
    };
    const toFake = (r: RecordSet): FakeRecordSet => ({
      name: r.name,
      type: r.type,
      ttl: r.ttl,
      values: r.values.map((v) => toWireValue(r.type, v)),
    });
    return {
      providerOptions: { endpoint: fake.endpoint, region: "us-east-1", max_attempts: 2, max_rps: 100 },
      async createZone(zone, records) {
        const z = fake.state.createZone(zone);
        for (const r of records) fake.state.put(z.id, toFake(r));
      },
      async readZone(zone) {
        return fake.state.sorted(zoneId(zone)).map(fromFake);
      },
      async put(zone, record) {
        fake.state.put(zoneId(zone), toFake(record));
      },
      async close() {
        await fake.stop();
        credentials.restore();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  },
};
