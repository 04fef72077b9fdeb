import type { Clock, TimerHandle } from "../src/clock.js";
import { ManualClock } from "../src/manual-clock.js";

/** Resolves once every promise callback queued so far (and those they queue) has run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its settle functions, for operations the test finishes by hand. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The state of a promise as seen so far; reading it never leaves a rejection unhandled. */
export type Outcome<T> =
  | { readonly status: "pending" }
  | { readonly status: "fulfilled"; readonly value: T }
  | { readonly status: "rejected"; readonly error: unknown };

export interface Tracked<T> {
  readonly outcome: Outcome<T>;
  /** The same outcome, once the promise has settled. */
  readonly settled: Promise<Outcome<T>>;
}

/** Watches a promise from now on, so a test can check whether it settled after moving a clock. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  let outcome: Outcome<T> = { status: "pending" };
  const settled = promise.then(
    (value): Outcome<T> => {
      outcome = { status: "fulfilled", value };
      return outcome;
    },
    (error: unknown): Outcome<T> => {
      outcome = { status: "rejected", error };
      return outcome;
    },
  );
  return {
    get outcome() {
      return outcome;
    },
    settled,
  };
}

/** The error a tracked promise rejected with; fails the test if it did anything else. */
export function rejectionOf<T>(tracked: Tracked<T>): unknown {
  const { outcome } = tracked;
  if (outcome.status !== "rejected") throw new Error(`expected a rejection, promise is ${outcome.status}`);
  return outcome.error;
}

export type ClockCall =
  | { readonly op: "setTimeout"; readonly handle: TimerHandle; readonly delayMs: number; readonly at: number }
  | { readonly op: "clearTimeout"; readonly handle: TimerHandle; readonly at: number }
  | {
      readonly op: "keepAlive";
      readonly handle: TimerHandle;
      readonly keepAlive: boolean;
      readonly at: number;
    };

/**
 * A {@link ManualClock} that records every timer call made on it and counts the reads of `now()`.
 * With `coarseDeadlines`, it lets a timeout stamp deadlines in bursts, as the system clock does.
 */
export class RecordingClock implements Clock {
  readonly calls: ClockCall[] = [];
  readonly coarseDeadlines: boolean;
  /** How many times `now()` was read. */
  reads = 0;

  constructor(
    readonly inner: ManualClock = new ManualClock(),
    options: { readonly coarseDeadlines?: boolean } = {},
  ) {
    this.coarseDeadlines = options.coarseDeadlines ?? false;
  }

  now(): number {
    this.reads++;
    return this.inner.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle = this.inner.setTimeout(callback, delayMs);
    this.calls.push({ op: "setTimeout", handle, delayMs, at: this.inner.now() });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.calls.push({ op: "clearTimeout", handle, at: this.inner.now() });
    this.inner.clearTimeout(handle);
  }

  keepAlive(handle: TimerHandle, keepAlive: boolean): void {
    this.calls.push({ op: "keepAlive", handle, keepAlive, at: this.inner.now() });
    this.inner.keepAlive();
  }

  get pendingTimers(): number {
    return this.inner.pendingTimers;
  }

  advance(ms: number): void {
    this.inner.advance(ms);
  }

  advanceAsync(ms: number): Promise<void> {
    return this.inner.advanceAsync(ms);
  }

  /** Calls of one kind, in order. */
  callsOf<K extends ClockCall["op"]>(op: K): Extract<ClockCall, { op: K }>[] {
    return this.calls.filter((call): call is Extract<ClockCall, { op: K }> => call.op === op);
  }

  clearRecord(): void {
    this.calls.length = 0;
  }
}
