/** What a policy passes to the operation it runs. */
export interface ExecutionContext {
  /**
   * Aborted when the caller gives up or a timeout fires; pass it on to `fetch`, database drivers and
   * the like. When nothing can abort the call it is a shared signal that never aborts.
   */
  readonly signal: AbortSignal;
  /** 1 for the first try, counting up with each retry of the innermost enclosing retry policy. */
  readonly attempt: number;
}

/** The function a policy protects. */
export type Operation<T> = (context: ExecutionContext) => PromiseLike<T> | T;

/**
 * A resilience policy. `execute` is the entry point for callers; `run` is what compositions call to
 * pass an existing context down. Implement `run` (extending {@link BasePolicy}) to write a policy of
 * your own that composes with the built-in ones.
 */
export interface Policy {
  execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T>;
  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T>;
}

/**
 * A signal that never aborts, shared by calls that have no signal of their own. Listeners added to it
 * are dropped, since they could never be called, so code that forgets to remove them leaks nothing.
 */
export const neverAbortedSignal: AbortSignal = (() => {
  const signal = new AbortController().signal;
  const ignore = () => {};
  Object.defineProperties(signal, {
    addEventListener: { value: ignore },
    removeEventListener: { value: ignore },
  });
  return signal;
})();

/** The context of a call made without a signal: shared, since nothing about it can change. */
export const rootContext: ExecutionContext = Object.freeze({ signal: neverAbortedSignal, attempt: 1 });

/**
 * A context whose signal is created only when something reads it: creating an `AbortSignal` costs
 * microseconds in Node, more than a whole guarded call. Policies look at such a context through
 * {@link isCancelled} and {@link mustWatchAbort}, which never create the signal.
 */
export abstract class LazySignalContext implements ExecutionContext {
  abstract readonly signal: AbortSignal;
  abstract readonly attempt: number;
  /** Whether the call was cancelled or timed out. */
  abstract readonly cancelled: boolean;
  /** Whether the policy that made this context answers its caller as soon as the call is cancelled. */
  abstract readonly answersAbort: boolean;

  /**
   * Asks the policy that made this context to tell `observer` how `promise` settles, if it watches
   * that promise anyway (because the operation it runs hands it back), so that the observer need not
   * add a reaction of its own. Returns false when it cannot; the observer then watches for itself.
   */
  observeSettle(_promise: Promise<unknown>, _observer: SettleObserver): boolean {
    return false;
  }
}

/**
 * Told how an operation's promise settled, with the context the operation ran in; see
 * {@link LazySignalContext.observeSettle}. Called before the caller is resumed.
 */
export interface SettleObserver {
  settledWithResult(result: unknown, context: ExecutionContext): void;
  settledWithError(error: unknown, context: ExecutionContext): void;
}

/** Whether the context's call was cancelled, without creating a signal that does not exist yet. */
export function isCancelled(context: ExecutionContext): boolean {
  return context instanceof LazySignalContext ? context.cancelled : context.signal.aborted;
}

/**
 * Whether a policy must watch the context's signal itself to answer its caller at once on
 * cancellation; not when nothing can cancel the call, or when a policy outside already answers.
 */
export function mustWatchAbort(context: ExecutionContext): boolean {
  return context instanceof LazySignalContext ? !context.answersAbort : context.signal !== neverAbortedSignal;
}

/**
 * The key of an internal method: `policy[runAround](inner, operation, context)` does what
 * `policy.run((context) => inner.run(operation, context), context)` does, without creating a closure
 * per call. {@link Pipeline} uses it where the outer policy has it.
 */
export const runAround: unique symbol = Symbol("runAround");

/** A policy with the {@link runAround} method. */
export interface RunsAround {
  [runAround]<T>(inner: Policy, operation: Operation<T>, context: ExecutionContext): Promise<T>;
}

/** Provides `execute` on top of `run`. */
export abstract class BasePolicy implements Policy {
  execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T> {
    return this.run(operation, signal ? { signal, attempt: 1 } : rootContext);
  }

  abstract run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T>;
}
