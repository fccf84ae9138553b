/**
 * The GitHub Action (action.yml at the repository root runs dist/src/github/main.js): runs
 * `dkimsync plan`, `apply` or `verify` through the same CLI entry point people use, then
 * - appends the Markdown to the job summary ($GITHUB_STEP_SUMMARY);
 * - keeps one pull-request comment per config file, updated in place, also when the run fails
 *   (then the errors are the comment), cut to GitHub's 65,536 characters;
 * - writes the outputs exit-code, has-changes and plan-file ($GITHUB_OUTPUT);
 * and exits with dkimsync's own exit code (0, 1, or 2 with detailed-exitcode).
 *
 * Inputs come from the environment as INPUT_<NAME> (action.yml passes them explicitly: a
 * composite action's inputs are not exported on their own).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { main, type Io } from "../cli.js";
import type { Plan } from "../core/types.js";
import { hasChanges } from "../plan/build.js";
import { loadPlan } from "../plan/saved.js";
import { renderMarkdown } from "../render/markdown.js";
import { COMMENT_LIMIT, commentMarker, upsertComment, type CommentTarget } from "./comment.js";
import { SUMMARY_LIMIT, appendSummary, writeOutputs } from "./outputs.js";

export type ActionCommand = "plan" | "apply" | "verify" | "validate";

export interface ActionInputs {
  command: ActionCommand;
  config: string;
  comment: boolean;
  detailedExitcode: boolean;
}

export class ActionInputError extends Error {}

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "") return fallback;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ActionInputError(`input ${name} must be true or false, not "${value}"`);
}

export function readInputs(env: NodeJS.ProcessEnv): ActionInputs {
  const command = (env.INPUT_COMMAND ?? "").trim() || "plan";
  if (command !== "plan" && command !== "apply" && command !== "verify" && command !== "validate") {
    throw new ActionInputError(`input command must be plan, apply, verify or validate, not "${command}"`);
  }
  return {
    command,
    config: (env.INPUT_CONFIG ?? "").trim() || "dkim.zones.yaml",
    comment: bool("comment", env.INPUT_COMMENT, true),
    detailedExitcode: bool("detailed-exitcode", env.INPUT_DETAILED_EXITCODE, false),
  };
}

/** The pull request this run belongs to, from the event payload ($GITHUB_EVENT_PATH). */
export function pullRequestNumber(env: NodeJS.ProcessEnv): number | undefined {
  if (!env.GITHUB_EVENT_PATH) return undefined;
  try {
    const event = JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, "utf8")) as {
      pull_request?: { number?: unknown };
      number?: unknown;
    };
    const n = event.pull_request?.number;
    return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A failed run's message as a fenced block: inside it nothing is Markdown or HTML (GFM 4.5). */
function fenced(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}text\n${text.replace(/\s+$/, "")}\n${fence}`;
}

function failureMarkdown(command: string, stderr: string, limit: number): string {
  const head = `### ❌ dkimsync ${command} failed\n\n`;
  const tail =
    "\n\nFix the problems above and push again; `dkimsync validate` shows them locally without credentials.\n";
  const room = Math.max(0, limit - head.length - tail.length - 40);
  const text = stderr.length > room ? `${stderr.slice(0, room)}\n… (cut; the whole message is in the job log)` : stderr;
  return head + fenced(text || "dkimsync failed without a message (see the job log)") + tail;
}

/** Cut a document that has no structure to cut along (apply, verify) at a line, saying so. */
function cutLines(md: string, limit: number, where: string): string {
  if (md.length <= limit) return md;
  const note = `\n\n> ✂️ Cut to stay under ${limit} characters; the whole report is in ${where}.\n`;
  const cut = md.slice(0, Math.max(0, limit - note.length));
  return cut.slice(0, Math.max(0, cut.lastIndexOf("\n"))) + note;
}

export interface ActionResult {
  exitCode: number;
  hasChanges: boolean;
  planFile: string;
  comment?: { action: "created" | "updated"; id: number } | { error: string };
}

/** Markdown of the run for a given size; `undefined` limit means the whole document. */
type Renderer = (limit: number | undefined) => string;

