// @monarch/resilience scenarios, run in a child process of the driver.
import { createRequire } from "node:module";
import { CircuitBreaker, consecutiveFailures, pipeline, retry, timeout } from "@monarch/resilience";
import { policyScenarios } from "../policy-scenarios.mjs";
import { settings } from "../settings.mjs";
import { runBenchmark } from "../timing.mjs";

const { consecutiveFailures: threshold, openDurationMs, maxAttempts, timeoutMs } = settings;

await runBenchmark({
  library: "@monarch/resilience",
  version: createRequire(import.meta.url)("@monarch/resilience/package.json").version,
  config:
    `CircuitBreaker({ trip: consecutiveFailures(${threshold}), openDuration: ${openDurationMs} }), ` +
    `retry({ maxAttempts: ${maxAttempts} }), timeout(${timeoutMs}, { strategy: "aggressive" }), ` +
    "pipeline(timeout, breaker), pipeline(timeout, retry, breaker); open circuit: breaker.isolate()",
  scenarios: policyScenarios({
    breaker: (trip) => new CircuitBreaker({ trip: consecutiveFailures(trip), openDuration: openDurationMs }),
    retry: () => retry({ maxAttempts }),
    timeout: () => timeout(timeoutMs, { strategy: "aggressive" }),
    compose: pipeline,
  }),
});
