/**
 * Provider `yaml`: octoDNS-style zone files, `<directory>/<zone>.yaml`. The embedded default:
 * it needs no credentials, and a pull request shows the zone file diff next to the plan.
 */
import path from "node:path";
import { domainToASCII, domainToUnicode } from "node:url";
import { ProviderError, errorMessage } from "../../src/errors.js";
import { canonical } from "../../src/names.js";
import type { OptionsReader } from "../../src/options.js";
import type { Change, Provider, RecordSet } from "../../src/types.js";
import type { ProviderFactory } from "../registry.js";
import { canWrite, parseZone, sameRecords, ZoneFileError } from "./convert.js";
import type { ParsedZone } from "./convert.js";
import { createRecord, deleteRecord, replaceEntry, updateRecord } from "./edit.js";
import { readText, writeFileAtomic, zoneFileNames } from "./files.js";

export interface YamlOptions {
  /** Folder of the zone files, resolved from the config file's folder. Required. */
  directory: string;
}

export function readYamlOptions(options: OptionsReader): YamlOptions {
  const directory = options.path("directory", { required: true });
  options.done();
  return { directory };
}

export const createYamlProvider: ProviderFactory = (options) => {
  const { directory } = readYamlOptions(options);
  const name = options.src.provider;

  const fail = (zone: string | undefined, message: string, extra: { cause?: unknown; hint?: string } = {}) =>
    new ProviderError(name, message, { ...(zone === undefined ? {} : { zone }), ...extra });

  /**
   * The zone's file: `<zone>.yaml`, found the way zones() lists it (any case; an IDN zone under
   * its A-label or its UTF-8 name). octoDNS's YamlProvider reads either IDN form, refuses both at
   * once, and writes IDN zones under the UTF-8 name (octodns/provider/yaml.py, _zone_sources and
   * _apply). The exact name is tried first so a large directory is listed only when needed.
   */
  async function fileOf(zone: string): Promise<string> {
    const exact = path.join(directory, `${zone}.yaml`);
    if (domainToUnicode(zone) === zone && (await readText(exact).then((t) => t !== undefined, () => false))) return exact;
    const files = await zoneFileNames(directory).catch((cause: unknown) => {
      throw missingDirectory(cause, zone);
    });
    const matches = files.filter((f) => zoneName(f.slice(0, -".yaml".length)) === zone).sort();
    if (matches.length > 1) {
      throw fail(zone, `${matches.length} files in ${directory} hold zone ${zone}: ${matches.join(", ")}`, { hint: "merge them into one file and delete the others (octoDNS refuses this too)" });
    }
    return path.join(directory, matches[0] ?? `${zone}.yaml`);
  }

  async function load(zone: string): Promise<{ file: string; text: string; parsed: ParsedZone }> {
    const file = await fileOf(zone);
    let text: string | undefined;
    try {
      text = await readText(file);
    } catch (cause) {
      throw fail(zone, `cannot read ${file}: ${errorMessage(cause)}`, { cause });
    }
    if (text === undefined) {
      await zoneFileNames(directory).catch((cause: unknown) => {
        throw missingDirectory(cause, zone);
      });
      throw fail(zone, `zone file ${file} does not exist`, { hint: `create ${file} (an empty zone is "--- {}"), or point domains of zone ${zone} at another provider` });
    }
    return { file, text, parsed: parse(file, text, zone) };
  }

  function parse(file: string, text: string, zone: string): ParsedZone {
    try {
      return parseZone(text, zone);
    } catch (cause) {
      if (!(cause instanceof ZoneFileError)) throw cause;
      const where = cause.line === undefined ? file : `${file}:${cause.line}`;
      throw fail(zone, `${where}: ${cause.message}`, { cause, hint: `fix ${where} and run dkimsync again` });
    }
  }

  function missingDirectory(cause: unknown, zone?: string): ProviderError {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      return fail(zone, `zone directory ${directory} does not exist`, { cause, hint: `create it (mkdir -p ${directory}) or fix "directory" of provider "${name}"` });
    }
    return fail(zone, `cannot list zone directory ${directory}: ${errorMessage(cause)}`, { cause });
  }

  return {
    name,
    type: "yaml",
    capabilities: {
      atomicWrites: { can: true, source: "single rename(2) of the zone file" },
      readsOnlyNames: { can: false, reason: "a zone file is read whole" },
    },

    async zones() {
      const files = await zoneFileNames(directory).catch((cause: unknown) => {
        throw missingDirectory(cause);
      });
      return [...new Set(files.map((f) => zoneName(f.slice(0, -".yaml".length))))].sort();
    },

    async list(zone, names) {
      const { parsed } = await load(zone);
      const wanted = new Set(names.map(canonical));
      return parsed.records.filter((r) => wanted.has(r.set.name)).map((r) => ({ ...r.set, values: [...r.set.values] }));
    },

    async apply(zone, changes) {
      if (changes.length === 0) return;
      const { file, text: original } = await load(zone);
      // A file with Windows line endings throughout is edited with "\n" and written back with
      // "\r\n", so the new lines match the old ones; a file that mixes both is edited as it is.
      const crlf = original.includes("\r\n") && !/(^|[^\r])\n/.test(original);
      const text = crlf ? original.replaceAll("\r\n", "\n") : original;
      let out = text;
      let current = parse(file, text, zone);
      const done = new Set<Change>();
      for (const [i, change] of changes.entries()) {
        if (done.has(change)) continue;
        const successor = replacement(current, changes, i);
        if (successor) done.add(successor);
        out = applyOne(out, current, zone, change, file, successor);
        current = reparse(out, zone, file, change);
      }
      checkResult(current, zone, changes, file);
      try {
        await writeFileAtomic(file, crlf ? out.replaceAll("\n", "\r\n") : out);
      } catch (cause) {
        throw fail(zone, `cannot write ${file}: ${errorMessage(cause)}; the file is unchanged`, { cause, hint: "check that the zone file and its folder are writable, then run dkimsync apply again" });
      }
    },
  } satisfies Provider;

  /**
   * The file after one edit must still load. It may not when the edited record held an anchor
   * (`&name`) that another record's alias (`*name`) still uses.
   */
  function reparse(text: string, zone: string, file: string, change: Change): ParsedZone {
    try {
      return parseZone(text, zone);
    } catch (cause) {
      if (!(cause instanceof ZoneFileError)) throw cause;
      throw fail(zone, `${file}: writing ${change.action} ${change.type} ${change.name} would leave the file invalid (${cause.message}); nothing was written`, {
        cause,
        hint: "the record probably defines an anchor (&name) that an alias (*name) elsewhere uses: write that value out in full at the alias, then run dkimsync again",
      });
    }
  }

  /**
   * The create that re-fills a name this delete empties (`--force` replacing a conflicting
   * record): the new record then takes the old one's place in the file, next to its comments.
   */
  function replacement(parsed: ParsedZone, changes: readonly Change[], i: number): Change | undefined {
    const change = changes[i];
    if (change?.action !== "delete") return undefined;
    if (parsed.records.filter((r) => r.set.name === change.name).length !== 1) return undefined;
    return changes.slice(i + 1).find((c) => c.action === "create" && c.name === change.name && c.after !== null && canWrite(c.type));
  }

  function applyOne(text: string, parsed: ParsedZone, zone: string, change: Change, file: string, successor?: Change): string {
    const target = change.after ?? change.before;
    if (target === null) throw new Error(`change ${change.action} ${change.name} has neither before nor after`);
    const found = parsed.records.find((r) => r.set.name === change.name && r.set.type === change.type);
    const stale = (now: string) =>
      fail(zone, `${change.type} ${change.name} changed in ${file} since the plan was made (${now})`, { hint: "run dkimsync plan again and review the new plan" });
    if (change.action === "create") {
      if (found) throw stale(`it now exists: ${describe(found.set)}`);
    } else {
      if (!found) throw stale("it no longer exists");
      if (change.before !== null && !sameRecords(found.set, change.before)) throw stale(`expected ${describe(change.before)}, found ${describe(found.set)}`);
    }
    if (change.after !== null && !canWrite(change.type)) {
      throw fail(zone, `dkimsync does not write ${change.type} records (${change.name})`);
    }
    try {
      if (change.action === "delete" && found && successor?.after) return replaceEntry(text, parsed, found, successor.after);
      if (change.action === "delete" && found) return deleteRecord(text, parsed, found);
      if (change.action === "update" && found && change.after) return updateRecord(text, parsed, found, change.after);
      if (change.action === "create" && change.after) return createRecord(text, parsed, zone, change.after);
    } catch (cause) {
      if (cause instanceof ZoneFileError) throw fail(zone, `${file}: ${cause.message}`, { cause });
      throw cause;
    }
    throw new Error(`change ${change.action} ${change.name} is incomplete`);
  }

  /** The edited text must hold exactly the records the changes asked for, and a valid zone. */
  function checkResult(parsed: ParsedZone, zone: string, changes: readonly Change[], file: string): void {
    const expected = new Map<string, RecordSet | null>();
    for (const c of changes) expected.set(`${c.name} ${c.type}`, c.after);
    for (const [key, want] of expected) {
      const [recName, type] = key.split(" ") as [string, string];
      const got = parsed.records.find((r) => r.set.name === recName && r.set.type === type)?.set;
      if ((want === null) !== (got === undefined) || (want && got && !sameRecords(want, got))) {
        throw new Error(`internal error editing ${file}: ${type} ${recName} came out as ${got ? describe(got) : "absent"}`);
      }
    }
    // RFC 1034 3.6.2, RFC 2181 10.1: a CNAME shares its name with nothing. Route 53, Cloudflare
    // and PowerDNS reject such a write, and octoDNS refuses to load such a zone.
    for (const c of changes) {
      const atName = parsed.records.filter((r) => r.set.name === c.name);
      if (atName.some((r) => r.set.type === "CNAME") && atName.length > 1) {
        throw fail(zone, `${c.name} would hold a CNAME beside ${atName.filter((r) => r.set.type !== "CNAME").map((r) => r.set.type).join(", ")} records (RFC 1034 3.6.2)`, {
          hint: "remove the other records at that name, or let dkimsync apply --force replace them",
        });
      }
    }
  }
};

/** The canonical zone of a file name, which may be written in UTF-8 (see fileOf). */
function zoneName(base: string): string {
  const name = canonical(base);
  return /^[\x00-\x7f]*$/.test(name) ? name : domainToASCII(name) || name;
}

function describe(set: RecordSet): string {
  return `ttl ${set.ttl} ${set.values.join(", ") || "(no values)"}`;
}
