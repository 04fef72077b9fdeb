import { rejectOnAbort, sleep } from "../abortable.js";
import { type Clock, type RandomSource, systemClock } from "../clock.js";
import { BrokenCircuitError, CancelledError } from "../errors.js";
import { EventHub, type Unsubscribe } from "../events.js";
import {
  BasePolicy,
  type ExecutionContext,
  isCancelled,
  LazySignalContext,
  type Operation,
  rootContext,
} from "../policy.js";
import { requireInteger, requireNonNegative } from "../validate.js";
import { type Backoff, exponentialBackoff } from "./backoff.js";
import type { RetryBudget } from "./budget.js";

export interface RetryOptions {
  /** Attempts in all, the first included. Default 3; `Infinity` with `maxElapsedMs` retries by time only. */
  readonly maxAttempts?: number;
  /**
   * Time budget from the start of the first attempt. A wait that would end past it is not started:
   * the last error is thrown at once instead.
   */
  readonly maxElapsedMs?: number;
  /** Default: exponential with full jitter, 100 ms doubling up to 30 s. */
  readonly backoff?: Backoff;
  /**
   * Whether an error is worth another attempt. Default: every error except {@link CancelledError} and
   * {@link BrokenCircuitError} (an open breaker is there to fail fast).
   */
  readonly shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Whether a returned value is worth another attempt (a 503 response, say). Default: never. */
  readonly shouldRetryResult?: (result: unknown, attempt: number) => boolean;
  /** Caps retries at a fraction of calls, shared with other policies that hold the same budget. */
  readonly budget?: RetryBudget;
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

/** Why a retry policy stopped retrying. */
export type GiveUpReason = "not-retryable" | "attempts" | "elapsed" | "budget" | "cancelled";

export interface RetryEvents {
  /** Another attempt follows after `delayMs`. */
  retry: {
    readonly attempt: number;
    readonly delayMs: number;
    readonly error: unknown;
    readonly result: unknown;
  };
  /** The last attempt's error or result goes to the caller. */
  giveUp: {
    readonly attempt: number;
    readonly reason: GiveUpReason;
    readonly error: unknown;
    readonly result: unknown;
  };
}

const eventNames = ["retry", "giveUp"] as const;

/**
 * Reads a server's wait hint from an error: a non-negative `retryAfterMs` number property, as set from
 * a `Retry-After` header. The hint replaces the backoff for that wait.
 */
export function retryAfterHint(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("retryAfterMs" in error)) return undefined;
  const hint = error.retryAfterMs;
  return typeof hint === "number" && hint >= 0 ? hint : undefined;
}

/** The context of one attempt: the caller's, with its own attempt number. */
class AttemptContext extends LazySignalContext {
  constructor(
    private readonly parent: ExecutionContext,
    readonly attempt: number,
  ) {
    super();
  }

  get signal(): AbortSignal {
    return this.parent.signal;
  }

  get cancelled(): boolean {
    return isCancelled(this.parent);
  }

  /** The retry policy answers its caller at once on cancellation. */
  get answersAbort(): boolean {
    return true;
  }
}

function isRetryableByDefault(error: unknown): boolean {
  return !(error instanceof CancelledError || error instanceof BrokenCircuitError);
}

/**
 * Runs an operation again when it fails, waiting between attempts. When the caller's `AbortSignal`
 * aborts, the caller gets {@link CancelledError} at once, whether an attempt is running (its context
 * signal aborts too) or a wait. When retries stop, the caller gets the last attempt's own error, or
 * its result when results were being retried.
 */
export class Retry extends BasePolicy {
  private readonly maxAttempts: number;
  private readonly maxElapsedMs: number;
  private readonly backoff: Backoff;
  private readonly shouldRetry: (error: unknown, attempt: number) => boolean;
  private readonly shouldRetryResult: ((result: unknown, attempt: number) => boolean) | undefined;
  private readonly budget: RetryBudget | undefined;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly events = new EventHub<RetryEvents>(eventNames);

