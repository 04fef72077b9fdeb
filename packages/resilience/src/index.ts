export {
  Bulkhead,
  type BulkheadEvents,
  type BulkheadOptions,
  type BulkheadSnapshot,
  bulkhead,
} from "./bulkhead.js";
export {
  CircuitBreaker,
  type CircuitBreakerEvents,
  type CircuitBreakerOptions,
  type CircuitSnapshot,
  type CircuitState,
  type GrowingOpenDuration,
  type StateChangeCause,
} from "./circuit-breaker/breaker.js";
export {
  type CircuitStateStore,
  InMemoryCircuitStateStore,
  type SharedCircuitState,
} from "./circuit-breaker/state-store.js";
export {
  type ConsecutiveFailuresPolicy,
  type CountWindowPolicy,
  consecutiveFailures,
  countWindow,
  type RateThresholds,
  type TimeWindowPolicy,
  type TripPolicy,
  timeWindow,
  type WindowSnapshot,
} from "./circuit-breaker/trip-policies.js";
export { type Clock, type RandomSource, systemClock, type TimerHandle } from "./clock.js";
export { type MethodNames, Pipeline, pipeline, type ResilientClient, resilient } from "./compose.js";
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  type BulkheadRejection,
  CancelledError,
  type RefusingCircuitState,
  ResilienceError,
  TimeoutError,
} from "./errors.js";
export type { Unsubscribe } from "./events.js";
export { ManualClock } from "./manual-clock.js";
export {
  BasePolicy,
  type ExecutionContext,
  neverAbortedSignal,
  type Operation,
  type Policy,
} from "./policy.js";
export {
  type Backoff,
  constantBackoff,
  type ExponentialBackoffOptions,
  exponentialBackoff,
} from "./retry/backoff.js";
export { RetryBudget, type RetryBudgetOptions, type RetryBudgetSnapshot } from "./retry/budget.js";
export {
  type GiveUpReason,
  Retry,
  type RetryEvents,
  type RetryOptions,
  retry,
  retryAfterHint,
} from "./retry/retry.js";
export { Timeout, type TimeoutOptions, timeout } from "./timeout.js";
export {
  type HeartbeatSink,
  type RecoveryCallback,
  Watchdog,
  type WatchdogEvents,
  type WatchdogOptions,
  type WatchdogStatus,
} from "./watchdog.js";
