import { randomBytes } from "node:crypto";
import fsSync, { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

/** Thrown by writeFileAtomic when the file is not what the caller read (see `expect`). */
export class FileChangedError extends Error {
  constructor(readonly file: string) {
    super(`${file} changed while it was being edited`);
    this.name = "FileChangedError";
  }
}

/** A file dkimsync refuses to replace (read-only, owned by someone else, a dangling link). */
export class FileRefusedError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = "FileRefusedError";
  }
}

export interface AtomicWriteOptions {
  /**
   * The bytes the new contents were computed from. Just before the rename the file is read
   * again; if it no longer holds exactly these bytes (another program wrote it meanwhile), the
   * temporary file is removed, nothing is written and FileChangedError is thrown, so the caller
   * can compute its edit again against the new bytes.
   */
  expect?: Uint8Array;
  /** Called just before the rename (e.g. to confirm a lock is still held); a throw aborts. */
  beforeRename?: () => Promise<void>;
  /**
   * With `expect`: keep the replaced file open and hand it to the caller (`replaced`), who can
   * look for late appends again later and must close it.
   */
  keepReplaced?: boolean;
}

export interface AtomicWriteResult {
  /**
   * Set when bytes were written into the replaced file after the check and before the rename
   * finished (a program that appends through a descriptor it opened earlier): the replaced
   * file's contents now. The caller must merge them again; undefined in every other case.
   */
  lateWrite?: Buffer;
  /** With keepReplaced: the replaced file, still open, and its size when it was replaced. */
  replaced?: { handle: OpenFile; size: number };
}

/**
 * Replace the file's contents in one step: write a temporary file in the same folder, fsync it,
 * rename(2) it over the file (atomic within one file system, POSIX rename()), fsync the folder
 * so the rename itself survives a crash. Readers see the old file or the new one, never a part.
 * On any failure the temporary file is removed and the original is untouched.
 *
 * A symbolic link stays a link: the file it points to is replaced (the temporary file is made
 * next to that file, so the rename stays on one file system). The file keeps its mode and its
 * owner and group; a file without any write permission bit is refused (its owner protected it,
 * and root would otherwise replace it anyway), and so is one whose owner this process could not
 * give to the new file (chown(2) needs privileges), rather than silently changing the owner.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const target = await writeTarget(file);
  const st = await fs.stat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (st !== undefined && (st.mode & 0o222) === 0) {
    throw new FileRefusedError(
      file,
      `${target} is read-only (mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}); dkimsync does not replace a file whose write permission was taken away`,
    );
  }
  const mode = st === undefined ? 0o644 : st.mode & 0o7777;
  const tmp = path.join(path.dirname(target), `${tempPrefix(target)}${process.pid}-${randomBytes(6).toString("hex")}`);
  let handle: fs.FileHandle | undefined;
  // The file as it is now, held open: bytes written into it after the check below land in this
  // inode even after the rename, and fstat() on it shows them (see lateWrite).
  let old =
    opts.expect === undefined || st === undefined ? undefined : await OpenFile.open(target, "r").catch(() => undefined);
  try {
    try {
      handle = await fs.open(tmp, "wx", mode);
      // open()'s mode is filtered by the umask; the file must keep exactly the old mode.
      await handle.chmod(mode);
      if (st !== undefined && (st.uid !== process.getuid?.() || st.gid !== process.getgid?.())) {
        await handle.chown(st.uid, st.gid).catch((err: NodeJS.ErrnoException) => {
          throw new FileRefusedError(
            file,
            `${target} belongs to uid ${st.uid} gid ${st.gid}, and this process cannot give a new file that owner (${err.code ?? err.message}); run dkimsync as that user`,
          );
        });
      }
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
      handle = undefined;
      if (opts.expect !== undefined) {
        const now = old === undefined ? undefined : await readAll(old);
        const same = await fs.stat(target).then(
          (s) => old !== undefined && s.ino === st?.ino && s.dev === st.dev,
          () => false,
        );
        if (!same || now === undefined || !Buffer.from(opts.expect).equals(now)) throw new FileChangedError(file);
      }
      await opts.beforeRename?.();
      await fs.rename(tmp, target);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await syncDirectory(path.dirname(target));
    if (old !== undefined && opts.expect !== undefined) {
      const after = await old.stat();
      if (after.size !== opts.expect.length) return { lateWrite: await readAll(old) };
      if (opts.keepReplaced) {
        const replaced = { handle: old, size: opts.expect.length };
        old = undefined;
        return { replaced };
      }
    }
    return {};
  } finally {
    await old?.close().catch(() => undefined);
  }
}

const fdOpen = promisify(fsSync.open);
const fdStat = promisify(fsSync.fstat);
const fdRead = promisify(fsSync.read);
const fdClose = promisify(fsSync.close);

/**
 * A file held open by its bare descriptor: the few calls writeFileAtomic and its callers make
 * (stat, read, close). An apply keeps every zone file it replaced open to the end of the run
 * (late appends, see AtomicWriteResult.replaced); as FileHandles, with their event emitter,
 * closures and native wrappers, that was about 3.5 MB at 10,000 zone files, as descriptors
 * a few bytes each. Unlike a FileHandle, nothing closes it on garbage collection: every path
 * that opens one closes it (writeFileAtomic's finally, or the caller it hands it to).
 */
