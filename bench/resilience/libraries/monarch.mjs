// @monarch/resilience scenarios, run in a child process of the driver.
import { createRequire } from "node:module";
import { CircuitBreaker, consecutiveFailures, pipeline, retry, timeout } from "@monarch/resilience";
import { settings } from "../settings.mjs";
import { failing, noop, runBenchmark } from "../timing.mjs";

const { consecutiveFailures: threshold, openDurationMs, maxAttempts, timeoutMs, neverTrip } = settings;

/** @param {number} [trip] consecutive failures that open the breaker */
const breaker = (trip = threshold) =>
  new CircuitBreaker({ trip: consecutiveFailures(trip), openDuration: openDurationMs });
const retryPolicy = () => retry({ maxAttempts });
const timeoutPolicy = () => timeout(timeoutMs, { strategy: "aggressive" });

// One policy instance per scenario, so no scenario inherits another's state.
const closed = breaker();
const retrying = retryPolicy();
const timed = timeoutPolicy();
const timedBreaker = pipeline(timeoutPolicy(), breaker());
const composed = pipeline(timeoutPolicy(), retryPolicy(), breaker());
const neverTripping = breaker(neverTrip);
const isolated = breaker();
isolated.isolate();

await runBenchmark({
  library: "@monarch/resilience",
  version: createRequire(import.meta.url)("@monarch/resilience/package.json").version,
  config:
    `CircuitBreaker({ trip: consecutiveFailures(${threshold}), openDuration: ${openDurationMs} }), ` +
    `retry({ maxAttempts: ${maxAttempts} }), timeout(${timeoutMs}, { strategy: "aggressive" }), ` +
    "pipeline(timeout, breaker), pipeline(timeout, retry, breaker); open circuit: breaker.isolate()",
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
