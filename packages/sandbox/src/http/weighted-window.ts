interface Entry {
  readonly at: number;
  readonly cost: number;
}

/**
 * "At most `capacity` points in any `windowMs`", where each request costs some points: a log of what it
 * admitted. Asking ({@link waitFor}) and counting ({@link add}) are separate, so that a request is counted
 * only once every window it must pass (a minute's and an hour's) has room for it.
 */
export class WeightedWindow {
  private readonly entries: Entry[] = [];
  private total = 0;

  constructor(
    readonly capacity: number,
    readonly windowMs: number,
  ) {}

  /** Milliseconds from `now` until `cost` more points fit; 0 when they fit now. */
  waitFor(now: number, cost: number): number {
    this.expire(now);
    let excess = this.total + cost - this.capacity;
    if (excess <= 0) return 0;
    // Room comes when enough of the oldest entries have left the window.
    for (const entry of this.entries) {
      excess -= entry.cost;
      if (excess <= 0) return entry.at + this.windowMs - now;
    }
    throw new RangeError(`a cost of ${cost} never fits a capacity of ${this.capacity}`);
  }

  add(now: number, cost: number): void {
    this.entries.push({ at: now, cost });
    this.total += cost;
  }

  private expire(now: number): void {
    while (this.entries.length > 0 && (this.entries[0]?.at ?? now) + this.windowMs <= now) {
      this.total -= this.entries.shift()?.cost ?? 0;
    }
  }
}
