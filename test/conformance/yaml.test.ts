import { yamlTarget } from "./backends/yaml.js";
import { runConformance } from "./suite.js";

runConformance(yamlTarget);
