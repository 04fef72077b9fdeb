// cockatiel scenarios, run in a child process of the driver.
import { createRequire } from "node:module";
import {
  ConsecutiveBreaker,
  circuitBreaker,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import { policyScenarios } from "../policy-scenarios.mjs";
import { settings } from "../settings.mjs";
import { runBenchmark } from "../timing.mjs";

const { consecutiveFailures: threshold, openDurationMs, maxAttempts, timeoutMs } = settings;

await runBenchmark({
  library: "cockatiel",
  version: createRequire(import.meta.url)("cockatiel/package.json").version,
  config:
    `circuitBreaker(handleAll, { halfOpenAfter: ${openDurationMs}, breaker: new ConsecutiveBreaker(${threshold}) }), ` +
    `retry(handleAll, { maxAttempts: ${maxAttempts - 1} }) (retries after the first attempt), ` +
    `timeout(${timeoutMs}, TimeoutStrategy.Aggressive), wrap(timeout, breaker), wrap(timeout, retry, breaker); ` +
    "open circuit: breaker.isolate()",
  scenarios: policyScenarios({
    breaker: (trip) =>
      circuitBreaker(handleAll, { halfOpenAfter: openDurationMs, breaker: new ConsecutiveBreaker(trip) }),
    // cockatiel's maxAttempts counts retries only, not the first attempt.
    retry: () => retry(handleAll, { maxAttempts: maxAttempts - 1 }),
    timeout: () => timeout(timeoutMs, TimeoutStrategy.Aggressive),
    compose: wrap,
  }),
});
