import { type Clock, systemClock } from "../clock.js";
import { TimeBuckets } from "../time-buckets.js";
import { requireInteger, requireNonNegative, requirePositive } from "../validate.js";

export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of calls in the window. Default 0.1 (10 %). */
  readonly ratio?: number;
  /** Retries always allowed per second, so a quiet service can still retry. Default 1. */
  readonly minRetriesPerSecond?: number;
  /** How far back calls and retries are counted. Default 10 000 ms. */
  readonly windowMs?: number;
  /** Resolution of the window. Default 10. */
  readonly buckets?: number;
  readonly clock?: Clock;
}

export interface RetryBudgetSnapshot {
  readonly calls: number;
  readonly retries: number;
  readonly allowed: number;
}

const CALLS = 0;
const RETRIES = 1;

/**
 * Bounds retries to a fraction of calls over a sliding window, so that when a dependency fails for
 * everyone, retries add at most `ratio` extra load instead of multiplying it. Share one budget between
 * the retry policies that call the same dependency.
 */
export class RetryBudget {
  private readonly clock: Clock;
  private readonly ratio: number;
  private readonly reserve: number;
  private readonly counts: TimeBuckets;

  constructor(options: RetryBudgetOptions = {}) {
    const { ratio = 0.1, minRetriesPerSecond = 1, windowMs = 10_000, buckets = 10 } = options;
    requireNonNegative("ratio", ratio);
    requireNonNegative("minRetriesPerSecond", minRetriesPerSecond);
    requirePositive("windowMs", windowMs);
    requireInteger("buckets", buckets, 1);
    this.clock = options.clock ?? systemClock;
    this.ratio = ratio;
    this.reserve = (minRetriesPerSecond * windowMs) / 1000;
    this.counts = new TimeBuckets(windowMs, buckets, 2);
  }

  /** Counts a first attempt. */
  recordCall(): void {
    this.counts.add(this.clock.now(), CALLS);
  }

  /** Takes a retry from the budget; false when the budget is spent. */
  tryAcquireRetry(): boolean {
    const now = this.clock.now();
    const retries = this.counts.total(now, RETRIES);
    if (retries + 1 > this.allowed(now)) return false;
    this.counts.add(now, RETRIES);
    return true;
  }

  snapshot(): RetryBudgetSnapshot {
    const now = this.clock.now();
    return {
      calls: this.counts.total(now, CALLS),
      retries: this.counts.total(now, RETRIES),
      allowed: this.allowed(now),
    };
  }

  private allowed(now: number): number {
    return this.reserve + this.ratio * this.counts.total(now, CALLS);
  }
}
