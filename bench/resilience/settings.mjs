// What every library is measured on: the same options and the same scenarios, so that the children
// spawned by the driver do equivalent work and their results line up row by row.

/** Options each library is configured with (in its own terms, see the library files). */
export const settings = Object.freeze({
  /** Consecutive failures that open a breaker. */
  consecutiveFailures: 5,
  openDurationMs: 30_000,
  /** Attempts in all, the first included. */
  maxAttempts: 3,
  timeoutMs: 1000,
  /** A trip threshold the failure scenario can never reach, so its breaker stays closed. */
  neverTrip: Number.MAX_SAFE_INTEGER,
});

/**
 * Sampling defaults. 11 short rounds rather than a few long ones: on a shared 2-core VM, noise comes in
 * bursts, and the median of many samples steps over them. 30 000 calls make a sample last from 1.5 ms
 * (the happy baseline) to 0.5 s (cockatiel's timeout); the whole run takes about 35 s.
 */
export const sampling = Object.freeze({ rounds: 11, calls: 30_000, warmupCalls: 20_000 });

/** The `parseArgs` options for sampling, which the driver passes on to every child. */
export const samplingOptions = /** @type {const} */ ({
  rounds: { type: "string", default: String(sampling.rounds) },
  calls: { type: "string", default: String(sampling.calls) },
});

/**
 * @typedef {"value" | "failure" | "refusal"} Expectation What a call must end in: the operation's value,
 *   the operation's own error, or the library refusing the call.
 * @typedef {{ id: string, label: string, expect: Expectation, baseline?: true }} Row
 */

/**
 * The rows of the report, in order. Happy paths ("value") are compared with the `await noop()` baseline,
 * failure paths with the `await failing().catch(...)` baseline.
 * @type {readonly Row[]}
 */
export const rows = Object.freeze([
  { id: "baseline", label: "baseline: `await noop()`", expect: "value", baseline: true },
  { id: "breaker", label: "circuit breaker, closed", expect: "value" },
  { id: "retry", label: "retry, no failure", expect: "value" },
  { id: "timeout", label: "timeout 1000 ms aggressive, never fires", expect: "value" },
  { id: "timeout+breaker", label: "timeout + breaker", expect: "value" },
  { id: "timeout+retry+breaker", label: "timeout + retry + breaker", expect: "value" },
  {
    id: "baseline-failure",
    label: "baseline: `await failing().catch(…)`",
    expect: "failure",
    baseline: true,
  },
  { id: "failure", label: "handled failure, breaker stays closed", expect: "failure" },
  { id: "open", label: "open circuit, call refused", expect: "refusal" },
]);

/**
 * The baseline each row's overhead is measured against.
 * @param {Row} row
 * @returns {string}
 */
export function baselineOf(row) {
  return row.expect === "value" ? "baseline" : "baseline-failure";
}
