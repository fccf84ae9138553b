/**
 * Conformance backend for provider `yaml`: a temporary folder of octoDNS zone files. Zones are
 * written with the `yaml` package and read back with js-yaml, never through the provider.
 *
 * failNextWrite: the provider writes a temporary file and rename(2)s it over the zone file. The
 * backend sets the immutable attribute on the zone file (`chattr +i`, FS_IOC_SETFLAGS): the
 * kernel then refuses the rename with EPERM even for root (a read-only folder or file does not
 * stop root). The failure comes from the file system after the new contents were written,
 * and the old file stays as it was. The attribute is lifted as soon as the temporary file is
 * gone again (the provider removes it after the failed rename) and before any backend call.
 */
import { execFile } from "node:child_process";
import { promises as fs, watch, type FSWatcher } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import jsYaml from "js-yaml";
import { stringify } from "yaml";
import { canonical, relativeName } from "../../../src/core/names.js";
import type { RecordSet } from "../../../src/core/types.js";
import type { ConformanceBackend, ConformanceTarget } from "../backend.js";

const run = promisify(execFile);

type FileRecord = Record<string, unknown>;
type ZoneData = Record<string, FileRecord | FileRecord[]>;

/** A canonical record set as octoDNS writes it: `value` or `values`, names with a dot. */
export function toOctodns(set: RecordSet): FileRecord {
  const values = set.values.map((v): unknown => {
    if (set.type === "CNAME" || set.type === "NS" || set.type === "PTR") return `${v}.`;
    if (set.type === "TXT") return v.replace(/;/g, "\\;");
    if (set.type === "MX") {
      const [preference, exchange] = v.split(" ");
      return { exchange: `${exchange}.`, preference: Number(preference) };
    }
    return v;
  });
  return values.length === 1
    ? { ttl: set.ttl, type: set.type, value: values[0] }
    : { ttl: set.ttl, type: set.type, values };
}

/** octoDNS file data -> canonical record sets; an independent reading of the format. */
export function fromOctodns(zone: string, data: ZoneData | null | undefined): RecordSet[] {
  const sets: RecordSet[] = [];
  for (const [key, entry] of Object.entries(data ?? {})) {
    const name = key === "" ? zone : `${key.toLowerCase().replace(/\.$/, "")}.${zone}`;
    for (const r of Array.isArray(entry) ? entry : [entry]) {
      const type = String(r.type).toUpperCase();
      const raw = r.values ?? [r.value];
      const values = (Array.isArray(raw) ? raw : [raw]).map((v: unknown) => {
        if (type === "MX") {
          const mx = v as { preference: number; exchange: string };
          return `${mx.preference} ${canonical(mx.exchange)}`;
        }
        if (type === "TXT") return String(v).replace(/\\;/g, ";");
        return type === "CNAME" ? canonical(String(v)) : String(v);
      });
      sets.push({ name, type, ttl: typeof r.ttl === "number" ? r.ttl : 3600, values });
    }
  }
  return sets;
}

function toData(zone: string, records: RecordSet[]): ZoneData {
  const data: ZoneData = {};
  for (const set of [...records].sort((a, b) => relativeName(a.name, zone).localeCompare(relativeName(b.name, zone)))) {
    const key = relativeName(set.name, zone);
    const prev = data[key];
    const rec = toOctodns(set);
    data[key] = prev === undefined ? rec : [...(Array.isArray(prev) ? prev : [prev]), rec];
  }
  return data;
}

async function chattr(flag: "+i" | "-i", file: string): Promise<void> {
  try {
    await run("chattr", [flag, file]);
  } catch (err) {
    if (flag === "-i" && (err as NodeJS.ErrnoException).code !== "ENOENT") return;
    throw new Error(
      `chattr ${flag} ${file} failed (${String(err)}). The yaml conformance backend makes a write fail with the ` +
        "immutable attribute: install e2fsprogs (apt-get install -y e2fsprogs) and run the tests with TMPDIR on a " +
        "file system that supports it (ext4, xfs, btrfs) as a user with CAP_LINUX_IMMUTABLE (root)",
    );
  }
}

export const yamlTarget: ConformanceTarget = {
  type: "yaml",
  async start(): Promise<ConformanceBackend> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "dkimsync-yaml-backend-"));
    const fileOf = (zone: string) => path.join(dir, `${zone}.yaml`);
    const frozen = new Map<string, FSWatcher>();

    async function thaw(): Promise<void> {
      for (const [file, watcher] of frozen) {
        watcher.close();
        frozen.delete(file);
        await chattr("-i", file);
      }
    }

    const read = async (zone: string) => (jsYaml.load(await fs.readFile(fileOf(zone), "utf8")) ?? {}) as ZoneData;
    const write = (zone: string, data: ZoneData) =>
      fs.writeFile(fileOf(zone), `---\n${stringify(data, { lineWidth: 0 })}`);

    return {
      providerOptions: { directory: dir },
      async createZone(zone, records) {
        await thaw();
        await write(zone, toData(zone, records));
      },
      async readZone(zone) {
        await thaw();
        return fromOctodns(zone, await read(zone));
      },
      async put(zone, record) {
        await thaw();
        const key = relativeName(record.name, zone);
        const data = await read(zone);
        const prev = data[key];
        const others = (prev === undefined ? [] : Array.isArray(prev) ? prev : [prev]).filter(
          (r) => String(r.type).toUpperCase() !== record.type,
        );
        const next = [...others, toOctodns(record)];
        data[key] = next.length === 1 ? (next[0] as FileRecord) : next;
        await write(zone, data);
      },
      async failNextWrite(zone) {
        await thaw();
        const file = fileOf(zone);
        await chattr("+i", file);
        let seenTemp = false;
        const prefix = `${path.basename(file)}.tmp-`;
        const watcher = watch(dir, () => {
          void fs.readdir(dir).then(async (names) => {
            const temp = names.some((n) => n.startsWith(prefix));
            seenTemp ||= temp;
            if (seenTemp && !temp && frozen.get(file) === watcher) {
              frozen.delete(file);
              watcher.close();
              await chattr("-i", file);
            }
          });
        });
        frozen.set(file, watcher);
      },
      async close() {
        await thaw();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  },
};
