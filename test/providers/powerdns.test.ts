import { Resolver } from "node:dns/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, it, expect } from "vitest";
import { createPowerDnsProvider } from "../../providers/powerdns/index.js";
import { formatTxtContent, parseTxtContent, toRRsetPatches } from "../../providers/powerdns/convert.js";
import { InputError, ProviderError } from "../../src/core/errors.js";
import { OptionsReader } from "../../src/config/options.js";
import type { Provider, RecordSet } from "../../src/core/types.js";
import { powerdnsTarget } from "../conformance/backends/powerdns.js";
import { createZone, pdnsRequest, putRecordSet, readZone, startPowerDns, type PdnsServer } from "../servers/pdns.js";
import { freePort } from "../servers/ports.js";
import { cname, create, remove } from "../helpers/records.js";

const KEY_VAR = "TEST_PDNS_KEY";
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const T2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";
/** Longer than 255 octets, so PowerDNS stores it as two character-strings. */
const OLD_KEY = `v=DKIM1; k=rsa; p=${"B".repeat(300)}`;

const LINES: Record<string, number> = { url: 11, api_key: 12, server_id: 13, timeout_ms: 14, urll: 15 };

function reader(values: Record<string, unknown>, env: Record<string, string>): OptionsReader {
  return new OptionsReader({
    provider: "pdns",
    type: "powerdns",
    values,
    where: { file: "dkim.zones.yaml", line: 10 },
    lineOf: (key) => LINES[key],
    configDir: "/tmp",
    env,
  });
}

function provider(
  server: PdnsServer,
  extra: Record<string, unknown> = {},
  env: Record<string, string> = { [KEY_VAR]: server.apiKey },
): Provider {
  return createPowerDnsProvider(reader({ url: server.apiUrl, api_key: `env/${KEY_VAR}`, ...extra }, env), {});
}

