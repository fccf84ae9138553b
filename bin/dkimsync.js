#!/usr/bin/env node
import("../dist/src/cli.js").then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => {
    // main() turns every expected failure into a message and an exit code; reaching here is a bug.
    console.error(process.env.DKIMSYNC_DEBUG ? err : `dkimsync: internal error: ${err?.message ?? err}`);
    process.exitCode = 1;
  },
);
