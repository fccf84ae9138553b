/**
 * Conformance backend for provider `gcloud`: the loopback Cloud DNS server (test/fakes/gcloud),
 * reached by the provider through the real google-auth-library (a service account key whose JWT
 * grant the server's token endpoint checks) and the Cloud DNS v1 REST API. Zones are created,
 * read and changed on the server's state directly, never through the provider.
 *
 * failNextWrite: the server answers 500 to the zone's next changes.create for every attempt the
 * provider makes (max_attempts below), after receiving it, so the write fails for good and the
 * change's all-or-nothing rule is what keeps the zone unchanged.
 */
import { canonical } from "../../../src/core/names.js";
import type { RecordSet } from "../../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";
import { startGcloudFake } from "../../fakes/gcloud/server.js";
import type { FakeRrset, SeedRrset } from "../../fakes/gcloud/state.js";

const PROJECT = "conformance-project";
const ENV_NAME = "GCLOUD_CONFORMANCE_KEY";
const MAX_ATTEMPTS = 2;

/** A canonical record set as a person would have written it to Cloud DNS (presentation form). */
export function toSeedRrset(r: RecordSet): SeedRrset {
  const abs = (v: string) => `${v.replace(/\.$/, "")}.`;
  const rrdatas = r.values.map((v) => {
    if (r.type === "CNAME" || r.type === "NS" || r.type === "PTR") return abs(v);
    if (r.type === "MX") {
      const [pref, host] = v.split(" ");
      return `${pref} ${abs(host ?? "")}`;
    }
    if (r.type === "TXT")
      return (v.match(/[\s\S]{1,255}/g) ?? [""])
        .map((c) => `"${c.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)
        .join(" ");
    return v;
  });
  return { name: r.name, type: r.type, ttl: r.ttl, rrdatas };
}

/** Cloud DNS TXT `"a" "b"` -> `ab`; an independent reading, not the provider's. */
function unquote(v: string): string {
  const parts = [...v.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
  return parts.length > 0 ? parts.join("") : v;
}

function fromFake(r: FakeRrset): RecordSet {
  const values = r.rrdatas.map((v) =>
    r.type === "CNAME" || r.type === "NS"
      ? canonical(v)
      : r.type === "TXT"
        ? unquote(v)
        : r.type === "MX"
          ? v.replace(/\.$/, "")
          : v,
  );
  return { name: canonical(r.name), type: r.type, ttl: r.ttl, values: values.sort() };
}

export const gcloudTarget: ConformanceTarget = {
  type: "gcloud",
  // One changes.create is all or nothing (Cloud DNS API v1 reference, changes.create).
  async start(): Promise<ConformanceBackend> {
    const fake = await startGcloudFake();
    fake.state.project(PROJECT);
    const key = fake.createServiceAccount(`dkimsync@${PROJECT}.iam.gserviceaccount.com`, { projects: [PROJECT] });
    const zone = (name: string) => fake.state.zoneByDns(name, PROJECT);
    return {
      providerOptions: {
        project: PROJECT,
        credentials: `env/${ENV_NAME}`,
        endpoint: fake.endpoint,
        token_url: fake.tokenUrl,
        max_attempts: MAX_ATTEMPTS,
        timeout_ms: 10000,
      },
      env: { [ENV_NAME]: JSON.stringify(key) },
      async createZone(name, records) {
        fake.state.createZone(PROJECT, name, { rrsets: records.map(toSeedRrset) });
      },
      async readZone(name) {
        return fake.state.sorted(zone(name)).map(fromFake);
      },
      async put(name, record) {
        fake.state.put(zone(name), toSeedRrset(record));
      },
      async failNextWrite() {
        fake.faults.failNext(MAX_ATTEMPTS, 500, "createChange");
      },
      async close() {
        await fake.stop();
      },
    };
  },
};
