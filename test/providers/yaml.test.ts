import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createYamlProvider } from "../../providers/yaml/index.js";
import { editSequentially, editZone } from "../../providers/yaml/batch.js";
import type { EditContext } from "../../providers/yaml/batch.js";
import { naturalCompare, parseZone } from "../../providers/yaml/convert.js";
import { sortChanges } from "../../src/core/diff.js";
import { InputError, ProviderError } from "../../src/core/errors.js";
import { OptionsReader } from "../../src/config/options.js";
import type { Change, Provider, RecordSet } from "../../src/core/types.js";
import { cname, create, failure, remove, update } from "../helpers/records.js";

const ZONE = "example.com";
const S1 = "selector1-example-com._domainkey.contoso.onmicrosoft.com";
const S2 = "selector2-example-com._domainkey.contoso.onmicrosoft.com";

/** A zone file like people keep them: header, comments above and beside records, blank lines. */
const REALISTIC = `---
# Zone example.com: mail on Microsoft 365.
# Keys are sorted: octoDNS enforces it.

'':
  # Microsoft 365 mail
  - type: MX
    value:
      exchange: example-com.mail.protection.outlook.com.
      preference: 0
  - ttl: 300
    type: TXT
    values:
      - v=spf1 include:spf.protection.outlook.com -all  # SPF: M365 only
      - MS=ms12345678

_dmarc:
  ttl: 3600
  type: TXT
  value: v=DMARC1\\; p=quarantine\\; rua=mailto:dmarc@example.com

autodiscover:   # Outlook autodiscovery
  type: CNAME
  value: autodiscover.outlook.com.

# Google Workspace key, kept during the migration
google._domainkey:
  type: TXT
  value: v=DKIM1\\; k=rsa\\; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtzv1XKxlwXjXRBa6ql5NhP3zVNFsv0PsmHtJ2EfQzs9m4h5CqmYtKQ4wFUQ9S1dk2V1YxQIDAQAB

selector1._domainkey.old:
  type: CNAME
  value: selector1-old-example-com._domainkey.contoso.onmicrosoft.com.

# Points at the wrong tenant until dkimsync fixes it
selector2._domainkey:
  ttl: 300  # lowered for the migration
  type: CNAME
  value: selector2-example-com._domainkey.fabrikam.onmicrosoft.com.

www:
  type: CNAME
  value: example.com.
`;

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-yaml-test-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function reader(values: Record<string, unknown>, configDir = dir): OptionsReader {
  return new OptionsReader({
    provider: "zones",
    type: "yaml",
    values,
    where: { file: "dkim.zones.yaml", line: 4 },
    lineOf: (key) => ({ directory: 6, dirctory: 6 })[key],
    configDir,
    env: {},
  });
}

function provider(): Provider {
  return createYamlProvider(reader({ directory: dir }), {});
}

async function writeZone(text: string, zone = ZONE): Promise<string> {
  const file = path.join(dir, `${zone}.yaml`);
  await fs.writeFile(file, text);
  return file;
}

describe("options", () => {
  it("resolves directory from the config folder", async () => {
    await fs.mkdir(path.join(dir, "zones"));
    await writeZone("--- {}\n", "zones/example.org");
    const p = createYamlProvider(reader({ directory: "./zones" }), {});
    expect(await p.zones()).toEqual(["example.org"]);
    expect(p.capabilities.atomicWrites.can).toBe(true);
    expect(p.capabilities.readsOnlyNames.can).toBe(false);
  });

  it("requires directory", () => {
    expect(() => createYamlProvider(reader({}), {})).toThrow(InputError);
    expect(() => createYamlProvider(reader({}), {})).toThrow(
      /dkim\.zones\.yaml:6: provider "zones" \(yaml\): option "directory" is required/,
    );
  });

  it("rejects an unknown option, naming it and its line", () => {
    expect(() => createYamlProvider(reader({ directory: dir, dirctory: "x" }), {})).toThrow(
      /dkim\.zones\.yaml:6: provider "zones" \(yaml\): option "dirctory" is not an option of provider type yaml/,
    );
  });
});

