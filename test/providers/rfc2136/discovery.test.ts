/**
 * Zone discovery by SOA query (providers/rfc2136/discovery.ts, Rfc2136Provider.zoneOf) against a
 * real BIND 9 from test/servers/bind.ts. Each case first checks with BIND's own `dig` that named
 * answers the way the case claims (NXDOMAIN, NODATA, REFUSED, referral ...), then what zoneOf
 * makes of it. Answers BIND never gives (unsigned, not authoritative, SERVFAIL) come from a small
 * loopback UDP server built with dns-packet.
 */
import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRfc2136Provider, Rfc2136Provider } from "../../../providers/rfc2136/index.js";
import { applyPlan } from "../../../src/plan/apply.js";
import { loadConfig } from "../../../src/config/load.js";
import { providerFailure } from "../../helpers/records.js";
import type { OptionsReader } from "../../../src/config/options.js";
import { optionsReader } from "../../helpers/options.js";
import { buildPlan, closeProviders, summarise } from "../../../src/plan/build.js";
import type { Provider, RecordSet } from "../../../src/core/types.js";
import { DIG_BIN, digAxfr, startBind, type BindServer, type BindTsig } from "../../servers/bind.js";
import { cname } from "../../helpers/records.js";

const TENANT = "contoso";
const target = (sel: 1 | 2, domain: string) =>
  `selector${sel}-${domain.replace(/\./g, "-")}._domainkey.${TENANT}.onmicrosoft.com`;

function reader(values: Record<string, unknown>, env: Record<string, string> = {}): OptionsReader {
  return optionsReader("rfc2136", values, env, { provider: "bind", line: 7 });
}

/** A provider for the server without `zones`: discovery is on. */
function discovering(
  port: number,
  opts: { tsig?: BindTsig | null; secret?: string; timeoutMs?: number } = {},
): Provider {
  const values: Record<string, unknown> = { server: `127.0.0.1:${port}` };
  if (opts.timeoutMs !== undefined) values.timeout_ms = opts.timeoutMs;
  const key = opts.tsig === undefined ? server.tsig : opts.tsig;
  if (key) values.tsig = { name: key.name, algorithm: key.algorithm, secret: "env/TSIG_SECRET" };
  return createRfc2136Provider(reader(values, { TSIG_SECRET: opts.secret ?? key?.secret ?? "" }), {});
}

