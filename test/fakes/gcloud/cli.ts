/**
 * Run the Cloud DNS loopback server by hand:
 *   node dist/test/fakes/gcloud/cli.js --port 8788 [--project my-project] [--zone example.com]... [--key-out key.json]
 * Creates the project and zones, writes a service account key for the server's token endpoint
 * (mode 0600) and prints the provider options to use, then serves until interrupted.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { startGcloudFake } from "./server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8788" },
    project: { type: "string", default: "fake-project" },
    zone: { type: "string", multiple: true },
    "key-out": { type: "string", default: "gcloud-fake-key.json" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write("usage: cli.js [--port 8788] [--project ID] [--zone DNS-NAME]... [--key-out key.json]\n");
  process.exit(0);
}

const fake = await startGcloudFake({ port: Number(values.port) });
const project = values.project as string;
fake.state.project(project);
for (const z of values.zone ?? []) fake.state.createZone(project, z);
const key = fake.createServiceAccount(`dkimsync@${project}.iam.gserviceaccount.com`, { project });
await writeFile(values["key-out"] as string, JSON.stringify(key, null, 2), { mode: 0o600 });
process.stdout.write(`Cloud DNS fake listening on ${fake.endpoint}\n`);
process.stdout.write(
  `service account key written to ${values["key-out"]} (export GCLOUD_KEY="$(cat ${values["key-out"]})")\n`,
);
process.stdout.write(
  `provider options: type: gcloud, project: ${project}, credentials: env/GCLOUD_KEY, endpoint: ${fake.endpoint}, token_url: ${fake.tokenUrl}\n`,
);
for (const z of fake.state.project(project).zones.values())
  process.stdout.write(`zone ${z.dnsName} (managed zone ${z.name})\n`);

const stop = () => void fake.stop().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
