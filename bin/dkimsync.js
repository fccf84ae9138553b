#!/usr/bin/env node
// dkimsync supports Node 20 with the SDK versions it pins; the SDK's notice that later versions
// will need Node 22 is for SDK upgrades, not for people running dkimsync.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
import { existsSync } from "node:fs";

// dist/ is built by `prepack` (tarballs, registry installs) or `prepare` (a clone, a git URL).
// An install that ran neither (npm --ignore-scripts on a git URL) has no build: say so, not
// "Cannot find module".
if (!existsSync(new URL("../dist/src/cli.js", import.meta.url))) {
  console.error(
    "dkimsync: error: this copy of dkimsync was installed without its build (dist/ is missing)\n" +
      "  hint: in a clone, run npm ci (or npm run build:package); from a git URL, npm must run the package's\n" +
      "  hint: prepare/prepack script: install without --ignore-scripts, or install the packed tarball (npm pack)",
  );
  process.exit(1);
}
// Before anything else grows V8's heap: a run of thousands of SDK requests otherwise piles up
// 100-300 MB of garbage (the reasons and figures are in dist/src/util/heap.js).
await import("../dist/src/util/heap.js").then((h) => h.limitHeapGrowth());
import("../dist/src/cli.js")
  .then((m) => m.main(process.argv.slice(2)))
  .then(
    (code) => {
      process.exitCode = code;
    },
    async (err) => {
      // main() turns every expected failure into a message and an exit code; reaching here is a
      // bug. Its text still goes through the one redactor: a bug must not print a secret either.
      const text = process.env.DKIMSYNC_DEBUG
        ? String(err?.stack ?? err)
        : `dkimsync: internal error: ${err?.message ?? err}`;
      const redact = await import("../dist/src/core/errors.js").then(
        (e) => e.redact,
        () => (s) => s,
      );
      console.error(redact(text));
      process.exitCode = 1;
    },
  );
