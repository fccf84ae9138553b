#!/usr/bin/env node
// dkimsync supports Node 20 with the SDK versions it pins; the SDK's notice that later versions
// will need Node 22 is for SDK upgrades, not for people running dkimsync.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
import("../dist/src/cli.js").then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => {
    // main() turns every expected failure into a message and an exit code; reaching here is a bug.
    console.error(process.env.DKIMSYNC_DEBUG ? err : `dkimsync: internal error: ${err?.message ?? err}`);
    process.exitCode = 1;
  },
);
