import { knotTarget } from "./backends/rfc2136.js";
import { runConformance } from "./suite.js";

runConformance(knotTarget);

// The same suite with no `zones` option: every domain's zone is found with a SOA query (Knot
// answers REFUSED, unsigned, for a name in no zone it serves).
runConformance({
  ...knotTarget,
  variant: "Knot DNS, zones discovered by SOA query",
  async start() {
    const backend = await knotTarget.start();
    const { zones: _configured, ...options } = backend.providerOptions;
    return { ...backend, providerOptions: options };
  },
});