describe("zones", () => {
  it("lists *.yaml files as canonical zone names and ignores everything else", async () => {
    await writeZone("--- {}\n", "Example.COM");
    await writeZone("--- {}\n", "b.example.net");
    await fs.writeFile(path.join(dir, "README.md"), "notes");
    await fs.writeFile(path.join(dir, "example.org.yaml.tmp-1-abc"), "partial");
    await fs.mkdir(path.join(dir, "dir.yaml"));
    expect(await provider().zones()).toEqual(["b.example.net", "example.com"]);
  });

  it("a missing directory is an error naming the path and saying to create it", async () => {
    const missing = path.join(dir, "nope");
    const err = await failure(createYamlProvider(reader({ directory: missing }), {}).zones());
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toBe(`[zones] zone directory ${missing} does not exist`);
    expect((err as ProviderError).hint).toMatch(/create it \(mkdir -p /);
    const listed = await failure(createYamlProvider(reader({ directory: missing }), {}).list(ZONE, [`www.${ZONE}`]));
    expect(listed.message).toBe(`[zones] zone example.com: zone directory ${missing} does not exist`);
  });

  it("a missing zone file is an error naming the file", async () => {
    const err = await failure(provider().list(ZONE, [`www.${ZONE}`]));
    expect(err.message).toBe(
      `[zones] zone example.com: zone file ${path.join(dir, "example.com.yaml")} does not exist`,
    );
  });
});

describe("list", () => {
  it("returns every type at the asked names and nothing else", async () => {
    await writeZone(REALISTIC);
    const sets = await provider().list(ZONE, [
      ZONE,
      `selector2._domainkey.${ZONE}`,
      `selector1._domainkey.${ZONE}`,
      `_dmarc.${ZONE}`,
    ]);
    expect(sets).toEqual([
      { name: ZONE, type: "MX", ttl: 3600, values: ["0 example-com.mail.protection.outlook.com"] },
      {
        name: ZONE,
        type: "TXT",
        ttl: 300,
        values: ["v=spf1 include:spf.protection.outlook.com -all", "MS=ms12345678"],
      },
      // `\;` in the file is octoDNS's escape for `;`.
      {
        name: `_dmarc.${ZONE}`,
        type: "TXT",
        ttl: 3600,
        values: ["v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"],
      },
      cname(`selector2._domainkey.${ZONE}`, S2.replace("contoso", "fabrikam"), 300),
    ]);
  });

  it("matches keys case-insensitively and ignores trailing dots on keys and targets", async () => {
    await writeZone(
      [
        "Selector1._DomainKey:",
        "  type: cname",
        `  value: ${S1.toUpperCase()}`,
        `selector2._domainkey.${ZONE}.:`,
        "  type: CNAME",
        `  value: ${S2}.`,
        "autodiscover.:",
        "  type: CNAME",
        "  value: autodiscover.outlook.com.",
        "",
      ].join("\n"),
    );
    const sets = await provider().list(ZONE, [
      `selector1._domainkey.${ZONE}`,
      `selector2._domainkey.${ZONE}`,
      `autodiscover.${ZONE}`,
    ]);
    expect(sets).toEqual([
      cname(`selector1._domainkey.${ZONE}`, S1),
      // An absolute key (ending with the zone and a dot) names itself, not a name below it.
      cname(`selector2._domainkey.${ZONE}`, S2),
      // Any other trailing dot on a key is noise.
      cname(`autodiscover.${ZONE}`, "autodiscover.outlook.com"),
    ]);
  });

  it("reports a YAML syntax error with the file and line", async () => {
    const file = await writeZone("www:\n  type: CNAME\n  value: [example.com.\nmail:\n  type: A\n");
    const err = await failure(provider().list(ZONE, [`www.${ZONE}`]));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(
      new RegExp(`^\\[zones\\] zone example\\.com: ${file.replace(/[.]/g, "\\.")}:4: YAML syntax error: `),
    );
    expect(err.cause).toBeDefined();
  });

  it("reports a record without a type, and a name written twice with one type, at their lines", async () => {
    await writeZone("www:\n  value: example.com.\n");
    expect((await failure(provider().list(ZONE, []))).message).toMatch(
      /example\.com\.yaml:2: the record at www\.example\.com has no type$/,
    );
    await writeZone("www:\n  type: A\n  value: 192.0.2.1\nWWW:\n  type: A\n  value: 192.0.2.2\n");
    expect((await failure(provider().list(ZONE, []))).message).toMatch(
      /example\.com\.yaml:5: A at www\.example\.com is written twice \(also at line 2\)/,
    );
  });
});

describe("apply", () => {
  it("removes a dead run's temporary file under a lock it takes over, and lists the folder only then", async () => {
    const file = await writeZone("www:\n  type: A\n  value: 192.0.2.1\n");
    const p = provider();
    await p.zones(); // the run's one sweep of the folder
    // A run that died after that sweep while it held this zone's lock: its lock and its
    // temporary file. pid 2^22+1 is above Linux's pid_max ceiling: no such process runs.
    const temp = path.join(dir, `.${ZONE}.yaml.tmp-4194305-0123456789ab`);
    await fs.writeFile(temp, "half a zone");
    const lockInfo = { pid: 4194305, host: os.hostname(), since: "x", token: "dead" };
    await fs.writeFile(path.join(dir, `.${ZONE}.yaml.lock`), JSON.stringify(lockInfo));
    // And a dead run's temporary file of another zone whose lock nobody takes over: it stays
    // until the next run's sweep (this apply does not list the folder for other zones).
    const otherTemp = path.join(dir, ".other.example.yaml.tmp-4194305-0123456789ab");
    await fs.writeFile(otherTemp, "half another zone");
    await p.apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]);
    expect(await fs.readFile(file, "utf8")).toContain(S1);
    expect((await fs.readdir(dir)).sort()).toEqual([".other.example.yaml.tmp-4194305-0123456789ab", `${ZONE}.yaml`]);
    // The next run's sweep removes it.
    await provider().zones();
    expect(await fs.readdir(dir)).toEqual([`${ZONE}.yaml`]);
  });

  it("creates, updates and deletes selectors and changes nothing else in the file", async () => {
    const file = await writeZone(REALISTIC);
    const p = provider();
    const [old, sel2] = await p.list(ZONE, [`selector1._domainkey.old.${ZONE}`, `selector2._domainkey.${ZONE}`]);
    if (!old || !sel2) throw new Error("fixture lacks the selector records");
    await p.apply(ZONE, [
      remove(old),
      create(cname(`selector1._domainkey.${ZONE}`, S1)),
      update(sel2, cname(sel2.name, S2)),
    ]);

    // The old selector goes with one of its blank separator lines; the new one takes its sorted
    // place above the comment block of selector2; selector2 keeps its comments.
    const expected = REALISTIC.replace(
      "selector1._domainkey.old:\n  type: CNAME\n  value: selector1-old-example-com._domainkey.contoso.onmicrosoft.com.\n\n",
      `selector1._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: ${S1}.\n\n`,
    ).replace(
      "  ttl: 300  # lowered for the migration\n  type: CNAME\n  value: selector2-example-com._domainkey.fabrikam.onmicrosoft.com.",
      `  ttl: 3600  # lowered for the migration\n  type: CNAME\n  value: ${S2}.`,
    );
    expect(expected).not.toBe(REALISTIC);
    expect(await fs.readFile(file, "utf8")).toBe(expected);
    expect(
      await p.list(ZONE, [
        `selector1._domainkey.${ZONE}`,
        `selector2._domainkey.${ZONE}`,
        `selector1._domainkey.old.${ZONE}`,
      ]),
    ).toEqual([cname(`selector1._domainkey.${ZONE}`, S1), cname(`selector2._domainkey.${ZONE}`, S2)]);
    expect(await fs.readdir(dir)).toEqual(["example.com.yaml"]);
  });

  it("appends at the end of a file whose keys are not sorted, keeping its separator style", async () => {
    const file = await writeZone(
      "www:\n  type: CNAME\n  value: example.com.\n_dmarc:\n  type: TXT\n  value: v=DMARC1\\; p=none\n",
    );
    await provider().apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]);
    expect(await fs.readFile(file, "utf8")).toBe(
      `www:\n  type: CNAME\n  value: example.com.\n_dmarc:\n  type: TXT\n  value: v=DMARC1\\; p=none\nselector1._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: ${S1}.\n`,
    );
  });

  it("writes into an empty zone (`--- {}`) and uses the file's indentation", async () => {
    const empty = await writeZone("--- {}\n");
    await provider().apply(ZONE, [create(cname(`selector2._domainkey.${ZONE}`, S2))]);
    expect(await fs.readFile(empty, "utf8")).toBe(
      `---\nselector2._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: ${S2}.\n`,
    );

    const four = await writeZone("www:\n    type: CNAME\n    value: example.com.\n", "example.org");
    await provider().apply("example.org", [create(cname("selector1._domainkey.example.org", "s1.example.net"))]);
    expect(await fs.readFile(four, "utf8")).toBe(
      "selector1._domainkey:\n    ttl: 3600\n    type: CNAME\n    value: s1.example.net.\nwww:\n    type: CNAME\n    value: example.com.\n",
    );
  });

  it("adds a ttl in octoDNS key order, and leaves a default ttl implicit", async () => {
    const file = await writeZone(
      `selector1._domainkey:\n  type: CNAME\n  value: old.example.net.\nselector2._domainkey:\n  type: CNAME  # keep\n  value: ${S2}.\n`,
    );
    const p = provider();
    await p.apply(ZONE, [
      update(cname(`selector1._domainkey.${ZONE}`, "old.example.net"), cname(`selector1._domainkey.${ZONE}`, S1)),
      update(cname(`selector2._domainkey.${ZONE}`, S2), cname(`selector2._domainkey.${ZONE}`, S2, 600)),
    ]);
    expect(await fs.readFile(file, "utf8")).toBe(
      `selector1._domainkey:\n  type: CNAME\n  value: ${S1}.\nselector2._domainkey:\n  ttl: 600\n  type: CNAME  # keep\n  value: ${S2}.\n`,
    );
  });

  it("adds to a list, converts a single record to a list, and deletes one type out of a list", async () => {
    const file = await writeZone(
      "'':\n  - type: A\n    value: 192.0.2.1\n  - type: TXT  # verification\n    value: MS=ms1\nmail:\n  type: A\n  value: 192.0.2.2\n",
    );
    const p = provider();
    await p.apply(ZONE, [
      create({ name: `mail.${ZONE}`, type: "TXT", ttl: 300, values: ["v=spf1 -all; x"] }),
      create({ name: ZONE, type: "AAAA", ttl: 3600, values: ["2001:db8::1"] }),
      remove({ name: ZONE, type: "TXT", ttl: 3600, values: ["MS=ms1"] }),
    ]);
    expect(await fs.readFile(file, "utf8")).toBe(
      "'':\n  - type: A\n    value: 192.0.2.1\n  - ttl: 3600\n    type: AAAA\n    value: 2001:db8::1\n" +
        "mail:\n  - type: A\n    value: 192.0.2.2\n  - ttl: 300\n    type: TXT\n    value: v=spf1 -all\\; x\n",
    );
    expect(await p.list(ZONE, [`mail.${ZONE}`])).toEqual([
      { name: `mail.${ZONE}`, type: "A", ttl: 3600, values: ["192.0.2.2"] },
      { name: `mail.${ZONE}`, type: "TXT", ttl: 300, values: ["v=spf1 -all; x"] },
    ]);
  });

  it("replaces a conflicting TXT with the CNAME when the plan deletes it first (--force)", async () => {
    const file = await writeZone(
      "# old on-premises key\nselector1._domainkey:\n  type: TXT\n  value: v=DKIM1\\; p=MIGf\nwww:\n  type: CNAME\n  value: example.com.\n",
    );
    await provider().apply(ZONE, [
      remove({ name: `selector1._domainkey.${ZONE}`, type: "TXT", ttl: 3600, values: ["v=DKIM1; p=MIGf"] }),
      create(cname(`selector1._domainkey.${ZONE}`, S1)),
    ]);
    // The CNAME takes the TXT's place, under the comment that was written above it.
    expect(await fs.readFile(file, "utf8")).toBe(
      `# old on-premises key\nselector1._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: ${S1}.\nwww:\n  type: CNAME\n  value: example.com.\n`,
    );
  });

  it("deletes a whole name with its own lines, keeping the comment above it apart from the next name", async () => {
    const file = await writeZone(
      `_dmarc:\n  type: TXT\n  value: v=DMARC1\\; p=none\n\n# retired domain\nselector1._domainkey:\n  type: CNAME  # old\n  value: ${S1}.\n\nwww:\n  type: CNAME\n  value: example.com.\n`,
    );
    await provider().apply(ZONE, [remove(cname(`selector1._domainkey.${ZONE}`, S1))]);
    expect(await fs.readFile(file, "utf8")).toBe(
      "_dmarc:\n  type: TXT\n  value: v=DMARC1\\; p=none\n\n# retired domain\n\nwww:\n  type: CNAME\n  value: example.com.\n",
    );
  });

  it("refuses a CNAME beside another type at one name (RFC 1034 3.6.2) and writes nothing", async () => {
    const text = "selector1._domainkey:\n  type: TXT\n  value: v=DKIM1\\; p=MIGf\n";
    const file = await writeZone(text);
    const err = await failure(provider().apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]));
    expect(err.message).toBe(
      "[zones] zone example.com: selector1._domainkey.example.com would hold a CNAME beside TXT records (RFC 1034 3.6.2)",
    );
    // The command that replaces them is apply --force; plan has no --force.
    expect((err as ProviderError).hint).toContain("dkimsync apply --force");
    expect(await fs.readFile(file, "utf8")).toBe(text);
  });

  it("refuses a change whose `before` no longer matches the file (edited since the plan)", async () => {
    const text = `selector1._domainkey:\n  ttl: 60\n  type: CNAME\n  value: ${S1}.\n`;
    const file = await writeZone(text);
    const p = provider();
    const stale = await failure(
      p.apply(ZONE, [
        update(cname(`selector1._domainkey.${ZONE}`, S1, 300), cname(`selector1._domainkey.${ZONE}`, S1)),
      ]),
    );
    expect(stale).toBeInstanceOf(ProviderError);
    expect(stale.message).toMatch(
      /CNAME selector1\._domainkey\.example\.com changed in .*example\.com\.yaml since the plan was made \(expected ttl 300 .*, found ttl 60 /,
    );
    expect((stale as ProviderError).hint).toMatch(/run dkimsync plan again/);
    const exists = await failure(p.apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]));
    expect(exists.message).toMatch(/since the plan was made \(it now exists: ttl 60 /);
    const gone = await failure(p.apply(ZONE, [remove(cname(`selector2._domainkey.${ZONE}`, S2))]));
    expect(gone.message).toMatch(/since the plan was made \(it no longer exists\)/);
    expect(await fs.readFile(file, "utf8")).toBe(text);
  });

  it("rewrites a flow-style record in block style, leaving the rest of the file alone", async () => {
    const file = await writeZone(
      `# head\nselector1._domainkey: {type: CNAME, value: old.example.net.}\nwww:  # web\n  type: CNAME\n  value: example.com.\n`,
    );
    await provider().apply(ZONE, [
      update(cname(`selector1._domainkey.${ZONE}`, "old.example.net"), cname(`selector1._domainkey.${ZONE}`, S1)),
    ]);
    expect(await fs.readFile(file, "utf8")).toBe(
      `# head\nselector1._domainkey:\n  ttl: 3600\n  type: CNAME\n  value: ${S1}.\nwww:  # web\n  type: CNAME\n  value: example.com.\n`,
    );
  });

  it("writes atomically: a failed rename leaves the file as it was and no temporary file behind", async () => {
    const file = await writeZone(REALISTIC);
    try {
      execFileSync("chattr", ["+i", file]);
    } catch (err) {
      throw new Error(
        `chattr +i failed (${String(err)}): install e2fsprogs (apt-get install -y e2fsprogs) and use a TMPDIR on ext4/xfs/btrfs as root`,
      );
    }
    try {
      const err = await failure(provider().apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]));
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.message).toMatch(
        /^\[zones\] zone example\.com: cannot write .*example\.com\.yaml: EPERM.*; the file is unchanged$/,
      );
    } finally {
      execFileSync("chattr", ["-i", file]);
    }
    expect(await fs.readFile(file, "utf8")).toBe(REALISTIC);
    expect(await fs.readdir(dir)).toEqual(["example.com.yaml"]);
  });

  it("keeps the zone file's permissions", async () => {
    const file = await writeZone("--- {}\n");
    await fs.chmod(file, 0o640);
    await provider().apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o640);
  });
});

