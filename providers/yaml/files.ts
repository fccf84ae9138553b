/** Zone files on disk: find, read, and replace atomically. */
import { promises as fs } from "node:fs";

/** `*.yaml` files of the directory, as file names. Throws the fs error (ENOENT, ENOTDIR). */
export async function zoneFileNames(directory: string): Promise<string[]> {
  const entries = await fs.readdir(directory, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".yaml") && e.name !== ".yaml").map((e) => e.name);
}

/** The file's text, or undefined when it does not exist. */
export async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export { writeFileAtomic } from "../../src/util/fs.js";
