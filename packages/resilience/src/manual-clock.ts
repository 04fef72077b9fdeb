import type { Clock, TimerHandle } from "./clock.js";

interface ScheduledTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

/**
 * A clock that moves only when told to, for deterministic tests of timing logic. Timers fire in due
 * order (ties in scheduling order) as time is advanced past them.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: ScheduledTimer[] = [];

  constructor(startAt = 0) {
    this.current = startAt;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextId++, dueAt: this.current + Math.max(0, delayMs), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  keepAlive(): void {}

  /** Number of timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward synchronously, firing due timers in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let timer = this.takeDue(target); timer; timer = this.takeDue(target)) {
      this.current = timer.dueAt;
      timer.callback();
    }
    this.current = target;
  }

  /**
   * Moves time forward like {@link advance}, but lets promise callbacks run after every timer, so code
   * that awaits a sleep and then schedules the next one behaves as it would in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (let timer = this.takeDue(target); timer; timer = this.takeDue(target)) {
      this.current = timer.dueAt;
      timer.callback();
      await settle();
    }
    this.current = target;
    await settle();
  }

  private takeDue(until: number): ScheduledTimer | undefined {
    let earliest: ScheduledTimer | undefined;
    for (const timer of this.timers) {
      if (timer.dueAt <= until && (!earliest || timer.dueAt < earliest.dueAt)) earliest = timer;
    }
    if (earliest) this.timers.splice(this.timers.indexOf(earliest), 1);
    return earliest;
  }
}

/** Resolves after every pending promise callback has run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
