import { defineConfig } from "vitest/config";

export interface PackageTestOptions {
  /** Files that start shared servers once per run (e.g. a private Valkey). */
  readonly globalSetup?: readonly string[];
}

/**
 * The test settings every package shares: tests under test/, a JSON report in .test-results (the
 * root test summary adds them up, and turbo caches them), and timeouts sized for tests that start
 * servers and processes on a busy 2-core machine. Timing logic itself is tested with injected clocks.
 */
export function packageTestConfig(options: PackageTestOptions = {}) {
  return defineConfig({
    test: {
      include: ["test/**/*.test.ts"],
      ...(options.globalSetup ? { globalSetup: [...options.globalSetup] } : {}),
      reporters: ["default", "json"],
      outputFile: { json: ".test-results/vitest.json" },
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  });
}
