/**
 * The GitHub Action's code (src/github) against a loopback fake of the GitHub REST API
 * (test/fake.ts), with the real CLI and the yaml provider underneath: one comment per config,
 * found by its marker across pages and updated in place; a failed plan still comments; a
 * 5,000-zone plan is cut below GitHub's limit with its findings kept; the job summary and the
 * outputs file are written in the runner's formats.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runAction, ActionInputError } from "../../src/github/action.js";
import { commentMarker, nextLink } from "../../src/github/comment.js";
import { renderMarkdown } from "../../src/render/markdown.js";
import type { Plan, ZonePlan } from "../../src/core/types.js";
import { startFakeGitHub, type FakeGitHub } from "./fake.js";
import { walkMarkdown } from "../render/gfm.js";

const root = path.resolve(import.meta.dirname, "../..");
const TOKEN = "ghs_fake_token_for_tests";
let gh: FakeGitHub;
let dir: string;
let logs: string;

beforeAll(async () => {
  gh = await startFakeGitHub({ token: TOKEN, owner: "acme", repo: "dns" });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-action-"));
  for (const part of ["dkim.zones.yaml", "zones", "m365"])
    await fs.cp(path.join(root, part), path.join(dir, part), { recursive: true });
  // 150 comments by people first: the action's comment lands on the second page of 100.
  for (let i = 0; i < 150; i++)
    gh.comments.push({ id: i + 1, issue: 7, body: `looks good ${i}`, user: { login: "someone" } });
  await fs.writeFile(
    path.join(dir, "event-pr.json"),
    JSON.stringify({ action: "synchronize", number: 7, pull_request: { number: 7 } }),
  );
  await fs.writeFile(path.join(dir, "event-push.json"), JSON.stringify({ ref: "refs/heads/main" }));
});
afterAll(async () => {
  await gh.close();
  await fs.rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  logs = "";
  await fs.rm(path.join(dir, "summary.md"), { force: true });
  await fs.rm(path.join(dir, "output.txt"), { force: true });
});

function env(over: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    INPUT_COMMAND: "plan",
    INPUT_CONFIG: path.join(dir, "dkim.zones.yaml"),
    INPUT_COMMENT: "true",
    INPUT_DETAILED_EXITCODE: "false",
    GITHUB_API_URL: gh.url,
    GITHUB_TOKEN: TOKEN,
    GITHUB_REPOSITORY: "acme/dns",
    GITHUB_EVENT_NAME: "pull_request",
    GITHUB_EVENT_PATH: path.join(dir, "event-pr.json"),
    GITHUB_STEP_SUMMARY: path.join(dir, "summary.md"),
    GITHUB_OUTPUT: path.join(dir, "output.txt"),
    RUNNER_TEMP: dir,
    ...over,
  };
}

const run = (over: Record<string, string> = {}) => runAction(env(over), (s) => void (logs += s));

/** The GITHUB_OUTPUT file, read the way the runner reads it (name<<DELIMITER ... DELIMITER). */
async function outputs(): Promise<Record<string, string>> {
  const text = await fs.readFile(path.join(dir, "output.txt"), "utf8");
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^([\w-]+)<<(.+)$/.exec(lines[i] as string);
    if (!m) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i] as string);
    expect(lines[i], `delimiter of ${m[1]}`).toBe(m[2]);
    out[m[1] as string] = value.join("\n");
  }
  return out;
}

/** The marker line is dkimsync's own HTML comment; the rest must hold no HTML of its own. */
const withoutMarker = (body: string) => body.slice(body.indexOf("\n") + 1);

const ours = (config: string) => gh.comments.filter((c) => c.body.startsWith(commentMarker(config)));