/** How named answers `SOA? name` (no recursion), read with dig: status, AA bit, section owners. */
async function dig(name: string): Promise<{ status: string; aa: boolean; answer: string[]; authority: string[] }> {
  const k = server.tsig;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      DIG_BIN,
      [
        "@127.0.0.1",
        "-p",
        String(server.port),
        "-y",
        `${k.algorithm}:${k.name}:${k.secret}`,
        "+norec",
        "+nocookie",
        `${name}.`,
        "SOA",
      ],
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1] ?? "?";
  const aa = /\baa\b/.test(/;; flags:([^;]*);/.exec(stdout)?.[1] ?? "");
  const section = (title: string) => {
    const m = new RegExp(`;; ${title} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return (m?.[1] ?? "")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) =>
        l
          .split(/\s+/)
          .slice(0, 4)
          .filter((_, i) => i !== 1 && i !== 2)
          .join(" ")
          .replace(/\. /, " ")
          .toLowerCase(),
      );
  };
  return { status, aa, answer: section("ANSWER"), authority: section("AUTHORITY") };
}

let server: BindServer;
beforeAll(async () => {
  server = await startBind({
    zones: [
      {
        name: "example.com",
        records: [
          { name: "www.example.com", type: "A", ttl: 300, values: ["192.0.2.1"] },
          { name: "alias.example.com", type: "CNAME", ttl: 300, values: ["x.other.test"] },
          { name: "*.wild.example.com", type: "CNAME", ttl: 300, values: ["x.other.test"] },
          { name: "partner.example.com", type: "NS", ttl: 300, values: ["ns1.partner-dns.test"] },
        ],
      },
      // A child zone of example.com on the same server (no NS delegation in the parent needed:
      // named answers from the most specific zone it serves).
      { name: "sub.example.com" },
      { name: "other.test" },
    ],
  });
});
afterAll(async () => {
  await server?.stop();
});

describe("zoneOf by SOA query, against named", () => {
  it("a zone apex: the SOA is in the answer section", async () => {
    expect(await dig("example.com")).toMatchObject({ status: "NOERROR", aa: true, answer: ["example.com soa"] });
    const p = discovering(server.port);
    expect(await p.zoneOf?.("example.com")).toBe("example.com");
    // Input in any case, with a trailing dot, gives the canonical zone.
    expect(await p.zoneOf?.("Example.COM.")).toBe("example.com");
  });

  it("a name that does not exist: NXDOMAIN with the zone's SOA in the authority section", async () => {
    expect(await dig("marketing.example.com")).toMatchObject({
      status: "NXDOMAIN",
      aa: true,
      answer: [],
      authority: ["example.com soa"],
    });
    expect(await discovering(server.port).zoneOf?.("marketing.example.com")).toBe("example.com");
  });

  it("an existing name below the apex: NODATA with the zone's SOA in the authority section", async () => {
    expect(await dig("www.example.com")).toMatchObject({
      status: "NOERROR",
      aa: true,
      answer: [],
      authority: ["example.com soa"],
    });
    expect(await discovering(server.port).zoneOf?.("www.example.com")).toBe("example.com");
  });

  it("a name in no zone the server serves: REFUSED, so undefined", async () => {
    expect(await dig("fabrikam.net")).toMatchObject({ status: "REFUSED", aa: false });
    expect(await discovering(server.port).zoneOf?.("fabrikam.net")).toBeUndefined();
  });

  it("a child zone on the same server: the most specific zone wins", async () => {
    expect(await dig("sub.example.com")).toMatchObject({
      status: "NOERROR",
      aa: true,
      answer: ["sub.example.com soa"],
    });
    expect(await dig("mail.sub.example.com")).toMatchObject({
      status: "NXDOMAIN",
      aa: true,
      authority: ["sub.example.com soa"],
    });
    const p = discovering(server.port);
    expect(await p.zoneOf?.("sub.example.com")).toBe("sub.example.com");
    expect(await p.zoneOf?.("mail.sub.example.com")).toBe("sub.example.com");
  });

  it("a name that owns a CNAME (or matches a wildcard CNAME): the zone of its parent", async () => {
    // named answers the CNAME alone: no SOA anywhere in the message.
    expect(await dig("alias.example.com")).toMatchObject({
      status: "NOERROR",
      aa: true,
      answer: ["alias.example.com cname"],
      authority: [],
    });
    expect(await dig("shop.wild.example.com")).toMatchObject({
      status: "NOERROR",
      aa: true,
      answer: ["shop.wild.example.com cname"],
      authority: [],
    });
    const p = discovering(server.port);
    expect(await p.zoneOf?.("alias.example.com")).toBe("example.com");
    expect(await p.zoneOf?.("shop.wild.example.com")).toBe("example.com");
  });

  it("a name delegated to other servers: a referral is an error that names the child zone and its servers", async () => {
    expect(await dig("partner.example.com")).toMatchObject({
      status: "NOERROR",
      aa: false,
      answer: [],
      authority: ["partner.example.com ns"],
    });
    expect(await dig("eu.partner.example.com")).toMatchObject({
      status: "NOERROR",
      aa: false,
      authority: ["partner.example.com ns"],
    });
    for (const name of ["partner.example.com", "eu.partner.example.com"]) {
      const err = await providerFailure(discovering(server.port).zoneOf?.(name) as Promise<unknown>);
      expect(err.message).toBe(
        `[bind] ${name} is delegated away from 127.0.0.1:${server.port}: zone partner.example.com is served by ns1.partner-dns.test; publish the domain with a provider for that zone's primary server`,
      );
      expect(err.transient).toBe(false);
      expect(err.hint).toMatch(/provider for zone partner.example.com/);
    }
  });

  it("works unsigned, and with a key the zones do not allow to update (queries are open)", async () => {
    expect(await discovering(server.port, { tsig: null }).zoneOf?.("www.example.com")).toBe("example.com");
    expect(await discovering(server.port, { tsig: server.otherTsig }).zoneOf?.("mail.sub.example.com")).toBe(
      "sub.example.com",
    );
  });

  it("signs the query: a wrong secret is BADSIG, an unknown key BADKEY", async () => {
    const bad = await providerFailure(
      discovering(server.port, { secret: Buffer.alloc(32, 7).toString("base64") }).zoneOf?.(
        "example.com",
      ) as Promise<unknown>,
    );
    expect(bad.message).toMatch(
      /^\[bind\] SOA query for example.com failed: the server answered NOTAUTH\/BADSIG, unsigned: it knows key "dkimsync" but the signature did not verify/,
    );
    const unknown = await providerFailure(
      discovering(server.port, { tsig: { ...server.tsig, name: "nobody" } }).zoneOf?.(
        "example.com",
      ) as Promise<unknown>,
    );
    expect(unknown.message).toMatch(
      /answered NOTAUTH\/BADKEY, unsigned: it does not know key "nobody" with algorithm hmac-sha256/,
    );
  });

  it("with zones configured, answers from the list and sends nothing", async () => {
    // A socket that never answers: any query would time out.
    await withFakeServer(
      () => undefined,
      async (port) => {
        const p = createRfc2136Provider(
          reader({ server: `127.0.0.1:${port}`, zones: ["example.com", "Sub.Example.com."], timeout_ms: 200 }),
          {},
        );
        expect(p).toBeInstanceOf(Rfc2136Provider);
        expect(await p.zoneOf?.("mail.sub.example.com")).toBe("sub.example.com");
        expect(await p.zoneOf?.("marketing.example.com")).toBe("example.com");
        expect(await p.zoneOf?.("fabrikam.net")).toBeUndefined();
      },
    );
  });

  it("without zones, zones() still says how to configure them", async () => {
    const err = await providerFailure(discovering(server.port).zones());
    expect(err.message).toMatch(/no zones are configured/);
    expect(err.hint).toMatch(/zones:/);
  });
});