export class OpenFile {
  private constructor(readonly fd: number) {}

  static async open(file: string, flags: string): Promise<OpenFile> {
    return new OpenFile(await fdOpen(file, flags));
  }

  stat(): Promise<fsSync.Stats> {
    return fdStat(this.fd);
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    return fdRead(this.fd, buffer, offset, length, position);
  }

  close(): Promise<void> {
    return fdClose(this.fd);
  }
}

/** What readAll needs of an open file: a FileHandle or an OpenFile. */
type Readable = Pick<OpenFile, "stat" | "read">;

export async function readAll(handle: Readable): Promise<Buffer> {
  const { size } = await handle.stat();
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const { bytesRead } = await handle.read(buf, off, size - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/** The file a write to `file` replaces: the end of its chain of symbolic links. */
export async function writeTarget(file: string): Promise<string> {
  try {
    return await fs.realpath(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const link = await fs.lstat(file).catch(() => undefined);
    if (link?.isSymbolicLink()) {
      throw new FileRefusedError(
        file,
        `${file} is a symbolic link to ${await fs.readlink(file)}, which does not exist`,
      );
    }
    return file;
  }
}

/** Temporary files of writeFileAtomic for this file start with this name. */
function tempPrefix(target: string): string {
  return `.${path.basename(target)}.tmp-`;
}

/**
 * Remove temporary files that an earlier writeFileAtomic of this file left behind (a process
 * killed between creating and renaming it). Call it while holding the file's lock: no writer
 * that takes the lock can be using one then. A temp file of a process that still runs on this
 * host is left alone (a writer that does not take the lock, such as an older dkimsync).
 * Returns the names removed.
 */
export async function removeStaleTemps(file: string): Promise<string[]> {
  const target = await writeTarget(file);
  const dir = path.dirname(target);
  const prefix = tempPrefix(target);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (pid !== process.pid && Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    if (pid === process.pid) continue;
    await fs.rm(path.join(dir, name), { force: true }).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}

/**
 * Remove what killed runs left in a folder of YAML files: temporary files of writeFileAtomic
 * and lock files of `*.yaml` files whose process no longer runs on this host. Needs no lock: a file of a live process is never
 * touched, and stale locks are broken as acquireLock breaks them. Returns the names removed.
 */
export async function removeStaleFiles(dir: string): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    // Only dkimsync's own names: `.<name>.yaml.tmp-<pid>-<hex>`, `.<name>.yaml.lock` and the
    // `.<name>.yaml.lock.break` of a process killed while breaking a stale lock.
    const temp = /^\..+\.yaml\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (temp) {
      const pid = Number(temp[1]);
      if (pid === process.pid || isAlive(pid)) continue;
      await fs.rm(path.join(dir, name), { force: true }).then(
        () => removed.push(name),
        () => undefined,
      );
    } else if (/^\..+\.yaml\.lock$/.test(name)) {
      const lockFile = path.join(dir, name);
      const holder = await readLock(lockFile);
      if (holder !== undefined && (await isStale(lockFile, holder))) {
        await breakLock(lockFile, holder);
        removed.push(name);
      }
    } else if (/^\..+\.yaml\.lock\.break$/.test(name)) {
      const guard = path.join(dir, name);
      const holder = await readLock(guard);
      if (holder !== undefined && (await isStale(guard, holder))) {
        await removeIfUnchanged(guard, holder);
        removed.push(name);
      }
    }
  }
  return removed;
}

async function syncDirectory(dir: string): Promise<void> {
  // Best effort: some file systems refuse fsync on a directory (EINVAL, EISDIR); the rename has
  // already happened, so a failure here must not report the write as failed.
  const handle = await fs.open(dir, "r").catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close().catch(() => undefined);
}

/** Thrown by readFileBounded when the file holds more than the limit. */
export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
    this.name = "TooLargeError";
  }
}

