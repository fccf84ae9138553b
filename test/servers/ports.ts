/**
 * Free loopback ports for the test servers. DNS servers listen on UDP and TCP on the same port,
 * so a port counts as free only when both can be bound. Another process may still take the port
 * between this check and the server's own bind: callers that start a server retry with a new
 * port when the server reports that it could not bind.
 */
import net from "node:net";
import dgram from "node:dgram";

const HOST = "127.0.0.1";
const ATTEMPTS = 20;

/** A port on 127.0.0.1 that is free for both TCP and UDP right now. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = await freeTcpPort();
    if (await udpFree(port)) return port;
  }
  throw new Error(`no port on ${HOST} was free for both TCP and UDP after ${ATTEMPTS} attempts`);
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: HOST, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("could not read the bound port"))));
    });
  });
}

/** Whether the TCP port is free too; used to check that a stopped server released its port. */
export function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: HOST, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: HOST, port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}