/** A loopback UDP server answering each query with `reply(query)` (undefined: stay silent). */
async function withFakeServer(
  reply: (q: dnsPacket.Packet) => Buffer | undefined,
  run: (port: number) => Promise<void>,
): Promise<void> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (raw, from) => {
    const answer = reply(dnsPacket.decode(raw));
    if (answer) socket.send(answer, from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  try {
    await run(socket.address().port);
  } finally {
    socket.close();
  }
}

const soa = (name: string): dnsPacket.Answer => ({
  name,
  type: "SOA",
  ttl: 60,
  data: {
    mname: `ns1.${name}`,
    rname: `hostmaster.${name}`,
    serial: 1,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 60,
  },
});

describe("zoneOf with answers named does not give", () => {
  it("an unsigned NOERROR to a signed query cannot be trusted: a forged answer must not choose the zone written to", async () => {
    await withFakeServer(
      (q) =>
        dnsPacket.encode({
          type: "response",
          id: q.id,
          flags: dnsPacket.AUTHORITATIVE_ANSWER,
          questions: q.questions,
          answers: [soa("example.com")],
        }),
      async (port) => {
        const err = await providerFailure(discovering(port).zoneOf?.("example.com") as Promise<unknown>);
        expect(err.message).toMatch(/SOA query for example.com: the server's answer cannot be trusted/);
      },
    );
  });

  it("an unsigned REFUSED to a signed query means no zone here (Knot 3.2 does not sign it); a forged one can only fail the plan", async () => {
    await withFakeServer(
      (q) =>
        dnsPacket.encode({
          type: "response",
          id: q.id,
          flags: dnsPacket.AUTHORITATIVE_ANSWER | 5,
          questions: q.questions,
        }),
      async (port) => {
        expect(await discovering(port).zoneOf?.("example.com")).toBeUndefined();
      },
    );
  });

  it("an unsigned NOTAUTH to a signed query is about the key (PowerDNS 4.7 answers a bad key so), not a missing zone", async () => {
    await withFakeServer(
      (q) => dnsPacket.encode({ type: "response", id: q.id, flags: 9, questions: q.questions }),
      async (port) => {
        const err = await providerFailure(discovering(port).zoneOf?.("example.com") as Promise<unknown>);
        expect(err.message).toMatch(
          /SOA query for example.com failed: the server answered NOTAUTH, unsigned: it did not accept key "dkimsync"; PowerDNS answers a wrong secret, an unknown key name and a wrong algorithm alike/,
        );
        expect(err.hint).toMatch(/pdnsutil import-tsig-key dkimsync hmac-sha256/);
      },
    );
  });

  it("a non-authoritative answer (a resolver, not the primary) is an error, not a zone", async () => {
    await withFakeServer(
      (q) =>
        dnsPacket.encode({
          type: "response",
          id: q.id,
          flags: 0,
          questions: q.questions,
          answers: [soa("example.com")],
        }),
      async (port) => {
        const err = await providerFailure(
          discovering(port, { tsig: null }).zoneOf?.("example.com") as Promise<unknown>,
        );
        expect(err.message).toMatch(
          /cannot tell the zone of example.com from the answer to SOA query for example.com \(NOERROR\): the answer is not authoritative/,
        );
        expect(err.hint).toMatch(/primary/);
      },
    );
  });

  it("an authoritative SOA of a zone that does not contain the name is rejected", async () => {
    await withFakeServer(
      (q) =>
        dnsPacket.encode({
          type: "response",
          id: q.id,
          flags: dnsPacket.AUTHORITATIVE_ANSWER | 3,
          questions: q.questions,
          authorities: [soa("other.test")],
        }),
      async (port) => {
        const err = await providerFailure(
          discovering(port, { tsig: null }).zoneOf?.("www.example.com") as Promise<unknown>,
        );
        expect(err.message).toMatch(/the SOA in the answer is of other.test, which does not contain www.example.com/);
      },
    );
  });

  it("SERVFAIL is a transient error", async () => {
    await withFakeServer(
      (q) => dnsPacket.encode({ type: "response", id: q.id, flags: 2, questions: q.questions }),
      async (port) => {
        const err = await providerFailure(
          discovering(port, { tsig: null }).zoneOf?.("example.com") as Promise<unknown>,
        );
        expect(err.message).toMatch(/\(SERVFAIL\)/);
        expect(err.transient).toBe(true);
      },
    );
  });

  it("no answer at all is a transient timeout", async () => {
    await withFakeServer(
      () => undefined,
      async (port) => {
        const err = await providerFailure(
          discovering(port, { tsig: null, timeoutMs: 200 }).zoneOf?.("example.com") as Promise<unknown>,
        );
        expect(err.message).toMatch(
          /^\[bind\] SOA query for example.com failed: no answer from 127.0.0.1:\d+ within 200 ms/,
        );
        expect(err.transient).toBe(true);
      },
    );
  });
});

describe("end to end without zones: dkim.zones.yaml -> plan -> apply -> plan", () => {
  let dir: string;
  let e2e: BindServer;
  const ENV = "DKIMSYNC_DISCOVERY_TSIG";

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-discovery-"));
    e2e = await startBind({
      zones: [
        { name: "example.com", records: [{ name: "www.example.com", type: "A", ttl: 300, values: ["192.0.2.1"] }] },
        { name: "sub.example.com" },
      ],
    });
  });
  afterAll(async () => {
    await e2e?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function writeConfig(domains: string[]): Promise<string> {
    const file = path.join(dir, `dkim-${domains.length}.zones.yaml`);
    const text = [
      `tenant: ${TENANT}`,
      "providers:",
      "  bind:",
      "    type: rfc2136",
      `    server: 127.0.0.1:${e2e.port}`,
      `    tsig: { name: ${e2e.tsig.name}, algorithm: ${e2e.tsig.algorithm}, secret: env/${ENV} }`,
      "domains:",
      ...domains.flatMap((d) => [`  ${d}:`, "    provider: bind"]),
      "",
    ].join("\n");
    await fs.writeFile(file, text);
    return file;
  }

  async function plan(file: string, env: NodeJS.ProcessEnv) {
    const { plan: p, providers } = await buildPlan({ config: loadConfig(file, { env }), env });
    await closeProviders(providers);
    return p;
  }

  it("finds each domain's zone on the server, writes both selectors there, and converges", async () => {
    const env = { ...process.env, [ENV]: e2e.tsig.secret };
    const domains = ["example.com", "marketing.example.com", "sub.example.com", "eu.sub.example.com"];
    const file = await writeConfig(domains);
    const { plan: first, providers } = await buildPlan({ config: loadConfig(file, { env }), env });
    try {
      expect(first.errors).toEqual([]);
      expect(first.zones.map((z) => ({ zone: z.zone, domains: z.domains }))).toEqual([
        { zone: "example.com", domains: ["example.com", "marketing.example.com"] },
        { zone: "sub.example.com", domains: ["eu.sub.example.com", "sub.example.com"] },
      ]);
      expect(summarise(first)).toMatchObject({ create: 8, update: 0, delete: 0, conflicts: 0 });
      const result = await applyPlan({ plan: first, providers, force: false, checkStale: false });
      expect(result.zones.map((z) => [z.zone, z.outcome, z.message])).toEqual([
        ["example.com", "applied", undefined],
        ["sub.example.com", "applied", undefined],
      ]);
    } finally {
      await closeProviders(providers);
    }

    const again = await plan(file, env);
    expect(again.errors).toEqual([]);
    expect(summarise(again)).toMatchObject({ create: 0, update: 0, delete: 0, conflicts: 0 });

    const selectors = (sets: RecordSet[]) =>
      sets.filter((s) => s.name.includes("._domainkey.")).sort((a, b) => a.name.localeCompare(b.name));
    const expected = (ds: string[]) =>
      ds
        .flatMap((d) => [
          cname(`selector1._domainkey.${d}`, target(1, d)),
          cname(`selector2._domainkey.${d}`, target(2, d)),
        ])
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(selectors(await digAxfr(e2e, "example.com"))).toEqual(expected(["example.com", "marketing.example.com"]));
    expect(selectors(await digAxfr(e2e, "sub.example.com"))).toEqual(
      expected(["eu.sub.example.com", "sub.example.com"]),
    );
  });

  it("a domain in no zone on the server is a plan error; the other domains still plan", async () => {
    const env = { ...process.env, [ENV]: e2e.tsig.secret };
    const p = await plan(await writeConfig(["example.com", "fabrikam.net"]), env);
    expect(p.errors.map((e) => [e.provider, e.domain])).toEqual([["bind", "fabrikam.net"]]);
    expect(p.errors[0]?.message).toMatch(/no zone at provider "bind" contains fabrikam.net/);
    expect(p.zones.map((z) => z.zone)).toEqual(["example.com"]);
  });
});
