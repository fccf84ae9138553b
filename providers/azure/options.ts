/**
 * The `type: azure` options block, read and checked through the OptionsReader (every problem with
 * file:line). Kept apart from the provider (index.ts) so that checking a config, which every run
 * and `validate` do for every provider block, loads no SDK: this module imports none.
 */
import { accessSync, constants } from "node:fs";
import type { OptionsReader } from "../../src/provider-kit.js";
// Type only: api.ts imports the Azure SDK, which this module must not load.
import type { AzureApiOptions } from "./api.js";

export interface AzureOptions extends Omit<AzureApiOptions, "provider"> {
  /** Only zones of this resource group. Default: every DNS zone of the subscription. */
  resourceGroup?: string;
}

const DEFAULT_ENDPOINT = "https://management.azure.com";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function readAzureOptions(o: OptionsReader): AzureOptions {
  const subscriptionId = o.string("subscription_id", { required: true });
  if (!GUID.test(subscriptionId))
    o.fail(
      "subscription_id",
      `must be a subscription id like 00000000-0000-0000-0000-000000000000, not "${subscriptionId}"`,
      "find it with `az account show --query id`",
    );
  const resourceGroup = o.string("resource_group");
  // url() refuses user:password@, a query and a fragment before anything echoes the URL.
  const endpoint = (o.url("endpoint", { default: DEFAULT_ENDPOINT, example: DEFAULT_ENDPOINT }) as string).replace(
    /\/+$/,
    "",
  );
  if (!/^https:\/\/[^\s/]+/.test(endpoint)) {
    o.fail(
      "endpoint",
      `must be an https URL like ${DEFAULT_ENDPOINT}, not "${endpoint}"`,
      "Azure sends the bearer token only over TLS",
    );
  }
  const authorityHost = o.url("authority_host", { example: "https://login.microsoftonline.com" })?.replace(/\/+$/, "");
  if (authorityHost !== undefined && !/^https:\/\/[^\s/]+/.test(authorityHost)) {
    o.fail("authority_host", `must be an https URL like https://login.microsoftonline.com, not "${authorityHost}"`);
  }
  const tenantId = o.string("tenant_id");
  const clientId = o.string("client_id");
  const managedIdentityClientId = o.string("managed_identity_client_id");
  const secret = o.secret("client_secret");
  let credential: AzureApiOptions["credential"];
  if (secret !== undefined) {
    if (tenantId === undefined)
      o.fail("tenant_id", "is required with client_secret", "the directory (tenant) id of the app registration");
    if (clientId === undefined)
      o.fail("client_id", "is required with client_secret", "the application (client) id of the app registration");
    if (managedIdentityClientId !== undefined)
      o.fail("managed_identity_client_id", "cannot be combined with client_secret");
    credential = { mode: "client_secret", tenantId, clientId, secret };
  } else {
    if (clientId !== undefined) {
      o.fail(
        "client_id",
        "is only used with client_secret",
        "for DefaultAzureCredential set AZURE_CLIENT_ID in the environment, or managed_identity_client_id for a user-assigned managed identity",
      );
    }
    credential = {
      mode: "default",
      ...(tenantId ? { tenantId } : {}),
      ...(managedIdentityClientId ? { managedIdentityClientId } : {}),
    };
  }
  const caFile = o.path("ca_file");
  // Read when the provider is created; a path that cannot be read is a problem of the config,
  // named at its line when the config is checked (every run, and validate), not a crash later.
  if (caFile !== undefined) {
    try {
      accessSync(caFile, constants.R_OK);
    } catch (err) {
      o.fail(
        "ca_file",
        `names ${caFile}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`,
        "give the path of a PEM file of CA certificates, relative to the config file's folder",
      );
    }
  }
  const options: AzureOptions = {
    subscriptionId,
    ...(resourceGroup ? { resourceGroup } : {}),
    endpoint,
    ...(authorityHost ? { authorityHost } : {}),
    credential,
    ...(caFile ? { caFile } : {}),
    timeoutMs: o.number("timeout_ms", { default: 30_000, min: 100, max: 600_000, integer: true }),
    maxAttempts: o.number("max_attempts", { default: 4, min: 1, max: 10, integer: true }),
    // `$top`: the API's default page is 100; Azure DNS refuses more than 1000 ("Invalid $top
    // value: '1001'. It must be a number between '1' and '1000'.", as answered by Zones - List).
    pageSize: o.number("page_size", { default: 100, min: 1, max: 1000, integer: true }),
  };
  o.done();
  return options;
}