const sortSets = (sets: RecordSet[]): RecordSet[] =>
  [...sets].sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`));

async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

let server: PdnsServer;
let zoneCounter = 0;
/** A fresh zone per test, so tests do not see each other's records. */
async function freshZone(records: RecordSet[] = []): Promise<string> {
  const zone = `z${++zoneCounter}.example.com`;
  await createZone(
    server,
    zone,
    records.map((r) => ({ ...r, name: r.name.replace("{z}", zone) })),
  );
  return zone;
}

beforeAll(async () => {
  server = await startPowerDns();
});
afterAll(async () => {
  await server?.stop();
});

describe("powerdns provider against a real PowerDNS", () => {
  it("lists zones canonically and uses the server's escaped ids (=5F) for later calls", async () => {
    await createZone(server, "_sub.example.org", [cname("selector1._domainkey._sub.example.org", T1)]);
    const zone = await freshZone();
    const p = provider(server);
    const zones = await p.zones();
    expect(zones).toContain("_sub.example.org");
    expect(zones).toContain(zone);
    expect(zones.every((z) => !z.endsWith(".") && z === z.toLowerCase())).toBe(true);
    expect(await p.list("_sub.example.org", ["selector1._domainkey._sub.example.org"])).toEqual([
      cname("selector1._domainkey._sub.example.org", T1),
    ]);
    // Without zones() first, the provider looks the zone up by name (?zone=) and gets the id.
    expect(await provider(server).list("_sub.example.org", ["selector1._domainkey._sub.example.org"])).toHaveLength(1);
  });

  it("lists every type at the names asked, only those, canonical, with TXT strings joined", async () => {
    const zone = await freshZone([
      cname("selector1._domainkey.{z}", `${T1.toUpperCase()}`),
      { name: "selector2._domainkey.{z}", type: "TXT", ttl: 300, values: [OLD_KEY] },
      { name: "www.{z}", type: "A", ttl: 300, values: ["192.0.2.1"] },
      { name: "_dmarc.{z}", type: "TXT", ttl: 300, values: ["v=DMARC1; p=none"] },
    ]);
    // The server really holds the key as two strings: joining is the provider's job.
    const raw = (await pdnsRequest(server, "GET", `/zones/${zone}.`)) as {
      rrsets: { type: string; records: { content: string }[] }[];
    };
    expect(
      raw.rrsets.find((r) => r.type === "TXT" && r.records[0]?.content.includes("BBB"))?.records[0]?.content,
    ).toMatch(/^"v=DKIM1[^"]*" "B+"$/);

    const p = provider(server);
    const listed = await p.list(zone, [
      `selector1._domainkey.${zone}`,
      `selector2._domainkey.${zone}`,
      `nothing-here.${zone}`,
    ]);
    expect(listed).toEqual([
      cname(`selector1._domainkey.${zone}`, T1),
      { name: `selector2._domainkey.${zone}`, type: "TXT", ttl: 300, values: [OLD_KEY] },
    ]);
    expect(await p.list(zone, [])).toEqual([]);
  });

  it("creates, updates and deletes selector CNAMEs and leaves other records alone", async () => {
    const foreign: RecordSet = { name: "", type: "A", ttl: 300, values: ["192.0.2.7"] };
    const zone = await freshZone([{ ...foreign, name: "www.{z}" }]);
    foreign.name = `www.${zone}`;
    const s1 = `selector1._domainkey.${zone}`;
    const s2 = `selector2._domainkey.${zone}`;
    const p = provider(server);

    await p.apply(zone, [create(cname(s1, T1)), create(cname(s2, T2))]);
    expect(await p.list(zone, [s1, s2])).toEqual([cname(s1, T1), cname(s2, T2)]);
    const resolver = new Resolver();
    resolver.setServers([`127.0.0.1:${server.dnsPort}`]);
    expect(await resolver.resolveCname(s1)).toEqual([T1]);

    const moved = cname(s1, "selector1-example-com._domainkey.contoso.y-v1.dkim.mail.microsoft", 300);
    await p.apply(zone, [{ action: "update", name: s1, type: "CNAME", before: cname(s1, T1), after: moved }]);
    expect(await p.list(zone, [s1])).toEqual([moved]);

    await p.apply(zone, [remove(moved), remove(cname(s2, T2))]);
    expect(await p.list(zone, [s1, s2])).toEqual([]);
    const left = await readZone(server, zone);
    expect(left).toContainEqual(foreign);
    expect(left.map((r) => r.type).sort()).toEqual(["A", "NS", "SOA"]);
  });

  it("with read: names, reads only the selector names: a disabled record is not served, so it counts as absent", async () => {
    const zone = await freshZone();
    const s1 = `selector1._domainkey.${zone}`;
    await putRecordSet(server, zone, cname(s1, T1), { disabled: true });
    const p = provider(server, { read: "names" });
    expect(p.capabilities.readsOnlyNames.can).toBe(true);
    expect(await p.list(zone, [s1])).toEqual([]);
    // The plan then creates it; REPLACE writes it enabled.
    await p.apply(zone, [create(cname(s1, T1))]);
    expect(await p.list(zone, [s1])).toEqual([cname(s1, T1)]);
  });

  it("with read: zone, reports a disabled CNAME as drift, and an update enables it again", async () => {
    const zone = await freshZone();
    const s1 = `selector1._domainkey.${zone}`;
    await putRecordSet(server, zone, cname(s1, T1), { disabled: true });
    const p = provider(server, { read: "zone" });
    expect(p.capabilities.readsOnlyNames.can).toBe(false);
    const [listed] = await p.list(zone, [s1]);
    expect(listed).toEqual({ ...cname(s1, T1), drift: ["disabled in PowerDNS (not served)"] });

    await p.apply(zone, [
      { action: "update", name: s1, type: "CNAME", before: listed ?? null, after: cname(s1, T1), reason: "disabled" },
    ]);
    expect(await p.list(zone, [s1])).toEqual([cname(s1, T1)]);
  });

  it("fails with a clear message when a TXT holds the selector name, and changes nothing", async () => {
    const zone = await freshZone([{ name: "selector1._domainkey.{z}", type: "TXT", ttl: 3600, values: [OLD_KEY] }]);
    const s1 = `selector1._domainkey.${zone}`;
    const s2 = `selector2._domainkey.${zone}`;
    const before = sortSets(await readZone(server, zone));
    const err = await caught(provider(server).apply(zone, [create(cname(s2, T2)), create(cname(s1, T1))]));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain(`[pdns] zone ${zone}:`);
    expect(err.message).toContain("Conflicts with pre-existing RRset");
    expect(err.message).toContain("A CNAME cannot share its name with any other record");
    expect((err as ProviderError).hint).toContain("--force");
    expect((err as ProviderError).transient).toBe(false);
    // selector2 came first in the PATCH and was fine on its own: the whole PATCH rolled back.
    expect(sortSets(await readZone(server, zone))).toEqual(before);
  });

  it("deletes a conflicting TXT and creates the CNAME in one atomic apply (the --force path)", async () => {
    const txt: RecordSet = { name: "", type: "TXT", ttl: 3600, values: [OLD_KEY] };
    const zone = await freshZone([{ ...txt, name: "selector1._domainkey.{z}" }]);
    const s1 = `selector1._domainkey.${zone}`;
    txt.name = s1;
    // Given create-first on purpose: the provider must put the DELETE first, as PowerDNS
    // refuses the CNAME while the TXT still exists at that point of the PATCH.
    await provider(server).apply(zone, [create(cname(s1, T1)), remove(txt)]);
    expect(await provider(server).list(zone, [s1])).toEqual([cname(s1, T1)]);
  });

  it("names a missing zone", async () => {
    const err = await caught(
      provider(server).list("not-there.example.net", ["selector1._domainkey.not-there.example.net"]),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe("[pdns] zone not-there.example.net: zone not found on the PowerDNS server");
  });

  it("says the API key was rejected, without printing it", async () => {
    const wrongKey = "wrong-key-do-not-print-4711";
    const err = await caught(provider(server, {}, { [KEY_VAR]: wrongKey }).zones());
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain("rejected the API key (HTTP 401)");
    expect(`${err.message} ${(err as ProviderError).hint}`).not.toContain(wrongKey);
    expect(`${err.message} ${(err as ProviderError).hint}`).not.toContain(server.apiKey);
  });

  it("says the URL is not reachable when nothing listens there", async () => {
    const port = await freePort();
    const p = createPowerDnsProvider(
      reader({ url: `http://127.0.0.1:${port}`, api_key: `env/${KEY_VAR}` }, { [KEY_VAR]: "k" }),
      {},
    );
    const err = await caught(p.zones());
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe(
      `[pdns] the PowerDNS API at http://127.0.0.1:${port} is not reachable (connection refused) (list zones)`,
    );
    expect(err.cause).toBeDefined();
  });

  it("says which setting to fix when webserver-allow-from excludes the client", async () => {
    const closed = await startPowerDns({ args: ["--webserver-allow-from=192.0.2.1/32"] });
    try {
      const err = await caught(provider(closed).zones());
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.message).toContain("closed the connection without answering (list zones)");
      // The same reset comes from a restarted server or a proxy: the hint names both causes.
      expect((err as ProviderError).hint).toContain("webserver-allow-from");
      expect((err as ProviderError).hint).toContain("dropped the connection");
    } finally {
      await closed.stop();
    }
  });

  it("tries 5xx answers and timeouts again, then reports them as transient", async () => {
    // A loopback HTTP server standing in for a PowerDNS in trouble: the real one cannot be made
    // to answer 500 or hang on demand.
    let hits = 0;
    const trouble = http.createServer((req, res) => {
      if (req.url?.startsWith("/api/v1/")) {
        hits++;
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "Backend error: database is locked" }));
      }
      // Anything else never gets an answer.
    });
    await new Promise<void>((resolve) => trouble.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(trouble.address() as AddressInfo).port}`;
    try {
      const failing = await caught(
        createPowerDnsProvider(reader({ url, api_key: `env/${KEY_VAR}` }, { [KEY_VAR]: "k" }), {}).zones(),
      );
      expect(failing).toBeInstanceOf(ProviderError);
      expect(failing.message).toBe(
        "[pdns] PowerDNS failed to list zones (HTTP 500): Backend error: database is locked",
      );
      expect((failing as ProviderError).transient).toBe(true);
      expect(hits).toBe(3);

      const slow = await caught(
        createPowerDnsProvider(
          reader({ url: `${url}/hang`, api_key: `env/${KEY_VAR}`, timeout_ms: 100 }, { [KEY_VAR]: "k" }),
          {},
        ).zones(),
      );
      expect(slow.message).toContain("within 100 ms");
      expect((slow as ProviderError).transient).toBe(true);
    } finally {
      trouble.closeAllConnections();
      await new Promise((resolve) => trouble.close(resolve));
    }
  });

  it("succeeds when a retry after a 5xx gets through", async () => {
    let hits = 0;
    const flaky = http.createServer((req, res) => {
      hits++;
      res.writeHead(hits === 1 ? 503 : 200, { "content-type": "application/json" });
      res.end(hits === 1 ? JSON.stringify({ error: "busy" }) : JSON.stringify([{ id: "a.test.", name: "a.test." }]));
    });
    await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    try {
      expect(
        await createPowerDnsProvider(reader({ url, api_key: `env/${KEY_VAR}` }, { [KEY_VAR]: "k" }), {}).zones(),
      ).toEqual(["a.test"]);
      expect(hits).toBe(2);
      hits = 0;
      const once = await caught(
        createPowerDnsProvider(
          reader({ url, api_key: `env/${KEY_VAR}`, max_attempts: 1 }, { [KEY_VAR]: "k" }),
          {},
        ).zones(),
      );
      expect(once.message).toBe("[pdns] PowerDNS failed to list zones (HTTP 503): busy");
      expect(hits).toBe(1);
    } finally {
      flaky.closeAllConnections();
      await new Promise((resolve) => flaky.close(resolve));
    }
  });

  it("names an unknown server_id", async () => {
    const err = await caught(provider(server, { server_id: "nope" }).zones());
    expect(err.message).toContain('no server "nope"');
  });

  it("accepts the url with /api/v1 and a trailing slash", async () => {
    const zone = await freshZone();
    const p = provider(server, { url: `${server.apiUrl}/api/v1/` });
    expect(await p.zones()).toContain(zone);
  });

  it("changes nothing when the server rejects the PATCH after receiving it (conformance failNextWrite)", async () => {
    const backend = await powerdnsTarget.start();
    try {
      await backend.createZone("example.com", [
        { name: "www.example.com", type: "A", ttl: 300, values: ["192.0.2.1"] },
      ]);
      const before = sortSets(await backend.readZone("example.com"));
      const p = createPowerDnsProvider(reader(backend.providerOptions, backend.env ?? {}), {});
      const changes = [
        create(cname("selector1._domainkey.example.com", T1)),
        create(cname("selector2._domainkey.example.com", T2)),
      ];
      await backend.failNextWrite?.("example.com");
      const err = await caught(p.apply("example.com", changes));
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.message).toContain("Name is out of zone");
      expect(sortSets(await backend.readZone("example.com"))).toEqual(before);
      // Only the next write fails.
      await p.apply("example.com", changes);
      expect(
        await p.list("example.com", ["selector1._domainkey.example.com", "selector2._domainkey.example.com"]),
      ).toHaveLength(2);
    } finally {
      await backend.close();
    }
  });
});

describe("powerdns options", () => {
  const env = { [KEY_VAR]: "k" };
  const make =
    (values: Record<string, unknown>, e: Record<string, string> = env) =>
    () =>
      createPowerDnsProvider(reader(values, e), {});

  it("names an unknown option with file and line", () => {
    expect(make({ url: "http://127.0.0.1:8081", api_key: `env/${KEY_VAR}`, urll: "x" })).toThrow(
      new InputError(
        { file: "dkim.zones.yaml", line: 15 },
        'provider "pdns" (powerdns): option "urll" is not an option of provider type powerdns; did you mean "url"?',
        {
          hint: "options of powerdns: api_key, max_attempts, read, server_id, timeout_ms, url",
        },
      ),
    );
  });

  it("names the environment variable that is not set", () => {
    const err = (() => {
      try {
        make({ url: "http://127.0.0.1:8081", api_key: "env/PDNS_KEY_NOT_SET" }, {})();
      } catch (e) {
        return e as InputError;
      }
      throw new Error("expected an error");
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain("dkim.zones.yaml:12");
    expect(err.message).toContain("PDNS_KEY_NOT_SET");
    expect(err.hint).toContain("export PDNS_KEY_NOT_SET=");
  });

  it("refuses an inline api_key without echoing it", () => {
    let message = "";
    try {
      make({ url: "http://127.0.0.1:8081", api_key: "s3cr3t-inline" })();
    } catch (e) {
      message = `${(e as InputError).message} ${(e as InputError).hint}`;
    }
    expect(message).toContain("inline secret");
    expect(message).not.toContain("s3cr3t-inline");
  });

  it("requires url and api_key, and checks url and timeout_ms", () => {
    expect(make({ api_key: `env/${KEY_VAR}` })).toThrow('option "url" is required');
    expect(make({ url: "http://127.0.0.1:8081" })).toThrow('option "api_key" is required');
    expect(make({ url: "127.0.0.1:8081", api_key: `env/${KEY_VAR}` })).toThrow(/option "url" must/);
    expect(make({ url: "http://127.0.0.1:8081", api_key: `env/${KEY_VAR}`, timeout_ms: 0 })).toThrow(
      'option "timeout_ms" must be at least 1',
    );
  });
});

describe("powerdns convert", () => {
  it("round-trips TXT values with quotes, backslashes, non-ASCII and more than 255 octets", () => {
    for (const value of ['say "hi" \\ bye', "café ✓", OLD_KEY, ""]) {
      expect(parseTxtContent(formatTxtContent(value))).toBe(value);
    }
    expect(formatTxtContent(OLD_KEY).split('" "')).toHaveLength(2);
  });

  it("reads the TXT forms PowerDNS answers with", () => {
    // Observed on 4.7.3: UTF-8 bytes as \DDD, escaped quotes, several strings.
    expect(parseTxtContent('"caf\\195\\169"')).toBe("café");
    expect(parseTxtContent('"with \\"quote\\" and \\\\ back" "xA;"')).toBe('with "quote" and \\ backxA;');
    expect(parseTxtContent("unquoted words")).toBe("unquotedwords");
  });

  it("puts deletes first and writes names and CNAME targets with a trailing dot", () => {
    const txt: RecordSet = {
      name: "selector1._domainkey.example.com",
      type: "TXT",
      ttl: 3600,
      values: ["v=DKIM1; p="],
    };
    expect(toRRsetPatches([create(cname("selector1._domainkey.example.com", T1)), remove(txt)])).toEqual([
      { name: "selector1._domainkey.example.com.", type: "TXT", changetype: "DELETE" },
      {
        name: "selector1._domainkey.example.com.",
        type: "CNAME",
        changetype: "REPLACE",
        ttl: 3600,
        records: [{ content: `${T1}.`, disabled: false }],
      },
    ]);
  });
});
