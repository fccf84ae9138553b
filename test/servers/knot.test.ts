import { Resolver } from "node:dns/promises";
import fs from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { digAxfr, nsupdate, putRecordSet } from "./bind.js";
import { startKnot } from "./knot.js";
import { tcpFree, udpFree } from "./ports.js";

describe("startKnot", () => {
  it("serves its zones, takes updates and transfers as its acl says, adds zones, and stops cleanly", async () => {
    const server = await startKnot({
      zones: [
        {
          name: "example.com",
          records: [{ name: "www.example.com", type: "TXT", ttl: 300, values: ['a "quoted" value'] }],
        },
      ],
    });
    try {
      const resolver = new Resolver();
      resolver.setServers([`127.0.0.1:${server.port}`]);
      expect((await resolver.resolveSoa("example.com")).nsname).toBe("ns1.example.com");
      expect(await resolver.resolveTxt("www.example.com")).toEqual([['a "quoted" value']]);

      await putRecordSet(server, "example.com", {
        name: "sel.example.com",
        type: "CNAME",
        ttl: 600,
        values: ["target.example.net"],
      });
      expect(await digAxfr(server, "example.com")).toContainEqual({
        name: "sel.example.com",
        type: "CNAME",
        ttl: 600,
        values: ["target.example.net"],
      });
      // The acl: update-only may update, not transfer; transfer-only the reverse; other nothing.
      await nsupdate({ port: server.port, tsig: server.updateOnly }, "example.com", [
        "update add u.example.com. 60 TXT ok",
      ]);
      await expect(digAxfr({ port: server.port, tsig: server.updateOnly }, "example.com")).rejects.toThrow();
      expect(await digAxfr({ port: server.port, tsig: server.transferOnly }, "example.com")).toContainEqual({
        name: "u.example.com",
        type: "TXT",
        ttl: 60,
        values: ["ok"],
      });
      await expect(
        nsupdate({ port: server.port, tsig: server.transferOnly }, "example.com", [
          "update add t.example.com. 60 TXT no",
        ]),
      ).rejects.toThrow();
      await expect(
        nsupdate({ port: server.port, tsig: server.otherTsig }, "example.com", ["update add o.example.com. 60 TXT no"]),
      ).rejects.toThrow();

      await server.addZone({ name: "added.test" });
      expect((await resolver.resolveSoa("added.test")).hostmaster).toBe("hostmaster.added.test");
      // The first zone kept its dynamic updates across the reload (they live in the journal).
      expect(await resolver.resolveCname("sel.example.com")).toEqual(["target.example.net"]);
    } finally {
      await server.stop();
    }
    expect(await tcpFree(server.port)).toBe(true);
    expect(await udpFree(server.port)).toBe(true);
    await expect(fs.access(server.dir)).rejects.toThrow();
  });
});
