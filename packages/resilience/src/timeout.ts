import { type Clock, systemClock } from "./clock.js";
import { type DeadlineEntry, DeadlineQueue } from "./deadline-queue.js";
import { CancelledError, TimeoutError } from "./errors.js";
import {
  BasePolicy,
  type ExecutionContext,
  isCancelled,
  LazySignalContext,
  mustWatchAbort,
  type Operation,
} from "./policy.js";
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
 * One guarded call, and the context its operation sees. Its signal is created only if something
 * reads it, so calls that never look cost no AbortController.
 */
class TimedCall extends LazySignalContext implements DeadlineEntry {
  deadline = 0;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  timedOut = false;
  /** Ends the caller's wait early (aggressive strategy only). */
  fail: ((error: unknown) => void) | undefined;
  private controller: AbortController | undefined;
  private watchingParent = false;
  private finished = false;

  constructor(
    private readonly parent: ExecutionContext,
    readonly timeoutMs: number,
    readonly answersAbort: boolean,
  ) {
    super();
  }

  get attempt(): number {
    return this.parent.attempt;
  }

  get cancelled(): boolean {
    return this.timedOut || isCancelled(this.parent);
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.timedOut) this.controller.abort(new TimeoutError(this.timeoutMs));
      else if (this.parent.signal.aborted) this.controller.abort(this.parent.signal.reason);
      else this.watchParent();
    }
    return this.controller.signal;
  }

  /** Follows the caller's cancellation: into the signal, and (aggressive) straight to the caller. */
  watchParent(): void {
    if (this.watchingParent || this.finished) return;
    this.watchingParent = true;
    this.parent.signal.addEventListener("abort", this.onParentAbort);
  }

  expire(): void {
    this.timedOut = true;
    const error = new TimeoutError(this.timeoutMs);
    this.controller?.abort(error);
    this.fail?.(error);
    this.dispose();
  }

  private readonly onParentAbort = (): void => {
    const reason: unknown = this.parent.signal.reason;
    this.controller?.abort(reason);
    this.fail?.(new CancelledError(reason));
  };

  /** Ends the call's ties to its caller; a signal read later is not linked any more. */
  dispose(): void {
    this.finished = true;
    if (this.watchingParent) this.parent.signal.removeEventListener("abort", this.onParentAbort);
    this.watchingParent = false;
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
    if (isCancelled(context)) return Promise.reject(new CancelledError(context.signal.reason));
    const aggressive = this.strategy === "aggressive";
    const call = new TimedCall(context, this.timeoutMs, aggressive);
    this.calls.add(call);
    return aggressive ? this.race(operation, call, context) : this.await(operation, call);
  }

  private race<T>(operation: Operation<T>, call: TimedCall, context: ExecutionContext): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Answering the caller early also ends the call's wait in the queue, so an operation that never
      // settles keeps no timer alive.
      call.fail = (error) => {
        this.finish(call);
        reject(error);
      };
      // The caller's abort must end the wait even if the operation never reads its signal.
      if (mustWatchAbort(context)) call.watchParent();
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
