/**
 * The docs are the product's contract: the README's quick start must print what it shows, and
 * every relative link in the README and docs/ must lead to a file of this repository.
 */
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function run(cwd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(root, "bin", "dkimsync.js"), ...args],
      { cwd, env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout });
      },
    );
  });
}

async function markdownFiles(): Promise<string[]> {
  const out = ["README.md", "CONTRIBUTING.md", "bench/README.md"];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) await walk(rel);
      else if (e.name.endsWith(".md")) out.push(rel);
    }
  };
  await walk("docs");
  return out;
}

describe("documentation", () => {
  it("the README's quick-start output is exactly what plan prints on the bundled example", async () => {
    const readme = await fs.readFile(path.join(root, "README.md"), "utf8");
    const at = readme.indexOf("Its output");
    expect(at).toBeGreaterThan(0);
    const open = readme.indexOf("```\n", at) + 4;
    const shown = readme.slice(open, readme.indexOf("\n```", open) + 1);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-docs-"));
    try {
      for (const item of ["dkim.zones.yaml", "zones", "m365"]) {
        await fs.cp(path.join(root, item), path.join(dir, item), { recursive: true });
      }
      const r = await run(dir, ["plan"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(shown);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("every relative link in the README and docs leads to a file in this repository", async () => {
    const broken: string[] = [];
    for (const file of await markdownFiles()) {
      const text = await fs.readFile(path.join(root, file), "utf8");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (m[1] as string).split("#")[0] as string;
        if (target === "" || /^[a-z]+:/i.test(target)) continue;
        const resolved = path.join(root, path.dirname(file), target);
        try {
          await fs.access(resolved);
        } catch {
          broken.push(`${file}: ${m[1]}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("no file of the repository cites the design notes it was started from", async () => {
    const hits: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fs.readdir(path.join(root, dir), { withFileTypes: true })) {
        const rel = path.join(dir, e.name);
        if (e.isDirectory()) await walk(rel);
        else if (
          /\.(ts|js|md|yaml|json|sh)$/.test(e.name) &&
          /\b(DESIGN|FACTS|STYLE)\.md\b/.test(await fs.readFile(path.join(root, rel), "utf8"))
        )
          hits.push(rel);
      }
    };
    for (const dir of ["src", "providers", "test", "bench", "docs", "scripts", "bin"]) await walk(dir);
    // This file names them only to look for them.
    expect(hits.filter((h) => h !== path.join("test", "docs.test.ts"))).toEqual([]);
  });
});
