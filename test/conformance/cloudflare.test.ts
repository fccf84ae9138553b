import { cloudflareTarget } from "./backends/cloudflare.js";
import { runConformance } from "./suite.js";

runConformance(cloudflareTarget);