describe("YAML features octoDNS reads (PyYAML SafeLoader)", () => {
  it("reads an alias as the value it points to, and a merge key as the keys it merges", async () => {
    await writeZone(
      [
        "'':",
        "  type: A",
        "  value: &ip 192.0.2.1",
        "old._domainkey: &sel",
        "  ttl: 600",
        "  type: CNAME",
        `  value: &t1 ${S1}.`,
        "selector1._domainkey:",
        "  type: CNAME",
        "  value: *t1",
        "selector2._domainkey:",
        "  <<: *sel",
        `  value: ${S2}.`,
        "www:",
        "  type: A",
        "  value: *ip",
        "",
      ].join("\n"),
    );
    const sets = await provider().list(ZONE, [
      `selector1._domainkey.${ZONE}`,
      `selector2._domainkey.${ZONE}`,
      `www.${ZONE}`,
    ]);
    expect(sets).toEqual([
      cname(`selector1._domainkey.${ZONE}`, S1),
      // The merged mapping supplies type and ttl; its own value wins over the merged one.
      cname(`selector2._domainkey.${ZONE}`, S2, 600),
      { name: `www.${ZONE}`, type: "A", ttl: 3600, values: ["192.0.2.1"] },
    ]);
  });

  it("updates a record that takes its ttl from a merge key, and keeps the anchors others use", async () => {
    const file = await writeZone(
      [
        "old._domainkey: &sel",
        "  ttl: 600",
        "  type: CNAME",
        `  value: ${S1}.`,
        "selector2._domainkey:",
        "  <<: *sel",
        `  value: ${S2}.`,
        "",
      ].join("\n"),
    );
    const p = provider();
    const [sel2] = await p.list(ZONE, [`selector2._domainkey.${ZONE}`]);
    if (!sel2) throw new Error("fixture lacks selector2");
    await p.apply(ZONE, [update(sel2, cname(sel2.name, S2, 3600))]);
    expect(await p.list(ZONE, [`selector2._domainkey.${ZONE}`, `old._domainkey.${ZONE}`])).toEqual([
      cname(`old._domainkey.${ZONE}`, S1, 600),
      cname(`selector2._domainkey.${ZONE}`, S2, 3600),
    ]);
    expect(await fs.readFile(file, "utf8")).toMatch(/^old\._domainkey: &sel\n  ttl: 600\n/);
  });

  it("refuses to delete a record whose anchor another record still uses, and writes nothing", async () => {
    const text = [
      "selector1._domainkey:",
      "  type: CNAME",
      `  value: &t ${S1}.`,
      "x._domainkey:",
      "  type: CNAME",
      "  value: *t",
      "",
    ].join("\n");
    const file = await writeZone(text);
    const p = provider();
    const [sel1] = await p.list(ZONE, [`selector1._domainkey.${ZONE}`]);
    if (!sel1) throw new Error("fixture lacks selector1");
    const err = await failure(p.apply(ZONE, [remove(sel1)]));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain("alias");
    expect(await fs.readFile(file, "utf8")).toBe(text);
  });

  it("keeps CRLF line endings in the lines it writes", async () => {
    const text = "---\r\n'':\r\n  type: A\r\n  value: 192.0.2.1\r\nwww:\r\n  type: A\r\n  value: 192.0.2.1\r\n";
    const file = await writeZone(text);
    await provider().apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]);
    const out = await fs.readFile(file, "utf8");
    expect(out).toBe(
      `---\r\n'':\r\n  type: A\r\n  value: 192.0.2.1\r\nselector1._domainkey:\r\n  ttl: 3600\r\n  type: CNAME\r\n  value: ${S1}.\r\nwww:\r\n  type: A\r\n  value: 192.0.2.1\r\n`,
    );
  });
});

