import { powerdnsTarget } from "./backends/powerdns.js";
import { runConformance } from "./suite.js";

runConformance(powerdnsTarget);
