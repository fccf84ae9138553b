/**
 * One DNS exchange over UDP or TCP (RFC 1035 4.2), shared by verify's queries and the RFC 2136
 * provider's updates and transfers. Errors carry a `code`: `TIMEOUT`, `CLOSED` (TCP ended before
 * the answer was complete), `BAD_ID` (a TCP answer for another message), or the socket's own
 * code (ECONNREFUSED, ...). Callers word them for their users.
 */
import dgram from "node:dgram";
import net, { isIP } from "node:net";

export interface DnsEndpoint {
  host: string;
  port: number;
}

export class DnsExchangeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DnsExchangeError";
    this.code = code;
  }
}

function socketError(err: NodeJS.ErrnoException): DnsExchangeError {
  return new DnsExchangeError(err.code ?? "NETWORK", err.message, { cause: err });
}

/** Send one datagram and wait for the answer with the same message ID. */
export function udpExchange(server: DnsEndpoint, message: Buffer, id: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(isIP(server.host) === 6 ? "udp6" : "udp4");
    const finish = (err: Error | null, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer as Buffer);
    };
    const timer = setTimeout(
      () => finish(new DnsExchangeError("TIMEOUT", `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on("error", (err) => finish(socketError(err)));
    socket.on("message", (raw) => {
      // Answers with another ID are stray or spoofed: keep waiting (RFC 5452 4.3, 9.1).
      if (raw.length >= 12 && raw.readUInt16BE(0) === id) finish(null, raw);
    });
    socket.send(message, server.port, server.host);
  });
}

/**
 * Send one message over a fresh TCP connection with the 2-octet length prefix (RFC 1035 4.2.2)
 * and collect answers until `done` says the stream is over (one answer by default; a zone
 * transfer sends several). One question per connection: reuse (RFC 7766 6.2) buys nothing here.
 */
export function tcpExchange(
  server: DnsEndpoint,
  message: Buffer,
  id: number,
  timeoutMs: number,
  done: (answer: Buffer) => boolean = () => true,
): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const answers: Buffer[] = [];
    let pending = Buffer.alloc(0);
    let received = 0;
    let settled = false;
    const socket = net.connect({ host: server.host, port: server.port });
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answers);
    };
    const timer = setTimeout(
      () => finish(new DnsExchangeError("TIMEOUT", `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on("connect", () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length, 0);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on("error", (err) => finish(socketError(err)));
    socket.on("close", () => {
      const expected = pending.length >= 2 ? ` of ${pending.readUInt16BE(0)}` : "";
      finish(
        new DnsExchangeError(
          "CLOSED",
          `the server closed the TCP connection after ${Math.max(received - 2, 0)}${expected} bytes of the answer`,
        ),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0);
        if (pending.length < 2 + length) break;
        const answer = pending.subarray(2, 2 + length);
        pending = pending.subarray(2 + length);
        if (answer.length < 12 || answer.readUInt16BE(0) !== id) {
          finish(new DnsExchangeError("BAD_ID", "the TCP answer does not match the query's id"));
          return;
        }
        answers.push(answer);
        try {
          if (done(answer)) {
            finish(null);
            return;
          }
        } catch (err) {
          finish(err as Error);
          return;
        }
      }
    });
  });
}
