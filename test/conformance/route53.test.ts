import { route53Target } from "./backends/route53.js";
import { runConformance } from "./suite.js";

runConformance(route53Target);
