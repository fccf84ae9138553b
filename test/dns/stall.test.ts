/**
 * verify's DNS queries against a stalled server: a UDP socket that reads queries and never
 * answers, and a TCP listener that accepts and never answers (after a truncated UDP answer).
 * Each query ends in TIMEOUT within its bound: two UDP attempts, or one UDP answer plus one TCP
 * exchange, each limited by timeoutMs. A bound with slack, not a timing benchmark.
 */
import dgram from "node:dgram";
import net, { type AddressInfo } from "node:net";
import dnsPacket from "dns-packet";
import { afterEach, describe, expect, it } from "vitest";
import { queryAuthoritative } from "../../src/verify/checks.js";
import { freePort } from "../servers/ports.js";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function stalledUdp(answerTruncated: boolean, port = 0): Promise<{ port: number; received: () => number }> {
  const socket = dgram.createSocket("udp4");
  let received = 0;
  socket.on("message", (msg, rinfo) => {
    received++;
    if (!answerTruncated) return;
    const q = dnsPacket.decode(msg);
    const reply = dnsPacket.encode({
      type: "response",
      id: q.id ?? 0,
      flags: dnsPacket.TRUNCATED_RESPONSE,
      questions: q.questions ?? [],
      answers: [],
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(port, "127.0.0.1", () => r()));
  closers.push(() => socket.close());
  return { port: (socket.address() as AddressInfo).port, received: () => received };
}

describe("DNS queries against a stalled server", () => {
  it("end in TIMEOUT after two silent UDP attempts, within 2 x timeoutMs", async () => {
    const udp = await stalledUdp(false);
    const started = Date.now();
    const a = await queryAuthoritative(
      { host: "127.0.0.1", port: udp.port },
      "selector1._domainkey.example.com",
      "CNAME",
      { timeoutMs: 200 },
    );
    expect(a.rcode).toBe("TIMEOUT");
    expect(udp.received()).toBe(2);
    expect(Date.now() - started).toBeLessThan(2 * 200 + 3000);
  });

  it("end in TIMEOUT when TCP accepts after a truncated UDP answer and never answers", async () => {
    // The TCP listener shares the UDP socket's port number: a port free for both.
    const udp = await stalledUdp(true, await freePort());
    const sockets: net.Socket[] = [];
    const tcp = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(udp.port, "127.0.0.1", () => resolve());
    });
    closers.push(() => {
      for (const s of sockets) s.destroy();
      tcp.close();
    });
    const started = Date.now();
    const a = await queryAuthoritative(
      { host: "127.0.0.1", port: udp.port },
      "selector1._domainkey.example.com",
      "TXT",
      { timeoutMs: 200 },
    );
    expect(a.rcode).toBe("TIMEOUT");
    expect(sockets).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2 * 200 + 3000);
  });
});