describe("the action on a pull request", () => {
  it("creates one comment on the first run and updates that same comment on the next", async () => {
    const config = path.join(dir, "dkim.zones.yaml");
    const first = await run();
    expect(first.exitCode).toBe(0);
    expect(first.comment).toMatchObject({ action: "created" });
    expect(ours(config)).toHaveLength(1);
    const comment = ours(config)[0];
    expect(comment?.body).toContain("### ⛔ dkimsync plan: 1 conflict");
    expect(comment?.body).toContain(
      "**3 to create, 2 to update, 2 to delete, 4 unchanged, 1 conflict, 2 warnings, 0 errors**",
    );

    const summary = await fs.readFile(path.join(dir, "summary.md"), "utf8");
    expect(summary).toContain("### ⛔ dkimsync plan: 1 conflict");
    const out = await outputs();
    expect(out).toEqual({ "exit-code": "0", "has-changes": "true", "plan-file": first.planFile });
    expect(JSON.parse(await fs.readFile(first.planFile, "utf8"))).toMatchObject({ version: 1 });
    expect(logs).toContain("Plan: 3 to create"); // the text plan in the job log

    const postsBefore = gh.requests.filter((r) => r.method === "POST").length;
    const second = await run();
    expect(second.comment).toEqual({ action: "updated", id: comment?.id });
    expect(ours(config)).toHaveLength(1);
    expect(gh.requests.filter((r) => r.method === "POST").length).toBe(postsBefore);
    // It was found on the second page, by following the Link header.
    expect(gh.requests.some((r) => r.method === "GET" && /page=2/.test(r.path))).toBe(true);
    // Every request carried the token.
    expect(gh.requests.every((r) => r.auth === `token ${TOKEN}`)).toBe(true);
  });

  it("comments when the plan fails: the errors are the comment; fixing the config updates it", async () => {
    const bad = path.join(dir, "bad.zones.yaml");
    await fs.writeFile(bad, "ttl: 1h\nproviders:\n  zones: { type: yaml, directory: ./zones }\ndomain: {}\n");
    const r = await run({ INPUT_CONFIG: bad });
    expect(r.exitCode).toBe(1);
    expect(r.comment).toMatchObject({ action: "created" });
    const body = ours(bad)[0]?.body ?? "";
    expect(body).toContain("### ❌ dkimsync plan failed");
    expect(body).toContain(`${bad}:1: ttl must be a whole number of seconds`);
    expect(body).toContain(`${bad}:4: unknown top-level key "domain"`);
    expect(body.split("\n")[0]).toBe(commentMarker(bad));
    walkMarkdown(withoutMarker(body));
    expect(await outputs()).toEqual({ "exit-code": "1", "has-changes": "false", "plan-file": "" });

    await fs.copyFile(path.join(dir, "dkim.zones.yaml"), bad);
    const fixed = await run({ INPUT_CONFIG: bad });
    expect(fixed.exitCode).toBe(0);
    expect(fixed.comment).toMatchObject({ action: "updated", id: ours(bad)[0]?.id });
    expect(ours(bad)).toHaveLength(1);
    expect(ours(bad)[0]?.body).not.toContain("failed");
  });

  it("keeps one comment per config file", async () => {
    const other = path.join(dir, "other.zones.yaml");
    await fs.copyFile(path.join(dir, "dkim.zones.yaml"), other);
    await run({ INPUT_CONFIG: other });
    await run({ INPUT_CONFIG: other });
    expect(ours(other)).toHaveLength(1);
    expect(ours(path.join(dir, "dkim.zones.yaml"))).toHaveLength(1);
  });

  it("names the config from the repository root: the same file name in two folders keeps two comments", async () => {
    for (const sub of ["east", "west"]) {
      await fs.mkdir(path.join(dir, sub), { recursive: true });
      await fs.copyFile(path.join(dir, "dkim.zones.yaml"), path.join(dir, sub, "dkim.zones.yaml"));
      await fs.cp(path.join(dir, "zones"), path.join(dir, sub, "zones"), { recursive: true });
      await fs.cp(path.join(dir, "m365"), path.join(dir, sub, "m365"), { recursive: true });
      await run({ GITHUB_WORKSPACE: dir, INPUT_CONFIG: path.join(dir, sub, "dkim.zones.yaml") });
      await run({ GITHUB_WORKSPACE: dir, INPUT_CONFIG: path.join(dir, sub, "dkim.zones.yaml") });
    }
    expect(ours("east/dkim.zones.yaml")).toHaveLength(1);
    expect(ours("west/dkim.zones.yaml")).toHaveLength(1);
  });

  it("detailed-exitcode gives 2 while changes are pending", async () => {
    const r = await run({ INPUT_DETAILED_EXITCODE: "true" });
    expect(r.exitCode).toBe(2);
    expect((await outputs())["exit-code"]).toBe("2");
  });

  it("a token that may not comment is a warning, not a lost plan", async () => {
    const before = gh.comments.length;
    const r = await run({ GITHUB_TOKEN: "wrong" });
    expect(r.exitCode).toBe(0);
    expect(r.comment).toMatchObject({ error: expect.stringContaining("401") });
    expect(logs).toMatch(/::warning::dkimsync could not write the pull-request comment: .*Bad credentials/);
    expect(gh.comments.length).toBe(before);
    expect(await fs.readFile(path.join(dir, "summary.md"), "utf8")).toContain("dkimsync plan");

    gh.failNext("PATCH", 403, "Resource not accessible by integration");
    const fork = await run();
    expect(fork.comment).toMatchObject({ error: expect.stringContaining("403") });
    expect(logs).toContain("read-only token");
  });

  it("does not call GitHub outside a pull request, or with comment: false", async () => {
    const count = gh.requests.length;
    expect(
      (await run({ GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: path.join(dir, "event-push.json") })).comment,
    ).toBeUndefined();
    expect((await run({ INPUT_COMMENT: "false" })).comment).toBeUndefined();
    expect(gh.requests.length).toBe(count);
    expect(await fs.readFile(path.join(dir, "summary.md"), "utf8")).toContain("dkimsync plan");
  });

  it("refuses a bad input before doing anything", async () => {
    await expect(run({ INPUT_COMMAND: "destroy" })).rejects.toThrow(ActionInputError);
    await expect(run({ INPUT_COMMENT: "yes" })).rejects.toThrow(/input comment must be true or false/);
  });

  it("validate needs no token or secret and comments its findings", async () => {
    const bad = path.join(dir, "validate.zones.yaml");
    await fs.writeFile(bad, "providers:\n  cf: { type: cloudflare, token: sk-inline-secret }\ndomains: {}\n");
    const r = await run({ INPUT_COMMAND: "validate", INPUT_CONFIG: bad });
    expect(r.exitCode).toBe(1);
    const body = ours(bad)[0]?.body ?? "";
    expect(body).toContain("### ❌ dkimsync validate failed");
    expect(body).toContain(`${bad}:2: provider "cf" (cloudflare): option "token" looks like an inline secret`);
    expect(body).not.toContain("sk-inline-secret");
    await fs.writeFile(bad, "providers:\n  cf: { type: cloudflare, token: env/CF_TOKEN_NOT_SET }\ndomains: {}\n");
    const ok = await run({ INPUT_COMMAND: "validate", INPUT_CONFIG: bad });
    expect(ok.exitCode).toBe(0);
    expect(ours(bad)).toHaveLength(1);
    expect(ours(bad)[0]?.body).toContain("### ✅ dkimsync validate");
  });

  it("runs verify and apply too, writing their Markdown to the summary", async () => {
    const work = path.join(dir, "apply");
    await fs.mkdir(work);
    for (const part of ["dkim.zones.yaml", "zones", "m365"])
      await fs.cp(path.join(root, part), path.join(work, part), { recursive: true });
    // The example holds a conflict: apply refuses it (exit 1) and the refusal is the report.
    const r = await run({
      INPUT_COMMAND: "apply",
      INPUT_CONFIG: path.join(work, "dkim.zones.yaml"),
      INPUT_COMMENT: "false",
    });
    expect(r.exitCode).toBe(1);
    const summary = await fs.readFile(path.join(dir, "summary.md"), "utf8");
    expect(summary.length).toBeGreaterThan(0);
    expect(summary).toMatch(/conflict/i);
    expect((await outputs())["exit-code"]).toBe("1");
  });
});

