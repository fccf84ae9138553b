import { gcloudTarget } from "./backends/gcloud.js";
import { runConformance } from "./suite.js";

runConformance(gcloudTarget);
