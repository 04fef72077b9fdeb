import { type Clock, systemClock } from "./clock.js";
import { type DeadlineEntry, DeadlineQueue } from "./deadline-queue.js";
import { BulkheadRejectedError, type BulkheadRejection, CancelledError } from "./errors.js";
import { EventHub, type Unsubscribe } from "./events.js";
import { BasePolicy, type ExecutionContext, isCancelled, type Operation } from "./policy.js";
import { requireInteger, requirePositive } from "./validate.js";

export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  readonly maxConcurrent: number;
  /** Calls allowed to wait for a slot; more are rejected at once. Default 0. */
  readonly maxQueued?: number;
  /** How long a queued call may wait before it is rejected. Default: as long as it takes. */
  readonly queueTimeoutMs?: number;
  readonly clock?: Clock;
}

export interface BulkheadEvents {
  rejected: { readonly reason: BulkheadRejection };
}

export interface BulkheadSnapshot {
  readonly running: number;
  readonly queued: number;
}

class QueuedCall implements DeadlineEntry {
  deadline = 0;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;

  constructor(
    readonly admit: () => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

const eventNames = ["rejected"] as const;

/**
 * Limits how many calls run at once, with a bounded queue, so one slow dependency cannot take every
 * connection or all memory. Queued calls start in arrival order as slots free up.
 */
export class Bulkhead extends BasePolicy {
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly queue: DeadlineQueue<QueuedCall>;
  private readonly events = new EventHub<BulkheadEvents>(eventNames);
  private running = 0;
  private queued = 0;

  constructor(options: BulkheadOptions) {
    super();
    this.maxConcurrent = options.maxConcurrent;
    this.maxQueued = options.maxQueued ?? 0;
    const queueTimeoutMs = options.queueTimeoutMs ?? Number.POSITIVE_INFINITY;
    requireInteger("maxConcurrent", this.maxConcurrent, 1);
    requireInteger("maxQueued", this.maxQueued, 0);
    requirePositive("queueTimeoutMs", queueTimeoutMs);
    this.queue = new DeadlineQueue(options.clock ?? systemClock, queueTimeoutMs, (call) => {
      this.queued--;
      call.reject(this.rejection("queue-timeout"));
    });
  }

  on<K extends keyof BulkheadEvents>(event: K, listener: (event: BulkheadEvents[K]) => void): Unsubscribe {
    return this.events.on(event, listener);
  }

  snapshot(): BulkheadSnapshot {
    return { running: this.running, queued: this.queued };
  }

  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    if (isCancelled(context)) return Promise.reject(new CancelledError(context.signal.reason));
    if (this.running < this.maxConcurrent) {
      this.running++;
      return this.runAdmitted(operation, context);
    }
    if (this.queued >= this.maxQueued) return Promise.reject(this.rejection("queue-full"));
    return this.waitForSlot(context.signal).then(() => this.runAdmitted(operation, context));
  }

  private async runAdmitted<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    try {
      return await operation(context);
    } finally {
      this.release();
    }
  }

  /** Hands the slot straight to the oldest queued call, or frees it. */
  private release(): void {
    const next = this.queue.shift();
    if (next) {
      this.queued--;
      next.admit();
    } else {
      this.running--;
    }
  }

  private waitForSlot(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new CancelledError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.queue.remove(call);
        this.queued--;
        reject(new CancelledError(signal.reason));
      };
      const call = new QueuedCall(
        () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
      signal.addEventListener("abort", onAbort, { once: true });
      this.queued++;
      this.queue.add(call);
    });
  }

  private rejection(reason: BulkheadRejection): BulkheadRejectedError {
    if (this.events.has("rejected")) this.events.emit("rejected", { reason });
    return new BulkheadRejectedError(reason, this.maxConcurrent, this.maxQueued);
  }
}

/** Creates a {@link Bulkhead} policy. */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new Bulkhead(options);
}
