/**
 * Conformance backend for provider `route53`: the loopback Route 53 server (test/fakes/route53),
 * reached by the provider through the real `@aws-sdk/client-route-53`. Zones are created, read
 * and changed on the server's state directly, never through the provider.
 *
 * Credentials: the provider takes them only from the SDK's default chain, which reads
 * process.env, not the `env` the config loader gets (that one only resolves env/NAME options).
 * So start() puts test-only values into process.env (with no shared config files and no
 * instance metadata, keeping the chain on loopback) and close() restores what was there. A
 * provider-internal credentials override would be a test-only path users never take.
 *
 * failNextWrite: the server answers 500 to the zone's next ChangeResourceRecordSets for the
 * first attempt and the SDK's retry (max_attempts 2 below), so the write fails for good and the
 * batch's all-or-nothing rule is what keeps the zone unchanged.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { canonical } from "../../../src/core/names.js";
import type { RecordSet } from "../../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";
import { startRoute53Fake } from "../../fakes/route53/server.js";
import { decodeWireName, type FakeRecordSet } from "../../fakes/route53/state.js";
import { useTestCredentials } from "../../fakes/route53/credentials.js";

const MAX_ATTEMPTS = 2;

/** A canonical value as a person would have sent it to Route 53 (TXT quoted, others as is). */
function toWireValue(type: string, value: string): string {
  if (type !== "TXT") return value;
  const chunks = value.match(/[\s\S]{1,255}/g) ?? [""];
  return chunks.map((c) => `"${c.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(" ");
}

/** Route 53 TXT `"a" "b"` -> `ab`; an independent reading, not the provider's. */
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

export const route53Target: ConformanceTarget = {
  type: "route53",
  // A change batch is all or nothing (Route 53 API reference, ChangeResourceRecordSets).
  async start(): Promise<ConformanceBackend> {
    const fake = await startRoute53Fake();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-r53-conf-"));
    const credentials = useTestCredentials(dir, "conformance");

    const zoneId = (zone: string): string => {
      const [z] = fake.state.zonesNamed(zone);
      if (!z) throw new Error(`route53 backend: no zone ${zone}`);
      return z.id;
    };
    const toFake = (r: RecordSet): FakeRecordSet => ({
      name: r.name,
      type: r.type,
      ttl: r.ttl,
      values: r.values.map((v) => toWireValue(r.type, v)),
    });

    return {
      providerOptions: { endpoint: fake.endpoint, region: "us-east-1", max_attempts: MAX_ATTEMPTS },
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
      async failNextWrite() {
        fake.faults.failNext(MAX_ATTEMPTS, 500, { op: "ChangeResourceRecordSets" });
      },
      async close() {
        await fake.stop();
        credentials.restore();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  },
};
