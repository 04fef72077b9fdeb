/** GitHub's primary limit as its last answer told it (`x-ratelimit-*`). */
export interface RateLimitSnapshot {
  readonly limit: number;
  readonly remaining: number;
  readonly used: number;
  /** When the window resets (epoch ms). */
  readonly resetAt: number;
  /** e.g. "core", "search". */
  readonly resource: string;
}

export type RateLimitListener = (snapshot: RateLimitSnapshot) => void;

type Headers = Readonly<Record<string, string | number | undefined>>;

function numberHeader(headers: Headers, name: string): number | undefined {
  const value = headers[name];
  if (value === undefined || value === "") return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** The primary rate limit, updated from every answer's headers, for metrics and the limiter. */
export class RateLimitState {
  private current: RateLimitSnapshot | undefined;
  private readonly listeners = new Set<RateLimitListener>();

  /** The latest state; undefined until an answer carried rate-limit headers. */
  snapshot(): RateLimitSnapshot | undefined {
    return this.current;
  }

  /** Calls `listener` with each new state; returns the unsubscribe function. */
  onChange(listener: RateLimitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads `x-ratelimit-*`; answers without them (faults, 304s of some proxies) change nothing. */
  update(headers: Headers): void {
    const limit = numberHeader(headers, "x-ratelimit-limit");
    const remaining = numberHeader(headers, "x-ratelimit-remaining");
    const reset = numberHeader(headers, "x-ratelimit-reset");
    if (limit === undefined || remaining === undefined || reset === undefined) return;
    const resource = headers["x-ratelimit-resource"];
    this.current = {
      limit,
      remaining,
      used: numberHeader(headers, "x-ratelimit-used") ?? limit - remaining,
      resetAt: reset * 1000,
      resource: resource === undefined ? "core" : String(resource),
    };
    for (const listener of this.listeners) listener(this.current);
  }
}
