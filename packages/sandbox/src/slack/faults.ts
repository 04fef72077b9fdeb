/** How a faulty call fails instead of being handled: an HTTP status, or a connection cut without an answer. */
export type SlackFailure = 500 | 502 | 503 | 504 | "drop";

/** Something wrong with Slack, for the calls it matches. */
export interface SlackFault {
  /** The methods it affects (e.g. `["chat.update"]`); default every method. */
  readonly methods?: readonly string[];
  /** How many calls it affects before it is spent; default every call until {@link Faults.clear}. */
  readonly times?: number;
  /**
   * Real milliseconds (not scaled) before the answer. The call itself takes effect at once, as when
   * Slack is slow to answer: a client that times out and retries a post posts twice.
   */
  readonly delayMs?: number;
  /** Fail the call without handling it; default: handle it. */
  readonly fail?: SlackFailure;
}

interface ActiveFault {
  readonly fault: SlackFault;
  /** Calls it may still affect. */
  left: number;
}

/** The faults injected into a simulator, first match first. */
export class Faults {
  private active: ActiveFault[] = [];

  add(fault: SlackFault): void {
    const { times, delayMs } = fault;
    if (times !== undefined && !(Number.isInteger(times) && times >= 1)) {
      throw new RangeError(`fault times must be a positive integer, got ${times}`);
    }
    if (delayMs !== undefined && !(Number.isFinite(delayMs) && delayMs >= 0)) {
      throw new RangeError(`fault delayMs must be a finite number >= 0, got ${delayMs}`);
    }
    this.active.push({ fault, left: times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.active = [];
  }

  /** The first fault that matches a call of `method`, counted against its `times`. */
  take(method: string): SlackFault | undefined {
    const match = this.active.find(({ fault }) => fault.methods?.includes(method) ?? true);
    if (!match) return undefined;
    match.left -= 1;
    if (match.left === 0) this.active = this.active.filter((active) => active !== match);
    return match.fault;
  }
}
