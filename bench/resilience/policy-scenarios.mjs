// The scenarios of a library made of composable policies (@monarch/resilience, cockatiel): each library
// gives its constructors, and the same instances and calls are built from them.
import { settings } from "./settings.mjs";
import { failing, noop } from "./timing.mjs";

/**
 * @typedef {{ execute(operation: () => Promise<unknown>): Promise<unknown> }} Executable
 * @typedef {Executable & { isolate(): unknown }} Breaker
 * @param {{
 *   breaker: (trip: number) => Breaker,
 *   retry: () => Executable,
 *   timeout: () => Executable,
 *   compose: (...policies: Executable[]) => Executable,
 * }} library
 */
export function policyScenarios({ breaker, retry, timeout, compose }) {
  // One policy instance per scenario, so no scenario inherits another's state.
  const closed = breaker(settings.consecutiveFailures);
  const retrying = retry();
  const timed = timeout();
  const timedBreaker = compose(timeout(), breaker(settings.consecutiveFailures));
  const composed = compose(timeout(), retry(), breaker(settings.consecutiveFailures));
  const neverTripping = breaker(settings.neverTrip);
  const isolated = breaker(settings.consecutiveFailures);
  isolated.isolate();
  return {
    breaker: () => closed.execute(noop),
    retry: () => retrying.execute(noop),
    timeout: () => timed.execute(noop),
    "timeout+breaker": () => timedBreaker.execute(noop),
    "timeout+retry+breaker": () => composed.execute(noop),
    failure: () => neverTripping.execute(failing),
    open: () => isolated.execute(noop),
  };
}
