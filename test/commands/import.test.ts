import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importCommand, type Io } from "../../src/commands/import.js";
import { InputError } from "../../src/core/errors.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/import");

let dir: string;
let config: string;
let out: string;
const io: Io = {
  stdout: (s) => {
    out += s;
  },
  stderr: (s) => {
    out += s;
  },
  color: false,
};

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-import-cmd-"));
  config = path.join(dir, "dkim.zones.yaml");
  await fs.copyFile(path.join(FIXTURES, "dkim.zones.yaml"), config);
  out = "";
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("dkimsync import", () => {
  it("shows old -> new, reports skipped domains, then writes the file", async () => {
    const code = await importCommand({ file: path.join(FIXTURES, "format-list-multi.txt"), config, add: false }, io);
    expect(code).toBe(0);
    expect(await fs.readFile(config, "utf8")).toBe(
      await fs.readFile(path.join(FIXTURES, "dkim.zones.after.yaml"), "utf8"),
    );
    expect(out).toContain(
      "update    fabrikam.com\n" +
        "            selector1: selector1-fabrikam-com._domainkey.contoso.x-v1.dkim.mail.microsoft\n" +
        "                    -> selector1-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft\n",
    );
    expect(out).toContain("unchanged contoso.com\n");
    expect(out).toContain("skip      wingtiptoys.com: Microsoft has no DKIM keys for it yet (Status NoDKIMKeys)");
    expect(out).toContain(
      "skip      contoso.onmicrosoft.com: the initial *.onmicrosoft.com domain: Microsoft signs it with its own keys",
    );
    expect(out).toContain("written (2 updated, 0 added, 1 unchanged, 2 skipped)");
    // Shown before written: the summary line comes last.
    expect(out.indexOf("update    fabrikam.com")).toBeLessThan(out.indexOf("written ("));
    // No temporary file is left next to the config.
    expect(await fs.readdir(dir)).toEqual(["dkim.zones.yaml"]);
  });

  it("--dry-run shows the same changes and leaves the file untouched", async () => {
    const before = await fs.readFile(config, "utf8");
    const code = await importCommand(
      { file: path.join(FIXTURES, "exchange-error.txt"), config, add: false, dryRun: true },
      io,
    );
    expect(code).toBe(0);
    expect(out).toContain("-> selector2-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft");
    expect(out).toContain("not written (--dry-run; 1 updated");
    expect(await fs.readFile(config, "utf8")).toBe(before);
  });

  it("--add --provider appends a domain that is not in the config", async () => {
    const code = await importCommand(
      { file: path.join(FIXTURES, "signing-config-array.json"), config, add: true, provider: "zones" },
      io,
    );
    expect(code).toBe(0);
    const text = await fs.readFile(config, "utf8");
    // fabrikam.com is updated in place; bücher.example is in the config as a U-label and matches.
    expect(text).toContain(
      "selector1: selector1-fabrikam-com._domainkey.contoso.r-v1.dkim.mail.microsoft  # typo'd letter\n",
    );
    expect(text).toContain("bücher.example: { provider: zones, selector1: selector1-xn--bcher-kva-example.");
    // NoDKIMKeys and the initial domain are never added.
    expect(text).not.toContain("wingtiptoys.com");
    expect(text).not.toContain("contoso.onmicrosoft.com:");
  });

  it("reports nothing to change on a second run", async () => {
    await importCommand({ file: path.join(FIXTURES, "format-list-multi.txt"), config, add: false }, io);
    out = "";
    const code = await importCommand({ file: path.join(FIXTURES, "format-list-multi.txt"), config, add: false }, io);
    expect(code).toBe(0);
    expect(out).toContain("nothing to change (0 updated, 0 added, 3 unchanged, 2 skipped)");
  });

  it("fails with an InputError for an unknown format and for a missing file", async () => {
    await expect(
      importCommand({ file: path.join(FIXTURES, "dig-output.txt"), config, add: false }, io),
    ).rejects.toThrow(InputError);
    await expect(importCommand({ file: path.join(dir, "nope.json"), config, add: false }, io)).rejects.toThrow(
      /nope\.json: the file to import does not exist/,
    );
    await expect(
      importCommand(
        { file: path.join(FIXTURES, "exchange-error.txt"), config: path.join(dir, "missing.yaml"), add: false },
        io,
      ),
    ).rejects.toThrow(/missing\.yaml: the config does not exist/);
  });
});

describe("dkimsync import: the initial onmicrosoft.com domain", () => {
  it("never advises New-DkimSigningConfig for it, even when the export has no CNAMEs for it (Status Valid)", async () => {
    const file = path.join(dir, "dkim.json");
    await fs.writeFile(
      file,
      JSON.stringify([
        {
          Domain: "contoso.onmicrosoft.com",
          Status: "Valid",
          Enabled: true,
          Selector1CNAME: null,
          Selector2CNAME: null,
        },
      ]),
    );
    expect(await importCommand({ file, config, add: false }, io)).toBe(0);
    expect(out).toContain(
      "skip      contoso.onmicrosoft.com: the initial *.onmicrosoft.com domain: Microsoft signs it with its own keys and publishes its records; nothing to import or create",
    );
    expect(out).not.toContain("New-DkimSigningConfig");
    expect(out).not.toContain("no DKIM keys");
  });
});

describe("dkimsync import warnings", () => {
  it("warns on stderr when the targets do not spell the domain (hyphenated names vary)", async () => {
    let err = "";
    const split: Io = {
      stdout: () => {},
      stderr: (s) => {
        err += s;
      },
      color: false,
    };
    const file = path.join(dir, "err.txt");
    await fs.writeFile(
      file,
      "Domain Name : contoso.com Host Name : selector1._domainkey Points to address or value: " +
        "selector1-contosocom._domainkey.contoso.onmicrosoft.com Host Name : selector2._domainkey Points to address or value: " +
        "selector2-contosocom._domainkey.contoso.onmicrosoft.com .\n",
    );
    expect(await importCommand({ file, config, add: false, dryRun: true }, split)).toBe(0);
    expect(err).toMatch(/^warning: contoso\.com: the targets name "contosocom", not "contoso-com"/);
  });
});
