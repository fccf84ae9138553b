import { Resolver } from "node:dns/promises";
import fs from "node:fs/promises";
import { describe, it, expect } from "vitest";
import { digAxfr, putRecordSet, startBind } from "./bind.js";
import { tcpFree, udpFree } from "./ports.js";

describe("startBind", () => {
  it("serves the zones it was given, takes signed updates, adds zones, and stops cleanly", async () => {
    const server = await startBind({
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
      const soa = await resolver.resolveSoa("example.com");
      expect(soa.nsname).toBe("ns1.example.com");
      expect(await resolver.resolveTxt("www.example.com")).toEqual([['a "quoted" value']]);

      await putRecordSet(server, "example.com", {
        name: "sel.example.com",
        type: "CNAME",
        ttl: 600,
        values: ["target.example.net"],
      });
      const zone = await digAxfr(server, "example.com");
      expect(zone).toContainEqual({ name: "sel.example.com", type: "CNAME", ttl: 600, values: ["target.example.net"] });
      expect(zone).toContainEqual({ name: "www.example.com", type: "TXT", ttl: 300, values: ['a "quoted" value'] });

      await server.addZone({ name: "added.test" });
      expect((await resolver.resolveSoa("added.test")).hostmaster).toBe("hostmaster.added.test");
      // The first zone kept its dynamic update across the reload (it lives in the journal).
      expect(await resolver.resolveCname("sel.example.com")).toEqual(["target.example.net"]);
    } finally {
      await server.stop();
    }
    expect(await tcpFree(server.port)).toBe(true);
    expect(await udpFree(server.port)).toBe(true);
    await expect(fs.access(server.dir)).rejects.toThrow();
  });
});