describe("a plan too large for one comment", () => {
  it("5,000 zones: cut below 65,536 characters, conflicts and errors kept, the cut said", async () => {
    const big = path.join(dir, "big");
    const zones = path.join(big, "zones");
    await fs.mkdir(zones, { recursive: true });
    const lines = ["tenant: contoso", "providers:", "  zones: { type: yaml, directory: ./zones }", "domains:"];
    for (let i = 0; i < 5000; i++) {
      const d = `d${String(i).padStart(4, "0")}.example`;
      lines.push(`  ${d}: { provider: zones }`);
      // The last ones hold an old TXT key at selector1: findings at the end of the list.
      const txt =
        i >= 4995 ? `selector1._domainkey:\n  type: TXT\n  value: "v=DKIM1; p=old<img src=x>|${i}"\n` : "--- {}\n";
      await fs.writeFile(path.join(zones, `${d}.yaml`), txt);
    }
    lines.push("  nozone.test: { provider: zones }", "");
    await fs.writeFile(path.join(big, "dkim.zones.yaml"), lines.join("\n"));
    const config = path.join(big, "dkim.zones.yaml");

    const r = await run({ INPUT_CONFIG: config });
    expect(r.exitCode).toBe(1); // nozone.test has no zone: a plan error
    expect(r.comment).toMatchObject({ action: "created" });
    const body = ours(config)[0]?.body ?? "";
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body.length).toBeGreaterThan(50_000); // it fills the room, it does not give up
    expect(body).toContain(
      "**9995 to create, 0 to update, 0 to delete, 0 unchanged, 5 conflicts, 5000 warnings, 1 error**",
    );
    expect(body).toContain("nozone.test");
    for (let i = 4995; i < 5000; i++) expect(body).toContain(`d${i}.example`);
    expect(body).toMatch(
      /✂️ \d+ of 5000 zones are not shown here, to stay under \d+ characters\. The full plan is in the job summary/,
    );
    walkMarkdown(withoutMarker(body));
    const summary = await fs.readFile(path.join(dir, "summary.md"));
    expect(summary.length).toBeLessThanOrEqual(1024 * 1024);
  }, 300_000);

  it("zones with warnings go before zones with only changes", () => {
    const zone = (i: number, over: Partial<ZonePlan> = {}): ZonePlan => ({
      provider: "cf",
      zone: `z${i}.example`,
      domains: [`z${i}.example`],
      names: [],
      fingerprint: "0",
      unchanged: [],
      warnings: [],
      conflicts: [],
      changes: [
        {
          action: "create",
          name: `selector1._domainkey.z${i}.example`,
          type: "CNAME",
          before: null,
          after: {
            name: `selector1._domainkey.z${i}.example`,
            type: "CNAME",
            ttl: 3600,
            values: [`selector1-z${i}-example._domainkey.contoso.onmicrosoft.com`],
          },
        },
      ],
      ...over,
    });
    const plan: Plan = {
      zones: Array.from({ length: 5000 }, (_, i) =>
        zone(i, i === 4999 ? { warnings: ["DKIM fails for every selector in this zone"] } : {}),
      ),
      errors: [],
    };
    const md = renderMarkdown(plan, { maxChars: 20_000, fullPlan: "the job summary" });
    expect(md.length).toBeLessThanOrEqual(20_000);
    expect(md.split("\n")[0]).toBe("### ⚠️ dkimsync plan: 1 warning");
    expect(md).toContain("<code>z4999.example</code>");
    expect(md.indexOf("z4999.example</code>")).toBeLessThan(md.indexOf("z0.example</code>"));
  });
});

describe("pieces", () => {
  it("reads rel=next from a Link header", () => {
    expect(
      nextLink('<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"'),
    ).toBe("https://api.github.com/x?page=2");
    expect(nextLink('<https://api.github.com/x?page=1>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });

  it("a marker stays a hidden HTML comment whatever the path", () => {
    expect(commentMarker("a--b>c.yaml")).toBe("<!-- dkimsync:comment config=a-bc.yaml -->");
  });
});
