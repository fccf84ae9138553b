/**
 * Commands, flags and exit codes (DESIGN.md "CLI"): 0 success / no changes, 1 error (bad input,
 * unsafe plan, provider failure, stale plan), 2 differences found (plan --detailed-exitcode,
 * verify with a failed check). A user error never prints a stack trace; DKIMSYNC_DEBUG=1 does.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { applyPlan, isApplyFailure, type ApplyResult } from "./plan/apply.js";
import { loadConfig } from "./config/load.js";
import type { ProviderContext } from "../providers/index.js";
import type { Config } from "./config/types.js";
import { DkimsyncError } from "./core/errors.js";
import { checkSavedPlan, loadPlan, savePlan } from "./plan/saved.js";
import { buildPlan, closeProviders, createProvider, hasChanges, type ProviderSet } from "./plan/build.js";
import { renderApply } from "./render/apply.js";
import { renderJson } from "./render/json.js";
import { renderMarkdown } from "./render/markdown.js";
import { ansi, plain, useColor } from "./render/style.js";
import { renderText } from "./render/text.js";
import type { Plan } from "./core/types.js";

type Format = "text" | "markdown" | "json";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  color: boolean;
  /** Progress for people, on stderr, only when stderr is a terminal. */
  progress: (s: string) => void;
}

function defaultIo(): Io {
  const progress = process.stderr.isTTY === true;
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    color: useColor(process.stdout),
    progress: (s) => {
      if (progress) process.stderr.write(`${s}\n`);
    },
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

const formatOption = () =>
  new Option("--format <format>", "output format").choices(["text", "markdown", "json"]).default("text");

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function renderPlan(plan: Plan, format: Format, io: Io): string {
  if (format === "json") return renderJson(plan);
  if (format === "markdown") return renderMarkdown(plan);
  return renderText(plan, io.color ? ansi : plain);
}

async function planCommand(opts: { config: string; domain: string[]; provider: string[]; format: Format; out?: string; detailedExitcode?: boolean }, io: Io): Promise<number> {
  const config = loadConfig(opts.config);
  const { plan, providers } = await buildPlan({ config, domains: opts.domain, providers: opts.provider, context: { log: io.progress } });
  await closeProviders(providers);
  io.stdout(renderPlan(plan, opts.format, io));
  if (opts.out) {
    await savePlan(opts.out, plan, config.hash);
    io.stderr(`dkimsync: plan saved to ${opts.out}; apply it with: dkimsync apply --plan ${opts.out}\n`);
  }
  if (plan.errors.length > 0) return 1;
  if (opts.detailedExitcode && hasChanges(plan)) return 2;
  return 0;
}

async function providersForPlan(plan: Plan, config: Config, context: ProviderContext): Promise<ProviderSet> {
  const providers: ProviderSet = new Map();
  for (const z of plan.zones) {
    if (providers.has(z.provider)) continue;
    const pc = config.providers.get(z.provider);
    if (!pc) {
      throw new DkimsyncError(`the plan writes to provider "${z.provider}", which ${config.displayFile} does not define`, {
        hint: "apply the plan with the config it was made from, or make a new plan",
      });
    }
    providers.set(z.provider, await createProvider(pc, config, process.env, context));
  }
  return providers;
}

async function applyCommand(opts: { config: string; plan?: string; force?: boolean; wait?: boolean; format: Format }, io: Io): Promise<number> {
  const context = { log: io.progress, wait: opts.wait === true };
  const config = loadConfig(opts.config);
  let plan: Plan;
  let providers: ProviderSet;
  if (opts.plan) {
    const loaded = await loadPlan(opts.plan);
    plan = loaded.plan;
    checkSavedPlan(plan, config, opts.plan);
    if (loaded.saved.config_hash !== config.hash) {
      io.stderr(`dkimsync: warning: ${config.displayFile} changed since ${opts.plan} was made; every record the plan writes still matches it, so the plan is applied as saved (zones that changed are refused)\n`);
    }
    providers = await providersForPlan(plan, config, context);
  } else {
    ({ plan, providers } = await buildPlan({ config, context }));
  }
  try {
    if (opts.format === "text") io.stdout(renderPlan(plan, "text", io));
    const result: ApplyResult = hasChanges(plan)
      ? await applyPlan({ plan, providers, force: opts.force === true, checkStale: opts.plan !== undefined, log: io.progress })
      : { zones: [], planErrors: plan.errors };
    io.stdout(renderApply(plan, result, opts.format, io.color ? ansi : plain));
    return isApplyFailure(result) ? 1 : 0;
  } finally {
    await closeProviders(providers);
  }
}

function reportError(err: unknown, io: Io): number {
  if (process.env.DKIMSYNC_DEBUG) io.stderr(`${(err as Error)?.stack ?? String(err)}\n`);
  if (err instanceof DkimsyncError) {
    io.stderr(`dkimsync: error: ${err.message}\n`);
    for (const line of err.hint?.split("\n") ?? []) io.stderr(`  hint: ${line}\n`);
    return 1;
  }
  io.stderr(`dkimsync: internal error: ${(err as Error)?.message ?? String(err)}\n  (a bug: please report it; DKIMSYNC_DEBUG=1 shows the stack)\n`);
  return 1;
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
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
    .action(function (this: Command) {
      return run(() => planCommand(this.opts(), io))();
    });

  program
    .command("apply")
    .description("make the providers serve what dkim.zones.yaml says, then read back to confirm")
    .option("-c, --config <file>", "config file", "dkim.zones.yaml")
    .option("--plan <file>", "apply a plan saved with plan --out; zones changed since are refused")
    .option("--force", "replace records that conflict with a selector CNAME (e.g. an old TXT key)")
    .option("--wait", "after writing, wait until the provider reports the change in sync (Route 53 GetChange)")
    .addOption(formatOption())
    .action(function (this: Command) {
      return run(() => applyCommand(this.opts(), io))();
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
      return run(async () => (await import("./commands/verify.js")).verifyCommand({ config: o.config, domains: o.domain, nameserver: o.nameserver, resolver: o.resolver, format: o.format }, io))();
    });

  program
    .command("import")
    .description("write Microsoft's exact selector targets into dkim.zones.yaml")
    .argument("<file>", "Get-DkimSigningConfig JSON, its Format-List text, or the Exchange \"CNAME record does not exist\" error text")
    .option("-c, --config <file>", "config file to edit", "dkim.zones.yaml")
    .option("--add", "also add domains that are not yet in the config (needs --provider)")
    .option("--provider <name>", "provider for domains added with --add")
    .option("--dry-run", "show what would change without writing")
    .action(function (this: Command, file: string) {
      const o = this.opts();
      return run(async () => (await import("./commands/import.js")).importCommand({ file, config: o.config, add: o.add === true, provider: o.provider, dryRun: o.dryRun === true }, io))();
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
      return run(async () => (await import("./commands/headers.js")).headersCommand({ message, config: o.config, configExplicit, verify: o.verify === true, resolver: o.resolver, format: o.format }, io))();
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