/**
 * Read at most `limit` bytes of a file, in chunks, and fail with TooLargeError beyond that.
 * fstat sizes are not trusted: special files such as /dev/zero or /proc/self/environ report 0
 * or lie, so the bound is enforced on the bytes actually read, never on the size claimed.
 */
export function readFileBounded(file: string, limit: number): Buffer {
  const fd = fsSync.openSync(file, "r");
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, limit + 1 - total));
      const n = fsSync.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) throw new TooLargeError(limit);
    }
    return Buffer.concat(chunks, total);
  } finally {
    fsSync.closeSync(fd);
  }
}

/**
 * Input size limits (docs/safety.md "Input limits"). Generous for real use (a 10,000-domain
 * config is about 3 MiB, its Get-DkimSigningConfig export about 15 MiB; Exchange Online's
 * largest message is 150 MB but only its header section is analysed), small enough that a
 * wrong path (/dev/zero, a disk image) ends with a message instead of exhausting memory.
 */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
export const MAX_SIGNING_CONFIG_BYTES = 32 * 1024 * 1024;
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Advisory locks
// ---------------------------------------------------------------------------------------------

/** Thrown when a lock cannot be had within the time limit. */
export class LockTimeoutError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holder: LockInfo | undefined,
    waitedMs: number,
  ) {
    super(
      `${lockFile} is held by ${holder ? `pid ${holder.pid} on ${holder.host} since ${holder.since}` : "another process"}; waited ${Math.round(waitedMs / 1000)} s`,
    );
    this.name = "LockTimeoutError";
  }
}

export interface LockInfo {
  pid: number;
  host: string;
  since: string;
  token: string;
}

export interface FileLock {
  lockFile: string;
  /**
   * The lock was taken over from a dead process (a killed run), which may have left its
   * temporary file of this file behind: the holder should remove it (removeStaleTemps).
   */
  tookOver: boolean;
  /** Throws when the lock file no longer holds this lock (someone removed it by hand). */
  verify(): Promise<void>;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for another holder; default DKIMSYNC_LOCK_TIMEOUT (seconds) or 60 s. */
  timeoutMs?: number;
}

/** The lock file of a file: `.<name>.lock` next to the file a write replaces. */
export async function lockFileOf(file: string): Promise<string> {
  const target = await writeTarget(file);
  return path.join(path.dirname(target), `.${path.basename(target)}.lock`);
}

/**
 * Take the advisory lock of a file. Node has no flock(2), and flock does not work over NFS
 * anyway; the lock is a file created with O_CREAT|O_EXCL (`wx`), which is atomic on local file
 * systems and on NFSv3+ (open(2), "O_EXCL"). It holds the owner's pid, host name and a random
 * token. A lock whose owner is a process on this host that no longer runs (kill(pid, 0) fails
 * with ESRCH) is stale and is taken over; one held by a live process, or by another host, is
 * waited for with growing pauses, up to the time limit. Every program that writes these files
 * must take the lock for it to help: dkimsync does, and a write by a program that does not is
 * still detected by writeFileAtomic's `expect` check.
 */
