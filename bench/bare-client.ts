/**
 * The least a whole Node process needs to send a recorded set of PowerDNS API requests: start,
 * read the request list, send each with node:http (a fresh connection each, as PowerDNS 4.7
 * answers `Connection: close`), `limit` at once, parse each JSON answer (any client must), exit.
 * No config, no planning, no output. pdns-scale runs it as a child process, with the same
 * usage hook as the CLI, so "dkimsync vs the bare requests" compares a process with a process.
 *
 * Usage: node bare-client.js FILE; FILE is JSON {url, keyEnv, limit, requests: [{method, path,
 * body?}]} with each body base64, or {url, keyEnv, phases: [{limit, requests}]}: each phase sent
 * once the one before it is done (an apply's reads, then its writes, then its read-back).
 */
import { readFileSync } from "node:fs";
import http from "node:http";

interface Job {
  url: string;
  keyEnv: string;
  limit: number;
  requests: { method: string; path: string; body?: string }[];
  phases?: { limit: number; requests: Job["requests"] }[];
}

const job = JSON.parse(readFileSync(process.argv[2] as string, "utf8")) as Job;
const base = new URL(job.url);
const apiKey = process.env[job.keyEnv] ?? "";

function send(r: Job["requests"][number]): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = r.body === undefined ? undefined : Buffer.from(r.body, "base64");
    const headers: http.OutgoingHttpHeaders = { "X-API-Key": apiKey, Accept: "application/json" };
    if (body) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = body.length;
    }
    const req = http.request(
      { hostname: base.hostname, port: base.port, path: r.path, method: r.method, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          if ((res.statusCode ?? 500) >= 300)
            return reject(new Error(`bare ${r.method} ${r.path} -> ${res.statusCode}`));
          const text = Buffer.concat(chunks).toString("utf8");
          if (text !== "") JSON.parse(text);
          resolve();
        });
      },
    );
    // A bench without a time limit could hang for ever on a stalled server.
    req.setTimeout(60_000, () => req.destroy(new Error(`bare ${r.method} ${r.path}: no answer within 60 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

async function sendAll(requests: Job["requests"], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) await send(requests[next++] as Job["requests"][number]);
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
}

async function sendPhases(): Promise<void> {
  for (const phase of job.phases ?? [{ limit: job.limit, requests: job.requests }])
    await sendAll(phase.requests, phase.limit);
}

sendPhases().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  },
);
