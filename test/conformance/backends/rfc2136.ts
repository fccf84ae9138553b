/**
 * Conformance backends for the rfc2136 provider, one per real server: BIND 9 (rfc2136Target),
 * Knot DNS (knotTarget) and PowerDNS with dnsupdate=yes (powerdnsDnsupdateTarget). Zones are
 * created, read and changed with each server's own means (zone files and `dig AXFR`/`nsupdate`
 * for BIND and Knot, the HTTP API for PowerDNS), never through the provider.
 *
 * The provider's `zones` option is the same array the backend appends to, so every config the
 * suite writes after createZone lists the zones that exist.
 *
 * BIND: createZone adds the zone to the running named: named.conf is rewritten and named reloads
 * on SIGHUP (about 0.1 s). Zones cannot be declared up front (the suite names them as it goes),
 * and `rndc addzone` would need a control channel and its key on another port.
 * failNextWrite: the zone's journal path is made a directory (BindServer.failNextUpdate). named
 * receives the UPDATE, applies it to a new zone version, fails to write the journal, rolls the
 * version back and answers SERVFAIL (observed on named 9.18). So the failure happens inside the
 * server after the write was received, and "nothing changed" is BIND's own atomicity (RFC 2136
 * 3.7). The trap is removed as soon as named logs the failure.
 *
 * Knot: createZone rewrites knot.conf and runs `knotc reload`. No failNextWrite: Knot offers no
 * way to fail one update inside the server short of breaking its journal database for every
 * zone; the atomicity case runs on BIND and PowerDNS.
 *
 * PowerDNS: the gsqlite3 backend (dnsupdate needs it on 4.7). Each zone gets TSIG-ALLOW-DNSUPDATE
 * and TSIG-ALLOW-AXFR for the key, as the docs ask. failNextWrite: a SQLite trigger that aborts
 * any INSERT into the zone's records. PowerDNS receives the UPDATE, starts its transaction,
 * fails on the insert, rolls back and answers SERVFAIL (observed on 4.7.3); the trigger is
 * dropped before the suite next reads or changes the zone.
 */
import { randomBytes } from "node:crypto";
import type { RecordSet } from "../../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";
import { digAxfr, putRecordSet, startBind } from "../../servers/bind.js";
import { startKnot } from "../../servers/knot.js";
import {
  addTsigKey,
  createZone as pdnsCreateZone,
  putRecordSet as pdnsPut,
  readZone as pdnsReadZone,
  setMeta,
  sql,
  startPowerDns,
} from "../../servers/pdns.js";

const ENV_NAME = "DKIMSYNC_TEST_TSIG_SECRET";

export const rfc2136Target: ConformanceTarget = {
  type: "rfc2136",
  variant: "BIND 9",
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

export const knotTarget: ConformanceTarget = {
  type: "rfc2136",
  variant: "Knot DNS",
  async start(): Promise<ConformanceBackend> {
    const server = await startKnot({ zones: [] });
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
      readZone: async (zone) => (await digAxfr(server, zone)).filter((s) => s.type !== "SOA"),
      put: (zone, record) => putRecordSet(server, zone, record),
      cannotFailWrites:
        "Knot DNS offers no way to fail one update inside the server short of breaking its journal database for every zone; the same provider code's atomicity is checked on BIND 9 and PowerDNS",
      close: () => server.stop(),
    };
  },
};

export const powerdnsDnsupdateTarget: ConformanceTarget = {
  type: "rfc2136",
  variant: "PowerDNS dnsupdate",
  async start(): Promise<ConformanceBackend> {
    const server = await startPowerDns({ dnsupdate: true });
    const key = { name: "dkimsync", algorithm: "hmac-sha256" as const, secret: randomBytes(32).toString("base64") };
    await addTsigKey(server, key);
    const zones: string[] = [];
    let armed = false;
    const disarm = async () => {
      if (!armed) return;
      armed = false;
      await sql(server, "DROP TRIGGER IF EXISTS dkimsync_fail_next_write;");
    };
    return {
      providerOptions: {
        server: `${server.dnsHost}:${server.dnsPort}`,
        zones,
        tsig: { name: key.name, algorithm: key.algorithm, secret: `env/${ENV_NAME}` },
      },
      env: { [ENV_NAME]: key.secret },
      async createZone(zone: string, records: RecordSet[]) {
        await pdnsCreateZone(server, zone, records);
        await setMeta(server, zone, "TSIG-ALLOW-DNSUPDATE", [key.name]);
        await setMeta(server, zone, "TSIG-ALLOW-AXFR", [key.name]);
        zones.push(zone);
      },
      async readZone(zone) {
        await disarm();
        return (await pdnsReadZone(server, zone)).filter((s) => s.type !== "SOA");
      },
      async put(zone, record) {
        await disarm();
        await pdnsPut(server, zone, record);
      },
      async failNextWrite(zone) {
        armed = true;
        const id = `(SELECT id FROM domains WHERE name = '${zone.replace(/'/g, "''")}')`;
        await sql(
          server,
          `CREATE TRIGGER dkimsync_fail_next_write BEFORE INSERT ON records WHEN NEW.domain_id = ${id} BEGIN SELECT RAISE(ABORT, 'failure injected by the conformance backend'); END;`,
        );
      },
      close: () => server.stop(),
    };
  },
};
