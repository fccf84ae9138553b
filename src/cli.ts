/**
 * Commands, flags and exit codes (docs/reference/commands.md): 0 success / no changes, 1 error
 * (bad input, unsafe or stale plan, provider failure, a blocked domain), 2 differences found
 * (plan --detailed-exitcode, verify with a failed check), 3 and 4 an interrupted apply (some
 * zones written, or none). A user error never prints a stack trace; DKIMSYNC_DEBUG=1 does.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import type { ApplyResult } from "./plan/apply.js";
import type { ProviderContext } from "../providers/index.js";
import type { Config } from "./config/types.js";
import { DkimsyncError, redact } from "./core/errors.js";
import type { ZoneRefusal } from "./plan/safety.js";
import type { Progress, ProviderSet } from "./plan/build.js";
import { ansi, plain, useColor } from "./render/style.js";
import type { TextOptions } from "./render/text.js";
import type { Plan } from "./core/types.js";

// The modules of plan and apply are loaded by the command that runs, when it needs them, not
// here: `--version`, `--help` and the other commands do not pay for the config loader and the
// planner, and a plan loads neither the apply path, nor saved plans, nor the renderers of the
// formats it does not print (bench/README.md, "Start-up, planning and output, continued").
const planModules = () => import("./plan/build.js");
const applyModules = () => import("./plan/apply.js");

type Format = "text" | "markdown" | "json";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  color: boolean;
  /** Progress for people, on stderr, only when stderr is a terminal. */
  progress: (s: string) => void;
  /** Whether stderr is a terminal: a live status line there, else a line every few seconds. */
  stderrIsTTY?: boolean;
  /**
   * Call `cb` on SIGINT, SIGTERM or when stdout is closed (EPIPE, e.g. `apply | head -1`);
   * returns a function that stops listening. Absent in tests that run main() in-process.
   */
  onInterrupt?: (cb: (why: string) => void) => () => void;
  /** Resolves once what was written to stdout has been handed to the OS (or failed). */
  flush?: () => Promise<void>;
}

/** Set once stdout is closed (EPIPE): later output is dropped instead of crashing the run. */
let stdoutClosed = false;
const interruptListeners = new Set<(why: string) => void>();
let processHooked = false;

function hookProcess(): void {
  if (processHooked) return;
  processHooked = true;
  // An EPIPE on stdout is emitted as an 'error' event; without a listener Node throws it as an
  // uncaught exception with a stack trace, and what was written stays unknown.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    stdoutClosed = true;
    for (const cb of interruptListeners)
      cb(err.code === "EPIPE" ? "standard output was closed" : `standard output failed (${err.code ?? "error"})`);
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (interruptListeners.size === 0) {
        // Nothing is being written: stop now, the conventional way (128 + signal number).
        process.exit(sig === "SIGINT" ? 130 : 143);
      }
      for (const cb of interruptListeners) cb(`received ${sig}`);
    });
  }
}

function defaultIo(): Io {
  const progress = process.stderr.isTTY === true;
  hookProcess();
  return {
    stdout: (s) => {
      if (!stdoutClosed) process.stdout.write(s);
    },
    stderr: (s) => void process.stderr.write(s),
    color: useColor(process.stdout),
    stderrIsTTY: progress,
    progress: (s) => {
      if (progress) process.stderr.write(`${s}\n`);
    },
    flush: () =>
      new Promise<void>((resolve) => {
        if (stdoutClosed) return resolve();
        // The callback runs once the write has reached the OS or failed (EPIPE); the 'error'
        // listener above has then marked stdout closed. setImmediate lets that listener run first.
        process.stdout.write("", () => setImmediate(resolve));
      }),
    onInterrupt: (cb) => {
      interruptListeners.add(cb);
      if (stdoutClosed) cb("standard output was closed");
      return () => void interruptListeners.delete(cb);
    },
  };
}

function version(): string {
  // dist/src/cli.js when built, src/cli.ts when the tests run main() in-process.
  for (const rel of ["../../package.json", "../package.json"]) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return "unknown";
}

