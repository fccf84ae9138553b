import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
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
