import { azureTarget } from "./backends/azure.js";
import { runConformance } from "./suite.js";

runConformance(azureTarget);
