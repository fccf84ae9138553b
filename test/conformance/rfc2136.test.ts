import { rfc2136Target } from "./backends/rfc2136.js";
import { runConformance } from "./suite.js";

runConformance(rfc2136Target);
