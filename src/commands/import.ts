/**
 * `dkimsync import FILE`: write Microsoft's exact selector targets into dkim.zones.yaml.
 * Every change is shown (old -> new) before the file is written; --dry-run only shows.
 */
import { InputError } from "../core/errors.js";
import { editConfigTargets, type EditOutcome, type ImportTargets } from "../m365/import-edit.js";
import {
  acquireLock,
  decodeYaml,
  FileChangedError,
  LockTimeoutError,
  removeStaleTemps,
  writeFileAtomic,
  type FileLock,
} from "../util/fs.js";
import { decodeInput, parseImport, type ImportedEntry } from "../m365/import-parse.js";
import { targetWarnings } from "../m365/targets.js";
import { MAX_SIGNING_CONFIG_BYTES, TooLargeError, readFileBounded } from "../util/fs.js";

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  color: boolean;
}

export interface ImportOptions {
  /** The export or pasted text to read. */
  file: string;
  /** dkim.zones.yaml to edit. */
  config: string;
  /** Append domains missing from the config (needs `provider`). */
  add: boolean;
  provider?: string;
  /** Show what would change without writing. */
  dryRun?: boolean;
}

export async function importCommand(opts: ImportOptions, io: Io): Promise<number> {
  const input = await readFile(
    opts.file,
    "the file to import",
    "export it with: Get-DkimSigningConfig | ConvertTo-Json > dkim.json",
  );
  const parsed = parseImport(decodeInput(input), opts.file);
  // The config's lock is held from the read to the write, so two imports (or an import and
  // another dkimsync writer) never edit the same config at once; --dry-run writes nothing.
  const lock = opts.dryRun ? undefined : await lockConfig(opts.config);
  try {
    return await importLocked(opts, io, parsed, lock);
  } finally {
    await lock?.release().catch(() => undefined);
  }
}

async function importLocked(
  opts: ImportOptions,
  io: Io,
  parsed: ReturnType<typeof parseImport>,
  lock: FileLock | undefined,
): Promise<number> {
  const bytes = await readFile(opts.config, "the config", "pass -c path/to/dkim.zones.yaml, or create dkim.zones.yaml");
  // Bytes that are not UTF-8 (a Latin-1 comment) are kept as they are, not turned into U+FFFD.
  const decoded = decodeYaml(bytes);
  if ("refused" in decoded)
    throw new InputError({ file: opts.config }, decoded.refused, { hint: "save it as UTF-8 text" });
  const source = decoded.text;

  const paint = painter(io.color);
  const targets: ImportTargets[] = [];
  const notes: string[] = [];
  for (const e of parsed.entries) {
    const skip = skipReason(e);
    if (skip !== undefined) notes.push(`${paint.dim("skip")}      ${e.domain}: ${skip}`);
    else targets.push({ domain: e.domain, selector1: e.selector1 as string, selector2: e.selector2 as string });
  }

  const result = editConfigTargets(source, opts.config, targets, {
    add: opts.add,
    ...(opts.provider === undefined ? {} : { provider: opts.provider }),
  });

  const lines: string[] = [];
  for (const o of result.outcomes) lines.push(...describe(o, paint, opts.provider));
  lines.push(...notes);
  for (const l of lines) io.stdout(`${l}\n`);
  for (const t of targets) {
    for (const w of targetWarnings(t.domain, t.selector1)) io.stderr(`warning: ${t.domain}: ${w}\n`);
  }

  const count = (a: EditOutcome["action"]): number => result.outcomes.filter((o) => o.action === a).length;
  const summary = `${count("update")} updated, ${count("add")} added, ${count("unchanged")} unchanged, ${count("skip") + notes.length} skipped`;
  if (!result.changed) {
    io.stdout(`${opts.config}: nothing to change (${summary}).\n`);
  } else if (opts.dryRun) {
    io.stdout(`${opts.config}: not written (--dry-run; ${summary}).\n`);
  } else {
    await removeStaleTemps(opts.config).catch(() => undefined);
    // A symbolic link stays a link (the file it points to is replaced), mode and owner stay.
    await writeFileAtomic(opts.config, decoded.encode(result.text), {
      expect: bytes,
      ...(lock ? { beforeRename: () => lock.verify() } : {}),
    }).catch((err: unknown) => {
      if (err instanceof FileChangedError) {
        throw new InputError(
          { file: opts.config },
          "changed while import was running (another program wrote it); nothing was written",
          { cause: err, hint: "run dkimsync import again" },
        );
      }
      throw new InputError(
        { file: opts.config },
        `could not be written: ${(err as Error).message}; nothing was written`,
        {
          cause: err,
          hint: "check that the file and its folder are writable (a temporary file is created next to it)",
        },
      );
    });
    io.stdout(`${opts.config}: written (${summary}). Review it, then run dkimsync plan.\n`);
  }
  return 0;
}

