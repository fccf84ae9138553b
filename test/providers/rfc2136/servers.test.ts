/**
 * The rfc2136 provider's errors against real Knot DNS and PowerDNS (BIND's are in
 * provider.test.ts): each refusal the server can give, and the error dkimsync makes of it. The
 * answers each case relies on were observed on Knot 3.2.6 and PowerDNS 4.7.3 (see expectOk in
 * providers/rfc2136/index.ts for the table).
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRfc2136Provider } from "../../../providers/rfc2136/index.js";
import { applyPlan } from "../../../src/plan/apply.js";
import { loadConfig } from "../../../src/config/load.js";
import type { ProviderError } from "../../../src/core/errors.js";
import { providerFailure } from "../../helpers/records.js";
import { buildPlan, closeProviders, summarise } from "../../../src/plan/build.js";
import { renderApply } from "../../../src/render/apply.js";
import { plain } from "../../../src/render/style.js";
import { optionsReader } from "../../helpers/options.js";
import type { Provider, RecordSet } from "../../../src/core/types.js";
import { digAxfr, startBind, type BindTsig } from "../../servers/bind.js";
import { startKnot, type KnotServer } from "../../servers/knot.js";
import {
  addTsigKey,
  createZone,
  putRecordSet,
  readZone,
  setMeta,
  startPowerDns,
  type PdnsServer,
} from "../../servers/pdns.js";
import { cname, create, remove } from "../../helpers/records.js";

const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";
const WRONG_SECRET = Buffer.alloc(32, 7).toString("base64");

function provider(
  port: number,
  opts: { key?: BindTsig | null; secret?: string; algorithm?: string; zones?: string[] | null; transfer?: string },
): Provider {
  const values: Record<string, unknown> = {
    server: `127.0.0.1:${port}`,
    transfer: opts.transfer ?? "axfr",
    timeout_ms: 3000,
  };
  if (opts.zones !== null) values.zones = opts.zones ?? ["example.com"];
  if (opts.key) values.tsig = { name: opts.key.name, algorithm: opts.algorithm ?? opts.key.algorithm, secret: "env/S" };
  const env = { S: opts.secret ?? opts.key?.secret ?? "" };
  return createRfc2136Provider(optionsReader("rfc2136", values, env, { provider: "dns", line: 3 }), {});
}

const text = (e: ProviderError) => `${e.message}\nhint: ${e.hint ?? ""}`;
const S1 = (zone: string) => `selector1._domainkey.${zone}`;
const S2 = (zone: string) => `selector2._domainkey.${zone}`;
const HINFO: RecordSet = {
  name: "selector1._domainkey.hinfo.example.com",
  type: "HINFO",
  ttl: 3600,
  values: ['"PC" "Linux"'],
};

describe("Knot DNS", () => {
  let knot: KnotServer;
  beforeAll(async () => {
    knot = await startKnot({ zones: [{ name: "example.com", records: [HINFO] }] });
  });
  afterAll(async () => {
    await knot?.stop();
  });
  const p = (opts: Parameters<typeof provider>[1] = {}) => provider(knot.port, { key: knot.tsig, ...opts });
  const change = () => [create(cname(S1("knot.example.com"), T1))];

  it("a key that may transfer but not update: BADKEY from Knot's acl, reported as a permission, not an unknown key", async () => {
    const err = await providerFailure(p({ key: knot.transferOnly }).apply("example.com", change()));
    expect(err.message).toMatch(
      /update failed: the server answered NOTAUTH\/BADKEY, unsigned, though it serves zone example.com and accepts key "transfer-only" \(a signed SOA query verified\): the key may not update the zone \(Knot answers a key its acl does not allow with BADKEY\)/,
    );
    expect(err.hint).toMatch(/Knot: an acl with key: transfer-only and action: update/);
    expect(text(err)).not.toMatch(/does not know key|tsig.secret/);
  });

  it("a key that may update but not transfer: the same, with transfer: query as a way out", async () => {
    const err = await providerFailure(p({ key: knot.updateOnly }).list("example.com", [S1("example.com")]));
    expect(err.message).toMatch(
      /zone transfer failed: the server answered NOTAUTH\/BADKEY, unsigned, though it serves zone example.com and accepts key "update-only".*the key may not transfer the zone/,
    );
    expect(err.hint).toMatch(/Knot: an acl with key: update-only and action: transfer.*or set transfer: query/);
    // And transfer: query works with that key.
    expect(await p({ key: knot.updateOnly, transfer: "query" }).list("example.com", [HINFO.name])).toEqual([HINFO]);
  });

  it("an unknown key name and a wrong algorithm: BADKEY, and the probe confirms the server does not know the key", async () => {
    for (const [opts, alg] of [
      [{ key: { ...knot.tsig, name: "nobody" } }, "hmac-sha256"],
      [{ algorithm: "hmac-sha512" }, "hmac-sha512"],
    ] as const) {
      const err = await providerFailure(p(opts).apply("example.com", change()));
      expect(err.message).toMatch(
        new RegExp(
          `NOTAUTH/BADKEY, unsigned; a signed SOA query for example.com then got NOTAUTH/BADKEY, unsigned: it does not know key "\\S+" with algorithm ${alg}`,
        ),
      );
      expect(err.hint).toMatch(/Knot key: - id:/);
    }
  });

  it("a wrong secret: BADSIG names the secret", async () => {
    const err = await providerFailure(p({ secret: WRONG_SECRET }).apply("example.com", change()));
    expect(err.message).toMatch(
      /NOTAUTH\/BADSIG, unsigned: it knows key "dkimsync" but the signature did not verify, so tsig.secret is not that key's secret/,
    );
    const found = await providerFailure(
      p({ secret: WRONG_SECRET, zones: null }).zoneOf?.("www.example.com") as Promise<unknown>,
    );
    expect(found.message).toMatch(
      /SOA query for www.example.com failed: the server answered NOTAUTH\/BADSIG, unsigned: it knows key "dkimsync"/,
    );
  });

  it("a zone Knot does not serve (its NOTAUTH is unsigned): no zone at provider ... contains it, for updates and transfers", async () => {
    const zone = "elsewhere.test";
    const update = await providerFailure(p({ zones: [zone] }).apply(zone, [create(cname(S1(zone), T1))]));
    expect(update.message).toMatch(
      /update failed: the server answered NOTAUTH, unsigned, and REFUSED, unsigned to an SOA query for elsewhere.test: it does not serve zone elsewhere.test, so no zone at provider "dns" contains elsewhere.test/,
    );
    const transfer = await providerFailure(p({ zones: [zone] }).list(zone, [S1(zone)]));
    expect(transfer.message).toMatch(
      /zone transfer failed: .*it does not serve zone elsewhere.test, so no zone at provider "dns" contains/,
    );
    expect(text(transfer)).not.toMatch(/tsig.secret|cannot be trusted/);
    // Discovery: Knot's unsigned REFUSED to the SOA query means no zone here.
    expect(await p({ zones: null }).zoneOf?.("www.elsewhere.test")).toBeUndefined();
  });

  it("an unsigned transfer Knot refuses: NOTAUTH, reported as a missing key, not as 'not authoritative'", async () => {
    const err = await providerFailure(p({ key: null }).list("example.com", [S1("example.com")]));
    expect(err.message).toMatch(
      /zone transfer failed: the server answered NOTAUTH: the request was not signed, and the server takes no unsigned transfer for zone example.com/,
    );
    expect(err.hint).toMatch(/configure tsig:.*Knot: an acl with key: KEY and action: transfer/);
    expect(text(err)).not.toMatch(/primary/);
  });

  it("transfer: query sees a HINFO at a selector name (ANY over TCP), and a create there fails on 'name is not in use' instead of being dropped", async () => {
    const q = p({ transfer: "query" });
    expect(await q.list("example.com", [HINFO.name, "selector2._domainkey.hinfo.example.com"])).toEqual([HINFO]);
    const err = await providerFailure(
      q.apply("example.com", [
        create(cname(HINFO.name, T1)),
        create(cname("selector2._domainkey.hinfo.example.com", T2)),
      ]),
    );
    expect(err.message).toMatch(
      /update failed: the server answered YXDOMAIN, signed: selector1._domainkey.hinfo.example.com holds HINFO, of a type the per-name queries of transfer: query did not return, or written since the plan; .*so nothing was written/,
    );
    // Atomic: the other selector was not written either.
    expect((await digAxfr(knot, "example.com")).filter((s) => s.name.endsWith("hinfo.example.com"))).toEqual([HINFO]);
  });

  it("least privilege: an acl for the selector names only (update-owner, update-type) lets the selectors through and refuses other names", async () => {
    const zone = "policy.test";
    await knot.addZone({ name: zone, updateOwners: { names: [S1(zone), S2(zone)], types: ["CNAME", "TXT"] } });
    const q = p({ zones: [zone] });
    await q.apply(zone, [create(cname(S1(zone), T1)), create(cname(S2(zone), T2))]);
    expect(await q.list(zone, [S1(zone), S2(zone)])).toEqual([cname(S1(zone), T1), cname(S2(zone), T2)]);
    const err = await providerFailure(q.apply(zone, [create(cname(`www.${zone}`, T1))]));
    expect(err.message).toMatch(/the key may not update the zone/);
  });
});

describe("PowerDNS with dnsupdate=yes", () => {
  let pdns: PdnsServer;
  const key: BindTsig = { name: "dkimsync", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
  const other: BindTsig = {
    name: "other-dkimsync",
    algorithm: "hmac-sha256",
    secret: randomBytes(32).toString("base64"),
  };
  beforeAll(async () => {
    pdns = await startPowerDns({ dnsupdate: true });
    await addTsigKey(pdns, key);
    await addTsigKey(pdns, other);
    await createZone(pdns, "example.com", [HINFO]);
    await setMeta(pdns, "example.com", "TSIG-ALLOW-DNSUPDATE", [key.name]);
    await setMeta(pdns, "example.com", "TSIG-ALLOW-AXFR", [key.name]);
  });
  afterAll(async () => {
    await pdns?.stop();
  });
  const p = (opts: Parameters<typeof provider>[1] = {}) => provider(pdns.dnsPort, { key, ...opts });
  const change = () => [create(cname(S1("pdns.example.com"), T1))];

  it("a wrong secret, an unknown key name, a wrong algorithm: PowerDNS's unsigned REFUSED, reported as 'did not accept key', never as the secret alone", async () => {
    for (const opts of [{ secret: WRONG_SECRET }, { key: { ...key, name: "nobody" } }, { algorithm: "hmac-sha512" }]) {
      const err = await providerFailure(p(opts).apply("example.com", change()));
      expect(err.message).toMatch(
        /update failed: the server answered REFUSED, unsigned; a signed SOA query for example.com then got NOTAUTH, unsigned: it did not accept key "\S+"; PowerDNS answers a wrong secret, an unknown key name and a wrong algorithm alike, unsigned, so one of tsig.name, tsig.algorithm, tsig.secret differs/,
      );
      expect(err.hint).toMatch(/pdnsutil import-tsig-key/);
      expect(text(err)).not.toMatch(/cannot be trusted/);
      // Discovery: the unsigned NOTAUTH to the SOA query is about the key, not "no zone here".
      const found = await providerFailure(p({ ...opts, zones: null }).zoneOf?.("www.example.com") as Promise<unknown>);
      expect(found.message).toMatch(
        /SOA query for www.example.com failed: the server answered NOTAUTH, unsigned: it did not accept key/,
      );
    }
  });

  it("a valid key not in TSIG-ALLOW-DNSUPDATE: REFUSED, signed, naming the zone metadata", async () => {
    const err = await providerFailure(p({ key: other }).apply("example.com", change()));
    expect(err.message).toMatch(
      /update failed: the server answered REFUSED, signed, though it serves zone example.com and accepts key "other-dkimsync".*the key may not update the zone/,
    );
    expect(err.hint).toMatch(
      /PowerDNS: pdnsutil set-meta example.com TSIG-ALLOW-DNSUPDATE other-dkimsync, and this machine's address in allow-dnsupdate-from/,
    );
  });

  it("an address outside allow-dnsupdate-from: REFUSED, naming allow-dnsupdate-from", async () => {
    // The zone's ALLOW-DNSUPDATE-FROM adds to the global list (observed on 4.7.3), so the
    // global setting itself must leave loopback out: a second server.
    const narrow = await startPowerDns({ dnsupdate: true, args: ["--allow-dnsupdate-from=192.0.2.0/24"] });
    try {
      await addTsigKey(narrow, key);
      await createZone(narrow, "example.com", []);
      await setMeta(narrow, "example.com", "TSIG-ALLOW-DNSUPDATE", [key.name]);
      const err = await providerFailure(provider(narrow.dnsPort, { key }).apply("example.com", change()));
      expect(err.message).toMatch(
        /the server answered REFUSED, (un)?signed, though it serves zone example.com and accepts key "dkimsync".*the key may not update the zone/,
      );
      expect(err.hint).toMatch(/this machine's address in allow-dnsupdate-from/);
    } finally {
      await narrow.stop();
    }
  });

  it("a valid key not in TSIG-ALLOW-AXFR: an unsigned NOTAUTH, reported as a transfer permission", async () => {
    const err = await providerFailure(p({ key: other }).list("example.com", [S1("example.com")]));
    expect(err.message).toMatch(
      /zone transfer failed: the server answered NOTAUTH, unsigned, though it serves zone example.com and accepts key "other-dkimsync".*the key may not transfer the zone/,
    );
    expect(err.hint).toMatch(/pdnsutil set-meta example.com TSIG-ALLOW-AXFR other-dkimsync.*or set transfer: query/);
  });

  it("a zone PowerDNS does not serve: no zone at provider ... contains it (update and transfer), and discovery finds none", async () => {
    const zone = "elsewhere.test";
    for (const run of [
      () => p({ zones: [zone] }).apply(zone, [create(cname(S1(zone), T1))]),
      () => p({ zones: [zone] }).list(zone, [S1(zone)]),
    ]) {
      const err = await providerFailure(run());
      expect(err.message).toMatch(
        /REFUSED, signed to an SOA query for elsewhere.test: it does not serve zone elsewhere.test, so no zone at provider "dns" contains elsewhere.test/,
      );
      expect(text(err)).not.toMatch(/tsig.secret|cannot be trusted/);
    }
    expect(await p({ zones: null }).zoneOf?.("www.elsewhere.test")).toBeUndefined();
  });

  it("a CNAME added next to other data: PowerDNS refuses the whole update; the error names the data, not the key", async () => {
    const name = S1("mixed.example.com");
    await putRecordSet(pdns, "example.com", { name, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=old"] });
    await putRecordSet(pdns, "example.com", { name, type: "A", ttl: 3600, values: ["192.0.2.7"] });
    const q = p();
    const [, txtSet] = await q.list("example.com", [name]);
    // The --force path as planned from a TXT alone: the A appeared after the plan read the name.
    const err = await providerFailure(q.apply("example.com", [remove(txtSet as RecordSet), create(cname(name, T1))]));
    expect(err.message).toMatch(
      /update failed: the server answered REFUSED, signed: selector1._domainkey.mixed.example.com holds A; a CNAME cannot share its name with other data \(RFC 1034 3.6.2\), and PowerDNS refuses the whole update/,
    );
    expect(text(err)).not.toMatch(/may not update/);
    expect(
      (await readZone(pdns, "example.com"))
        .filter((s) => s.name === name)
        .map((s) => s.type)
        .sort(),
    ).toEqual(["A", "TXT"]);
  });

  it("transfer: query sees a HINFO at a selector name, and a create there fails on 'name is not in use' (YXDOMAIN)", async () => {
    const q = p({ transfer: "query" });
    expect(await q.list("example.com", [HINFO.name])).toEqual([HINFO]);
    const err = await providerFailure(
      q.apply("example.com", [
        create(cname(HINFO.name, T1)),
        create(cname("selector2._domainkey.hinfo.example.com", T2)),
      ]),
    );
    expect(err.message).toMatch(
      /the server answered YXDOMAIN, signed: selector1._domainkey.hinfo.example.com holds HINFO/,
    );
    expect((await readZone(pdns, "example.com")).filter((s) => s.name.endsWith("hinfo.example.com"))).toEqual([HINFO]);
  });
});

/**
 * The issue's case end to end, on each server: with transfer: query, a HINFO at a selector name
 * used to be invisible (plan: create; apply: "did not take", yet the other selector was written).
 * Now the plan shows it as a conflict, apply refuses without --force and writes nothing, and
 * apply --force replaces it; the summary counts what was written.
 */
