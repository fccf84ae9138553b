/**
 * Preloaded into a dkimsync child process by the scale benches (`node --import`): at exit it
 * writes the whole process's CPU time and peak RSS to the file named by DKIMSYNC_BENCH_USAGE,
 * so every figure covers start-up, config loading, the run and the output, as a user pays it.
 */
import { writeFileSync } from "node:fs";

const file = process.env.DKIMSYNC_BENCH_USAGE;
if (file) {
  process.on("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS }));
  });
}