/** Why an imported entry is not written, or undefined when it is. */
function skipReason(e: ImportedEntry): string | undefined {
  // The initial domain first: Microsoft signs it with its own keys and exports it without CNAMEs
  // (Status Valid), so it must not read as "no keys yet, run New-DkimSigningConfig".
  if (/^[^.]+\.onmicrosoft\.com$/.test(e.domain)) {
    return "the initial *.onmicrosoft.com domain: Microsoft signs it with its own keys and publishes its records; nothing to import or create";
  }
  if (e.selector1 === undefined || e.selector2 === undefined) {
    return (
      `Microsoft has no DKIM keys for it yet (Status ${e.status ?? "unknown"}); ` +
      `create them with New-DkimSigningConfig -DomainName ${e.domain} -Enabled $false, then export again`
    );
  }
  // Another *.onmicrosoft.com name is Microsoft's own zone too: its records are published for it.
  if (e.domain.endsWith(".onmicrosoft.com")) return "a .onmicrosoft.com domain; Microsoft publishes its records";
  return undefined;
}

function describe(o: EditOutcome, paint: Painter, provider: string | undefined): string[] {
  switch (o.action) {
    case "unchanged":
      return [`${paint.dim("unchanged")} ${o.domain}`];
    case "skip":
      return [
        `${paint.dim("skip")}      ${o.domain}: not in the config; use --add --provider ${provider ?? "P"} to add it`,
      ];
    case "add":
      return [
        `${paint.green("add")}       ${o.domain} (provider ${o.provider})`,
        ...o.changes.map((c) => `            ${c.selector}: ${c.after}`),
      ];
    case "update":
      return [
        `${paint.yellow("update")}    ${o.domain}`,
        ...o.changes.flatMap((c) => [
          `            ${c.selector}: ${c.before ?? "(not set)"}`,
          `                    -> ${c.after}`,
        ]),
      ];
  }
}

interface Painter {
  green: (s: string) => string;
  yellow: (s: string) => string;
  dim: (s: string) => string;
}

function painter(color: boolean): Painter {
  const wrap = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { green: wrap("32"), yellow: wrap("33"), dim: wrap("2") };
}

async function lockConfig(config: string): Promise<FileLock> {
  try {
    return await acquireLock(config);
  } catch (err) {
    const msg =
      err instanceof LockTimeoutError ? `is locked: ${err.message}` : `cannot be locked: ${(err as Error).message}`;
    throw new InputError({ file: config }, `${msg}; nothing was written`, {
      cause: err,
      hint:
        err instanceof LockTimeoutError
          ? `another dkimsync import is writing it: run again when it has finished. If none runs, delete ${err.lockFile}`
          : "dkimsync creates a .<name>.lock file next to the config: check that the folder is writable",
    });
  }
}

async function readFile(file: string, what: string, hint: string): Promise<Buffer> {
  try {
    // Bounded: a wrong path (/dev/zero) ends with a message, not an exhausted heap.
    return readFileBounded(file, MAX_SIGNING_CONFIG_BYTES);
  } catch (err) {
    if (err instanceof TooLargeError)
      throw new InputError(
        { file },
        `${what} is larger than ${MAX_SIGNING_CONFIG_BYTES / 1024 / 1024} MiB; refusing to read it`,
        { hint },
      );
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "does not exist"
        : code === "EISDIR"
          ? "is a folder"
          : `cannot be read (${code ?? (err as Error).message})`;
    throw new InputError({ file }, `${what} ${why}`, { cause: err, hint });
  }
}
