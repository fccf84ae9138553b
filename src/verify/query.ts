/**
 * The authoritative view: one raw dns-packet query over UDP, over TCP when the UDP answer is
 * truncated (node:dns hides TTLs of CNAME answers and folds NXDOMAIN/NODATA/REFUSED into error codes).
 */
import dnsPacket from "dns-packet";
import type { HostPort } from "../dns/host-port.js";
import { tcpExchange, udpExchange } from "../dns/transport.js";
import { canonical } from "../core/names.js";
import { serverLabel } from "./servers.js";

export interface AuthAnswer {
  server: string;
  /** NOERROR, NXDOMAIN, REFUSED, SERVFAIL, ... or "TIMEOUT"/"NETWORK" when nothing came back. */
  rcode: string;
  aa: boolean;
  records: { type: string; ttl: number; data: string }[];
  /** How the answer that counts arrived: "tcp" after a truncated UDP answer. */
  transport: "udp" | "tcp";
  error?: string;
}

export interface QueryOptions {
  /** Per exchange; a UDP query that gets no answer is sent once more. Default 2000 ms. */
  timeoutMs?: number;
  /** The UDP payload size advertised in EDNS0 (RFC 6891 6.2.3). Default 4096. */
  udpPayloadSize?: number;
}

export const NETWORK_FAILURES = new Set(["TIMEOUT", "NETWORK"]);

/**
 * Ask one server one question, without recursion. EDNS0 advertises a 4096-byte buffer (RFC 6891),
 * but a server may truncate well below it: PowerDNS 4.7.3 sets TC on any UDP answer over its
 * udp-truncation-threshold (1232 bytes by default, observed here) and sends no records at all.
 * A truncated answer is therefore asked again over TCP (RFC 1035 4.2.2, RFC 7766 5), so a large
 * TXT set (a long key, or several records) is read whole rather than mistaken for NODATA.
 */
export async function queryAuthoritative(
  server: HostPort,
  name: string,
  type: "CNAME" | "TXT",
  opts: QueryOptions = {},
): Promise<AuthAnswer> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const label = serverLabel(server);
  const id = Math.floor(Math.random() * 65536);
  const query = dnsPacket.encode({
    type: "query",
    id,
    flags: 0,
    questions: [{ type, name, class: "IN" }],
    additionals: [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: opts.udpPayloadSize ?? 4096,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
  let lastError = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    let packet: dnsPacket.DecodedPacket;
    try {
      packet = dnsPacket.decode(await udpExchange(server, query, id, timeoutMs));
    } catch (err) {
      lastError = (err as Error).message;
      if ((err as NodeJS.ErrnoException).code !== "TIMEOUT") return failed(label, "NETWORK", "udp", lastError);
      continue;
    }
    if (!packet.flag_tc) return answer(label, packet, name, "udp");
    try {
      const [reply] = await tcpExchange(server, query, id, timeoutMs);
      return answer(label, dnsPacket.decode(reply as Buffer), name, "tcp");
    } catch (err) {
      const rcode = (err as NodeJS.ErrnoException).code === "TIMEOUT" ? "TIMEOUT" : "NETWORK";
      return failed(label, rcode, "tcp", `the UDP answer was truncated and TCP failed: ${(err as Error).message}`);
    }
  }
  return failed(label, "TIMEOUT", "udp", lastError);
}

function answer(server: string, packet: dnsPacket.DecodedPacket, name: string, transport: "udp" | "tcp"): AuthAnswer {
  const records = (packet.answers ?? [])
    .filter((a) => canonical(a.name) === canonical(name))
    .map((a) => ({ type: a.type, ttl: "ttl" in a ? (a.ttl ?? 0) : 0, data: answerText(a) }));
  return { server, rcode: (packet as { rcode?: string }).rcode ?? "NOERROR", aa: packet.flag_aa, records, transport };
}

function failed(server: string, rcode: "TIMEOUT" | "NETWORK", transport: "udp" | "tcp", error: string): AuthAnswer {
  return { server, rcode, aa: false, records: [], transport, error };
}

function answerText(a: dnsPacket.Answer): string {
  const data = (a as { data?: unknown }).data;
  if (typeof data === "string") return canonical(data);
  if (Array.isArray(data)) return data.map((d) => (Buffer.isBuffer(d) ? d.toString("utf8") : String(d))).join("");
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  return "";
}
