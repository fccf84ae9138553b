/**
 * What the official Route 53 SDK alone costs per request: a minimal Node process that sends a
 * Route 53 plan's requests (ListHostedZonesByName pages, then one ListResourceRecordSets per
 * zone from its first selector name, 8 at once) through `@aws-sdk/client-route-53` with the
 * client settings dkimsync uses, and nothing else: no config, no planning, no output. It runs
 * against the loopback fake of test/fakes/route53 as a child process with the same usage hook
 * as the CLI in cloud-scale, so its CPU per request compares with dkimsync's plan of the same
 * zones: the difference is dkimsync's own work (start-up, config, planning, pacing, output).
 *
 *   npm run build && node dist/bench/route53-floor.js [--sizes 2000,10000] [--pace]
 *
 * `--pace` also runs it paced at 100 requests/s (a timer per request, as any client under a
 * rate limit needs), the rate cloud-scale gives dkimsync. Counts and CPU only: no timing is
 * judged.
 */
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type * as Route53Sdk from "@aws-sdk/client-route-53";
import { cloudDataset, startRoute53 } from "./cloud-scale.js";

const HOOK = fileURLToPath(new URL("./usage-hook.js", import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** The child: send the requests, print how many, exit. */
async function child(endpoint: string, paceMs: number): Promise<void> {
  const sdk = createRequire(import.meta.url)("@aws-sdk/client-route-53") as typeof Route53Sdk;
  const client = new sdk.Route53Client({
    region: "us-east-1",
    endpoint,
    maxAttempts: 3,
    retryMode: "standard",
    cacheMiddleware: true,
    requestHandler: { connectionTimeout: 30_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  });
  let nextAt = 0;
  const gate = async (): Promise<void> => {
    if (paceMs === 0) return;
    const now = Date.now();
    const at = Math.max(now, nextAt);
    nextAt = at + paceMs;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  };
  let requests = 0;
  const zones: { id: string; name: string }[] = [];
  let from: { DNSName: string; HostedZoneId: string } | undefined;
  for (;;) {
    await gate();
    requests++;
    const page = await client.send(new sdk.ListHostedZonesByNameCommand({ MaxItems: 100, ...from }));
    for (const z of page.HostedZones ?? [])
      zones.push({ id: (z.Id ?? "").replace("/hostedzone/", ""), name: z.Name ?? "" });
    if (!page.IsTruncated || !page.NextDNSName || !page.NextHostedZoneId) break;
    from = { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId };
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let z = zones[next++]; z !== undefined; z = zones[next++]) {
      await gate();
      requests++;
      await client.send(
        new sdk.ListResourceRecordSetsCommand({
          HostedZoneId: z.id,
          StartRecordName: `selector1._domainkey.${z.name}`,
          MaxItems: 300,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  client.destroy();
  process.stdout.write(`${JSON.stringify({ requests })}\n`);
}

async function run(size: number, paceMs: number): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-bench-r53floor-"));
  const backend = await startRoute53(dir, cloudDataset(size, "own"), {});
  try {
    const usageFile = path.join(dir, "usage.json");
    const endpoint = String(backend.options["endpoint"]);
    const proc = spawn(process.execPath, ["--import", HOOK, SELF, "--child", endpoint, String(paceMs)], {
      env: {
        ...backend.env,
        DKIMSYNC_BENCH_USAGE: usageFile,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const code = await new Promise<number>((resolve) => proc.once("close", (c) => resolve(c ?? 1)));
    if (code !== 0) throw new Error(`route53-floor child exited ${code}`);
    const { requests } = JSON.parse(out) as { requests: number };
    const usage = JSON.parse(await fs.readFile(usageFile, "utf8")) as { cpuMs: number; maxRssKb: number };
    const seen = Object.values(backend.take().requests).reduce((a, b) => a + b, 0);
    return `bare SDK, ${size} zones, ${paceMs === 0 ? "unpaced" : `paced ${paceMs} ms`}: ${requests} requests (fake saw ${seen}), cpu ${(usage.cpuMs / 1000).toFixed(2)} s = ${(usage.cpuMs / requests).toFixed(2)} ms a request (whole process), peak RSS ${(usage.maxRssKb / 1024).toFixed(0)} MB`;
  } finally {
    await backend.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "--child") return child(argv[1] as string, Number(argv[2]));
  const at = argv.indexOf("--sizes");
  const sizes = (at >= 0 ? (argv[at + 1] ?? "") : "2000").split(",").map(Number);
  // cloud-scale's max_rps 100, with the provider's pacing margin (providers/route53/api.ts).
  const paces = argv.includes("--pace") ? [0, 10.3] : [0];
  for (const size of sizes) for (const pace of paces) process.stdout.write(`${await run(size, pace)}\n`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`route53-floor: ${(err as Error).message}\n`);
  process.exit(1);
});
