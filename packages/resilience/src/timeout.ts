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
  type Policy,
  type RunsAround,
  rootContext,
  runAround,
  type SettleObserver,
} from "./policy.js";
import { requirePositive } from "./validate.js";

export interface TimeoutOptions {
  /**
   * - `"aggressive"` (default): the caller gets {@link TimeoutError} the moment time is up, even if the
   *   operation ignores its signal and runs on. (How exactly that moment is kept: see {@link Timeout}.)
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
  /** Whether the operation is being called, the only time an observer is taken on. */
  starting = false;
  /** An inner policy told about the settling of `observed`, in place of a reaction of its own. */
  private observer: SettleObserver | undefined;
  private observed: Promise<unknown> | undefined;
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

  /**
   * With the aggressive strategy, the call watches the promise its operation returns; when that is the
   * promise an inner policy (a circuit breaker) would watch too, the one reaction serves both.
   */
  override observeSettle(promise: Promise<unknown>, observer: SettleObserver): boolean {
    if (!this.starting || this.observer) return false;
    this.observer = observer;
    this.observed = promise;
    return true;
  }

  /**
   * Called with the promise the operation returned, before watching it: an observer of another promise
   * (a policy in between handed back a promise of its own) gets a reaction of its own after all.
   */
  started(outcome: unknown): void {
    this.starting = false;
    const observer = this.observer;
    const observed = this.observed;
    if (!observer || !observed || outcome === observed) return;
    this.observer = this.observed = undefined;
    observed.then(
      (result) => observer.settledWithResult(result, this),
      (error: unknown) => observer.settledWithError(error, this),
    );
  }

  /** The operation's promise fulfilled. */
  succeeded(value: unknown): void {
    this.finish();
    this.resolve?.(value);
    this.observer?.settledWithResult(value, this);
  }

  /** The operation's promise rejected. */
  failed(error: unknown): void {
    this.finish();
    this.reject?.(error);
    this.observer?.settledWithError(error, this);
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
 *
 * On a clock with {@link Clock.coarseDeadlines} (the system clock), calls that start within a few
 * milliseconds of each other share one reading of the clock, taken by the shared timer after they
 * started: time is never up early, and at most {@link deadlineGranularityMs} late (1 % of `timeoutMs`,
 * at least 1 ms, at most 10 ms), plus however long a busy event loop holds up that timer's reading
 * (so a call made just before a long synchronous stretch may time out up to that stretch late). A
 * call on its own, apart from any burst, still reads the clock itself.
 */
export class Timeout extends BasePolicy implements RunsAround {
  private readonly strategy: "aggressive" | "cooperative";
  private readonly calls: DeadlineQueue<TimedCall>;

  constructor(
    readonly timeoutMs: number,
    options: TimeoutOptions = {},
  ) {
    super();
    requirePositive("timeoutMs", timeoutMs);
    this.strategy = options.strategy ?? "aggressive";
    const clock = options.clock ?? systemClock;
    this.calls = new DeadlineQueue(
      clock,
      timeoutMs,
      (call) => call.expire(),
      clock.coarseDeadlines ? deadlineGranularityMs(timeoutMs) : 0,
    );
  }

  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    return this.start(operation, undefined, context);
  }

  [runAround]<T>(inner: Policy, operation: Operation<T>, context: ExecutionContext): Promise<T> {
    return this.start(operation, inner, context);
  }

  /** Runs `operation`, through `inner` if there is one, within the time. */
  private start<T>(
    operation: Operation<T>,
    inner: Policy | undefined,
    context: ExecutionContext,
  ): Promise<T> {
    const cancellable = context !== rootContext;
    if (cancellable && isCancelled(context)) return Promise.reject(new CancelledError(context.signal.reason));
    const aggressive = this.strategy === "aggressive";
    const call = new TimedCall(context, this.calls, this.timeoutMs, aggressive);
    this.calls.add(call);
    // With the aggressive strategy, the caller's abort must end the wait even if the operation never
    // reads its signal.
    const watchCaller = aggressive && cancellable && mustWatchAbort(context);
    return aggressive ? this.race(operation, inner, call, watchCaller) : this.await(operation, inner, call);
  }

  private race<T>(
    operation: Operation<T>,
    inner: Policy | undefined,
    call: TimedCall,
    watchCaller: boolean,
  ): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      call.resolve = resolve as (value: unknown) => void;
      call.reject = reject;
    });
    if (watchCaller) call.watchParent();
    let outcome: PromiseLike<T> | T;
    call.starting = true;
    try {
      outcome = inner === undefined ? operation(call) : inner.run(operation, call);
    } catch (error) {
      call.started(undefined);
      call.fail(error);
      return promise;
    }
    call.started(outcome);
    (outcome instanceof Promise ? outcome : Promise.resolve(outcome)).then(
      (value) => call.succeeded(value),
      (error: unknown) => call.failed(error),
    );
    return promise;
  }

  private async await<T>(operation: Operation<T>, inner: Policy | undefined, call: TimedCall): Promise<T> {
    try {
      return await (inner === undefined ? operation(call) : inner.run(operation, call));
    } catch (error) {
      throw call.timedOut ? new TimeoutError(this.timeoutMs, { cause: error }) : error;
    } finally {
      call.finish();
    }
  }
}

/**
 * How late a timeout on a clock with {@link Clock.coarseDeadlines} may fire: 1 % of its duration in
 * whole milliseconds, at least 1 (Node's timers have no finer resolution) and at most 10.
 */
export function deadlineGranularityMs(timeoutMs: number): number {
  return Math.min(10, Math.max(1, Math.floor(timeoutMs / 100)));
}

/** Creates a {@link Timeout} policy of `timeoutMs`. */
export function timeout(timeoutMs: number, options?: TimeoutOptions): Timeout {
  return new Timeout(timeoutMs, options);
}
