import { Resolver } from "node:dns/promises";
import { describe, it, expect } from "vitest";
import { nsupdate } from "./bind.js";
import { addTsigKey, createZone, pdnsRequest, putRecordSet, readZone, setMeta, startPowerDns } from "./pdns.js";
import { tcpFree, udpFree } from "./ports.js";

const TARGET = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const LONG_KEY = `v=DKIM1; k=rsa; p=${"A".repeat(400)}`;

describe("startPowerDns", () => {
  it("serves its API and DNS on loopback, then stops and frees its ports", async () => {
    const server = await startPowerDns({
      zones: {
        "example.com": [{ name: "selector1._domainkey.example.com", type: "CNAME", ttl: 3600, values: [TARGET] }],
      },
    });
    const webPort = Number(new URL(server.apiUrl).port);
    try {
      const info = (await pdnsRequest(server, "GET", "")) as { daemon_type: string; version: string };
      expect(info.daemon_type).toBe("authoritative");

      const resolver = new Resolver();
      resolver.setServers([`${server.dnsHost}:${server.dnsPort}`]);
      expect(await resolver.resolveCname("selector1._domainkey.example.com")).toEqual([TARGET]);

      // A TXT longer than 255 octets must be split into several character-strings on write.
      await putRecordSet(server, "example.com", {
        name: "selector2._domainkey.example.com",
        type: "TXT",
        ttl: 300,
        values: [LONG_KEY],
      });
      const chunks = await resolver.resolveTxt("selector2._domainkey.example.com");
      expect(chunks).toHaveLength(1);
      expect(chunks[0]?.length).toBe(2);
      expect(chunks[0]?.join("")).toBe(LONG_KEY);

      const zone = await readZone(server, "example.com");
      expect(zone).toContainEqual({
        name: "selector2._domainkey.example.com",
        type: "TXT",
        ttl: 300,
        values: [LONG_KEY],
      });
      expect(zone.map((r) => r.type).sort()).toEqual(["CNAME", "NS", "SOA", "TXT"]);
    } finally {
      await server.stop();
    }
    expect(await tcpFree(server.dnsPort)).toBe(true);
    expect(await udpFree(server.dnsPort)).toBe(true);
    expect(await tcpFree(webPort)).toBe(true);
  });

  it("reports disabled records from readZone and does not serve them", async () => {
    const server = await startPowerDns();
    try {
      await createZone(server, "example.org", []);
      await putRecordSet(
        server,
        "example.org",
        { name: "off.example.org", type: "CNAME", ttl: 60, values: ["t.example.net"] },
        { disabled: true },
      );
      expect(await readZone(server, "example.org")).toContainEqual({
        name: "off.example.org",
        type: "CNAME",
        ttl: 60,
        values: ["t.example.net"],
        drift: ["disabled"],
      });
      const resolver = new Resolver();
      resolver.setServers([`127.0.0.1:${server.dnsPort}`]);
      await expect(resolver.resolveCname("off.example.org")).rejects.toMatchObject({
        code: expect.stringMatching(/ENOTFOUND|ENODATA/),
      });
    } finally {
      await server.stop();
    }
  });

  it("with dnsupdate: takes RFC 2136 updates signed with a key named in TSIG-ALLOW-DNSUPDATE, and refuses others", async () => {
    const server = await startPowerDns({ dnsupdate: true });
    try {
      const key = { name: "k1", algorithm: "hmac-sha256" as const, secret: Buffer.alloc(32, 1).toString("base64") };
      const other = { name: "k2", algorithm: "hmac-sha256" as const, secret: Buffer.alloc(32, 2).toString("base64") };
      await addTsigKey(server, key);
      await addTsigKey(server, other);
      await createZone(server, "example.net", []);
      await setMeta(server, "example.net", "TSIG-ALLOW-DNSUPDATE", [key.name]);
      await nsupdate({ port: server.dnsPort, tsig: key }, "example.net", ["update add u.example.net. 60 TXT ok"]);
      await expect(
        nsupdate({ port: server.dnsPort, tsig: other }, "example.net", ["update add v.example.net. 60 TXT no"]),
      ).rejects.toThrow(/REFUSED/);
      expect((await readZone(server, "example.net")).filter((r) => r.type === "TXT")).toEqual([
        { name: "u.example.net", type: "TXT", ttl: 60, values: ["ok"] },
      ]);
    } finally {
      await server.stop();
    }
  });

  it("fails with the install command when the server binary is missing", async () => {
    await expect(startPowerDns({ bin: "/nonexistent/pdns_server" })).rejects.toThrow(
      "PowerDNS is not installed: apt-get install -y pdns-server pdns-backend-lmdb",
    );
  });

  it("can run two servers at once on different ports", async () => {
    const [a, b] = await Promise.all([startPowerDns(), startPowerDns()]);
    try {
      expect(a.dnsPort).not.toBe(b.dnsPort);
      expect(a.apiUrl).not.toBe(b.apiUrl);
      expect(a.apiKey).not.toBe(b.apiKey);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
