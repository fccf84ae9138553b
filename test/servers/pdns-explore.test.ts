import { it } from "vitest";
import { randomBytes } from "node:crypto";
import { startPowerDns, sql, createZone } from "./pdns.js";
import { DnsClient } from "../../providers/rfc2136/api.js";
import { decodeSecret } from "../../providers/rfc2136/tsig.js";
import { addRecord, encodeRdata, rrsetDoesNotExist, nameNotInUse } from "../../providers/rfc2136/wire.js";

it("explore", async () => {
  const s = await startPowerDns({ dnsupdate: true });
  const key = { name: "dkimsync", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
  const other = { name: "other-dkimsync", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
  try {
    await createZone(s, "example.com", [{ name: "h.example.com", type: "HINFO", ttl: 60, values: ['"a" "b"'] }, { name: "m.example.com", type: "TXT", ttl: 60, values: ["x"] }, { name: "m.example.com", type: "A", ttl: 60, values: ["192.0.2.1"] }]);
    await createZone(s, "open.test", []);
    const d = `(SELECT id FROM domains WHERE name='example.com')`;
    await sql(s, `INSERT INTO tsigkeys(name,algorithm,secret) VALUES('dkimsync','hmac-sha256','${key.secret}'),('other-dkimsync','hmac-sha256','${other.secret}');
INSERT INTO domainmetadata(domain_id,kind,content) VALUES(${d},'TSIG-ALLOW-DNSUPDATE','dkimsync'),(${d},'TSIG-ALLOW-AXFR','dkimsync');`);
    const c = (k: any, alg?: any, sec?: string) => new DnsClient({ host: "127.0.0.1", port: s.dnsPort, timeoutMs: 2000, key: k ? { name: k.name, algorithm: alg ?? k.algorithm, secret: decodeSecret(sec ?? k.secret)! } : undefined });
    const upd = (cl: DnsClient, zone = "example.com", name = "selector1._domainkey.example.com", pre = true) => cl.update(zone, pre ? [rrsetDoesNotExist(name, "CNAME")] : [], [addRecord(name, "CNAME", 60, encodeRdata("CNAME", "t.example.net"))]);
    const show = async (label: string, f: () => Promise<any>) => {
      try { const r = await f(); const resp = r.response ?? r; console.log(label, "rcode", resp.rcode, "tsigError", resp.tsigError, "signed", resp.signed); }
      catch (e: any) { console.log(label, "THROW", e.name, e.code, e.message); }
    };
    await show("update ok", () => upd(c(key)));
    await show("update wrong secret", () => upd(c(key, undefined, Buffer.alloc(32, 7).toString("base64"))));
    await show("update unknown key", () => upd(c({ ...key, name: "nobody" })));
    await show("update wrong alg", () => upd(c(key, "hmac-sha512")));
    await show("update other", () => upd(c(other)));
    await show("update unsigned", () => upd(c(undefined)));
    await show("update open zone unsigned", () => upd(c(undefined), "open.test", "a.open.test"));
    await show("update open zone signed other", () => upd(c(other), "open.test", "b.open.test"));
    await show("update not served zone", () => upd(c(key), "nothere.test", "a.nothere.test"));
    await show("update not served unsigned", () => upd(c(undefined), "nothere.test", "a.nothere.test"));
    await show("cname next to hinfo", () => upd(c(key), "example.com", "h.example.com"));
    await show("cname next to txt no prereq", () => upd(c(key), "example.com", "m.example.com", false));
    await show("name not in use hinfo", () => c(key).update("example.com", [nameNotInUse("h.example.com")], [addRecord("h.example.com", "CNAME", 60, encodeRdata("CNAME", "t.example.net"))]));
    await show("axfr ok", () => c(key).axfr("example.com"));
    await show("axfr other", () => c(other).axfr("example.com"));
    await show("axfr unsigned", () => c(undefined).axfr("example.com"));
    await show("axfr wrong secret", () => c(key, undefined, Buffer.alloc(32, 7).toString("base64")).axfr("example.com"));
    await show("axfr unknown key", () => c({ ...key, name: "nobody" }).axfr("example.com"));
    await show("axfr not served", () => c(key).axfr("nothere.test"));
    await show("soa not served signed", () => c(key).query("nothere.test", "SOA"));
    await show("query wrong secret", () => c(key, undefined, Buffer.alloc(32, 7).toString("base64")).query("example.com", "SOA"));
    await show("query ANY", async () => { const r = await c(key).query("m.example.com", "ANY"); console.log(r.records.map(x => x.record.type)); return r; });
  } finally { await s.stop(); }
}, 60000);