describe("internationalised zones", () => {
  // octoDNS's YamlProvider reads <zone>.yaml under the UTF-8 name or the IDNA name, refuses
  // both at once, and writes the UTF-8 name (octodns/provider/yaml.py, _zone_sources, _apply).
  it("finds a zone file named in UTF-8 under its A-label name, and edits that file", async () => {
    const zone = "xn--bcher-kva.example";
    const file = path.join(dir, "bücher.example.yaml");
    await fs.writeFile(file, "--- {}\n");
    const p = provider();
    expect(await p.zones()).toEqual([zone]);
    const s1 = `selector1-xn--bcher-kva-example._domainkey.contoso.onmicrosoft.com`;
    await p.apply(zone, [create(cname(`selector1._domainkey.${zone}`, s1))]);
    expect(await p.list(zone, [`selector1._domainkey.${zone}`])).toEqual([cname(`selector1._domainkey.${zone}`, s1)]);
    expect((await fs.readdir(dir)).sort()).toEqual(["bücher.example.yaml"]);
  });

  it("finds a zone file whose name has capitals, as zones() lists it", async () => {
    await fs.writeFile(path.join(dir, "Example.COM.yaml"), `selector1._domainkey:\n  type: CNAME\n  value: ${S1}.\n`);
    const p = provider();
    expect(await p.zones()).toEqual([ZONE]);
    expect(await p.list(ZONE, [`selector1._domainkey.${ZONE}`])).toEqual([cname(`selector1._domainkey.${ZONE}`, S1)]);
  });

  it("reads a record key written in UTF-8 as its A-label name", async () => {
    await writeZone(`selector1._domainkey.bücher:\n  type: CNAME\n  value: ${S1}.\n`);
    expect(await provider().list(ZONE, [`selector1._domainkey.xn--bcher-kva.${ZONE}`])).toEqual([
      cname(`selector1._domainkey.xn--bcher-kva.${ZONE}`, S1),
    ]);
  });

  it("refuses a zone written both as a UTF-8 and as an IDNA file name", async () => {
    await fs.writeFile(path.join(dir, "bücher.example.yaml"), "--- {}\n");
    await fs.writeFile(path.join(dir, "xn--bcher-kva.example.yaml"), "--- {}\n");
    const err = await failure(provider().list("xn--bcher-kva.example", []));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain("bücher.example.yaml");
    expect(err.message).toContain("xn--bcher-kva.example.yaml");
  });
});

