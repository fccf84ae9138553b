/**
 * Conformance backend for provider `azure`: the loopback Azure DNS and Entra ID server
 * (test/fakes/azure), reached by the provider through the real `@azure/arm-dns` and
 * `@azure/identity` over HTTPS. Zones are created, read and changed on the server's state
 * directly, never through the provider.
 *
 * Credentials: the explicit client secret path (`client_secret: env/NAME`, resolved from the
 * config loader's env), so nothing leaks into process.env. TLS: the server's self-signed
 * certificate is written to a temp file and given as `ca_file`, which adds it to Node's roots.
 *
 * No failNextWrite: Azure DNS has no transaction across record sets (the provider declares
 * capabilities.atomicWrites.can false), so the suite's "a failed write changes nothing" check
 * does not apply.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { canonical } from "../../../src/core/names.js";
import type { RecordSet } from "../../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";
import { startAzureFake } from "../../fakes/azure/server.js";
import { wireData, wireValues, type FakeRecordSet } from "../../fakes/azure/state.js";

const RESOURCE_GROUP = "dns-rg";

export const azureTarget: ConformanceTarget = {
  type: "azure",
  async start(): Promise<ConformanceBackend> {
    const fake = await startAzureFake();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-azure-conf-"));
    const caFile = path.join(dir, "ca.pem");
    await fs.writeFile(caFile, fake.ca);

    const zoneOf = (zone: string) => fake.state.zone(fake.subscriptionId, RESOURCE_GROUP, zone);
    const relative = (name: string, zone: string) => (name === zone ? "@" : name.slice(0, -(zone.length + 1)));
    const put = (zone: string, r: RecordSet) =>
      fake.state.put(zoneOf(zone), relative(r.name, zone), r.type, { ttl: r.ttl, data: wireData(r.type, r.values) });
    const fromFake = (zone: string, s: FakeRecordSet): RecordSet => {
      const values = wireValues(s).map((v) =>
        s.type === "CNAME" || s.type === "NS" ? canonical(v) : s.type === "MX" ? v.replace(/\.$/, "") : v,
      );
      return {
        name: s.name === "@" ? zone : `${s.name.toLowerCase()}.${zone}`,
        type: s.type,
        ttl: s.ttl,
        values: values.sort(),
      };
    };

    return {
      providerOptions: {
        subscription_id: fake.subscriptionId,
        tenant_id: fake.tenantId,
        client_id: fake.clientId,
        client_secret: "env/AZURE_CONFORMANCE_SECRET",
        endpoint: fake.endpoint,
        authority_host: fake.authorityHost,
        ca_file: caFile,
        max_attempts: 2,
        timeout_ms: 10000,
      },
      env: { AZURE_CONFORMANCE_SECRET: fake.clientSecret },
      async createZone(zone, records) {
        fake.state.createZone(fake.subscriptionId, RESOURCE_GROUP, zone);
        for (const r of records) put(zone, r);
      },
      async readZone(zone) {
        return zoneOf(zone)
          .sets.filter((s) => s.type !== "SOA")
          .map((s) => fromFake(zone, s));
      },
      async put(zone, record) {
        put(zone, record);
      },
      async close() {
        await fake.stop();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  },
};