const formatOption = () =>
  new Option("--format <format>", "output format").choices(["text", "markdown", "json"]).default("text");

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The plan to stdout, in pieces as it is rendered (at 10,000 domains: 7 to 15 MB of output).
 * Each piece is handed to the OS before the next is made: stdout to a pipe is asynchronous in
 * Node (process.stdout, "A note on process I/O"), so writing every piece at once would only
 * move the whole document into the stream's queue.
 */
async function writePlan(plan: Plan, format: Format, io: Io, text: TextOptions = {}): Promise<void> {
  const chunks =
    format === "json"
      ? (await import("./render/json.js")).renderJsonChunks(plan)
      : format === "markdown"
        ? (await import("./render/markdown.js")).renderMarkdownChunks(plan)
        : (await import("./render/text.js")).renderTextChunks(plan, io.color ? ansi : plain, text);
  await writeChunks(chunks, io);
}

/** Output in pieces, each handed to the OS before the next is made: never the whole text at once. */
async function writeChunks(chunks: Iterable<string>, io: Io): Promise<void> {
  for (const chunk of chunks) {
    io.stdout(chunk);
    await io.flush?.();
  }
}

/** The config with every provider's options checked too, so one run shows every problem. */
async function loadChecked(file: string): Promise<Config> {
  const [{ loadConfigChecked }, { checkProviderOptions }] = await Promise.all([
    import("./config/load.js"),
    planModules(),
  ]);
  return loadConfigChecked(file, checkProviderOptions);
}

async function planCommand(
  opts: {
    config: string;
    domain: string[];
    provider: string[];
    format: Format;
    out?: string;
    detailedExitcode?: boolean;
    verbose?: boolean;
  },
  io: Io,
): Promise<number> {
  const config = await loadChecked(opts.config);
  const { Progress, buildPlan, closeProviders, hasChanges } = await planModules();
  const progress = new Progress(io.stderr, { tty: io.stderrIsTTY === true }).start();
  let built;
  try {
    built = await buildPlan({
      config,
      domains: opts.domain,
      providers: opts.provider,
      context: { log: io.progress, readOnly: true },
      progress,
    });
  } finally {
    progress.stop();
  }
  const { plan, providers } = built;
  await closeProviders(providers);
  await writePlan(plan, opts.format, io, { verbose: opts.verbose === true });
  if (opts.out) {
    await (await import("./plan/saved.js")).savePlan(opts.out, plan, config.hash);
    io.stderr(`dkimsync: plan saved to ${opts.out}; apply it with: dkimsync apply --plan ${opts.out}\n`);
  }
  if (plan.errors.length > 0) return 1;
  if (opts.detailedExitcode && hasChanges(plan)) return 2;
  return 0;
}

/**
 * `apply --plan FILE`: the file is an approval. Plan again for the same domains from the config
 * and the live records; write only the zones whose fresh plan equals the saved one; refuse the
 * others, saying what differs (docs/safety.md "Saved plans are approvals").
 */
async function approvedPlan(
  file: string,
  config: Config,
  context: ProviderContext,
  io: Io,
  progress: Progress,
): Promise<{ plan: Plan; providers: ProviderSet; refused: ZoneRefusal[] }> {
  const [{ checkSavedPlan, loadPlan }, { comparePlans, planScope }, { buildPlan }] = await Promise.all([
    import("./plan/saved.js"),
    import("./plan/safety.js"),
    planModules(),
  ]);
  const loaded = await loadPlan(file);
  // A file no config could have produced is refused whole, before any provider is contacted.
  checkSavedPlan(loaded.plan, config, file, loaded.saved);
  if (loaded.saved.config_hash !== config.hash) {
    io.stderr(
      `dkimsync: warning: ${config.displayFile} changed since ${file} was made; only zones whose plan is still exactly the saved one are applied\n`,
    );
  }
  const scope = planScope(loaded.plan);
  if (scope.domains.length === 0) return { plan: { zones: [], errors: [] }, providers: new Map(), refused: [] };
  const fresh = await buildPlan({ config, domains: scope.domains, providers: scope.providers, context, progress });
  const { approved, refused } = comparePlans(loaded.plan, fresh.plan);
  return { plan: { zones: approved, errors: fresh.plan.errors }, providers: fresh.providers, refused };
}