  constructor(options: RetryOptions = {}) {
    super();
    this.maxAttempts = options.maxAttempts ?? 3;
    this.maxElapsedMs = options.maxElapsedMs ?? Number.POSITIVE_INFINITY;
    if (this.maxAttempts !== Number.POSITIVE_INFINITY) requireInteger("maxAttempts", this.maxAttempts, 1);
    requireNonNegative("maxElapsedMs", this.maxElapsedMs);
    if (this.maxAttempts === Number.POSITIVE_INFINITY && this.maxElapsedMs === Number.POSITIVE_INFINITY) {
      throw new RangeError("retry needs a finite maxAttempts or maxElapsedMs, or it could retry forever");
    }
    this.backoff = options.backoff ?? exponentialBackoff();
    this.shouldRetry = options.shouldRetry ?? isRetryableByDefault;
    this.shouldRetryResult = options.shouldRetryResult;
    this.budget = options.budget;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  on<K extends keyof RetryEvents>(event: K, listener: (event: RetryEvents[K]) => void): Unsubscribe {
    return this.events.on(event, listener);
  }

  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    this.budget?.recordCall();
    const startedAt = this.maxElapsedMs === Number.POSITIVE_INFINITY ? 0 : this.clock.now();
    // The caller's own context serves the first attempt, unless a policy outside made it: a breaker
    // inside would then report to that policy rather than watch the attempt itself, and would record
    // its outcome only after this policy's reaction.
    const first =
      context === rootContext || (context.attempt === 1 && !(context instanceof LazySignalContext))
        ? context
        : new AttemptContext(context, 1);
    let outcome: PromiseLike<T> | T;
    try {
      outcome = operation(first);
    } catch (error) {
      return rejectOnAbort(this.retryAfter(operation, context, startedAt, true, error), context);
    }
    const promise = outcome instanceof Promise ? (outcome as Promise<T>) : Promise.resolve(outcome);
    const shouldRetryResult = this.shouldRetryResult;
    // The first attempt is the common case and succeeds: one reaction, no async frame.
    const settled = promise.then(
      shouldRetryResult &&
        ((result: T) =>
          shouldRetryResult(result, 1)
            ? this.retryAfter(operation, context, startedAt, false, result)
            : result),
      (error: unknown) => this.retryAfter(operation, context, startedAt, true, error),
    );
    return rejectOnAbort(settled, context);
  }

  /** Carries on after the first attempt failed (`failed`) or returned a result worth retrying. */
  private async retryAfter<T>(
    operation: Operation<T>,
    context: ExecutionContext,
    startedAt: number,
    failed: boolean,
    outcome: unknown,
  ): Promise<T> {
    let previousDelayMs = 0;
    for (let attempt = 1; ; attempt++) {
      const delayMs =
        failed && !this.shouldRetry(outcome, attempt)
          ? this.giveUp(attempt, "not-retryable", outcome, undefined)
          : this.nextDelay(attempt, previousDelayMs, startedAt, context, failed, outcome);
      if (delayMs < 0) {
        if (failed) throw outcome;
        return outcome as T;
      }
      await sleep(this.clock, delayMs, context.signal);
      previousDelayMs = delayMs;
      try {
        outcome = await operation(new AttemptContext(context, attempt + 1));
        failed = false;
        if (!this.shouldRetryResult?.(outcome, attempt + 1)) return outcome as T;
      } catch (error) {
        outcome = error;
        failed = true;
      }
    }
  }

  /** The wait before the next attempt, or -1 (after emitting `giveUp`) when there is none. */
  private nextDelay(
    attempt: number,
    previousDelayMs: number,
    startedAt: number,
    context: ExecutionContext,
    failed: boolean,
    outcome: unknown,
  ): number {
    const error = failed ? outcome : undefined;
    const result = failed ? undefined : outcome;
    if (isCancelled(context)) return this.giveUp(attempt, "cancelled", error, result);
    if (attempt >= this.maxAttempts) return this.giveUp(attempt, "attempts", error, result);
    const delayMs = retryAfterHint(error) ?? Math.max(0, this.backoff(attempt, previousDelayMs, this.random));
    if (
      this.maxElapsedMs !== Number.POSITIVE_INFINITY &&
      this.clock.now() + delayMs - startedAt > this.maxElapsedMs
    ) {
      return this.giveUp(attempt, "elapsed", error, result);
    }
    if (this.budget && !this.budget.tryAcquireRetry()) return this.giveUp(attempt, "budget", error, result);
    if (this.events.has("retry")) this.events.emit("retry", { attempt, delayMs, error, result });
    return delayMs;
  }

  private giveUp(attempt: number, reason: GiveUpReason, error: unknown, result: unknown): -1 {
    if (this.events.has("giveUp")) this.events.emit("giveUp", { attempt, reason, error, result });
    return -1;
  }
}

/** Creates a {@link Retry} policy: `await retry({ maxAttempts: 5 }).execute(() => fetch(url))`. */
export function retry(options?: RetryOptions): Retry {
  return new Retry(options);
}
