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
  rootContext,
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
  /** The caller's settle functions, with the aggressive strategy: the call can answer early. */
  resolve: ((value: unknown) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  private controller: AbortController | undefined;
  private parentListener: (() => void) | undefined;
  private finished = false;

  constructor(
    private readonly parent: ExecutionContext,
    private readonly queue: DeadlineQueue<TimedCall>,
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
    if (this.parentListener || this.finished) return;
    this.parentListener = () => {
      const reason: unknown = this.parent.signal.reason;
      this.controller?.abort(reason);
      if (this.reject) this.fail(new CancelledError(reason));
    };
    this.parent.signal.addEventListener("abort", this.parentListener);
  }

  /** Called by the queue when time is up. */
  expire(): void {
    this.timedOut = true;
    const error = new TimeoutError(this.timeoutMs);
    this.controller?.abort(error);
    if (this.reject) this.fail(error);
    else this.finish();
  }

  succeed(value: unknown): void {
    this.finish();
    this.resolve?.(value);
  }

  fail(error: unknown): void {
    this.finish();
    this.reject?.(error);
  }

  /**
   * Releases what the call holds: its place in the queue (so an abandoned call keeps no timer alive)
   * and its tie to the caller's signal (a signal read later is not linked any more).
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.queue.remove(this);
    if (this.parentListener) this.parent.signal.removeEventListener("abort", this.parentListener);
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
    const cancellable = context !== rootContext;
    if (cancellable && isCancelled(context)) return Promise.reject(new CancelledError(context.signal.reason));
    const aggressive = this.strategy === "aggressive";
    const call = new TimedCall(context, this.calls, this.timeoutMs, aggressive);
    this.calls.add(call);
    // With the aggressive strategy, the caller's abort must end the wait even if the operation never
    // reads its signal.
    const watchCaller = aggressive && cancellable && mustWatchAbort(context);
    return aggressive ? this.race(operation, call, watchCaller) : this.await(operation, call);
  }

  private race<T>(operation: Operation<T>, call: TimedCall, watchCaller: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      call.resolve = resolve as (value: unknown) => void;
      call.reject = reject;
      if (watchCaller) call.watchParent();
      let outcome: PromiseLike<T> | T;
      try {
        outcome = operation(call);
      } catch (error) {
        call.fail(error);
        return;
      }
      (outcome instanceof Promise ? outcome : Promise.resolve(outcome)).then(
        (value) => call.succeed(value),
        (error: unknown) => call.fail(error),
      );
    });
  }

  private async await<T>(operation: Operation<T>, call: TimedCall): Promise<T> {
    try {
      return await operation(call);
    } catch (error) {
      throw call.timedOut ? new TimeoutError(this.timeoutMs, { cause: error }) : error;
    } finally {
      call.finish();
    }
  }
}

/** Creates a {@link Timeout} policy of `timeoutMs`. */
export function timeout(timeoutMs: number, options?: TimeoutOptions): Timeout {
  return new Timeout(timeoutMs, options);
}
