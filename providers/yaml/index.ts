/**
 * Provider `yaml`: octoDNS-style zone files, `<directory>/<zone>.yaml`. The embedded default:
 * it needs no credentials, and a pull request shows the zone file diff next to the plan.
 */
import path from "node:path";
import { domainToASCII, domainToUnicode } from "node:url";
import { ProviderError, errorMessage } from "../../src/core/errors.js";
import { canonical } from "../../src/core/names.js";
import type { OptionsReader } from "../../src/config/options.js";
import type { Change, Provider, RecordSet } from "../../src/core/types.js";
import type { ProviderFactory } from "../types.js";
import { describe, editZone } from "./batch.js";
import { parseZone, sameRecords, ZoneFileError } from "./convert.js";
import type { ParsedZone } from "./convert.js";
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

  /**
   * The records of each file this provider just wrote, with the text they were parsed from. The
   * read-back after apply (src/apply.ts) still reads the file; when it holds exactly that text,
   * parsing it again could only give the same records, and a parse is most of what a read costs.
   * An entry is used once: by the next read of that file.
   */
  const written = new Map<string, { text: string; records: RecordSet[] }>();

  async function load(zone: string): Promise<{ file: string; text: string; parsed: ParsedZone }> {
    const { file, text } = await read(zone);
    written.delete(file);
    return { file, text, parsed: parse(file, text, zone) };
  }

  async function read(zone: string): Promise<{ file: string; text: string }> {
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
    return { file, text };
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
      const { file, text } = await read(zone);
      const known = written.get(file);
      written.delete(file);
      const records = known?.text === text ? known.records : parse(file, text, zone).records.map((r) => r.set);
      const wanted = new Set(names.map(canonical));
      return records.filter((r) => wanted.has(r.name)).map((r) => ({ ...r, values: [...r.values] }));
    },

    async apply(zone, changes) {
      if (changes.length === 0) return;
      const { file, text: original, parsed } = await load(zone);
      // A file with Windows line endings throughout is edited with "\n" and written back with
      // "\r\n", so the new lines match the old ones; a file that mixes both is edited as it is.
      const crlf = original.includes("\r\n") && !/(^|[^\r])\n/.test(original);
      const text = crlf ? original.replaceAll("\r\n", "\n") : original;
      const ctx = { zone, file, fail: (message: string, extra?: { cause?: unknown; hint?: string }) => fail(zone, message, extra) };
      const { text: out, parsed: current } = editZone(text, crlf ? parse(file, text, zone) : parsed, changes, ctx);
      checkResult(current, zone, changes, file);
      try {
        await writeFileAtomic(file, crlf ? out.replaceAll("\n", "\r\n") : out);
      } catch (cause) {
        throw fail(zone, `cannot write ${file}: ${errorMessage(cause)}; the file is unchanged`, { cause, hint: "check that the zone file and its folder are writable, then run dkimsync apply again" });
      }
      // Only the text that was parsed: the CRLF form was not.
      if (!crlf) written.set(file, { text: out, records: current.records.map((r) => r.set) });
    },
  } satisfies Provider;

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
