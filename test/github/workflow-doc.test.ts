/**
 * The workflow in docs/guide/github-actions.md is what people copy: it must parse, ask for the
 * least permissions, use this action, and pass only inputs (and read only outputs) that
 * action.yml defines.
 */
import fs from "node:fs/promises";
import path from "node:path";
import yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

interface Step {
  id?: string;
  uses?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  if?: string;
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}
interface ActionYml {
  inputs: Record<string, { default?: string }>;
  outputs: Record<string, { value: string }>;
  runs: { using: string; steps: { uses?: string; run?: string; env?: Record<string, string> }[] };
}

let doc: string;
let workflow: Workflow;
let action: ActionYml;

beforeAll(async () => {
  doc = await fs.readFile(path.join(root, "docs/guide/github-actions.md"), "utf8");
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const full = blocks.find((b) => /^jobs:/m.test(b));
  expect(full, "a complete workflow (a yaml block with jobs:)").toBeDefined();
  workflow = yaml.load(full as string) as Workflow;
  action = yaml.load(await fs.readFile(path.join(root, "action.yml"), "utf8")) as ActionYml;
});

const dkimsyncSteps = (job: Job) => job.steps.filter((s) => /\/dkimsync@/.test(s.uses ?? ""));

describe("the documented workflow", () => {
  it("reads only the repository by default; only the commenting job may write pull requests", () => {
    expect(workflow.permissions).toEqual({ contents: "read" });
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job.permissions, `${name} states its permissions`).toBeDefined();
      const commenting = dkimsyncSteps(job).some((s) => String(s.with?.comment ?? "true") === "true");
      expect(job.permissions, name).toEqual(
        commenting ? { contents: "read", "pull-requests": "write" } : { contents: "read" },
      );
    }
  });

  it("plans on pull requests, applies on main, and checks drift on a schedule", () => {
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(["pull_request", "push", "schedule"]));
    const command = (job: Job) => dkimsyncSteps(job).map((s) => String(s.with?.command ?? "plan"));
    expect(workflow.jobs.plan?.if).toContain("pull_request");
    expect(command(workflow.jobs.plan as Job)).toEqual(["plan"]);
    expect(workflow.jobs.apply?.if).toContain("refs/heads/main");
    expect(command(workflow.jobs.apply as Job)).toEqual(["apply"]);
    expect(workflow.jobs.drift?.if).toContain("schedule");
    const drift = dkimsyncSteps(workflow.jobs.drift as Job)[0];
    expect(String(drift?.with?.["detailed-exitcode"])).toBe("true");
    expect(command(workflow.jobs["validate-fork"] as Job)).toEqual(["validate"]);
  });

  it("uses this action and only inputs that action.yml defines", () => {
    let seen = 0;
    for (const job of Object.values(workflow.jobs)) {
      for (const step of dkimsyncSteps(job)) {
        seen++;
        expect(step.uses).toMatch(/^<owner>\/dkimsync@v1$/);
        for (const key of Object.keys(step.with ?? {}))
          expect(Object.keys(action.inputs), `input ${key}`).toContain(key);
        // Secrets only by reference to the repository's secrets.
        for (const value of Object.values(step.env ?? {})) expect(value).toMatch(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
      }
    }
    expect(seen).toBe(4);
  });

  it("reads only outputs that action.yml defines", () => {
    const used = [...doc.matchAll(/steps\.dkimsync\.outputs\.([\w-]+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const o of used) expect(Object.keys(action.outputs)).toContain(o);
  });
});

describe("action.yml", () => {
  it("has the inputs and outputs the documentation lists", () => {
    expect(Object.keys(action.inputs).sort()).toEqual([
      "command",
      "comment",
      "config",
      "detailed-exitcode",
      "github-token",
      "working-directory",
    ]);
    expect(Object.keys(action.outputs).sort()).toEqual(["exit-code", "has-changes", "plan-file"]);
    for (const name of Object.keys(action.inputs)) expect(doc).toContain(`| \`${name}\` |`);
    for (const name of Object.keys(action.outputs)) expect(doc).toContain(`| \`${name}\` |`);
  });

  it("installs from its own checkout and passes every input to the entry point", async () => {
    expect(action.runs.using).toBe("composite");
    const run = action.runs.steps.find((s) => s.run?.includes("dist/src/github/main.js"));
    expect(run).toBeDefined();
    expect(action.runs.steps.some((s) => s.run?.includes("npm ci"))).toBe(true);
    for (const name of ["command", "config", "comment", "detailed-exitcode"]) {
      expect(run?.env?.[`INPUT_${name.toUpperCase().replace(/-/g, "_")}`]).toBe(`\${{ inputs.${name} }}`);
    }
    expect(run?.env?.GITHUB_TOKEN).toBe("${{ inputs.github-token }}");
    // The entry point exists in the sources the install builds.
    await expect(fs.access(path.join(root, "src/github/main.ts"))).resolves.toBeUndefined();
  });
});
