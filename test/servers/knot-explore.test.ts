import { it } from "vitest";
import { startKnot } from "./knot.js";
import { digAxfr, putRecordSet } from "./bind.js";
import { DnsClient } from "../../providers/rfc2136/api.js";
import { decodeSecret } from "../../providers/rfc2136/tsig.js";
import { addRecord, encodeRdata, rrsetDoesNotExist } from "../../providers/rfc2136/wire.js";

it("explore", async () => {
  const s = await startKnot({ zones: [{ name: "example.com", records: [{ name: "h.example.com", type: "HINFO", ttl: 60, values: ['"a" "b"'] }, { name: "m.example.com", type: "TXT", ttl: 60, values: ["x"] }, { name: "m.example.com", type: "A", ttl: 60, values: ["192.0.2.1"] }] }] });
  try {
    await putRecordSet(s, "example.com", { name: "x.example.com", type: "TXT", ttl: 60, values: ["hi"] });
    console.log(JSON.stringify(await digAxfr(s, "example.com")));
    const c = (k: any, alg?: any, sec?: string) => new DnsClient({ host: "127.0.0.1", port: s.port, timeoutMs: 2000, key: k ? { name: k.name, algorithm: alg ?? k.algorithm, secret: decodeSecret(sec ?? k.secret)! } : undefined });
    const upd = (cl: DnsClient, zone = "example.com", name = "selector1._domainkey.example.com") => cl.update(zone, [rrsetDoesNotExist(name, "CNAME")], [addRecord(name, "CNAME", 60, encodeRdata("CNAME", "t.example.net"))]);
    const show = async (label: string, f: () => Promise<any>) => {
      try { const r = await f(); const resp = r.response ?? r; console.log(label, "rcode", resp.rcode, "tsigError", resp.tsigError, "signed", resp.signed); }
      catch (e: any) { console.log(label, "THROW", e.name, e.code, e.message); }
    };
    await show("update ok", () => upd(c(s.tsig)));
    await show("update wrong secret", () => upd(c(s.tsig, undefined, Buffer.alloc(32, 7).toString("base64"))));
    await show("update unknown key", () => upd(c({ ...s.tsig, name: "nobody" })));
    await show("update wrong alg", () => upd(c(s.tsig, "hmac-sha512")));
    await show("update transferOnly", () => upd(c(s.transferOnly)));
    await show("update other", () => upd(c(s.otherTsig)));
    await show("update unsigned", () => upd(c(undefined)));
    await show("update updateOnly", () => upd(c(s.updateOnly), "example.com", "selector2._domainkey.example.com"));
    await show("update not served zone", () => upd(c(s.tsig), "nothere.test", "a.nothere.test"));
    await show("update not served unsigned", () => upd(c(undefined), "nothere.test", "a.nothere.test"));
    await show("cname next to hinfo", () => upd(c(s.tsig), "example.com", "h.example.com"));
    await show("axfr ok", () => c(s.tsig).axfr("example.com"));
    await show("axfr updateOnly", () => c(s.updateOnly).axfr("example.com"));
    await show("axfr other", () => c(s.otherTsig).axfr("example.com"));
    await show("axfr unsigned", () => c(undefined).axfr("example.com"));
    await show("axfr wrong secret", () => c(s.tsig, undefined, Buffer.alloc(32, 7).toString("base64")).axfr("example.com"));
    await show("axfr unknown key", () => c({ ...s.tsig, name: "nobody" }).axfr("example.com"));
    await show("axfr not served", () => c(s.tsig).axfr("nothere.test"));
    await show("soa not served signed", () => c(s.tsig).query("nothere.test", "SOA"));
    await show("soa not served other", () => c(s.otherTsig).query("nothere.test", "SOA"));
    await show("query wrong secret", () => c(s.tsig, undefined, Buffer.alloc(32, 7).toString("base64")).query("example.com", "SOA"));
    await show("query ANY tcp", async () => { const r = await c(s.tsig).query("m.example.com", "ANY"); console.log(r.records.map(x => x.record.type)); return r; });
    await show("empty update", () => c(s.tsig).update("example.com", [], []));
    await show("empty update other", () => c(s.otherTsig).update("example.com", [], []));
    await show("empty update transferOnly", () => c(s.transferOnly).update("example.com", [], []));
    console.log(JSON.stringify((await digAxfr(s, "example.com")).filter(x => x.type === "SOA")));
    await show("empty update", () => c(s.tsig).update("example.com", [], []));
    console.log(JSON.stringify((await digAxfr(s, "example.com")).filter(x => x.type === "SOA")));
    console.log(s.log().split("\n").filter(l => /update|transfer|TSIG|denied|refus/i.test(l)).join("\n"));
  } finally { await s.stop(); }
}, 60000);
