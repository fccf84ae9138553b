/**
 * Provider `yaml`: octoDNS-style zone files, `<directory>/<zone>.yaml`. The embedded default:
 * it needs no credentials, and a pull request shows the zone file diff next to the plan.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { domainToASCII, domainToUnicode } from "node:url";
import {
  ProviderError,
  errorMessage,
  errorWithHint,
  canonical,
  internType,
  ownString,
  acquireLock,
  FileChangedError,
  FileRefusedError,
  LockTimeoutError,
  readAll,
  removeStaleFiles,
  removeStaleTemps,
  writeFileAtomic,
  type Change,
  type Provider,
  type RecordSet,
  type DecodedYaml,
  type FileLock,
  type OpenFile,
} from "../../src/provider-kit.js";
import type { ProviderFactory } from "../types.js";
import { describe, editZone } from "./batch.js";
import { parseZone, sameRecords, ZoneFileError } from "./convert.js";
import type { ParsedZone } from "./convert.js";
import { readRecordsFast } from "./fast-read.js";
import { readZoneBytes, zoneFileNames } from "./files.js";

import { readYamlOptions } from "./options.js";

export { readYamlOptions, type YamlOptions } from "./options.js";

export const createYamlProvider: ProviderFactory = (options) => {
  const { directory } = readYamlOptions(options);
  const name = options.src.provider;

  const fail = (zone: string | undefined, message: string, extra: { cause?: unknown; hint?: string } = {}) =>
    new ProviderError(name, message, { ...(zone === undefined ? {} : { zone }), ...extra });

  /**
   * `<directory>/<zone>.yaml`, the name a zone's file usually has (not kept per entry of
   * `replaced`, 10,000s of paths, when a file is named so).
   */
  const usualFile = (zone: string) => path.join(directory, `${zone}.yaml`);

  /**
   * The zone's file: `<zone>.yaml`, found the way zones() lists it (any case; an IDN zone under
   * its A-label or its UTF-8 name). octoDNS's YamlProvider reads either IDN form, refuses both at
   * once, and writes IDN zones under the UTF-8 name (octodns/provider/yaml.py, _zone_sources and
   * _apply). The exact name is tried first so a large directory is listed only when needed.
   */
  async function fileOf(zone: string): Promise<string> {
    const exact = usualFile(zone);
    if (
      domainToUnicode(zone) === zone &&
      (await fs.stat(exact).then(
        (st) => st.isFile(),
        () => false,
      ))
    )
      return exact;
    const files = await zoneFileNames(directory).catch((cause: unknown) => {
      throw missingDirectory(cause, zone);
    });
    const matches = files.filter((f) => zoneName(f.slice(0, -".yaml".length)) === zone).sort();
    if (matches.length > 1) {
      throw fail(zone, `${matches.length} files in ${directory} hold zone ${zone}: ${matches.join(", ")}`, {
        hint: "merge them into one file and delete the others (octoDNS refuses this too)",
      });
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
  let cleaned = false;
  /**
   * Zone files this provider replaced, still open. A program that opened a zone file to append
   * to it just before the rename writes into the replaced file; close() looks once more, at the
   * end of the run, and appends such late bytes to the zone file (see mergeLateAppends).
   */
  const replaced: Array<{ zone: string; file: string | undefined; handle: OpenFile; size: number }> = [];

  async function read(zone: string, known?: string): Promise<{ file: string; bytes: Buffer; decoded: DecodedYaml }> {
    /** The file's bytes, undefined if it is not there (or, with `folderIsMissing`, a folder). */
    const readOrFail = async (f: string, folderIsMissing = false) => {
      try {
        return await readZoneBytes(f);
      } catch (cause) {
        if (folderIsMissing && (cause as NodeJS.ErrnoException).code === "EISDIR") return undefined;
        throw fail(zone, `cannot read ${f}: ${errorMessage(cause)}`, { cause });
      }
    };
    let file = known;
    let got: Awaited<ReturnType<typeof readZoneBytes>>;
    if (file === undefined && domainToUnicode(zone) === zone) {
      // The exact name read straight away: fileOf would stat it first, one more system call
      // per zone (10,000 of them in a plan of 10,000 zone files). Not there, or not a file:
      // fileOf looks further, as before.
      const exact = usualFile(zone);
      got = await readOrFail(exact, true);
      if (got !== undefined) file = exact;
    }
    file ??= await fileOf(zone);
    got ??= await readOrFail(file);
    if (got === undefined) {
      await zoneFileNames(directory).catch((cause: unknown) => {
        throw missingDirectory(cause, zone);
      });
      throw fail(zone, `zone file ${file} does not exist`, {
        hint: `create ${file} (an empty zone is "--- {}"), or point domains of zone ${zone} at another provider`,
      });
    }
    if ("refused" in got.decoded) {
      throw fail(zone, `${file} ${got.decoded.refused}; nothing was written`, {
        hint: `fix ${file} (or move that zone to another provider), then run dkimsync again`,
      });
    }
    return { file, bytes: got.bytes, decoded: got.decoded };
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
      return fail(zone, `zone directory ${directory} does not exist`, {
        cause,
        hint: `create it (mkdir -p ${directory}) or fix "directory" of provider "${name}"`,
      });
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

    async close() {
      await mergeLateAppends();
    },

    async zones() {
      const files = await zoneFileNames(directory).catch((cause: unknown) => {
        throw missingDirectory(cause);
      });
      // Temporary and lock files of runs that were killed: every run starts by listing zones.
      if (!cleaned) {
        cleaned = true;
        await removeStaleFiles(directory).catch(() => undefined);
      }
      return [...new Set(files.map((f) => zoneName(f.slice(0, -".yaml".length))))].sort();
    },

    async list(zone, names) {
      const { file, decoded } = await read(zone);
      const text = decoded.text;
      const known = written.get(file);
      written.delete(file);
      // A file that is only read takes js-yaml (fast-read.ts); parseZone's document model is for
      // files being edited, and for every file js-yaml does not vouch for (it names the line).
      const records =
        known?.text === text
          ? known.records
          : (readRecordsFast(text, zone) ?? parse(file, text, zone).records.map((r) => r.set));
      const wanted = new Set(names.map(canonical));
      // The plan keeps what is returned to its end (before, unchanged, fingerprint): names and
      // values cut from the file's text would keep each file's whole text alive with them
      // (11 MB in an update of 10,000 zone files), so they are copied out of it.
      return records
        .filter((r) => wanted.has(r.name))
        .map((r) => ({ ...r, name: ownString(r.name), type: internType(r.type), values: r.values.map(ownString) }));
    },

    async apply(zone, changes) {
      if (changes.length === 0) return;
      const file = await fileOf(zone);
      // One writer per zone file at a time: two runs (or two configs) that edit one zone each
      // read it, edit it and replace it; without the lock the second rename drops the first
      // run's records. The lock is taken before the file is read for the edit.
      let lock: Awaited<ReturnType<typeof acquireLock>>;
      try {
        lock = await acquireLock(file);
      } catch (cause) {
        if (cause instanceof LockTimeoutError) {
          throw fail(zone, `cannot lock ${file}: ${cause.message}; nothing was written`, {
            cause,
            hint: `another dkimsync run is writing this zone: run again when it has finished (DKIMSYNC_LOCK_TIMEOUT=<seconds> waits longer). If no dkimsync runs anywhere, delete ${cause.lockFile}`,
          });
        }
        throw fail(zone, `cannot lock ${file}: ${errorMessage(cause)}; nothing was written`, {
          cause,
          hint: "dkimsync creates a .<zone>.yaml.lock file next to the zone file: check that the folder is writable",
        });
      }
      try {
        // A run killed while it held this lock may have left its temporary file, and no one
        // else writes this file now. Temporary files are only made under the lock, so only a
        // lock taken over from a dead process can have one the sweep in zones() did not see
        // (that run died after the sweep). Listing the folder for every zone instead made an
        // apply of N zone files read N listings of N names (quadratic: 163 MB of 1.7 GB
        // allocated at 2,000 zones).
        if (lock.tookOver) await removeStaleTemps(file).catch(() => undefined);
        // Read under the lock: the plan's reading may be old. planChange() checks every change
        // against these bytes, so an edit is made against what the file holds now, and a
        // managed record someone changed since the plan is refused as stale.
        let { bytes: expect, decoded: base } = await read(zone, file);
        for (let attempt = 1; ; attempt++) {
          const out = edit(file, zone, base.text, changes);
          const bytes = base.encode(out.text);
          let late: Buffer | undefined;
          try {
            const res = await writeFileAtomic(file, bytes, {
              expect,
              beforeRename: () => lock.verify(),
              keepReplaced: true,
            });
            late = res.lateWrite;
            // Spelt out, not spread: `{ zone, file, ...x }` gets a hidden class of its own in V8,
            // for each of the (up to 10,000s) entries kept to the end of the run.
            if (res.replaced)
              replaced.push({
                zone,
                file: file === usualFile(zone) ? undefined : file,
                handle: res.replaced.handle,
                size: res.replaced.size,
              });
          } catch (cause) {
            if (cause instanceof FileChangedError && attempt < MAX_ATTEMPTS) {
              // Another program wrote the file after it was read (a foreign writer does not
              // take the lock): edit its new bytes instead, so what it wrote stays.
              ({ bytes: expect, decoded: base } = await read(zone, file));
              continue;
            }
            if (cause instanceof FileChangedError) {
              throw fail(
                zone,
                `${file} changed ${MAX_ATTEMPTS} times while dkimsync was writing it; nothing was written`,
                { cause, hint: "stop the program that keeps writing the zone file, then run dkimsync apply again" },
              );
            }
            if (cause instanceof FileRefusedError) {
              throw fail(zone, `cannot write ${cause.message}; the file is unchanged`, {
                cause,
                hint: "make the zone file writable by the user dkimsync runs as (or run dkimsync as its owner), then run dkimsync apply again",
              });
            }
            throw fail(zone, `cannot write ${file}: ${errorMessage(cause)}; the file is unchanged`, {
              cause,
              hint: "check that the zone file and its folder are writable, then run dkimsync apply again",
            });
          }
          if (late !== undefined) {
            // Bytes reached the replaced file during the rename (a program appending through a
            // descriptor it opened before): add them to the file just written.
            await appendLate({ zone, file, late, size: expect.length, expect }, lock);
          }
          // Only the text that was parsed: the CRLF form was not.
          if (!out.crlf) written.set(file, { text: out.text, records: out.parsed.records.map((r) => r.set) });
          return;
        }
      } finally {
        await lock.release().catch(() => undefined);
      }
    },
  } satisfies Provider;

  /**
   * Bytes appended to a zone file after dkimsync replaced it, by a program that had opened the
   * old file before the rename, are in the old file's inode past the size it had. They are
   * appended to the zone file as it is now, the way that program appended them: one write(2)
   * with O_APPEND (POSIX write(): with O_APPEND the offset is set to the end of the file before
   * each write, so it interleaves safely with other appenders and needs no rename). The caller
   * holds the lock. Only a pure append can be merged; anything else is an error naming the file.
   */
  async function appendLate(
    r: { zone: string; file: string; late: Buffer; size: number; expect?: Buffer },
    lock: FileLock,
  ): Promise<void> {
    if (r.late.length < r.size || (r.expect !== undefined && !r.late.subarray(0, r.size).equals(r.expect))) {
      throw fail(
        r.zone,
        `${r.file} was changed in place by another program while dkimsync replaced it; the changes that program made to the replaced file are not in the zone file`,
        { hint: "stop the program that writes the zone file, compare the file, then run dkimsync apply again" },
      );
    }
    const tail = r.late.subarray(r.size);
    if (tail.length === 0) return;
    try {
      await lock.verify();
      const h = await fs.open(r.file, "a+");
      try {
        const { size } = await h.stat();
        const last = Buffer.alloc(1);
        if (size > 0) await h.read(last, 0, 1, size - 1);
        const sep = size > 0 && last[0] !== 0x0a && tail[0] !== 0x0a ? Buffer.from("\n") : Buffer.alloc(0);
        await h.write(Buffer.concat([sep, tail]));
        await h.sync();
      } finally {
        await h.close();
      }
    } catch (err) {
      throw fail(
        r.zone,
        `${tail.length} bytes another program appended to ${r.file} while dkimsync replaced it could not be added back (${errorMessage(err)}): ${JSON.stringify(tail.toString("latin1").slice(0, 200))}`,
        { hint: "add them to the zone file by hand" },
      );
    }
  }

  /** At the end of the run: appends that reached a replaced zone file since, merged back. */
  async function mergeLateAppends(): Promise<void> {
    while (replaced.length > 0) {
      const r = replaced.shift() as (typeof replaced)[number];
      try {
        const { size } = await r.handle.stat();
        if (size === r.size) continue;
        const late = await readAll(r.handle);
        const file = r.file ?? usualFile(r.zone);
        const lock = await acquireLock(file);
        try {
          await appendLate({ zone: r.zone, file, late, size: r.size }, lock);
        } finally {
          await lock.release().catch(() => undefined);
        }
      } catch (err) {
        // close() has no caller to report to (closeProviders ignores its errors): say it here.
        process.stderr.write(`dkimsync: warning: ${errorWithHint(err)}\n`);
      } finally {
        await r.handle.close().catch(() => undefined);
      }
    }
  }

  /** The zone's changes written into its text, checked; throws when the edit is not safe. */
  function edit(
    file: string,
    zone: string,
    original: string,
    changes: readonly Change[],
  ): { text: string; parsed: ParsedZone; crlf: boolean } {
    // A file with Windows line endings throughout is edited with "\n" and written back with
    // "\r\n", so the new lines match the old ones; a file that mixes both is edited as it is.
    const crlf = original.includes("\r\n") && !/(^|[^\r])\n/.test(original);
    const text = crlf ? original.replaceAll("\r\n", "\n") : original;
    const before = parse(file, text, zone);
    const ctx = {
      zone,
      file,
      fail: (message: string, extra?: { cause?: unknown; hint?: string }) => fail(zone, message, extra),
    };
    const { text: out, parsed: current } = editZone(text, before, changes, ctx);
    checkResult(current, zone, changes, file);
    checkForeign(before, current, zone, changes, file);
    return { text: crlf ? out.replaceAll("\n", "\r\n") : out, parsed: current, crlf };
  }

  /**
   * Every record the changes do not name must read exactly as before: same names, types, TTLs
   * and values in the same order. Splicing keeps the bytes outside the edited records, but YAML
   * can make other records depend on those bytes: an anchor (`&t`) on an edited value that an
   * alias (`*t`) elsewhere uses, a `<<: *rec` merge of the edited record, a `|+` block scalar
   * whose kept trailing blank lines touch a removed entry. Such an edit is refused.
   */
  function checkForeign(
    before: ParsedZone,
    after: ParsedZone,
    zone: string,
    changes: readonly Change[],
    file: string,
  ): void {
    const managed = new Set(changes.map((c) => `${c.name} ${c.type}`));
    const key = (r: RecordSet) => `${r.name} ${r.type}`;
    const show = (r: RecordSet | undefined) =>
      r === undefined ? "absent" : `ttl ${r.ttl} ${JSON.stringify(r.values)}`;
    const now = new Map(after.records.map((r) => [key(r.set), r.set]));
    const was = new Map(before.records.map((r) => [key(r.set), r.set]));
    for (const k of new Set([...was.keys(), ...now.keys()])) {
      if (managed.has(k)) continue;
      const a = was.get(k);
      const b = now.get(k);
      if (
        a !== undefined &&
        b !== undefined &&
        a.ttl === b.ttl &&
        JSON.stringify(a.values) === JSON.stringify(b.values)
      )
        continue;
      const [recName, type] = k.split(" ") as [string, string];
      const line = before.records.find((r) => key(r.set) === k)?.node.range?.[0];
      const where = line === undefined ? file : `${file}:${before.lines.linePos(line).line}`;
      const what = changes.map((c) => `${c.action} ${c.type} ${c.name}`).join(", ");
      throw fail(
        zone,
        `${where}: writing ${what} would also change ${type} ${recName} (${show(a)} -> ${show(b)}), a record dkimsync does not manage; nothing was written`,
        {
          hint: "the records share YAML data: an anchor (&name) used by an alias (*name), a merge key (<<), or a block scalar (|+) that keeps the blank lines next to the selector record. Write the shared value out in full at each record, then run dkimsync again",
        },
      );
    }
  }

  /** The edited text must hold exactly the records the changes asked for, and a valid zone. */
  function checkResult(parsed: ParsedZone, zone: string, changes: readonly Change[], file: string): void {
    const expected = new Map<string, RecordSet | null>();
    for (const c of changes) expected.set(`${c.name} ${c.type}`, c.after);
    for (const [key, want] of expected) {
      const [recName, type] = key.split(" ") as [string, string];
      const got = parsed.records.find((r) => r.set.name === recName && r.set.type === type)?.set;
      if ((want === null) !== (got === undefined) || (want && got && !sameRecords(want, got))) {
        throw new Error(
          `internal error editing ${file}: ${type} ${recName} came out as ${got ? describe(got) : "absent"}`,
        );
      }
    }
    // RFC 1034 3.6.2, RFC 2181 10.1: a CNAME shares its name with nothing. Route 53, Cloudflare
    // and PowerDNS reject such a write, and octoDNS refuses to load such a zone.
    for (const c of changes) {
      const atName = parsed.records.filter((r) => r.set.name === c.name);
      if (atName.some((r) => r.set.type === "CNAME") && atName.length > 1) {
        throw fail(
          zone,
          `${c.name} would hold a CNAME beside ${atName
            .filter((r) => r.set.type !== "CNAME")
            .map((r) => r.set.type)
            .join(", ")} records (RFC 1034 3.6.2)`,
          {
            hint: "remove the other records at that name, or let dkimsync apply --force replace them",
          },
        );
      }
    }
  }
};

/** Attempts at writing a zone file that other programs keep changing. */
const MAX_ATTEMPTS = 5;

/** The canonical zone of a file name, which may be written in UTF-8 (see fileOf). */
function zoneName(base: string): string {
  const name = canonical(base);
  return /^[\x00-\x7f]*$/.test(name) ? name : domainToASCII(name) || name;
}
