/**
 * Preloaded into a dkimsync child process (`node --import`) by the start-up bench and its test:
 * at exit it writes every module file the process loaded, one `file:` URL a line, to the file
 * named by DKIMSYNC_BENCH_IMPORTS, so "this run never loaded the Cloudflare SDK" can be checked
 * on the real CLI, not inferred.
 *
 * Two sources, because Node has two loaders: ES modules are seen by a `resolve` hook installed
 * with module.register (Node.js docs, "Modules: Customization Hooks"; the hooks run on their own
 * thread, so they append to the file themselves), and CommonJS files (most SDKs ship CommonJS,
 * whose internal require() calls bypass the ESM hooks on Node 20) are read from require.cache
 * at exit. An SDK reached through `import` shows in both.
 */
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";
import { isMainThread } from "node:worker_threads";

const file = process.env.DKIMSYNC_BENCH_IMPORTS;

type Resolved = { url: string };
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

/** The resolve hook (runs on the hooks thread): record what each import resolved to. */
export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved> {
  const out = await next(specifier, context);
  if (file && out.url.startsWith("file:")) appendFileSync(file, `${out.url}\n`);
  return out;
}

if (file && isMainThread) {
  register(import.meta.url);
  const cache = createRequire(import.meta.url).cache;
  process.on("exit", () => {
    const cjs = Object.keys(cache).map((f) => pathToFileURL(f).href);
    if (cjs.length > 0) appendFileSync(file, `${cjs.join("\n")}\n`);
  });
}
