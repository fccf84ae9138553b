import { gcloudTarget } from "./backends/gcloud.js";
import { runConformance } from "./suite.js";

// The same suite with `read: zone` (one paged listing of the whole zone instead of one per name).
runConformance({
  ...gcloudTarget,
  variant: "read: zone",
  async start() {
    const backend = await gcloudTarget.start();
    return { ...backend, providerOptions: { ...backend.providerOptions, read: "zone" } };
  },
});
