import { powerdnsDnsupdateTarget } from "./backends/rfc2136.js";
import { runConformance } from "./suite.js";

runConformance(powerdnsDnsupdateTarget);

// The same suite with no `zones` option: every domain's zone is found with a SOA query.
runConformance({
  ...powerdnsDnsupdateTarget,
  variant: "PowerDNS dnsupdate, zones discovered by SOA query",
  async start() {
    const backend = await powerdnsDnsupdateTarget.start();
    const { zones: _configured, ...options } = backend.providerOptions;
    return { ...backend, providerOptions: options };
  },
});
