/** Zone files on disk: find, read, and replace atomically. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { decodeYaml, MAX_YAML_BYTES, type DecodedYaml } from "../../src/provider-kit.js";

/**
 * `*.yaml` files of the directory, as file names: regular files, and symbolic links to regular
 * files (a subdomain's zone is often a link to a file kept elsewhere; it is a zone all the same).
 * Throws the fs error (ENOENT, ENOTDIR).
 */
export async function zoneFileNames(directory: string): Promise<string[]> {
  const entries = await fs.readdir(directory, { withFileTypes: true });
  const names: string[] = [];
  for (const e of entries) {
    if (!e.name.endsWith(".yaml") || e.name === ".yaml") continue;
    if (e.isFile()) names.push(e.name);
    else if (
      e.isSymbolicLink() &&
      (await fs.stat(path.join(directory, e.name)).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      names.push(e.name);
  }
  return names;
}

/** The zone file's bytes and text, or undefined when it does not exist. */
export interface ZoneBytes {
  bytes: Buffer;
  decoded: DecodedYaml | { refused: string };
}

export async function readZoneBytes(file: string): Promise<ZoneBytes | undefined> {
  try {
    const st = await fs.stat(file);
    // Refuse a huge file before reading it into memory.
    if (st.size > MAX_YAML_BYTES) {
      return {
        bytes: Buffer.alloc(0),
        decoded: {
          refused: `is ${st.size} bytes, over dkimsync's limit of ${MAX_YAML_BYTES} bytes (16 MiB) for a YAML file`,
        },
      };
    }
    const bytes = await fs.readFile(file);
    return { bytes, decoded: decodeYaml(bytes) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
