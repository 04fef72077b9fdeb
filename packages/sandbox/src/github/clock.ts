/**
 * Wall-clock time in epoch milliseconds. The simulator reads every time through one, because GitHub tells
 * rate-limit resets as epoch seconds and tests of hour-long windows should not have to wait for them.
 */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told: `advance(3_600_000)` ends an hour's rate-limit window at once. */
export class ManualClock implements Clock {
  constructor(private time: number = Date.now()) {}

  now(): number {
    return this.time;
  }

  advance(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    this.time += ms;
  }
}
