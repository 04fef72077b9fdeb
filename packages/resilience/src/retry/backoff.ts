import type { RandomSource } from "../clock.js";
import { requireNonNegative, requirePositive } from "../validate.js";

/**
 * Computes the wait before the next attempt. `attempt` is the number of the attempt that just failed
 * (1 for the first), `previousDelayMs` the wait before it (0 after the first).
 */
export type Backoff = (attempt: number, previousDelayMs: number, random: RandomSource) => number;

/** The same wait every time. */
export function constantBackoff(delayMs: number): Backoff {
  requireNonNegative("delayMs", delayMs);
  return () => delayMs;
}

export interface ExponentialBackoffOptions {
  /** The first wait, and the base of the growth. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Cap on any single wait. Default 30 000 ms. */
  readonly maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  readonly multiplier?: number;
  /**
   * - `"full"` (default): a uniform random wait between 0 and the exponential value, which spreads
   *   clients that failed together the most.
   * - `"decorrelated"`: a random wait between the initial delay and three times the previous one.
   * - `"none"`: the exponential value itself.
   */
  readonly jitter?: "full" | "decorrelated" | "none";
}

/** Exponentially growing waits with a choice of jitter. */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const { initialDelayMs = 100, maxDelayMs = 30_000, multiplier = 2, jitter = "full" } = options;
  requirePositive("initialDelayMs", initialDelayMs);
  requirePositive("multiplier", multiplier);
  if (maxDelayMs < initialDelayMs) {
    throw new RangeError(`maxDelayMs (${maxDelayMs}) must be >= initialDelayMs (${initialDelayMs})`);
  }
  const exponential = (attempt: number) => Math.min(maxDelayMs, initialDelayMs * multiplier ** (attempt - 1));
  switch (jitter) {
    case "none":
      return exponential;
    case "full":
      return (attempt, _previous, random) => random() * exponential(attempt);
    case "decorrelated":
      return (_attempt, previousDelayMs, random) => {
        const upper = Math.max(initialDelayMs, previousDelayMs * 3);
        return Math.min(maxDelayMs, initialDelayMs + random() * (upper - initialDelayMs));
      };
  }
}
