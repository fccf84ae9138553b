/**
 * Conformance backend: a real PowerDNS 4.7 server (test/servers/pdns.ts) per start(). Zones are
 * created, read and changed through the HTTP API directly, never through the provider.
 *
 * failNextWrite: the provider talks to the server through a small loopback proxy. When armed,
 * the proxy forwards the next PATCH for the zone with one extra rrset appended, at an
 * out-of-zone name. The real server receives the whole PATCH, applies its rrsets in order
 * inside one backend transaction, fails on the last one with 422 "Name is out of zone" and rolls
 * back the ones before it. So the failure happens on the server, after the write was received,
 * and "nothing changed" is the server's own atomicity, not the proxy's.
 */
import { startHttpProxy } from "../../servers/http-proxy.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";
import { createZone, putRecordSet, readZone, startPowerDns, type PdnsServer } from "../../servers/pdns.js";

const ENV_NAME = "DKIMSYNC_TEST_PDNS_API_KEY";

/** An rrset PowerDNS refuses inside the transaction: `.invalid` (RFC 2606) is in no zone. */
export const INJECTED_FAILURE_RRSET = {
  name: "dkimsync-injected-failure.invalid.",
  type: "TXT",
  ttl: 60,
  changetype: "REPLACE",
  records: [{ content: '"injected by the conformance backend"', disabled: false }],
};

export interface FailingProxy {
  url: string;
  /** The next PATCH for this zone (canonical name) fails on the server. */
  armPatchFailure(zone: string): void;
  close(): Promise<void>;
}

/** A loopback HTTP proxy in front of the PowerDNS API that can make one PATCH fail on the server. */
export async function startFailingProxy(target: string): Promise<FailingProxy> {
  const armed = new Set<string>();
  const proxy = await startHttpProxy(target, {
    onRequest(method, url, body) {
      const zone = patchedZone(method, url);
      if (zone === undefined || body === null || !armed.delete(zone)) return undefined;
      const patch = JSON.parse(body.toString("utf8")) as { rrsets: unknown[] };
      patch.rrsets.push(INJECTED_FAILURE_RRSET);
      return Buffer.from(JSON.stringify(patch));
    },
  });
  return { url: proxy.url, armPatchFailure: (zone) => armed.add(zone), close: () => proxy.close() };
}

/** The canonical zone of `PATCH /api/v1/servers/{id}/zones/{zone id}`, for plain zone ids. */
function patchedZone(method: string, url: string): string | undefined {
  if (method !== "PATCH") return undefined;
  const m = /\/zones\/([^/?]+)$/.exec(url.split("?")[0] ?? "");
  return m?.[1] === undefined ? undefined : decodeURIComponent(m[1]).replace(/\.$/, "").toLowerCase();
}

export const powerdnsTarget: ConformanceTarget = {
  type: "powerdns",
  async start(): Promise<ConformanceBackend> {
    const server: PdnsServer = await startPowerDns();
    let proxy: FailingProxy;
    try {
      proxy = await startFailingProxy(server.apiUrl);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return {
      providerOptions: { url: proxy.url, api_key: `env/${ENV_NAME}` },
      env: { [ENV_NAME]: server.apiKey },
      createZone: (zone, records) => createZone(server, zone, records),
      readZone: (zone) => readZone(server, zone),
      put: (zone, record) => putRecordSet(server, zone, record),
      failNextWrite: async (zone) => proxy.armPatchFailure(zone),
      async close() {
        await proxy.close();
        await server.stop();
      },
    };
  },
};
