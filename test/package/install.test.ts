/**
 * The package installs and runs anywhere: packed from a clean copy of the sources (so `prepack`
 * must build it), installed from the tarball into a new project with npm from the local cache
 * (offline), and run there with npx on a copy of the bundled example.
 *
 * The copy matters: packing in place would rebuild dist/ under the feet of the other tests that
 * run the built CLI at the same time.
 */
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(await fs.readFile(path.join(root, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  files: string[];
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** npm and npx without the variables `npm test` sets for its own package (npm_package_*, ...). */
function sh(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_(package|lifecycle)_/i.test(k)) env[k] = v;
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, env: { ...env, NO_COLOR: "1" }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * The consumer's lockfile: dkimsync from the tarball, and its runtime dependencies at the exact
 * versions and integrity hashes of this repository's lockfile (the entries npm marks `dev` left
 * out). An offline install needs it: `npm ci` caches package tarballs by integrity but not the
 * registry metadata that resolving a version range would need. Online, a plain
 * `npm install ./dkimsync-x.y.z.tgz` resolves the same ranges itself.
 */
function consumerLock(spec: string, integrity: string): object {
  const packages: Record<string, unknown> = {
    "": { name: "consumer", version: "1.0.0", dependencies: { dkimsync: spec } },
    "node_modules/dkimsync": {
      version: pkg.version,
      resolved: spec,
      integrity,
      license: "MIT",
      dependencies: pkg.dependencies,
      bin: { dkimsync: "bin/dkimsync.js" },
      engines: { node: ">=20" },
    },
  };
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === "" || entry.dev === true) continue;
    // This repository's lockfile may leave out registry URLs (omit-lockfile-registry-resolved);
    // with the URL and the integrity npm takes the tarball from its cache without metadata.
    const name = key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    const resolved =
      entry.resolved ?? `${registry.replace(/\/+$/, "")}/${name}/-/${name.split("/").pop()}-${entry.version}.tgz`;
    packages[key] = { ...entry, resolved };
  }
  return { name: "consumer", version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

const lock = JSON.parse(await fs.readFile(path.join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { dev?: boolean; version?: string; resolved?: string }>;
};
let registry = "https://registry.npmjs.org/";

let work: string;
let tarball: string;
let project: string;
let listing: string[];

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-package-"));
  registry = (await sh("npm", ["config", "get", "registry"], work)).stdout.trim() || registry;
  const src = path.join(work, "src-copy");
  await fs.mkdir(src);
  // What a clean checkout has (no dist/), plus the installed dependencies to build with.
  for (const entry of [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "tsconfig.package.json",
    "src",
    "providers",
    "bin",
    "schema",
    "README.md",
    "LICENSE",
  ]) {
    await fs.cp(path.join(root, entry), path.join(src, entry), { recursive: true });
  }
  await fs.symlink(path.join(root, "node_modules"), path.join(src, "node_modules"), "dir");
  const pack = await sh("npm", ["pack", "--json", "--pack-destination", work], src, 600_000);
  expect(pack.code, `npm pack failed:\n${pack.stderr}`).toBe(0);
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as {
    filename: string;
    integrity: string;
    files: { path: string }[];
  }[];
  const packed = info[0] as (typeof info)[number];
  tarball = path.join(work, packed.filename);
  listing = packed.files.map((f) => f.path);

  project = path.join(work, "consumer");
  await fs.mkdir(project);
  const spec = `file:../${packed.filename}`;
  await fs.writeFile(
    path.join(project, "package.json"),
    JSON.stringify({ name: "consumer", version: "1.0.0", private: true, dependencies: { dkimsync: spec } }),
  );
  await fs.writeFile(
    path.join(project, "package-lock.json"),
    JSON.stringify(consumerLock(spec, packed.integrity), null, 2),
  );
  const install = await sh("npm", ["install", "--offline", "--no-audit", "--no-fund"], project, 600_000);
  expect(
    install.code,
    `npm install of the tarball failed (is the npm cache warm? run npm ci once):\n${install.stderr}`,
  ).toBe(0);
  for (const part of ["dkim.zones.yaml", "zones", "m365"])
    await fs.cp(path.join(root, part), path.join(project, part), { recursive: true });
}, 900_000);

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships the built CLI, the schema, README and LICENSE, and no test, bench or source maps", () => {
    for (const f of [
      "bin/dkimsync.js",
      "dist/src/cli.js",
      "dist/providers/index.js",
      "dist/providers/yaml/index.js",
      "schema/dkim.zones.schema.json",
      "README.md",
      "LICENSE",
      "package.json",
    ]) {
      expect(listing, f).toContain(f);
    }
    expect(
      listing.filter(
        (f) =>
          /^(test|bench|dist\/test|dist\/bench|src|providers)\//.test(f) || f.endsWith(".map") || f.endsWith(".ts"),
      ),
    ).toEqual([]);
  });

  it("has no test-only package among its runtime dependencies", () => {
    const testOnly = ["vitest", "typescript", "ajv", "marked", "vite"];
    const runtime = Object.keys(pkg.dependencies);
    expect(runtime.filter((d) => testOnly.includes(d) || d.startsWith("@types/"))).toEqual([]);
    for (const d of testOnly.filter((t) => t !== "vite")) expect(Object.keys(pkg.devDependencies)).toContain(d);
  });

  it("installs without dev dependencies", async () => {
    await expect(fs.access(path.join(project, "node_modules/dkimsync/dist/src/cli.js"))).resolves.toBeUndefined();
    await expect(fs.access(path.join(project, "node_modules/typescript"))).rejects.toThrow();
    await expect(fs.access(path.join(project, "node_modules/vitest"))).rejects.toThrow();
  });

  it("npx dkimsync --version prints the package version", async () => {
    const r = await sh("npx", ["--no-install", "dkimsync", "--version"], project);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("npx dkimsync validate accepts the copied example", async () => {
    const r = await sh("npx", ["--no-install", "dkimsync", "validate"], project);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("dkim.zones.yaml: valid (6 domains");
  });

  it("npx dkimsync plan plans the copied example", async () => {
    const r = await sh("npx", ["--no-install", "dkimsync", "plan"], project);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Plan: 3 to create, 2 to update, 2 to delete, 4 unchanged, 1 conflict.");
  });

  it("a bad config in the installed package is a clear error, exit 1, no stack", async () => {
    await fs.writeFile(path.join(project, "bad.yaml"), "ttl: 1h\n");
    const r = await sh("npx", ["--no-install", "dkimsync", "validate", "-c", "bad.yaml"], project);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bad.yaml:1: ttl must be a whole number of seconds");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("an install without its build", () => {
  it("says what is missing and how to get it, instead of 'Cannot find module'", async () => {
    const bare = path.join(work, "bare");
    await fs.mkdir(path.join(bare, "bin"), { recursive: true });
    await fs.copyFile(path.join(root, "bin/dkimsync.js"), path.join(bare, "bin/dkimsync.js"));
    await fs.writeFile(path.join(bare, "package.json"), JSON.stringify({ name: "dkimsync", type: "module" }));
    const r = await sh(process.execPath, [path.join(bare, "bin/dkimsync.js"), "--version"], bare);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("installed without its build (dist/ is missing)");
    expect(r.stderr).not.toContain("Cannot find module");
  });
});
