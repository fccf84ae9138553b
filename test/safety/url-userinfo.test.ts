/**
 * Every endpoint option refuses a user name or password in its URL (user:password@), before
 * any message could echo it: a URL is shown in errors, and credentials belong in env/ options.
 */
import { describe, expect, it } from "vitest";
import { providerTypes } from "../../providers/index.js";
import { OptionsReader } from "../../src/config/options.js";
import { InputError } from "../../src/core/errors.js";

const SECRET = "hunter2-0123456789";

const cases: { type: string; key: string; values: Record<string, unknown> }[] = [
  { type: "powerdns", key: "url", values: { api_key: "env/K" } },
  { type: "cloudflare", key: "base_url", values: { token: "env/K" } },
  { type: "route53", key: "endpoint", values: {} },
  { type: "azure", key: "endpoint", values: { subscription_id: "00000000-0000-0000-0000-000000000001" } },
  { type: "azure", key: "authority_host", values: { subscription_id: "00000000-0000-0000-0000-000000000001" } },
  { type: "gcloud", key: "endpoint", values: { project: "my-project-123" } },
  { type: "gcloud", key: "token_url", values: { project: "my-project-123" } },
];

describe("endpoint options refuse user info", () => {
  it.each(cases.map((c) => [`${c.type} ${c.key}`, c] as const))("%s", async (_label, c) => {
    const reader = new OptionsReader({
      provider: "p",
      type: c.type,
      values: { ...c.values, [c.key]: `https://admin:${SECRET}@127.0.0.1:8443` },
      where: { file: "dkim.zones.yaml", line: 3 },
      lineOf: () => 7,
      configDir: "/tmp",
      env: { K: "a-token-value-that-is-long" },
    });
    const factory = await (providerTypes[c.type] as NonNullable<(typeof providerTypes)[string]>).load();
    let err: unknown;
    try {
      factory(reader, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    const message = `${(err as InputError).message} ${(err as InputError).hint ?? ""}`;
    expect(message).toContain(`option "${c.key}"`);
    expect(message).toMatch(/user name or password/);
    expect(message).not.toContain(SECRET);
  });
});
