/**
 * Conformance backend for provider `cloudflare`: the loopback Cloudflare API server
 * (test/fakes/cloudflare), reached by the provider through the real `cloudflare` SDK. Zones are
 * created, read and changed on the server's state directly, never through the provider.
 *
 * failNextWrite: the server fails the zone's next batch call with HTTP 500 after receiving it,
 * for the first try and every SDK retry (max_retries, default 4), so the write fails for good
 * and the batch's all-or-nothing rule is what keeps the zone unchanged.
 */
import { randomBytes } from "node:crypto";
import { canonical } from "../../../src/core/names.js";
import type { RecordSet } from "../../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";
import { startCloudflareFake } from "../../fakes/cloudflare/server.js";
import type { FakeRecord, FakeZone, SeedRecord } from "../../fakes/cloudflare/state.js";

const ENV_NAME = "CF_TEST_TOKEN";
/** The provider's default max_retries: one try plus this many retries must all fail. */
const PROVIDER_DEFAULT_RETRIES = 4;

/** A canonical record set as Cloudflare holds it: one record per value. */
export function toSeedRecords(set: RecordSet): SeedRecord[] {
  return set.values.map((v) => {
    if (set.type === "MX") {
      const [priority, exchange] = v.split(" ");
      return { name: set.name, type: "MX", content: exchange ?? "", priority: Number(priority), ttl: set.ttl };
    }
    return { name: set.name, type: set.type, content: v, ttl: set.ttl };
  });
}

/** Cloudflare records -> canonical record sets; an independent reading, not the provider's. */
function fromRecords(records: readonly FakeRecord[]): RecordSet[] {
  const sets = new Map<string, RecordSet>();
  for (const r of records) {
    const name = canonical(r.name);
    const key = `${name} ${r.type}`;
    const value =
      r.type === "CNAME"
        ? canonical(r.content)
        : r.type === "MX"
          ? `${r.priority ?? 0} ${canonical(r.content)}`
          : r.content;
    const set = sets.get(key);
    if (set) {
      set.values.push(value);
      set.ttl = Math.min(set.ttl, r.ttl);
    } else {
      sets.set(key, { name, type: r.type, ttl: r.ttl, values: [value] });
    }
  }
  return [...sets.values()]
    .map((s) => ({ ...s, values: s.values.sort() }))
    .sort((a, b) => (a.name === b.name ? (a.type < b.type ? -1 : 1) : a.name < b.name ? -1 : 1));
}

export const cloudflareTarget: ConformanceTarget = {
  type: "cloudflare",
  // The batch endpoint is all or nothing (Cloudflare API docs, "Batch DNS Records").
  async start(): Promise<ConformanceBackend> {
    const token = randomBytes(20).toString("hex");
    const fake = await startCloudflareFake({ tokens: [token] });
    const zoneOf = (zone: string): FakeZone => fake.state.zone(zone);

    return {
      providerOptions: { token: `env/${ENV_NAME}`, base_url: fake.baseURL },
      env: { [ENV_NAME]: token },
      async createZone(zone, records) {
        const z = fake.state.addZone({ name: zone });
        for (const set of records) for (const r of toSeedRecords(set)) fake.state.createRecord(z, r);
      },
      async readZone(zone) {
        return fromRecords(zoneOf(zone).records);
      },
      async put(zone, record) {
        const z = zoneOf(zone);
        // Behind dkimsync's back, like a person in the dashboard: replace what is at the name
        // and type. Through the state's own rules, so CNAME exclusivity still holds.
        for (const r of z.records.filter(
          (x) => canonical(x.name) === canonical(record.name) && x.type === record.type,
        )) {
          fake.state.deleteRecord(z, r.id);
        }
        for (const r of toSeedRecords(record)) fake.state.createRecord(z, r);
      },
      async failNextWrite() {
        // retry-after 0 lets the SDK retry at once instead of backing off 0.5 + 1 + 2 + 4 s.
        fake.faults.failNext(PROVIDER_DEFAULT_RETRIES + 1, 500, "batch", { retryAfterSeconds: 0 });
      },
      async close() {
        await fake.stop();
      },
    };
  },
};
