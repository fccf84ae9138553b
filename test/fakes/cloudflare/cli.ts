/**
 * Run the Cloudflare loopback server by hand:
 *   node dist/test/fakes/cloudflare/cli.js --port 8787 --seed seed.yaml [--token T] [--rate-limit 1200]
 * Prints the base URL and the token to use, then serves until interrupted.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { startCloudflareFake } from "./server.js";
import type { SeedZone } from "./state.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    seed: { type: "string" },
    token: { type: "string", multiple: true },
    "rate-limit": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: cli.js [--port 8787] [--seed seed.json|seed.yaml] [--token TOKEN]... [--rate-limit N-per-5-min]\n",
  );
  process.exit(0);
}

// YAML is a superset of JSON, so one parser reads both seed formats.
const seed =
  values.seed === undefined ? undefined : (parse(await readFile(values.seed, "utf8")) as { zones?: SeedZone[] });
const fake = await startCloudflareFake({
  port: Number(values.port),
  ...(values.token ? { tokens: values.token } : {}),
  ...(values["rate-limit"] ? { rateLimit: Number(values["rate-limit"]) } : {}),
  ...(seed ? { seed } : {}),
});
process.stdout.write(`Cloudflare fake listening on ${fake.baseURL}\n`);
process.stdout.write(`token: ${fake.token}\n`);
for (const z of fake.state.zones) process.stdout.write(`zone ${z.name} id ${z.id} (${z.records.length} records)\n`);

const stop = () => void fake.stop().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
