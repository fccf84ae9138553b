/**
 * The forms of key and server an administrator writes: a key made with
 * `tsig-keygen -a hmac-sha512 DkimSync-Key` (upper case kept in named.conf), and the server given
 * as a host name or an IPv6 address.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRfc2136Provider, readRfc2136Options } from "../../../providers/rfc2136/index.js";
import type { OptionsReader } from "../../../src/config/options.js";
import { optionsReader } from "../../helpers/options.js";
import type { RecordSet } from "../../../src/core/types.js";
import { digAxfr, startBind, type BindServer } from "../../servers/bind.js";

const ZONE = "example.com";
const S1 = "selector1._domainkey.example.com";
const T1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";

function reader(values: Record<string, unknown>, env: Record<string, string> = {}): OptionsReader {
  return optionsReader("rfc2136", values, env, { provider: "bind", line: 7 });
}

let server: BindServer;
beforeAll(async () => {
  server = await startBind({ zones: [{ name: ZONE }], keyName: "DkimSync-Key", keyAlgorithm: "hmac-sha512" });
});
afterAll(async () => {
  await server?.stop();
});

describe("an hmac-sha512 key whose name has upper case, against named", () => {
  // RFC 8945 4.3.3: the key name enters the MAC in canonical (lowercase) wire form, so the case
  // written in dkim.zones.yaml or named.conf does not matter.
  it.each(["axfr", "query"])(
    "creates, reads back and deletes with transfer: %s, the server given as localhost",
    async (transfer) => {
      const p = createRfc2136Provider(
        reader(
          {
            server: `localhost:${server.port}`,
            transfer,
            tsig: { name: "DkimSync-Key", algorithm: "hmac-sha512", secret: "env/S" },
          },
          { S: server.tsig.secret },
        ),
        {},
      );
      expect(await p.zoneOf?.(S1)).toBe(ZONE);
      const rs: RecordSet = { name: S1, type: "CNAME", ttl: 3600, values: [T1] };
      await p.apply(ZONE, [{ action: "create", name: S1, type: "CNAME", before: null, after: rs }]);
      expect(await p.list(ZONE, [S1])).toEqual([rs]);
      expect((await digAxfr(server, ZONE)).find((s) => s.name === S1)).toEqual(rs);
      await p.apply(ZONE, [{ action: "delete", name: S1, type: "CNAME", before: rs, after: null }]);
      expect(await p.list(ZONE, [S1])).toEqual([]);
    },
  );

  it("the same key with hmac-sha256 configured is BADKEY, naming the algorithm", async () => {
    const p = createRfc2136Provider(
      reader(
        { server: `127.0.0.1:${server.port}`, zones: [ZONE], tsig: { name: "DkimSync-Key", secret: "env/S" } },
        { S: server.tsig.secret },
      ),
      {},
    );
    const err = await p.list(ZONE, [S1]).then(
      () => undefined,
      (e: unknown) => e as Error & { hint?: string },
    );
    expect(err?.message).toMatch(
      /NOTAUTH\/BADKEY, unsigned: it does not know key "dkimsync-key" with algorithm hmac-sha256/,
    );
  });
});

describe("server forms", () => {
  it.each([
    ["ns1.example.com", { host: "ns1.example.com", port: 53 }],
    ["ns1.example.com:5353", { host: "ns1.example.com", port: 5353 }],
    ["[::1]:5300", { host: "::1", port: 5300 }],
    ["[2001:db8::53]", { host: "2001:db8::53", port: 53 }],
  ])("reads %s", (text, expected) => {
    expect(readRfc2136Options(reader({ server: text })).server).toEqual(expected);
  });

  it("reads a bare IPv6 address as that host on port 53, as verify's --nameserver does (one parser)", () => {
    expect(readRfc2136Options(reader({ server: "::1" })).server).toEqual({ host: "::1", port: 53 });
    expect(readRfc2136Options(reader({ server: "[::1]:5353" })).server).toEqual({ host: "::1", port: 5353 });
    expect(() => readRfc2136Options(reader({ server: "::1:5353x" }))).toThrow(
      /option "server" is not HOST\[:PORT\] \(an IPv6 address with a port is written \[addr\]:port\)/,
    );
    expect(() => readRfc2136Options(reader({ server: "[127.0.0.1]:53" }))).toThrow(/is not an IPv6 address/);
  });
});
