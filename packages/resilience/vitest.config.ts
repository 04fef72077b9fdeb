import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: ".test-results/vitest.json" },
    // The pack-and-install test runs npm and tsc, which take seconds on a busy 2-core machine.
    testTimeout: 60_000,
  },
});