describe("naturalCompare", () => {
  it("orders keys like octoDNS's natsort: digit runs as numbers", () => {
    const keys = [
      "www",
      "selector10._domainkey",
      "",
      "selector2._domainkey",
      "_dmarc",
      "autodiscover",
      "selector1._domainkey",
    ];
    expect([...keys].sort(naturalCompare)).toEqual([
      "",
      "_dmarc",
      "autodiscover",
      "selector1._domainkey",
      "selector2._domainkey",
      "selector10._domainkey",
      "www",
    ]);
  });
});

describe("several changes against one parse (providers/yaml/batch.ts)", () => {
  const ctx: EditContext = { zone: ZONE, file: "example.com.yaml", fail: (message) => new Error(message) };
  const edit = (fn: typeof editZone, text: string, changes: Change[]) => {
    try {
      return fn(text, parseZone(text, ZONE), changes, ctx);
    } catch (err) {
      return { error: (err as Error).message };
    }
  };

  it("writes several new names at one sorted place in key order, in one parse", async () => {
    const file = await writeZone(
      `mail:\n  type: A\n  value: 192.0.2.2\n\n# web shop\nshop:\n  type: A\n  value: 192.0.2.3\n\nzz:\n  type: A\n  value: 192.0.2.4\n`,
    );
    const t = (name: string, v: string) => cname(`${name}.${ZONE}`, v);
    // Out of key order on purpose: one at a time puts each before the first larger key.
    const changes = [
      create(t("selector2._domainkey.mail", "s2.example.net")),
      create(t("selector10._domainkey.mail", "s10.example.net")),
      create(t("selector1._domainkey.mail", "s1.example.net")),
      create(t("zzz", "end2.example.net")),
      create(t("zz1", "end1.example.net")),
    ];
    const block = (key: string, v: string) => `${key}:\n  ttl: 3600\n  type: CNAME\n  value: ${v}.\n`;
    const expected =
      "mail:\n  type: A\n  value: 192.0.2.2\n\n" +
      // natsort: selector1 < selector2 < selector10; new names go above the comment of `shop`.
      `${block("selector1._domainkey.mail", "s1.example.net")}\n${block("selector2._domainkey.mail", "s2.example.net")}\n${block("selector10._domainkey.mail", "s10.example.net")}\n` +
      "# web shop\nshop:\n  type: A\n  value: 192.0.2.3\n\nzz:\n  type: A\n  value: 192.0.2.4\n" +
      `\n${block("zz1", "end1.example.net")}\n${block("zzz", "end2.example.net")}`;
    const text = await fs.readFile(file, "utf8");
    const one = editZone(text, parseZone(text, ZONE), changes, ctx);
    expect(one.text).toBe(expected);
    expect(one.parses).toBe(1);
    expect(editSequentially(text, parseZone(text, ZONE), changes, ctx).text).toBe(expected);
    await provider().apply(ZONE, changes);
    expect(await fs.readFile(file, "utf8")).toBe(expected);
  });

  it("appends new names to an unsorted file in change order", () => {
    const text = "www:\n  type: A\n  value: 192.0.2.1\n'':\n  type: A\n  value: 192.0.2.1\n";
    const changes = [create(cname(`b.${ZONE}`, "b.example.net")), create(cname(`a.${ZONE}`, "a.example.net"))];
    const one = editZone(text, parseZone(text, ZONE), changes, ctx);
    expect(one.text).toBe(
      `${text}b:\n  ttl: 3600\n  type: CNAME\n  value: b.example.net.\na:\n  ttl: 3600\n  type: CNAME\n  value: a.example.net.\n`,
    );
    expect(one.parses).toBe(1);
  });

  it("parses again between edits that touch the same lines, and names the change that breaks the file", () => {
    // Two neighbours deleted: each removal reads the blank line the other may remove.
    const text =
      "a:\n  type: A\n  value: 192.0.2.1\n\nb:\n  type: A\n  value: 192.0.2.2\n\nc:\n  type: A\n  value: 192.0.2.3\n";
    const a = { name: `a.${ZONE}`, type: "A", ttl: 3600, values: ["192.0.2.1"] };
    const b = { name: `b.${ZONE}`, type: "A", ttl: 3600, values: ["192.0.2.2"] };
    const out = editZone(text, parseZone(text, ZONE), [remove(a), remove(b)], ctx);
    expect(out.text).toBe("c:\n  type: A\n  value: 192.0.2.3\n");
    expect(out.parses).toBe(2);

    const anchored = `s1:\n  type: CNAME\n  value: &t ${S1}.\ns2:\n  type: CNAME\n  value: *t\nwww:\n  type: A\n  value: 192.0.2.1\n`;
    const changes = [
      update(
        { name: `www.${ZONE}`, type: "A", ttl: 3600, values: ["192.0.2.1"] },
        { name: `www.${ZONE}`, type: "A", ttl: 60, values: ["192.0.2.1"] },
      ),
      remove(cname(`s1.${ZONE}`, S1)),
    ];
    expect(edit(editZone, anchored, changes)).toEqual({
      error: expect.stringContaining(`writing delete CNAME s1.${ZONE} would leave the file invalid`),
    });
  });

  it("gives the same text (or the same error) as one change at a time, for generated zone files", () => {
    let seed = 20261128;
    const random = () => {
      // mulberry32: a fixed seed, so a failure reproduces.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const keys = [
      "",
      "_dmarc",
      "a",
      "host2",
      "host10",
      "mail",
      "news",
      "selector1._domainkey",
      "selector2._domainkey",
      "selector1._domainkey.mail",
      "selector2._domainkey.mail",
      "shop",
      "www",
      "zeta",
    ];
    const fresh = [
      "selector1._domainkey.news",
      "selector2._domainkey.news",
      "selector1._domainkey.shop",
      "b",
      "host3",
      "zz",
      "0first",
    ];
    let cases = 0;
    let fewer = 0;
    for (let n = 0; n < 500; n++) {
      const unit = pick([2, 4]);
      // Some files indent their names unevenly: the step is read from the first one.
      const mixed = random() < 0.3;
      const blank = random() < 0.5;
      const chosen = keys.filter(() => random() < 0.6);
      if (random() < 0.2) chosen.reverse();
      const sets: RecordSet[] = [];
      const entries = chosen.map((key) => {
        const sp = " ".repeat(mixed ? pick([2, 3, 4]) : unit);
        const name = key === "" ? ZONE : `${key}.${ZONE}`;
        const comment = random() < 0.2 ? `# about ${key || "apex"}\n` : "";
        const shape = random();
        const label = key === "" ? "''" : key;
        if (key.startsWith("selector") && shape < 0.7) {
          const set = cname(name, `${key.replace(/\./g, "-")}.old.example.net`, pick([300, 3600]));
          sets.push(set);
          const ttl = set.ttl === 3600 && random() < 0.5 ? "" : `${sp}ttl: ${set.ttl}\n`;
          return `${comment}${label}:\n${ttl}${sp}type: CNAME\n${sp}value: ${set.values[0]}.\n`;
        }
        if (shape < 0.15) {
          sets.push({ name, type: "A", ttl: 3600, values: ["192.0.2.9"] });
          return `${comment}${label}: {type: A, value: 192.0.2.9}\n`;
        }
        if (shape < 0.4) {
          sets.push(
            { name, type: "A", ttl: 3600, values: ["192.0.2.7"] },
            { name, type: "TXT", ttl: 3600, values: ["v=spf1 -all"] },
          );
          return `${comment}${label}:\n${sp}- type: A\n${sp}  value: 192.0.2.7\n${sp}- type: TXT\n${sp}  value: v=spf1 -all\n`;
        }
        const set = {
          name,
          type: shape < 0.6 ? "TXT" : "A",
          ttl: 3600,
          values: [shape < 0.6 ? "v=DKIM1; p=MIGf" : "192.0.2.8"],
        };
        sets.push(set);
        return `${comment}${label}:\n${sp}type: ${set.type}\n${sp}value: ${set.type === "TXT" ? "v=DKIM1\\; p=MIGf" : set.values[0]}\n`;
      });
      let text = entries.join(blank ? "\n" : "");
      const ending = random();
      if (ending < 0.1) text += "# end\n";
      else if (ending < 0.2) text += "\n";
      else if (ending < 0.3) text = text.replace(/\n$/, "");
      if (random() < 0.3) text = `---\n# zone ${ZONE}\n${text}`;

      const changes: Change[] = [];
      for (const set of sets) {
        const r = random();
        if (set.type === "CNAME") {
          if (r < 0.3)
            changes.push(
              update(
                set,
                cname(
                  set.name,
                  r < 0.15 ? (set.values[0] as string) : `new-${set.values[0]}`,
                  r < 0.15 ? 600 : set.ttl,
                ),
              ),
            );
          else if (r < 0.5) changes.push(remove(set));
        } else if (r < 0.25 && set.type === "TXT" && !sets.some((s) => s !== set && s.name === set.name)) {
          changes.push(remove(set), create(cname(set.name, "forced.example.net")));
        } else if (r < 0.35) changes.push(remove(set));
        else if (r < 0.45 && set.type === "A" && !sets.some((s) => s.name === set.name && s.type === "AAAA")) {
          changes.push(create({ name: set.name, type: "AAAA", ttl: 3600, values: ["2001:db8::1"] }));
        } else if (r < 0.47)
          changes.push(update(cname(set.name, "stale.example.net", 60), cname(set.name, "x.example.net")));
      }
      for (const key of fresh) if (random() < 0.4) changes.push(create(cname(`${key}.${ZONE}`, `${key}.example.net`)));
      if (changes.length === 0) continue;
      const ordered = random() < 0.7 ? sortChanges([...changes]) : changes.sort(() => random() - 0.5);

      const want = edit(editSequentially, text, ordered);
      const got = edit(editZone, text, ordered);
      if ("error" in want || "error" in got) expect(got).toEqual(want);
      else {
        expect({ n, text: got.text }).toEqual({ n, text: want.text });
        if (got.parses < want.parses) fewer++;
      }
      cases++;
    }
    // The generator must reach both paths: plenty of cases, most of them in fewer parses.
    expect(cases).toBeGreaterThan(400);
    expect(fewer).toBeGreaterThan(cases / 2);
  });

  it("reads a file again after apply when it no longer holds what apply wrote", async () => {
    const file = await writeZone("www:\n  type: A\n  value: 192.0.2.1\nzz:\n  type: A\n  value: 192.0.2.1\n");
    const p = provider();
    await p.apply(ZONE, [create(cname(`selector1._domainkey.${ZONE}`, S1))]);
    await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace(`${S1}.`, "edited.example.net."));
    expect(await p.list(ZONE, [`selector1._domainkey.${ZONE}`])).toEqual([
      cname(`selector1._domainkey.${ZONE}`, "edited.example.net"),
    ]);
  });
});

describe("finding a zone's file", () => {
  it("reads the exact file name directly, and looks further when it is missing or a folder", async () => {
    // Exact name: read as it is.
    await writeZone(`---\n${"selector1._domainkey"}:\n  type: CNAME\n  value: a.example.\n`);
    expect((await provider().list(ZONE, [`selector1._domainkey.${ZONE}`])).map((s) => s.values)).toEqual([
      ["a.example"],
    ]);
    // A folder with the zone's file name, and the zone's file under another case: the file.
    const other = "example.net";
    await fs.mkdir(path.join(dir, `${other}.yaml`));
    await fs.writeFile(
      path.join(dir, "Example.NET.yaml"),
      "---\nselector1._domainkey:\n  type: CNAME\n  value: b.example.\n",
    );
    const p = provider();
    expect(await p.zones()).toContain(other);
    expect((await p.list(other, [`selector1._domainkey.${other}`])).map((s) => s.values)).toEqual([["b.example"]]);
    // Missing everywhere: the error names the file to create.
    const err = await failure(p.list("example.org", ["selector1._domainkey.example.org"]));
    expect(err.message).toMatch(/zone file .*example\.org\.yaml does not exist/);
  });
});
