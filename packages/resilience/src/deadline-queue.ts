import type { Clock, TimerHandle } from "./clock.js";

/** An item that can wait in a {@link DeadlineQueue}; the queue owns these fields. */
export interface DeadlineEntry {
  deadline: number;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
}

/** The deadline of an entry added without reading the clock, until the next firing stamps it. */
const UNSTAMPED = Number.POSITIVE_INFINITY;

/**
 * Expires entries that all wait the same time, with one timer for the whole queue instead of one per
 * entry (a Node timer costs more than the call it guards). Equal waits make insertion order deadline
 * order, so the queue is a FIFO list: add and remove are O(1), and the timer only ever needs the head.
 * While the queue is empty the leftover timer does not keep the process alive. An infinite wait never
 * expires and sets no timer.
 *
 * With a `granularityMs` above 0, the queue reads the clock once per burst of entries instead of once
 * per entry (`Date.now()` costs as much as the rest of a guarded call). An entry added less than
 * `granularityMs` after the previous reading starts a burst: it reads the clock and sets the timer to
 * fire within `granularityMs`. Until then, further entries are added unstamped, without a reading;
 * when the timer fires, it reads the clock and stamps each of them with that time + `waitMs`. They
 * were added before that reading, so none expires early, and each at most `granularityMs` late, plus
 * however long a busy event loop holds that timer up. While entries keep coming, the timer keeps
 * firing every `granularityMs`. An entry apart from any burst reads the clock and expires on time.
 * While the timer of a burst is due within `granularityMs`, an empty queue leaves it keeping the
 * process alive, so that sequential calls do not unref and ref it again each time: the process may
 * stay up to `granularityMs` longer after the last entry left.
 */
export class DeadlineQueue<E extends DeadlineEntry> {
  private head: E | undefined;
  private tail: E | undefined;
  /** The first unstamped entry; all unstamped entries are at or after it. */
  private unstamped: E | undefined;
  private timer: TimerHandle | undefined;
  private timerDueAt = 0;
  /** Whether the timer keeps the process alive. */
  private refed = false;
  /** The last time read from the clock. */
  private lastNow = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly waitMs: number,
    private readonly onExpire: (entry: E) => void,
    private readonly granularityMs = 0,
  ) {}

  add(entry: E): void {
    entry.previous = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    if (this.waitMs === Number.POSITIVE_INFINITY) {
      entry.deadline = Number.POSITIVE_INFINITY;
      return;
    }
    if (
      this.granularityMs > 0 &&
      this.timer !== undefined &&
      this.timerDueAt <= this.lastNow + this.granularityMs
    ) {
      // A timer fires within granularityMs of now (the last reading is no later than now): it stamps.
      entry.deadline = UNSTAMPED;
      if (!this.unstamped) this.unstamped = entry;
      if (!this.refed) this.keepAlive(true);
      return;
    }
    const now = this.clock.now();
    entry.deadline = now + this.waitMs;
    const burst = this.granularityMs > 0 && now - this.lastNow < this.granularityMs;
    this.lastNow = now;
    if (burst) this.armFor(now + this.granularityMs, now);
    else if (entry === this.head) this.armFor(entry.deadline, now);
  }

  remove(entry: E): void {
    if (entry.previous) entry.previous.next = entry.next;
    else if (this.head === entry) this.head = entry.next as E | undefined;
    else return; // not queued
    if (entry.next) entry.next.previous = entry.previous;
    else this.tail = entry.previous as E | undefined;
    if (this.unstamped === entry) this.unstamped = entry.next as E | undefined;
    entry.previous = entry.next = undefined;
    if (!this.head && this.refed && !this.firesSoon()) this.keepAlive(false);
  }

  /** Takes the oldest entry out of the queue. */
  shift(): E | undefined {
    const entry = this.head;
    if (entry) this.remove(entry);
    return entry;
  }

  /** Whether the timer of a burst fires within granularityMs of now anyway. */
  private firesSoon(): boolean {
    return this.granularityMs > 0 && this.timerDueAt <= this.lastNow + this.granularityMs;
  }

  private keepAlive(keepAlive: boolean): void {
    this.refed = keepAlive;
    if (this.timer !== undefined) this.clock.keepAlive(this.timer, keepAlive);
  }

  /** Makes sure a timer fires by `dueAt`: an earlier leftover timer is kept and re-armed when it fires. */
  private armFor(dueAt: number, now: number): void {
    if (this.timer !== undefined) {
      if (this.timerDueAt <= dueAt) {
        if (!this.refed) this.keepAlive(true);
        return;
      }
      this.clock.clearTimeout(this.timer);
    }
    this.timerDueAt = dueAt;
    this.timer = this.clock.setTimeout(this.fire, dueAt - now);
    this.refed = true;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.refed = false;
    const now = this.clock.now();
    this.lastNow = now;
    // Every unstamped entry was added before this reading: its deadline is at least its own.
    let stamped = false;
    for (let entry = this.unstamped; entry; entry = entry.next as E | undefined) {
      if (entry.deadline === UNSTAMPED) {
        entry.deadline = now + this.waitMs;
        stamped = true;
      }
    }
    this.unstamped = undefined;
    for (let entry = this.head; entry && entry.deadline <= now; entry = this.head) {
      this.remove(entry);
      this.onExpire(entry);
    }
    if (!this.head) return;
    // A burst that stamped entries is likely to go on: fire again within granularityMs, so that its
    // next entries find a timer to stamp them and need not read the clock.
    const dueAt = stamped ? Math.min(this.head.deadline, now + this.granularityMs) : this.head.deadline;
    this.armFor(dueAt, now);
  };
}
