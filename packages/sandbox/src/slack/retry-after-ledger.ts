interface Wait {
  /** When the first refusal of this wait was answered. */
  readonly since: number;
  /** Until when calls are too early. */
  until: number;
  /** The connections that carried a refusal. */
  readonly connections: WeakSet<object>;
}

/**
 * Remembers the `Retry-After` told per key, to tell which later calls ignored it: those that came before
 * the wait was over, and either on a connection that had carried a refusal (HTTP/1.1 sends a request
 * only after the previous answer on its connection, so the client had read it), or more than
 * `inFlightGraceMs` after the first refusal (calls sent together with the refused one, before the client
 * could have read its answer, are not held against it).
 */
export class RetryAfterLedger {
  private readonly waits = new Map<string, Wait>();

  /** `now` is a monotonic clock in milliseconds. */
  constructor(
    private readonly inFlightGraceMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Records a refusal on `key`, answered on `connection`, that told the client to wait `seconds`. */
  refused(key: string, seconds: number, connection: object): void {
    const now = this.now();
    const until = now + seconds * 1000;
    const current = this.waits.get(key);
    const wait = current && now < current.until ? current : { since: now, until, connections: new WeakSet() };
    wait.until = Math.max(wait.until, until);
    wait.connections.add(connection);
    this.waits.set(key, wait);
  }

  /** Whether a call on `key`, arriving now on `connection`, came before the client had waited as told. */
  ignored(key: string, connection: object): boolean {
    const now = this.now();
    const wait = this.waits.get(key);
    if (!wait) return false;
    if (now >= wait.until) {
      this.waits.delete(key);
      return false;
    }
    return wait.connections.has(connection) || now > wait.since + this.inFlightGraceMs;
  }
}
