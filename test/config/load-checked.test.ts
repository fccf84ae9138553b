/**
 * One run shows every problem: the file's, the domains', and every provider's settings, checked
 * by the providers' own option readers through the registry, each hint under its error.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfigChecked } from "../../src/config/load.js";
import { checkProviderOptions } from "../../src/plan/build.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dkimsync-checked-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(text: string): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

async function problems(text: string): Promise<ConfigError> {
  try {
    await loadConfigChecked(write(text), checkProviderOptions, { displayFile: "dkim.zones.yaml" });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected problems");
}

const TEXT = [
  "tenant: contoso", //                                1
  "providers:", //                                     2
  "  zones:", //                                       3
  "    type: yaml", //                                 4
  "    dirctory: ./zones", //                          5
  "  cf:", //                                          6
  "    type: cloudflare", //                           7
  "    token: env/SOME_UNSET_TOKEN_VARIABLE", //        8
  "    batchsize: 10", //                              9
  "  pdns:", //                                        10
  "    type: powerdns", //                             11
  "    api_key: env/PDNS_KEY", //                      12
  "domains:", //                                       13
  "  contoso.com:", //                                 14
  "    provider: zones", //                            15
  "    ensur: absent", //                              16
  "",
].join("\n");

describe("loadConfigChecked", () => {
  it("reports the domains' and every provider's problems in one run, each at its line with its hint below", async () => {
    const err = await problems(TEXT);
    expect(err.problems.map((p) => p.message.split(": ")[0])).toEqual([
      "dkim.zones.yaml:5",
      "dkim.zones.yaml:9",
      "dkim.zones.yaml:10",
      "dkim.zones.yaml:16",
    ]);
    const lines = err.message.split("\n");
    // An option typo names the typo and what it should be, not only "directory is required".
    expect(lines[0]).toBe(
      'dkim.zones.yaml:5: provider "zones" (yaml): option "dirctory" is not an option of provider type yaml; did you mean "directory"? (option "directory" is required)',
    );
    expect(lines[1]).toBe("  hint: rename dirctory: to directory:");
    expect(lines[2]).toMatch(
      /^dkim\.zones\.yaml:9: provider "cf" \(cloudflare\): option "batchsize" is not an option of provider type cloudflare; did you mean "batch_size"\?$/,
    );
    expect(lines[3]).toMatch(/^  hint: options of cloudflare: .*batch_size/);
    expect(lines[4]).toMatch(/^dkim\.zones\.yaml:10: provider "pdns" \(powerdns\): option "url" is required$/);
    expect(lines.find((l) => l.startsWith("dkim.zones.yaml:16"))).toMatch(
      /^dkim\.zones\.yaml:16: domain "contoso\.com": unknown key "ensur"; did you mean "ensure"\?$/,
    );
    // The unset token is not a problem of the file: a run limited with --provider needs only its own.
    expect(err.message).not.toContain("SOME_UNSET_TOKEN_VARIABLE");
  });

  it("passes a config whose providers are all well formed, without their secrets being set", async () => {
    const ok = TEXT.replace("dirctory", "directory")
      .replace("    batchsize: 10\n", "")
      .replace("    api_key:", "    url: http://127.0.0.1:8081\n    api_key:")
      .replace("ensur", "ensure");
    const config = await loadConfigChecked(write(ok), checkProviderOptions);
    expect([...config.providers.keys()]).toEqual(["zones", "cf", "pdns"]);
  });

  it("names an azure ca_file that cannot be read at its line, as a problem of the config", async () => {
    const text = [
      "providers:",
      "  az:",
      "    type: azure",
      "    subscription_id: 00000000-0000-0000-0000-000000000000",
      "    ca_file: ./no-such-ca.pem",
      "domains: {}",
      "",
    ].join("\n");
    const err = await problems(text);
    expect(err.message).toContain(
      `dkim.zones.yaml:5: provider "az" (azure): option "ca_file" names ${path.join(dir, "no-such-ca.pem")}, which cannot be read (ENOENT)`,
    );
    fs.writeFileSync(path.join(dir, "no-such-ca.pem"), "");
    try {
      const config = await loadConfigChecked(write(text), checkProviderOptions);
      expect([...config.providers.keys()]).toEqual(["az"]);
    } finally {
      fs.rmSync(path.join(dir, "no-such-ca.pem"));
    }
  });

  it("does not hold a secret's stand-in to the secret's format: an unset gcloud key is not a problem", async () => {
    const text = (ref: string) =>
      ["providers:", "  gc:", "    type: gcloud", `    credentials: env/${ref}`, "domains: {}", ""].join("\n");
    delete process.env.DKIMSYNC_TEST_GC_KEY_UNSET;
    const config = await loadConfigChecked(write(text("DKIMSYNC_TEST_GC_KEY_UNSET")), checkProviderOptions);
    expect([...config.providers.keys()]).toEqual(["gc"]);
    // A variable that is set is checked as the provider will read it.
    process.env.DKIMSYNC_TEST_GC_KEY_SET = "not json";
    try {
      const err = await problems(text("DKIMSYNC_TEST_GC_KEY_SET"));
      expect(err.message).toContain(
        'dkim.zones.yaml:4: provider "gc" (gcloud): option "credentials" refers to DKIMSYNC_TEST_GC_KEY_SET, which does not hold JSON',
      );
      expect(err.message).not.toContain("not json");
    } finally {
      delete process.env.DKIMSYNC_TEST_GC_KEY_SET;
    }
  });
});
