/** Base class of every error this package throws, so callers can tell policy errors from their own. */
export class ResilienceError extends Error {
  override readonly name: string = "ResilienceError";
}

/**
 * An error thrown to shed load: at a high rate, always from the same place in this package. Capturing
 * a stack trace would cost more than the rest of the refused call, so it has none.
 */
abstract class LoadSheddingError extends ResilienceError {
  constructor(message: string) {
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** The state a circuit was in when it refused a call. */
export type RefusingCircuitState = "open" | "half-open" | "isolated";

/**
 * Thrown instead of calling the operation while a circuit breaker refuses calls. `retryAfterMs` is the
 * time until the open breaker will admit a trial call (absent when half-open or isolated), which
 * `retry` honours as a hint when told to retry broken-circuit errors. It carries no stack trace.
 */
export class BrokenCircuitError extends LoadSheddingError {
  override readonly name = "BrokenCircuitError";
  constructor(
    readonly breaker: string,
    readonly state: RefusingCircuitState,
    readonly retryAfterMs: number | undefined,
  ) {
    super(
      state === "isolated"
        ? `circuit "${breaker}" is isolated by hand`
        : state === "open"
          ? `circuit "${breaker}" is open; next trial in ${Math.ceil(retryAfterMs ?? 0)} ms`
          : `circuit "${breaker}" is half-open and all trial calls are taken`,
    );
  }
}

/** Thrown when an operation did not settle within its time limit. */
export class TimeoutError extends ResilienceError {
  override readonly name = "TimeoutError";
  constructor(
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`operation timed out after ${timeoutMs} ms`, options);
  }
}

/** Why a bulkhead refused a call. */
export type BulkheadRejection = "queue-full" | "queue-timeout";

/**
 * Thrown when a bulkhead has no free slot and no queue room, or a queued call waited too long. It
 * carries no stack trace.
 */
export class BulkheadRejectedError extends LoadSheddingError {
  override readonly name = "BulkheadRejectedError";
  constructor(
    readonly reason: BulkheadRejection,
    readonly maxConcurrent: number,
    readonly maxQueued: number,
  ) {
    super(
      reason === "queue-full"
        ? `bulkhead full: ${maxConcurrent} running and ${maxQueued} queued`
        : "bulkhead queue wait timed out",
    );
  }
}

/** Thrown when the caller's `AbortSignal` aborted; `cause` is the signal's reason. */
export class CancelledError extends ResilienceError {
  override readonly name = "CancelledError";
  constructor(reason: unknown) {
    super("operation cancelled", { cause: reason });
  }
}