export async function acquireLock(file: string, opts: LockOptions = {}): Promise<FileLock> {
  const lockFile = await lockFileOf(file);
  const timeoutMs = opts.timeoutMs ?? defaultLockTimeout();
  const started = Date.now();
  const info = newLockInfo();
  let pause = 5;
  let holder: LockInfo | undefined;
  let tookOver = false;
  for (;;) {
    if (await createLockFile(lockFile, info))
      return {
        lockFile,
        tookOver,
        async verify() {
          const now = await readLock(lockFile);
          if (now?.token !== info.token)
            throw new Error(`the lock ${lockFile} was removed or taken over by another process while this one held it`);
        },
        release: () => removeIfMine(lockFile, info),
      };
    holder = await readLock(lockFile);
    if ((await isStale(lockFile, holder)) && (await breakLock(lockFile, holder))) {
      tookOver = true;
      continue;
    }
    const waited = Date.now() - started;
    if (waited >= timeoutMs) throw new LockTimeoutError(lockFile, holder, waited);
    await new Promise((r) => setTimeout(r, Math.min(pause, timeoutMs - waited)));
    pause = Math.min(pause * 2, 250);
  }
}

/** What a lock file holds: who made it, and a token only its maker knows. */
function newLockInfo(): LockInfo {
  return {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    token: randomBytes(12).toString("hex"),
  };
}

/**
 * Create a lock file holding `info` with O_CREAT|O_EXCL; false when it exists already. Other
 * errors (a folder that cannot be written) are thrown.
 */
async function createLockFile(file: string, info: LockInfo): Promise<boolean> {
  let h: fs.FileHandle;
  try {
    h = await fs.open(file, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await h.writeFile(`${JSON.stringify(info)}\n`);
  } finally {
    await h.close();
  }
  return true;
}

/** Run fn while holding the file's lock; the lock is released however fn ends. */
export async function withFileLock<T>(
  file: string,
  fn: (lock: FileLock) => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const lock = await acquireLock(file, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release().catch(() => undefined);
  }
}

function defaultLockTimeout(): number {
  const s = Number(process.env.DKIMSYNC_LOCK_TIMEOUT);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 60_000;
}

async function readLock(lockFile: string): Promise<LockInfo | undefined> {
  const text = await fs.readFile(lockFile, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === "number" && typeof v.host === "string" && typeof v.token === "string")
      return { pid: v.pid, host: v.host, since: String(v.since), token: v.token };
  } catch {
    // Being written right now, or damaged: judged by its age below.
  }
  return undefined;
}

/** Unreadable lock files older than this are stale: an owner writes its lock within milliseconds. */
const UNREADABLE_LOCK_STALE_MS = 10_000;

async function isStale(lockFile: string, holder: LockInfo | undefined): Promise<boolean> {
  if (holder === undefined) {
    const st = await fs.stat(lockFile).catch(() => undefined);
    if (st === undefined) return false; // released meanwhile: just try again
    return Date.now() - st.mtimeMs > UNREADABLE_LOCK_STALE_MS;
  }
  return holder.host === os.hostname() && !isAlive(holder.pid);
}

/**
 * Remove a stale lock without removing a live one that replaced it meanwhile; true when this
 * call removed it. Several processes
 * can judge the same lock stale at once, and the lock file must never be missing while one of
 * them still acts on an old judgement: another process could then create its own lock in the
 * gap, and the late breaker would remove that live lock (two holders, a lost update). So the
 * breakers take turns through a second lock, `<lock>.break`, created with O_CREAT|O_EXCL, and
 * under it the lock file is removed only if it still holds the token that was judged stale.
 * Nobody else removes that file meanwhile: its owner is gone, and other breakers wait their turn.
 * A breaker killed while holding `<lock>.break` (a window of a few system calls) leaves it to be
 * removed like any stale lock, by renaming it aside and checking what was renamed.
 */
