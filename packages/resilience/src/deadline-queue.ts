import type { Clock, TimerHandle } from "./clock.js";

/** An item that can wait in a {@link DeadlineQueue}; the queue owns these fields. */
export interface DeadlineEntry {
  deadline: number;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
}

/**
 * Expires entries that all wait the same time, with one timer for the whole queue instead of one per
 * entry (a Node timer costs more than the call it guards). Equal waits make insertion order deadline
 * order, so the queue is a FIFO list: add and remove are O(1), and the timer only ever needs the head.
 * While the queue is empty the leftover timer does not keep the process alive. An infinite wait never
 * expires and sets no timer.
 */
export class DeadlineQueue<E extends DeadlineEntry> {
  private head: E | undefined;
  private tail: E | undefined;
  private timer: TimerHandle | undefined;
  private timerDueAt = 0;

  constructor(
    private readonly clock: Clock,
    private readonly waitMs: number,
    private readonly onExpire: (entry: E) => void,
  ) {}

  add(entry: E): void {
    entry.deadline = this.clock.now() + this.waitMs;
    entry.previous = this.tail;
    entry.next = undefined;
    if (this.tail) {
      this.tail.next = entry;
    } else {
      this.head = entry;
      this.armFor(entry.deadline);
    }
    this.tail = entry;
  }

  remove(entry: E): void {
    if (entry.previous) entry.previous.next = entry.next;
    else if (this.head === entry) this.head = entry.next as E | undefined;
    else return; // not queued
    if (entry.next) entry.next.previous = entry.previous;
    else this.tail = entry.previous as E | undefined;
    entry.previous = entry.next = undefined;
    if (!this.head && this.timer !== undefined) this.clock.keepAlive(this.timer, false);
  }

  /** Takes the oldest entry out of the queue. */
  shift(): E | undefined {
    const entry = this.head;
    if (entry) this.remove(entry);
    return entry;
  }

  /** Makes sure a timer fires by `deadline`: an earlier leftover timer is kept and re-armed when it fires. */
  private armFor(deadline: number): void {
    if (deadline === Number.POSITIVE_INFINITY) return;
    if (this.timer !== undefined) {
      if (this.timerDueAt <= deadline) {
        this.clock.keepAlive(this.timer, true);
        return;
      }
      this.clock.clearTimeout(this.timer);
    }
    this.timerDueAt = deadline;
    this.timer = this.clock.setTimeout(this.fire, deadline - this.clock.now());
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.clock.now();
    for (let entry = this.head; entry && entry.deadline <= now; entry = this.head) {
      this.remove(entry);
      this.onExpire(entry);
    }
    if (this.head) this.armFor(this.head.deadline);
  };
}
