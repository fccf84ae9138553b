/**
 * Run the Route 53 fake by hand:
 *   node dist/test/fakes/route53/cli.js --port 8053 --seed zones.yaml [--rps 5 --burst 5 | --no-rate-limit]
 * then point dkimsync at it with `endpoint: http://127.0.0.1:8053` (any credentials pass).
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { startRoute53Fake, type Route53FakeOptions } from "./server.js";
import type { Seed } from "./state.js";

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: cli.js [--port N] [--seed FILE.json|yaml] [--rps N] [--burst N] [--no-rate-limit]\n`,
  );
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const opts: Route53FakeOptions = {};
  let rps = 5;
  let burst = 5;
  let limited = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => argv[++i] ?? usage(`${arg} needs a value`);
    const number = (): number => {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 0) usage(`${arg} needs a number`);
      return n;
    };
    if (arg === "--port") opts.port = number();
    else if (arg === "--seed") {
      const file = value();
      const text = await readFile(file, "utf8");
      const seed = (file.endsWith(".json") ? JSON.parse(text) : parseYaml(text)) as Seed;
      if (!seed || !Array.isArray(seed.zones)) usage(`${file}: expected { zones: [...] }`);
      opts.seed = seed;
    } else if (arg === "--rps") rps = number();
    else if (arg === "--burst") burst = number();
    else if (arg === "--no-rate-limit") limited = false;
    else usage(`unknown argument ${arg}`);
  }
  opts.rateLimit = limited ? { rps, burst } : false;
  const fake = await startRoute53Fake(opts);
  process.stdout.write(`route53 fake listening on ${fake.endpoint} (${fake.state.zones.size} zones)\n`);
  for (const z of fake.state.sortedZones())
    process.stdout.write(`  ${z.id} ${z.name}${z.private ? " (private)" : ""}\n`);
  const stop = (): void => {
    void fake.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`route53 fake: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