async function breakLock(lockFile: string, stale: LockInfo | undefined): Promise<boolean> {
  const guard = `${lockFile}.break`;
  const mine = newLockInfo();
  if (!(await createLockFile(guard, mine).catch(() => false))) {
    // Another process is breaking this lock right now (the caller waits and tries again), or one
    // was killed doing it. (Another error creating the guard: the caller waits and tries again.)
    const other = await readLock(guard);
    if (await isStale(guard, other)) await removeIfUnchanged(guard, other);
    return false;
  }
  try {
    const now = await readLock(lockFile);
    const still =
      stale === undefined ? now === undefined && (await isStale(lockFile, undefined)) : now?.token === stale.token;
    if (still) await fs.rm(lockFile, { force: true });
    return still;
  } finally {
    await removeIfMine(guard, mine);
  }
}

/** Remove a lock file this process created (it still holds `mine`'s token), and only then. */
async function removeIfMine(file: string, mine: LockInfo): Promise<void> {
  const now = await readLock(file);
  if (now?.token === mine.token) await fs.rm(file, { force: true });
}

/**
 * Remove a file only if it still holds what was judged (`judged` undefined: unreadable): rename
 * it aside (only one of several removers wins the rename) and link it back if what was renamed
 * is something else. Used only for `<lock>.break` files of killed breakers.
 */
async function removeIfUnchanged(file: string, judged: LockInfo | undefined): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return; // someone else removed it
  }
  const got = await readLock(aside);
  if (judged !== undefined && got?.token !== judged.token) await fs.link(aside, file).catch(() => undefined);
  await fs.rm(aside, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes of YAML files
// ---------------------------------------------------------------------------------------------

/** Largest YAML file (zone file, dkim.zones.yaml) dkimsync reads: 16 MiB. */
export const MAX_YAML_BYTES = 16 * 1024 * 1024;

/**
 * A YAML file's text, and how to turn edited text back into bytes without changing any byte
 * outside the edits. YAML 1.2 (5.2) wants UTF-8 (or UTF-16/32); dkimsync edits UTF-8 files, with
 * or without a byte order mark. A file that is not valid UTF-8 (a Latin-1 comment or TXT value)
 * is read byte for byte as Latin-1, one character per byte, so every byte comes back out as it
 * was; dkimsync only ever inserts ASCII into such a file (encode() refuses anything else).
 */
export interface DecodedYaml {
  text: string;
  encoding: "utf8" | "latin1";
  encode(text: string): Buffer;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decode a YAML file's bytes; a string saying why when dkimsync will not edit it. */
export function decodeYaml(bytes: Uint8Array): DecodedYaml | { refused: string } {
  if (bytes.length > MAX_YAML_BYTES) {
    return {
      refused: `is ${bytes.length} bytes, over dkimsync's limit of ${MAX_YAML_BYTES} bytes (16 MiB) for a YAML file`,
    };
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { refused: "is UTF-16 or UTF-32 (it starts with that byte order mark); save it as UTF-8" };
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    return {
      refused: `holds a NUL byte at offset ${nul}: a binary file, or UTF-16/32 without a byte order mark; save it as UTF-8 text`,
    };
  }
  try {
    return { text: utf8.decode(bytes), encoding: "utf8", encode: (t) => Buffer.from(t, "utf8") };
  } catch {
    // A UTF-8 byte order mark stays one character (U+FEFF), which the YAML parser skips; read
    // as three Latin-1 characters it would become part of the first key.
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    return {
      text:
        (bom ? "\ufeff" : "") +
        Buffer.from(bytes)
          .subarray(bom ? 3 : 0)
          .toString("latin1"),
      encoding: "latin1",
      encode: (t) => {
        const body = bom && t.startsWith("\ufeff") ? t.slice(1) : t;
        if (/[^\x00-\xff]/.test(body))
          throw new Error("internal error: a character beyond Latin-1 would be written into a file that is not UTF-8");
        return Buffer.concat([
          bom && body !== t ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0),
          Buffer.from(body, "latin1"),
        ]);
      },
    };
  }
}
