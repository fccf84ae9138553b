import { powerdnsTarget } from "./backends/powerdns.js";
import { runConformance } from "./suite.js";

// The same suite with `read: zone` (one GET of the whole zone instead of one per name).
runConformance({
  ...powerdnsTarget,
  variant: "read: zone",
  async start() {
    const backend = await powerdnsTarget.start();
    return { ...backend, providerOptions: { ...backend.providerOptions, read: "zone" } };
  },
});