describe.each(["bind", "knot", "powerdns"] as const)(
  "transfer: query with a HINFO at a selector name, end to end (%s)",
  (kind) => {
    const zone = "hinfo.test";
    const s1 = S1(zone);
    const s2 = S2(zone);
    const hinfo: RecordSet = { name: s1, type: "HINFO", ttl: 3600, values: ['"PC" "Linux"'] };
    let port = 0;
    let secret = "";
    let read: () => Promise<RecordSet[]> = async () => [];
    let stop: () => Promise<void> = async () => {};
    let dir = "";
    beforeAll(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-hinfo-"));
      if (kind === "powerdns") {
        const server = await startPowerDns({ dnsupdate: true });
        stop = () => server.stop();
        const k = { name: "dkimsync", algorithm: "hmac-sha256", secret: randomBytes(32).toString("base64") };
        await addTsigKey(server, k);
        await createZone(server, zone, [hinfo]);
        await setMeta(server, zone, "TSIG-ALLOW-DNSUPDATE", [k.name]);
        [port, secret] = [server.dnsPort, k.secret];
        read = () => readZone(server, zone);
      } else {
        const server =
          kind === "bind"
            ? await startBind({ zones: [{ name: zone, records: [hinfo] }] })
            : await startKnot({ zones: [{ name: zone, records: [hinfo] }] });
        stop = () => server.stop();
        [port, secret] = [server.port, server.tsig.secret];
        read = () => digAxfr(server, zone);
      }
    });
    afterAll(async () => {
      await stop();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it("plan shows a conflict, apply without --force writes nothing, apply --force replaces the HINFO with the CNAME", async () => {
      const file = path.join(dir, "dkim.zones.yaml");
      await fs.writeFile(
        file,
        `tenant: contoso\nproviders:\n  dns:\n    type: rfc2136\n    server: 127.0.0.1:${port}\n    zones: [${zone}]\n    transfer: query\n` +
          `    tsig: { name: dkimsync, secret: env/TSIG_SECRET }\ndomains:\n  ${zone}:\n    provider: dns\n`,
      );
      const env = { ...process.env, TSIG_SECRET: secret };
      const run = async (force: boolean) => {
        const { plan, providers } = await buildPlan({ config: loadConfig(file, { env }), env });
        try {
          return { plan, result: await applyPlan({ plan, providers, force, checkStale: false }) };
        } finally {
          await closeProviders(providers);
        }
      };
      const { plan, providers } = await buildPlan({ config: loadConfig(file, { env }), env });
      await closeProviders(providers);
      expect(plan.errors).toEqual([]);
      expect(plan.zones[0]?.conflicts.map((c) => [c.name, c.type])).toEqual([[s1, "HINFO"]]);
      expect(summarise(plan)).toMatchObject({ create: 1, conflicts: 1 });

      // The conflict blocks its domain (both selectors): nothing is written there, and the run fails.
      const blocked = await run(false);
      expect(blocked.result.blocked?.map((b) => [b.domain, b.message])).toEqual([
        ["hinfo.test", expect.stringContaining(`HINFO record at ${s1}`)],
      ]);
      expect(blocked.result.zones.map((z) => z.outcome)).toEqual(["blocked"]);
      expect((await read()).filter((r) => r.name === s1 || r.name === s2)).toEqual([hinfo]);

      const { plan: forced, result } = await run(true);
      expect(result.zones.map((z) => [z.outcome, z.message])).toEqual([["applied", undefined]]);
      expect(renderApply(forced, result, "text", plain)).toMatch(/3 change\(s\) written in 1 zone\(s\)/);
      const after = (await read())
        .filter((r) => r.name === s1 || r.name === s2)
        .map((r) => [r.name, r.type])
        .sort();
      expect(after).toEqual([
        [s1, "CNAME"],
        [s2, "CNAME"],
      ]);
    });
  },
);
