import type { Clock } from "./clock.js";
import { CancelledError } from "./errors.js";
import { type ExecutionContext, mustWatchAbort } from "./policy.js";

/** Waits `ms` on `clock`; rejects with {@link CancelledError} as soon as `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new CancelledError(signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(new CancelledError(signal.reason));
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles like `promise`, except that it rejects with {@link CancelledError} the moment the context's
 * call is cancelled, so a caller who gives up is not kept waiting by an operation that ignores its
 * signal. Does nothing where nothing can cancel the call or a policy outside already answers.
 */
export function rejectOnAbort<T>(promise: Promise<T>, context: ExecutionContext): Promise<T> {
  if (!mustWatchAbort(context)) return promise;
  const signal = context.signal;
  if (signal.aborted) {
    promise.catch(() => {}); // its outcome no longer matters to anyone
    return Promise.reject(new CancelledError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