/** `log` receives dkimsync's output and the action's own messages (the job log). */
export async function runAction(
  env: NodeJS.ProcessEnv = process.env,
  log: (s: string) => void = (s) => void process.stdout.write(s),
): Promise<ActionResult> {
  const inputs = readInputs(env);
  const tmp = env.RUNNER_TEMP || os.tmpdir();
  const planFile = path.join(tmp, `dkimsync-plan-${inputs.config.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`);
  fs.rmSync(planFile, { force: true });

  const out = { stdout: "", stderr: "" };
  const io: Io = {
    stdout: (s) => {
      out.stdout += s;
      log(s);
    },
    stderr: (s) => {
      out.stderr += s;
      log(s);
    },
    color: false,
    progress: () => {},
  };
  const args: string[] = [inputs.command, "-c", inputs.config];
  if (inputs.command === "plan") {
    // Text for the job log; the Markdown is made from the saved plan, which holds everything.
    args.push("--format", "text", "--out", planFile);
    if (inputs.detailedExitcode) args.push("--detailed-exitcode");
  } else if (inputs.command !== "validate") {
    args.push("--format", "markdown");
  }
  const exitCode = await main(args, io);

  let plan: Plan | undefined;
  if (inputs.command === "plan" && fs.existsSync(planFile)) plan = (await loadPlan(planFile)).plan;
  const where =
    "the job summary of this run" +
    (plan ? " and the saved plan (the plan-file output; upload it with actions/upload-artifact)" : "");
  let render: Renderer;
  if (plan) {
    const p = plan;
    render = (limit) => renderMarkdown(p, limit === undefined ? {} : { maxChars: limit, fullPlan: where });
  } else if (inputs.command === "validate" && exitCode === 0) {
    const md = `### ✅ dkimsync validate\n\n${fenced(out.stdout)}\n`;
    render = () => md;
  } else if (inputs.command !== "plan" && inputs.command !== "validate" && out.stdout.trim() !== "") {
    const md = out.stdout;
    const extra = exitCode === 1 && out.stderr.trim() !== "" ? `\n${fenced(out.stderr)}\n` : "";
    render = (limit) => (limit === undefined ? md + extra : cutLines(md + extra, limit, where));
  } else {
    render = (limit) => failureMarkdown(inputs.command, out.stderr, limit ?? Number.POSITIVE_INFINITY);
  }

  // The job summary: the whole document unless it passes the summary's 1 MiB (bytes).
  let summary = render(undefined);
  for (
    let limit = SUMMARY_LIMIT;
    Buffer.byteLength(summary) > SUMMARY_LIMIT && limit > 1000;
    limit = Math.floor(limit / 2)
  )
    summary = render(limit);
  appendSummary(env.GITHUB_STEP_SUMMARY, summary);

  const result: ActionResult = {
    exitCode,
    hasChanges: plan ? hasChanges(plan) : false,
    planFile: plan ? planFile : "",
  };

  const issue = pullRequestNumber(env);
  if (inputs.comment && issue !== undefined) {
    // The config as seen from the repository root, so two jobs with the same file name in
    // different working directories keep two comments.
    const workspace = env.GITHUB_WORKSPACE;
    const marker = commentMarker(
      workspace ? path.relative(workspace, path.resolve(inputs.config)).split(path.sep).join("/") : inputs.config,
    );
    const body = `${marker}\n${render(COMMENT_LIMIT - marker.length - 1)}`;
    const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
    if (!owner || !repo || !env.GITHUB_TOKEN) {
      result.comment = { error: "GITHUB_REPOSITORY or GITHUB_TOKEN is not set" };
    } else {
      const target: CommentTarget = {
        apiUrl: env.GITHUB_API_URL || "https://api.github.com",
        token: env.GITHUB_TOKEN,
        owner,
        repo,
        issue,
      };
      try {
        const r = await upsertComment(target, marker, body);
        result.comment = { action: r.action, id: r.id };
        log(`dkimsync: ${r.action} the pull-request comment${r.url ? ` ${r.url}` : ""}\n`);
      } catch (err) {
        const status = (err as { status?: number }).status;
        const why =
          status === 403 || status === 401
            ? "the token may not write pull-request comments (a pull request from a fork gets a read-only token; give the job permissions: pull-requests: write)"
            : "see the message above";
        result.comment = { error: `${(err as Error).message}${status ? ` (HTTP ${status})` : ""}` };
        // ::warning:: is the workflow command for an annotation (GitHub Actions documentation).
        log(
          `::warning::dkimsync could not write the pull-request comment: ${result.comment.error}; ${why}. The plan is in the job summary.\n`,
        );
      }
    }
  }

  writeOutputs(env.GITHUB_OUTPUT, {
    "exit-code": String(exitCode),
    "has-changes": String(result.hasChanges),
    "plan-file": result.planFile,
  });
  return result;
}
