import { randomBytes } from "node:crypto";
import fsSync, { promises as fs } from "node:fs";
import path from "node:path";

/**
 * Replace the file's contents in one step: write a temporary file in the same folder, fsync it,
 * rename(2) it over the file (atomic within one file system, POSIX rename()), fsync the folder
 * so the rename itself survives a crash. Readers see the old file or the new one, never a part.
 * On any failure the temporary file is removed and the original is untouched.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const mode = await fs.stat(file).then((s) => s.mode & 0o7777, () => 0o644);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, "wx", mode);
    await handle.writeFile(text, "utf8");
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDirectory(path.dirname(file));
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
