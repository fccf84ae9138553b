/**
 * Run the Azure DNS fake by hand:
 *   node dist/test/fakes/azure/cli.js --port 8443 --seed zones.yaml --ca-out /tmp/azure-fake-ca.pem
 * Seed (YAML or JSON): `zones: [{ name, resource_group, records: [{ name, type, ttl, values }] }]`
 * with absolute record names and values as dkimsync writes them (TXT unquoted, MX "10 host").
 * Prints the endpoint, the tenant, subscription and client to use, and a provider block for
 * dkim.zones.yaml; the client secret is the fake's own, made up at start.
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { startAzureFake } from "./server.js";
import { wireData } from "./state.js";

interface SeedZone {
  name: string;
  resource_group?: string;
  records?: { name: string; type: string; ttl?: number; values: string[] }[];
}

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8443" },
    seed: { type: "string" },
    "ca-out": { type: "string", default: "azure-fake-ca.pem" },
    subscription: { type: "string" },
    tenant: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write(
    "usage: cli.js [--port 8443] [--seed zones.yaml] [--ca-out FILE] [--subscription ID] [--tenant ID]\n",
  );
  process.exit(0);
}

const fake = await startAzureFake({
  port: Number(values.port),
  ...(values.subscription ? { subscriptionId: values.subscription } : {}),
  ...(values.tenant ? { tenantId: values.tenant } : {}),
});
const seed =
  values.seed === undefined ? undefined : (parse(await readFile(values.seed, "utf8")) as { zones?: SeedZone[] });
for (const z of seed?.zones ?? []) {
  const zone = fake.state.createZone(fake.subscriptionId, z.resource_group ?? "dns-rg", z.name);
  for (const r of z.records ?? []) {
    const rel = r.name === z.name ? "@" : r.name.slice(0, -(z.name.length + 1));
    fake.state.put(zone, rel, r.type, { ttl: r.ttl ?? 3600, data: wireData(r.type, r.values) });
  }
}
await writeFile(values["ca-out"] as string, fake.ca);
process.stdout.write(
  [
    `Azure DNS fake listening on ${fake.endpoint} (CA certificate written to ${values["ca-out"]})`,
    `tenant ${fake.tenantId}, subscription ${fake.subscriptionId}, client ${fake.clientId}`,
    ...fake.state.zones.map(
      (z) => `zone ${z.name} in resource group ${z.resourceGroup} (${z.sets.length} record sets)`,
    ),
    "",
    "Provider block for dkim.zones.yaml (export AZURE_FAKE_SECRET first):",
    `  export AZURE_FAKE_SECRET='${fake.clientSecret}'`,
    "  azure:",
    "    type: azure",
    `    subscription_id: ${fake.subscriptionId}`,
    `    tenant_id: ${fake.tenantId}`,
    `    client_id: ${fake.clientId}`,
    "    client_secret: env/AZURE_FAKE_SECRET",
    `    endpoint: ${fake.endpoint}`,
    `    authority_host: ${fake.authorityHost}`,
    `    ca_file: ${values["ca-out"]}`,
    "",
  ].join("\n"),
);

const stop = () => void fake.stop().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
