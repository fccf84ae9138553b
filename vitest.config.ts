import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real servers (PowerDNS, BIND) and loopback fakes; give them room
    // on a shared two-core machine rather than failing on a slow start.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/plain-reporter.ts"],
  },
});
