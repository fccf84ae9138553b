/**
 * The `type: gcloud` options block, read and checked through the OptionsReader (every problem with
 * file:line). Kept apart from the provider (index.ts) so that checking a config, which every run
 * and `validate` do for every provider block, loads no SDK: this module imports none.
 */
import type { OptionsReader } from "../../src/provider-kit.js";
// api.ts loads google-auth-library only when a token is first needed: these constants are light.
import { DEFAULT_ENDPOINT, GOOGLE_TOKEN_URL, type ServiceAccountKey } from "./api.js";

export interface GcloudOptions {
  /** Project id. Default: the key's project_id, else what ADC finds (GOOGLE_CLOUD_PROJECT, gcloud config, metadata server). */
  project?: string;
  /** A service account key (JSON), from `credentials: env/NAME`. Default: ADC. */
  key?: ServiceAccountKey;
  keyRef?: string;
  /** API root. Default https://dns.googleapis.com; set for the loopback test server. */
  endpoint: string;
  /** OAuth 2.0 token endpoint for the service-account grant. Default Google's. */
  tokenUrl: string;
  /** `names`: one name-filtered read per selector name (default); `zone`: one paged read of the whole zone. */
  read: "names" | "zone";
  /** Also manage private managed zones. Default false. */
  privateZones: boolean;
  /** Time limit of each request, in ms. Default 30000. */
  timeoutMs: number;
  /** Attempts per request (throttling, 5xx and lost answers retried). Default 5. */
  maxAttempts: number;
  /** After writing, poll the change until `done`. Default false (apply --wait sets it too). */
  wait: boolean;
  /** How long `wait` polls, in ms. Default 300000. */
  waitTimeoutMs: number;
}

// Keys people copy from other tools: key material never belongs in dkim.zones.yaml.
const INLINE_KEYS = [
  "private_key",
  "private_key_id",
  "client_email",
  "key_file",
  "keyfile",
  "credentials_file",
  "service_account_key",
];

export function readGcloudOptions(o: OptionsReader): GcloudOptions {
  for (const k of INLINE_KEYS) {
    if (o.src.values[k] !== undefined) {
      o.fail(
        k,
        "is not supported: Cloud DNS credentials come from Application Default Credentials or `credentials: env/NAME`",
        "remove it; put the whole service account key JSON in an environment variable and write credentials: env/NAME, or use ADC (GOOGLE_APPLICATION_CREDENTIALS); rotate any key that was committed",
      );
    }
  }
  const project = o.string("project");
  if (
    project !== undefined &&
    !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[a-z0-9.-]+:[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project)
  ) {
    // Project ids: 6-30 lowercase letters, digits and hyphens, starting with a letter
    // (Resource Manager docs, "Creating and managing projects"); domain-scoped ids carry `domain:`.
    o.fail(
      "project",
      `must be a project id like my-project-123 (not the project's display name or number), not "${project}"`,
    );
  }
  const rawCreds = o.src.values["credentials"];
  const secret = o.secret("credentials");
  let key: ServiceAccountKey | undefined;
  const keyRef = typeof rawCreds === "string" ? rawCreds.trim().replace(/^env\//, "") : undefined;
  // Only checking (a run's config check, `validate`) with the variable unset, secret() returns a
  // stand-in that is no key: only a value really set is held to the key's format.
  const standIn = o.src.checkOnly === true && keyRef !== undefined && !o.src.env[keyRef];
  if (secret !== undefined && !standIn) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(secret);
    } catch {
      // The value is never echoed: it is a secret, and a parse error would quote part of it.
      o.fail(
        "credentials",
        `refers to ${keyRef}, which does not hold JSON`,
        `put the whole service account key file into ${keyRef} (e.g. export ${keyRef}="$(cat key.json)")`,
      );
    }
    const k = parsed as Partial<ServiceAccountKey> | null;
    if (
      !k ||
      typeof k !== "object" ||
      k.type !== "service_account" ||
      typeof k.client_email !== "string" ||
      typeof k.private_key !== "string"
    ) {
      o.fail(
        "credentials",
        `refers to ${keyRef}, which is not a service account key (JSON with "type": "service_account", client_email and private_key)`,
        "create a key with `gcloud iam service-accounts keys create`, or use Application Default Credentials instead (no credentials option)",
      );
    }
    key = {
      type: "service_account",
      client_email: k.client_email,
      private_key: k.private_key,
      ...(typeof k.project_id === "string" ? { project_id: k.project_id } : {}),
    };
  }
  // url() refuses user:password@, a query and a fragment before anything echoes the URL.
  const endpoint = (o.url("endpoint", { default: DEFAULT_ENDPOINT, example: DEFAULT_ENDPOINT }) as string).replace(
    /\/+$/,
    "",
  );
  if (!/^https?:\/\/[^\s/]+$/.test(endpoint))
    o.fail("endpoint", `must be an http(s) URL without a path, like ${DEFAULT_ENDPOINT}, not "${endpoint}"`);
  const tokenUrl = o.url("token_url", { default: GOOGLE_TOKEN_URL, example: GOOGLE_TOKEN_URL }) as string;
  if (!/^https?:\/\/[^\s/]+/.test(tokenUrl)) o.fail("token_url", `must be an http(s) URL, not "${tokenUrl}"`);
  const options: GcloudOptions = {
    ...(project ? { project } : {}),
    ...(key ? { key, ...(keyRef ? { keyRef } : {}) } : {}),
    endpoint,
    tokenUrl,
    read: o.oneOf("read", ["names", "zone"] as const, { default: "names" }),
    privateZones: o.boolean("private_zones", { default: false }),
    timeoutMs: o.number("timeout_ms", { default: 30_000, min: 100, max: 600_000, integer: true }),
    maxAttempts: o.number("max_attempts", { default: 5, min: 1, max: 20, integer: true }),
    wait: o.boolean("wait", { default: false }),
    waitTimeoutMs: o.number("wait_timeout", { default: 300, min: 1, max: 3600 }) * 1000,
  };
  o.done();
  return options;
}
