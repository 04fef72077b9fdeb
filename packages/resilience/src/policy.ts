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

const rootContext: ExecutionContext = Object.freeze({ signal: neverAbortedSignal, attempt: 1 });

/** Provides `execute` on top of `run`. */
export abstract class BasePolicy implements Policy {
  execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T> {
    return this.run(operation, signal ? { signal, attempt: 1 } : rootContext);
  }

  abstract run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T>;
}