async function applyCommand(
  opts: {
    config: string;
    plan?: string;
    force?: boolean;
    wait?: boolean;
    format: Format;
    domain: string[];
    provider: string[];
    verbose?: boolean;
  },
  io: Io,
): Promise<number> {
  const context = { log: io.progress, wait: opts.wait === true };
  const config = await loadChecked(opts.config);
  const { Progress } = await planModules();
  const progress = new Progress(io.stderr, { tty: io.stderrIsTTY === true }).start();
  try {
    return await applyWithProgress(opts, io, context, config, progress);
  } finally {
    progress.stop();
  }
}

async function applyWithProgress(
  opts: { plan?: string; force?: boolean; format: Format; domain: string[]; provider: string[]; verbose?: boolean },
  io: Io,
  context: ProviderContext,
  config: Config,
  progress: Progress,
): Promise<number> {
  const [
    { buildPlan, closeProviders, hasChanges, selectDomains },
    { applyPlan, filterPlan, isApplyFailure, NOT_STARTED },
  ] = await Promise.all([planModules(), applyModules()]);
  const [{ desiredState }, { renderApplyChunks }] = await Promise.all([
    import("./core/desired.js"),
    import("./render/apply.js"),
  ]);
  let plan: Plan;
  let providers: ProviderSet;
  let refused: ZoneRefusal[] = [];
  if (opts.plan) {
    ({ plan, providers, refused } = await approvedPlan(opts.plan, config, context, io, progress));
    // --domain/--provider narrow a saved plan the way they narrow a fresh one.
    if (opts.domain.length > 0 || opts.provider.length > 0) {
      const names = selectDomains(config, desiredState(config), { domains: opts.domain, providers: opts.provider }).map(
        (d) => d.domain,
      );
      plan = filterPlan(plan, { ...(opts.domain.length > 0 ? { domains: names } : {}), providers: opts.provider });
    }
  } else {
    ({ plan, providers } = await buildPlan({
      config,
      context,
      domains: opts.domain,
      providers: opts.provider,
      progress,
    }));
  }
  progress.phase = "zones written";
  progress.total = plan.zones.filter((z) => z.changes.length > 0 || z.conflicts.length > 0).length;
  progress.done = 0;
  const interrupt = new AbortController();
  const stopListening = io.onInterrupt?.((why) => {
    if (!interrupt.signal.aborted) io.stderr(`dkimsync: ${why}: finishing the zone(s) in flight, starting no others\n`);
    interrupt.abort(why);
  });
  try {
    if (opts.format === "text")
      await writePlan(plan, "text", io, { verbose: opts.verbose === true, force: opts.force === true });
    // A reader that has gone away (apply | head -1) is noticed before the first write, not after.
    await io.flush?.();
    const result: ApplyResult =
      hasChanges(plan) && !interrupt.signal.aborted
        ? await applyPlan({
            plan,
            providers,
            force: opts.force === true,
            checkStale: false,
            // The per-zone lines are shown only on a terminal; elsewhere each would still be
            // built and redacted for nothing, once per written zone.
            ...(io.stderrIsTTY === true ? { log: io.progress } : {}),
            config,
            signal: interrupt.signal,
          })
        : { zones: [], planErrors: plan.errors };
    for (const r of refused) {
      result.zones.push({
        provider: r.provider,
        zone: r.zone,
        outcome: "stale",
        changes: [],
        written: 0,
        message: `refused: the plan made now differs from ${opts.plan}; nothing was written to this zone: ${r.differences.join("; ")}. Run plan --out again and review it`,
      });
    }
    await writeChunks(renderApplyChunks(plan, result, opts.format, io.color ? ansi : plain), io);
    if (interrupt.signal.aborted) return interruptedExit(String(interrupt.signal.reason), result, io, NOT_STARTED);
    return isApplyFailure(result) ? 1 : 0;
  } finally {
    stopListening?.();
    await closeProviders(providers);
  }
}

/**
 * Exit codes of an interrupted apply (docs/safety.md "Signals and closed output"): 3 when some
 * zones were written before the run stopped, 4 when nothing was written. stderr lists each
 * zone written, since stdout may be gone.
 */
export const EXIT_INTERRUPTED_PARTIAL = 3;
export const EXIT_INTERRUPTED_NOTHING = 4;

