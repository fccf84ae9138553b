import { rfc2136Target } from "./backends/rfc2136.js";
import { runConformance } from "./suite.js";

// The same suite with no `zones` option: every domain's zone is found with a SOA query.
runConformance({
  ...rfc2136Target,
  variant: "zones discovered by SOA query",
  async start() {
    const backend = await rfc2136Target.start();
    const { zones: _configured, ...options } = backend.providerOptions;
    return { ...backend, providerOptions: options };
  },
});
