/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = object | number;

/**
 * The source of time for every policy. Inject {@link ManualClock} in tests to make timing deterministic.
 * `now()` is in milliseconds on the wall clock, because breaker state shared between processes carries
 * absolute times.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Whether a pending timer keeps the process alive (Node's `ref`/`unref`); others may ignore it. */
  keepAlive(handle: TimerHandle, keepAlive: boolean): void;
  /**
   * Set when reading `now()` costs about as much as a guarded call's own bookkeeping, as `Date.now()`
   * does (30 to 60 ns): a timeout on such a clock then reads it once per burst of calls instead of once
   * per call, and may fire up to 1 % of its duration late (whole milliseconds, at least 1, at most 10),
   * never early. Set on {@link systemClock}; where it is unset, as on `ManualClock`, every deadline is
   * exact.
   */
  readonly coarseDeadlines?: boolean;
}

/** A random source returning numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

type NodeTimer = { ref(): unknown; unref(): unknown };

/** The process clock: `Date.now` and the global timers. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
  keepAlive(handle, keepAlive) {
    if (typeof handle !== "object") return;
    if (keepAlive) (handle as NodeTimer).ref();
    else (handle as NodeTimer).unref();
  },
  coarseDeadlines: true,
};
