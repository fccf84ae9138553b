/** Entry point of the GitHub Action (action.yml): `node dist/src/github/main.js`. */
import { limitHeapGrowth } from "../util/heap.js";
import { ActionInputError, runAction } from "./action.js";

// dkimsync supports Node 20 with the SDK versions it pins (as bin/dkimsync.js says).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Before the run grows V8's heap (see util/heap.ts), as bin/dkimsync.js does.
limitHeapGrowth();

runAction().then(
  (r) => {
    process.exitCode = r.exitCode;
  },
  (err: unknown) => {
    // ::error:: makes an annotation on the run (GitHub Actions documentation, workflow commands).
    if (err instanceof ActionInputError) process.stdout.write(`::error::dkimsync action: ${err.message}\n`);
    else process.stdout.write(`::error::dkimsync action: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