/** `notStarted`: how apply marks a zone it never began (plan/apply.ts NOT_STARTED, loaded with the apply path). */
function interruptedExit(why: string, result: ApplyResult, io: Io, notStarted: string): number {
  const written = result.zones.filter(
    (z) =>
      z.outcome === "applied" ||
      z.outcome === "unconverged" ||
      (z.outcome === "failed" && !(z.message ?? "").startsWith(notStarted) && !(z.message ?? "").startsWith("refused")),
  );
  const applied = result.zones.filter((z) => z.outcome === "applied");
  if (written.length === 0) {
    io.stderr(`dkimsync: interrupted (${why}): nothing was written\n`);
    return EXIT_INTERRUPTED_NOTHING;
  }
  io.stderr(
    `dkimsync: interrupted (${why}): ${applied.reduce((n, z) => n + z.changes.length, 0)} change(s) written and read back in ${applied.length} zone(s); no zone was left half-written:\n`,
  );
  for (const z of written)
    io.stderr(
      `  ${z.outcome === "applied" ? "written" : z.outcome}: ${z.provider} · ${z.zone}${z.message ? ` (${z.message})` : ""}\n`,
    );
  return EXIT_INTERRUPTED_PARTIAL;
}

/**
 * Control characters and bidirectional overrides in an error (they can come from a bad input
 * value) are shown as \u escapes: a message must not move the cursor, recolour the terminal or
 * reorder what the user reads (Unicode TR #36 3.2 on bidi spoofing).
 */
