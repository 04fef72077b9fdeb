// opossum scenarios, run in a child process of the driver. opossum has no retry and no stand-alone
// timeout: its breaker takes a `timeout` option, so timeouts appear only in the timeout + breaker row.
import { createRequire } from "node:module";
import CircuitBreaker from "opossum";
import { settings } from "../settings.mjs";
import { failing, noop, runBenchmark } from "../timing.mjs";

const { openDurationMs, timeoutMs, neverTrip } = settings;

// opossum has no consecutive-failure breaker: it opens on its error percentage (default 50 %) over a
// rolling 10 s window. Defaults stay, except the open duration and `timeout: false` (the default is a
// 10 s timer on every call, which would turn the breaker-only row into a breaker + timeout row).
/** @param {() => Promise<unknown>} action @param {object} [options] */
const breaker = (action, options) =>
  new CircuitBreaker(action, { resetTimeout: openDurationMs, timeout: false, ...options });

const closed = breaker(noop);
const timedBreaker = breaker(noop, { timeout: timeoutMs });
// The error rate is judged only once this many calls are in the window, i.e. never: it stays closed.
// Percentiles are off because with them every failure sorts all latencies of the last 10 s, so a
// failure costs milliseconds at this call rate: a cost of the window, not of the call.
const neverTripping = breaker(failing, { volumeThreshold: neverTrip, rollingPercentilesEnabled: false });
const opened = breaker(noop);
opened.open();

await runBenchmark({
  library: "opossum",
  version: createRequire(import.meta.url)("opossum/package.json").version,
  config:
    `new CircuitBreaker(action, { resetTimeout: ${openDurationMs}, timeout: false }) with the default ` +
    "errorThresholdPercentage 50 over a 10 s rolling window; timeout + breaker: the same with " +
    `timeout: ${timeoutMs}; handled failure: volumeThreshold ${neverTrip}, rollingPercentilesEnabled: false; ` +
    "open circuit: breaker.open()",
  scenarios: {
    breaker: () => closed.fire(),
    "timeout+breaker": () => timedBreaker.fire(),
    failure: () => neverTripping.fire(),
    open: () => opened.fire(),
  },
  notes: {
    retry: "opossum has no retry.",
    timeout:
      "opossum has no stand-alone timeout; its `timeout` option is measured in the timeout + breaker row.",
    "timeout+breaker": `opossum: one breaker with \`timeout: ${timeoutMs}\`, its native timeout + breaker.`,
    "timeout+retry+breaker": "opossum has no retry.",
    failure:
      "opossum: with `rollingPercentilesEnabled: false`. With the default (true) every failure sorts all " +
      "latencies of the last 10 s, so its cost grows with the call rate rather than being a per-call overhead.",
  },
});
