import { TimeBuckets } from "../time-buckets.js";
import { requireFraction, requireInteger, requirePositive } from "../validate.js";

/** Opens the breaker after this many failures in a row; any success resets the count. */
export interface ConsecutiveFailuresPolicy {
  readonly kind: "consecutive-failures";
  readonly threshold: number;
}

/** Rates over a window: the breaker opens when either rate reaches its threshold. */
export interface RateThresholds {
  /** Calls the window must hold before rates are judged. Default: the window size, or 10 for time windows. */
  readonly minimumCalls?: number;
  /** Fraction of failed calls (0 < x <= 1) that opens the breaker. Default 0.5. */
  readonly failureRateThreshold?: number;
  /** Calls that take at least this long count as slow, whether they succeed or fail. */
  readonly slowCallDurationMs?: number;
  /** Fraction of slow calls (0 < x <= 1) that opens the breaker. Default 1 (only all-slow trips). */
  readonly slowCallRateThreshold?: number;
}

/** Rates over the last `size` calls. */
export interface CountWindowPolicy extends RateThresholds {
  readonly kind: "count-window";
  readonly size: number;
}

/** Rates over the calls of the last `durationMs`, kept in `buckets` slices (default 10). */
export interface TimeWindowPolicy extends RateThresholds {
  readonly kind: "time-window";
  readonly durationMs: number;
  readonly buckets?: number;
}

/** When a closed breaker opens. Plain data: build one with the helpers or by hand. */
export type TripPolicy = ConsecutiveFailuresPolicy | CountWindowPolicy | TimeWindowPolicy;

/** Trip after `threshold` consecutive failures. */
export function consecutiveFailures(threshold: number): ConsecutiveFailuresPolicy {
  return { kind: "consecutive-failures", threshold };
}

/** Trip on failure or slow-call rate over the last `size` calls. */
export function countWindow(options: Omit<CountWindowPolicy, "kind">): CountWindowPolicy {
  return { kind: "count-window", ...options };
}

/** Trip on failure or slow-call rate over the last `durationMs`, once `minimumCalls` were made. */
export function timeWindow(options: Omit<TimeWindowPolicy, "kind">): TimeWindowPolicy {
  return { kind: "time-window", ...options };
}

/** The counts a trip policy holds now, as in the breaker's snapshot. */
export type WindowSnapshot =
  | { readonly kind: "consecutive-failures"; readonly consecutiveFailures: number }
  | {
      readonly kind: "count-window" | "time-window";
      readonly calls: number;
      readonly failures: number;
      readonly slowCalls: number;
    };

/** The running state behind a {@link TripPolicy}. */
export interface TripState {
  /** Whether outcomes need the call's duration. */
  readonly needsDuration: boolean;
  /** Whether `record` needs the current time. */
  readonly needsNow: boolean;
  /** Records one call; returns true when the breaker must open. */
  record(failed: boolean, durationMs: number, now: number): boolean;
  reset(): void;
  snapshot(now: number): WindowSnapshot;
}

export function createTripState(policy: TripPolicy): TripState {
  switch (policy.kind) {
    case "consecutive-failures":
      requireInteger("threshold", policy.threshold, 1);
      return new ConsecutiveFailures(policy.threshold);
    case "count-window":
      requireInteger("size", policy.size, 1);
      return new CountWindow(policy.size, new RateRule(policy, policy.size));
    case "time-window": {
      const buckets = policy.buckets ?? 10;
      requireInteger("buckets", buckets, 1);
      requirePositive("durationMs", policy.durationMs);
      return new TimeWindow(new TimeBuckets(policy.durationMs, buckets, 3), new RateRule(policy, 10));
    }
  }
}

class ConsecutiveFailures implements TripState {
  readonly needsDuration = false;
  readonly needsNow = false;
  private failures = 0;

  constructor(private readonly threshold: number) {}

  record(failed: boolean): boolean {
    this.failures = failed ? this.failures + 1 : 0;
    return this.failures >= this.threshold;
  }