function visible(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function reportError(err: unknown, io: Io): number {
  if (process.env.DKIMSYNC_DEBUG) io.stderr(`${(err as Error)?.stack ?? String(err)}\n`);
  if (err instanceof DkimsyncError) {
    io.stderr(`dkimsync: error: ${visible(err.message)}\n`);
    for (const line of err.hint?.split("\n") ?? []) io.stderr(`  hint: ${visible(line)}\n`);
    return 1;
  }
  io.stderr(
    `dkimsync: internal error: ${(err as Error)?.message ?? String(err)}\n  (a bug: please report it; DKIMSYNC_DEBUG=1 shows the stack)\n`,
  );
  return 1;
}

export async function main(argv: string[], rawIo: Io = defaultIo()): Promise<number> {
  // One redactor for everything printed (text, Markdown, JSON, errors, debug stacks): every
  // resolved env/ secret and the AWS credential variables become [redacted] (core/errors.ts).
  const io: Io = {
    ...rawIo,
    stdout: (s) => rawIo.stdout(redact(s)),
    stderr: (s) => rawIo.stderr(redact(s)),
    progress: (s) => rawIo.progress(redact(s)),
  };
  let code = 0;
  const run = (fn: () => Promise<number>) => async () => {
    code = await fn();
  };
  const program = new Command("dkimsync")
    .description("DNS-as-code for Microsoft 365 DKIM: plan, apply and verify the selector CNAMEs of your domains")
    .version(version(), "-V, --version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command("plan")
    .description("show what differs between dkim.zones.yaml and what the providers serve")
    .option("-c, --config <file>", "config file", "dkim.zones.yaml")
    .option("--domain <domain>", "only this domain (repeatable)", collect, [])
    .option("--provider <name>", "only this provider (repeatable)", collect, [])
    .addOption(formatOption())
    .option("--out <file>", "save the plan (with fingerprints) for apply --plan")
    .option("--detailed-exitcode", "exit 2 when changes are pending, 0 when none")
    .option("--verbose", "show unchanged zones in full")
    .action(function (this: Command) {
      return run(() => planCommand(this.opts(), io))();
    });

  program
    .command("apply")
    .description("make the providers serve what dkim.zones.yaml says, then read back to confirm")
    .option("-c, --config <file>", "config file", "dkim.zones.yaml")
    .option("--plan <file>", "apply a plan saved with plan --out; zones changed since are refused")
    .option("--force", "replace records that conflict with a selector CNAME (e.g. an old TXT key)")
    .option(
      "--wait",
      "after writing, wait until the provider reports the change in sync (Route 53 GetChange, Cloud DNS changes.get)",
    )
    .option("--domain <domain>", "only this domain (repeatable)", collect, [])
    .option("--provider <name>", "only this provider (repeatable)", collect, [])
    .option("--verbose", "show unchanged zones in full")
    .addOption(formatOption())
    .action(function (this: Command) {
      return run(() => applyCommand(this.opts(), io))();
    });

  program
    .command("validate")
    .description("check dkim.zones.yaml, its signing_config and yaml zone files: no credentials, no network")
    .option("-c, --config <file>", "config file", "dkim.zones.yaml")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action(function (this: Command) {
      const o = this.opts();
      return run(async () =>
        (await import("./commands/validate.js")).validateCommand({ config: o.config, format: o.format }, io),
      )();
    });

  program
    .command("verify")
    .description("check over DNS that the selector CNAMEs resolve and the keys behind them are sound")
    .option("-c, --config <file>", "config file", "dkim.zones.yaml")
    .option("--domain <domain>", "only this domain (repeatable)", collect, [])
    .option("--nameserver <host[:port]>", "authoritative server to ask (default: the zone's NS records)")
    .option("--resolver <host[:port]>", "recursive resolver to ask (default: the system's)")
    .addOption(formatOption())
    .action(function (this: Command) {
      const o = this.opts();
      return run(async () =>
        (await import("./commands/verify.js")).verifyCommand(
          { config: o.config, domains: o.domain, nameserver: o.nameserver, resolver: o.resolver, format: o.format },
          io,
        ),
      )();
    });

  program
    .command("import")
    .description("write Microsoft's exact selector targets into dkim.zones.yaml")
    .argument(
      "<file>",
      'Get-DkimSigningConfig JSON, its Format-List text, or the Exchange "CNAME record does not exist" error text',
    )
    .option("-c, --config <file>", "config file to edit", "dkim.zones.yaml")
    .option("--add", "also add domains that are not yet in the config (needs --provider)")
    .option("--provider <name>", "provider for domains added with --add")
    .option("--dry-run", "show what would change without writing")
    .action(function (this: Command, file: string) {
      const o = this.opts();
      return run(async () =>
        (await import("./commands/import.js")).importCommand(
          { file, config: o.config, add: o.add === true, provider: o.provider, dryRun: o.dryRun === true },
          io,
        ),
      )();
    });

  program
    .command("exchange")
    .description(
      "write the Exchange Online PowerShell for each domain's next DKIM step (create keys, enable, rotate), from signing_config and a fresh verify",
    )
    .option("-c, --config <file>", "config file", "dkim.zones.yaml")
    .option("--domain <domain>", "only this domain (repeatable)", collect, [])
    .option("--nameserver <host[:port]>", "authoritative server to ask (default: the zone's NS records)")
    .option("--resolver <host[:port]>", "recursive resolver to ask (default: the system's)")
    .addOption(
      new Option("--format <format>", "text is the PowerShell script").choices(["text", "json"]).default("text"),
    )
    .action(function (this: Command) {
      const o = this.opts();
      return run(async () =>
        (await import("./commands/exchange.js")).exchangeCommand(
          { config: o.config, domains: o.domain, nameserver: o.nameserver, resolver: o.resolver, format: o.format },
          io,
        ),
      )();
    });

  program
    .command("headers")
    .description("explain a received message's DKIM, ARC, SPF and DMARC results")
    .argument("<message>", "the message (.eml), or just its headers")
    .option("-c, --config <file>", "config file (to check d= against configured domains)", "dkim.zones.yaml")
    .option("--verify", "also verify the DKIM signatures over DNS")
    .option("--resolver <host[:port]>", "resolver for --verify (default: the system's)")
    .addOption(formatOption())
    .action(function (this: Command, message: string) {
      const o = this.opts();
      const configExplicit = this.getOptionValueSource("config") !== "default";
      return run(async () =>
        (await import("./commands/headers.js")).headersCommand(
          {
            message,
            config: o.config,
            configExplicit,
            verify: o.verify === true,
            resolver: o.resolver,
            format: o.format,
          },
          io,
        ),
      )();
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; usage errors (already printed) with 1.
      return err.exitCode === 0 ? 0 : 1;
    }
    return reportError(err, io);
  }
}
