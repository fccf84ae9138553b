/**
 * Conformance backend: a real BIND 9 (test/servers/bind.ts) per start(). Zones are created,
 * read and changed with BIND's own tools (zone files, `dig AXFR`, `nsupdate`), never through
 * the provider.
 *
 * createZone adds the zone to the running named: named.conf is rewritten and named reloads on
 * SIGHUP (about 0.1 s). Zones cannot be declared up front (the suite names them as it goes),
 * and `rndc addzone` would need a control channel and its key on another port. The provider's
 * `zones` option is the same array the backend appends to, so every config the suite writes
 * after createZone lists the zones that exist.
 *
 * failNextWrite: the zone's journal path is made a directory (BindServer.failNextUpdate). named
 * receives the UPDATE, applies it to a new zone version, fails to write the journal, rolls the
 * version back and answers SERVFAIL (observed on named 9.18). So the failure happens inside the
 * server after the write was received, and "nothing changed" is BIND's own atomicity (RFC 2136
 * 3.7). The trap is removed as soon as named logs the failure.
 */
import type { RecordSet } from "../../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";
import { digAxfr, putRecordSet, startBind } from "../../servers/bind.js";

const ENV_NAME = "DKIMSYNC_TEST_TSIG_SECRET";

export const rfc2136Target: ConformanceTarget = {
  type: "rfc2136",
  canFailWrites: true,
  async start(): Promise<ConformanceBackend> {
    const server = await startBind({ zones: [] });
    const zones: string[] = [];
    return {
      providerOptions: {
        server: `${server.host}:${server.port}`,
        zones,
        tsig: { name: server.tsig.name, algorithm: server.tsig.algorithm, secret: `env/${ENV_NAME}` },
      },
      env: { [ENV_NAME]: server.tsig.secret },
      async createZone(zone: string, records: RecordSet[]) {
        await server.addZone({ name: zone, records });
        zones.push(zone);
      },
      // The SOA is left out: its serial changes with every update.
      async readZone(zone) {
        await server.trapsFired();
        return (await digAxfr(server, zone)).filter((s) => s.type !== "SOA");
      },
      async put(zone, record) {
        await server.trapsFired();
        await putRecordSet(server, zone, record);
      },
      failNextWrite: async (zone) => server.failNextUpdate(zone),
      close: () => server.stop(),
    };
  },
};