  reset(): void {
    this.failures = 0;
  }

  snapshot(): WindowSnapshot {
    return { kind: "consecutive-failures", consecutiveFailures: this.failures };
  }
}

/** The thresholds of a windowed policy, validated once. */
class RateRule {
  readonly minimumCalls: number;
  readonly failureRate: number;
  readonly slowRate: number;
  readonly slowCallMs: number;

  constructor(thresholds: RateThresholds, defaultMinimumCalls: number) {
    this.minimumCalls = thresholds.minimumCalls ?? defaultMinimumCalls;
    this.failureRate = thresholds.failureRateThreshold ?? 0.5;
    this.slowRate = thresholds.slowCallRateThreshold ?? 1;
    this.slowCallMs = thresholds.slowCallDurationMs ?? Number.POSITIVE_INFINITY;
    requireInteger("minimumCalls", this.minimumCalls, 1);
    requireFraction("failureRateThreshold", this.failureRate);
    requireFraction("slowCallRateThreshold", this.slowRate);
    requirePositive("slowCallDurationMs", this.slowCallMs);
  }

  get measuresDuration(): boolean {
    return this.slowCallMs !== Number.POSITIVE_INFINITY;
  }

  trips(calls: number, failures: number, slowCalls: number): boolean {
    if (calls < this.minimumCalls) return false;
    return failures >= this.failureRate * calls || slowCalls >= this.slowRate * calls;
  }
}

const FAILED = 1;
const SLOW = 2;

class CountWindow implements TripState {
  readonly needsDuration: boolean;
  readonly needsNow = false;
  private readonly outcomes: Uint8Array;
  private next = 0;
  private calls = 0;
  private failures = 0;
  private slowCalls = 0;

  constructor(
    private readonly size: number,
    private readonly rule: RateRule,
  ) {
    this.outcomes = new Uint8Array(size);
    this.needsDuration = rule.measuresDuration;
  }

  record(failed: boolean, durationMs: number): boolean {
    const outcome = (failed ? FAILED : 0) | (durationMs >= this.rule.slowCallMs ? SLOW : 0);
    if (this.calls === this.size) {
      const evicted = this.outcomes[this.next] as number;
      this.failures -= evicted & FAILED;
      this.slowCalls -= (evicted & SLOW) >> 1;
    } else {
      this.calls++;
    }
    this.outcomes[this.next] = outcome;
    this.failures += outcome & FAILED;
    this.slowCalls += (outcome & SLOW) >> 1;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    return this.rule.trips(this.calls, this.failures, this.slowCalls);
  }

  reset(): void {
    this.next = this.calls = this.failures = this.slowCalls = 0;
  }

  snapshot(): WindowSnapshot {
    return { kind: "count-window", calls: this.calls, failures: this.failures, slowCalls: this.slowCalls };
  }
}

const CALLS = 0;
const FAILURES = 1;
const SLOW_CALLS = 2;

class TimeWindow implements TripState {
  readonly needsDuration: boolean;
  readonly needsNow = true;

  constructor(
    private readonly buckets: TimeBuckets,
    private readonly rule: RateRule,
  ) {
    this.needsDuration = rule.measuresDuration;
  }

  record(failed: boolean, durationMs: number, now: number): boolean {
    this.buckets.add(now, CALLS);
    if (failed) this.buckets.add(now, FAILURES);
    if (durationMs >= this.rule.slowCallMs) this.buckets.add(now, SLOW_CALLS);
    return this.rule.trips(
      this.buckets.total(now, CALLS),
      this.buckets.total(now, FAILURES),
      this.buckets.total(now, SLOW_CALLS),
    );
  }

  reset(): void {
    this.buckets.clear();
  }

  snapshot(now: number): WindowSnapshot {
    return {
      kind: "time-window",
      calls: this.buckets.total(now, CALLS),
      failures: this.buckets.total(now, FAILURES),
      slowCalls: this.buckets.total(now, SLOW_CALLS),
    };
  }
}
