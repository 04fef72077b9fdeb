import { retryAfterSeconds } from "../http/retry-after.js";
import { WeightedWindow } from "../http/weighted-window.js";
import type { SlackMethod } from "./methods.js";
import { RetryAfterLedger } from "./retry-after-ledger.js";

/** "At most `limit` calls in any `windowMs`", as Slack documents its limits. */
export interface SlackRateLimit {
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * Slack's limits, per method, app and workspace, in simulated time. Slack documents tiers as "N+ per
 * minute" with bursts tolerated; the simulator allows exactly N in any minute, bursts included.
 * chat.postMessage is of the special tier, "one message per second per channel, short bursts allowed":
 * modelled per channel as 5 in any 5 seconds. Its workspace-wide limit (undocumented) is not modelled.
 */
export const SLACK_RATE_LIMITS: Readonly<Record<SlackMethod, SlackRateLimit>> = {
  "auth.test": { limit: 100, windowMs: 60_000 }, // Tier 4
  "chat.postMessage": { limit: 5, windowMs: 5_000 }, // special, per channel
  "chat.update": { limit: 50, windowMs: 60_000 }, // Tier 3
  "conversations.info": { limit: 50, windowMs: 60_000 }, // Tier 3
};

/** Replaces the limit of some methods; `false` turns a method's limit off. */
export type SlackRateLimitOverrides = Partial<Record<SlackMethod, SlackRateLimit | false>>;

/**
 * Calls on other connections that arrive this soon after the first 429 of a burst are not counted as
 * ignoring its Retry-After: the client may have sent them before it read the 429. Real time, not scaled.
 */
const IN_FLIGHT_GRACE_MS = 250;

export type RateCheck = {
  /** Whether the call came before a Retry-After told for its limit had passed. */
  readonly ignoredRetryAfter: boolean;
} & ({ readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number });

/** Decides which calls Slack would answer with 429, and remembers what it told the clients. */
export class SlackRateLimits {
  private readonly limits: ReadonlyMap<SlackMethod, SlackRateLimit>;
  /** Per method, app, workspace (and channel, for chat.postMessage). */
  private readonly windows = new Map<string, WeightedWindow>();
  private readonly ledger: RetryAfterLedger;

  /**
   * `timeScale` divides every window: at 100 a minute lasts 600 ms. The Retry-After told is in real
   * seconds, so it is rounded up to at least 1 s however fast simulated time runs. `now` is a monotonic
   * clock in milliseconds.
   */
  constructor(
    overrides: SlackRateLimitOverrides,
    timeScale: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(Number.isFinite(timeScale) && timeScale > 0)) {
      throw new RangeError(`timeScale must be a finite number > 0, got ${timeScale}`);
    }
    const limits = new Map<SlackMethod, SlackRateLimit>();
    for (const [method, limit] of Object.entries({ ...SLACK_RATE_LIMITS, ...overrides })) {
      if (!limit) continue;
      if (!(Number.isInteger(limit.limit) && limit.limit >= 1 && limit.windowMs > 0)) {
        throw new RangeError(`${method}: a rate limit needs a whole limit >= 1 and a window > 0 ms`);
      }
      limits.set(method as SlackMethod, { ...limit, windowMs: limit.windowMs / timeScale });
    }
    this.limits = limits;
    this.ledger = new RetryAfterLedger(IN_FLIGHT_GRACE_MS, now);
  }

  /**
   * Counts a call by an app (`botId`) in a workspace, arriving on `connection`; `channel` is the id
   * (or, when unknown, the reference) a chat.postMessage posts to.
   */
  check(
    method: SlackMethod,
    teamId: string,
    botId: string,
    channel: string | undefined,
    connection: object,
  ): RateCheck {
    const limit = this.limits.get(method);
    if (!limit) return { allowed: true, ignoredRetryAfter: false };
    const key = [teamId, botId, method, ...(method === "chat.postMessage" ? [channel ?? ""] : [])].join(" ");
    const ignoredRetryAfter = this.ledger.ignored(key, connection);
    const window = this.windows.get(key) ?? new WeightedWindow(limit.limit, limit.windowMs);
    this.windows.set(key, window);
    const now = this.now();
    const waitMs = window.waitFor(now, 1);
    // Refused calls are not counted, so a client that waits as long as it is told finds room.
    if (waitMs === 0) {
      window.add(now, 1);
      return { allowed: true, ignoredRetryAfter };
    }
    const seconds = retryAfterSeconds(waitMs);
    this.ledger.refused(key, seconds, connection);
    return { allowed: false, retryAfterSeconds: seconds, ignoredRetryAfter };
  }
}
