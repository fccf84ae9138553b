import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests start real servers (PowerDNS, BIND) and loopback fakes; give them room
    // on a shared two-core machine rather than failing on a slow start.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/plain-reporter.ts"],
    // The AWS SDK's notice that its 2027 releases need Node 22 says nothing about these tests.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
