import { type Clock, systemClock } from "./clock.js";
import { type DeadlineEntry, DeadlineQueue } from "./deadline-queue.js";
import { CancelledError, TimeoutError } from "./errors.js";
import { BasePolicy, type ExecutionContext, type Operation } from "./policy.js";
import { requirePositive } from "./validate.js";

export interface TimeoutOptions {
  /**
   * - `"aggressive"` (default): the caller gets {@link TimeoutError} the moment time is up, even if the
   *   operation ignores its signal and runs on.
   * - `"cooperative"`: the signal aborts when time is up, and the caller waits for the operation to
   *   settle; an operation that fails after the deadline fails with {@link TimeoutError} (its own error
   *   as the cause).
   */
  readonly strategy?: "aggressive" | "cooperative";
  readonly clock?: Clock;
}

/**
 * One guarded call, and the context its operation sees. The signal is created only if the operation
 * asks for it, so calls that never look at it cost no AbortController.
 */
class TimedCall implements ExecutionContext, DeadlineEntry {
  deadline = 0;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  timedOut = false;
  /** Ends the caller's wait early (aggressive strategy only). */
  fail: ((error: unknown) => void) | undefined;
  private controller: AbortController | undefined;

  constructor(
    readonly parent: ExecutionContext,
    readonly timeoutMs: number,
  ) {}

  get attempt(): number {
    return this.parent.attempt;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.timedOut) this.controller.abort(new TimeoutError(this.timeoutMs));
      else if (this.parent.signal.aborted) this.controller.abort(this.parent.signal.reason);
      else this.parent.signal.addEventListener("abort", this.onParentAbort);
    }
    return this.controller.signal;
  }

  expire(): void {
    this.timedOut = true;
    const error = new TimeoutError(this.timeoutMs);
    this.controller?.abort(error);
    this.fail?.(error);
    this.dispose();
  }

  readonly onParentAbort = (): void => {
    this.controller?.abort(this.parent.signal.reason);
    this.fail?.(new CancelledError(this.parent.signal.reason));
  };

  dispose(): void {
    this.parent.signal.removeEventListener("abort", this.onParentAbort);
  }
}

/**
 * Bounds how long an operation may take, aborting the context's signal when time is up. All calls of
 * one policy share a single timer.
 */
export class Timeout extends BasePolicy {
  private readonly strategy: "aggressive" | "cooperative";
  private readonly calls: DeadlineQueue<TimedCall>;

  constructor(
    readonly timeoutMs: number,
    options: TimeoutOptions = {},
  ) {
    super();
    requirePositive("timeoutMs", timeoutMs);
    this.strategy = options.strategy ?? "aggressive";
    this.calls = new DeadlineQueue(options.clock ?? systemClock, timeoutMs, (call) => call.expire());
  }

  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    if (context.signal.aborted) return Promise.reject(new CancelledError(context.signal.reason));
    const call = new TimedCall(context, this.timeoutMs);
    this.calls.add(call);
    return this.strategy === "aggressive" ? this.race(operation, call) : this.await(operation, call);
  }

  private race<T>(operation: Operation<T>, call: TimedCall): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      call.fail = reject;
      // The caller's abort must end the wait even if the operation never reads its signal.
      call.parent.signal.addEventListener("abort", call.onParentAbort);
      try {
        Promise.resolve(operation(call)).then(
          (value) => {
            this.finish(call);
            resolve(value);
          },
          (error: unknown) => {
            this.finish(call);
            reject(error);
          },
        );
      } catch (error) {
        this.finish(call);
        reject(error);
      }
    });
  }

  private async await<T>(operation: Operation<T>, call: TimedCall): Promise<T> {
    try {
      return await operation(call);
    } catch (error) {
      throw call.timedOut ? new TimeoutError(this.timeoutMs, { cause: error }) : error;
    } finally {
      this.finish(call);
    }
  }

  private finish(call: TimedCall): void {
    this.calls.remove(call);
    call.dispose();
  }
}

/** Creates a {@link Timeout} policy of `timeoutMs`. */
export function timeout(timeoutMs: number, options?: TimeoutOptions): Timeout {
  return new Timeout(timeoutMs, options);
}
