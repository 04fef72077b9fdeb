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
import { settings } from "../settings.mjs";
import { failing, noop, runBenchmark } from "../timing.mjs";

const { consecutiveFailures: threshold, openDurationMs, maxAttempts, timeoutMs, neverTrip } = settings;

/** @param {number} [trip] consecutive failures that open the breaker */
const breaker = (trip = threshold) =>
  circuitBreaker(handleAll, { halfOpenAfter: openDurationMs, breaker: new ConsecutiveBreaker(trip) });
// cockatiel's maxAttempts counts retries only, not the first attempt.
const retryPolicy = () => retry(handleAll, { maxAttempts: maxAttempts - 1 });
const timeoutPolicy = () => timeout(timeoutMs, TimeoutStrategy.Aggressive);

// One policy instance per scenario, so no scenario inherits another's state.
const closed = breaker();
const retrying = retryPolicy();
const timed = timeoutPolicy();
const timedBreaker = wrap(timeoutPolicy(), breaker());
const composed = wrap(timeoutPolicy(), retryPolicy(), breaker());
const neverTripping = breaker(neverTrip);
const isolated = breaker();
isolated.isolate();

await runBenchmark({
  library: "cockatiel",
  version: createRequire(import.meta.url)("cockatiel/package.json").version,
  config:
    `circuitBreaker(handleAll, { halfOpenAfter: ${openDurationMs}, breaker: new ConsecutiveBreaker(${threshold}) }), ` +
    `retry(handleAll, { maxAttempts: ${maxAttempts - 1} }) (retries after the first attempt), ` +
    `timeout(${timeoutMs}, TimeoutStrategy.Aggressive), wrap(timeout, breaker), wrap(timeout, retry, breaker); ` +
    "open circuit: breaker.isolate()",
  scenarios: {
    breaker: () => closed.execute(noop),
    retry: () => retrying.execute(noop),
    timeout: () => timed.execute(noop),
    "timeout+breaker": () => timedBreaker.execute(noop),
    "timeout+retry+breaker": () => composed.execute(noop),
    failure: () => neverTripping.execute(failing),
    open: () => isolated.execute(noop),
  },
});
