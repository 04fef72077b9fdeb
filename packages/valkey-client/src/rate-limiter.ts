import { setTimeout as sleep } from "node:timers/promises";
import { CancelledError } from "@monarch/resilience";
import type { ValkeyClient } from "./connection.js";
import { requireSameSlot, withHashTag } from "./keys.js";
import { LuaScript } from "./lua.js";
import { requireInteger, requireNonEmpty } from "./options.js";
import { LUA_NOW_MS } from "./server-time.js";

/** At most `limit` permits in any `windowMs` (a sliding window). */
export interface RateWindow {
  readonly limit: number;
  readonly windowMs: number;
}

/** GitHub's secondary limits on content creation, per credential: 80 a minute and 500 an hour. */
export const githubContentCreationWindows: readonly RateWindow[] = [
  { limit: 80, windowMs: 60_000 },
  { limit: 500, windowMs: 3_600_000 },
];

export interface SharedRateLimiterOptions {
  readonly client: ValkeyClient;
  /** What is limited, e.g. one GitHub credential. Limiters of the same name share their permits. */
  readonly name: string;
  /** A permit is granted only when every window allows it, and then counts in every window. */
  readonly windows: readonly RateWindow[];
  /** Default "monarch:ratelimit". */
  readonly keyPrefix?: string;
}

/** A granted permit with the server time it was granted at, or how long until one could be. */
export type RatePermit =
  | { readonly granted: true; readonly at: number }
  | { readonly granted: false; readonly waitMs: number };

export interface RateLimiterSnapshot {
  /** Server time (epoch ms) the counts were taken at. */
  readonly at: number;
  /** Set by {@link SharedRateLimiter.blockUntil}; null when not blocked. */
  readonly blockedUntil: number | null;
  readonly windows: ReadonlyArray<RateWindow & { readonly used: number }>;
}

/**
 * Grants a permit if the block has passed and every window has room, and then records it in every
 * window; otherwise records nothing. A window holds the permits of the last `windowMs`, as a sorted set
 * scored by grant time. When a window is full, a permit frees up when the permit that keeps it full
 * (the `used - limit + 1`th oldest) leaves it, so the wait is exact.
 * KEYS: blocked-until key, sequence key, one sorted set per window.
 * ARGV: limit and window ms of each window, in the order of their keys.
 * Returns { 1, server time } when granted, { 0, wait ms } when not.
 */
const tryAcquireScript = new LuaScript(`
${LUA_NOW_MS}
local wait = math.max(0, tonumber(redis.call('GET', KEYS[1]) or '0') - now)
for index = 3, #KEYS do
  local limit = tonumber(ARGV[index * 2 - 5])
  local windowMs = tonumber(ARGV[index * 2 - 4])
  redis.call('ZREMRANGEBYSCORE', KEYS[index], '-inf', now - windowMs)
  local used = redis.call('ZCARD', KEYS[index])
  if used >= limit then
    local blocking = redis.call('ZRANGE', KEYS[index], used - limit, used - limit, 'WITHSCORES')
    wait = math.max(wait, tonumber(blocking[2]) + windowMs - now)
  end
end
if wait > 0 then return { 0, wait } end
-- The grant time makes members unique even if the sequence key expired and started again.
local member = now .. '-' .. redis.call('INCR', KEYS[2])
local longest = 0
for index = 3, #KEYS do
  local windowMs = tonumber(ARGV[index * 2 - 4])
  longest = math.max(longest, windowMs)
  redis.call('ZADD', KEYS[index], now, member)
  redis.call('PEXPIRE', KEYS[index], windowMs)
end
redis.call('PEXPIRE', KEYS[2], longest)
return { 1, now }
`);

/**
 * Blocks permits until a time, or keeps the current block if it lasts longer.
 * KEYS: blocked-until key. ARGV: epoch ms. Returns nothing.
 */
const blockUntilScript = new LuaScript(`
${LUA_NOW_MS}
local untilMs = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > now and untilMs > current then
  redis.call('SET', KEYS[1], untilMs, 'PX', untilMs - now)
end
`);

/**
 * Counts the permits in each window now.
 * KEYS: blocked-until key, one sorted set per window. ARGV: window ms of each window.
 * Returns { server time, blocked until or 0, used per window... }.
 */
const snapshotScript = new LuaScript(`
${LUA_NOW_MS}
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
local result = { now, blocked > now and blocked or 0 }
for index = 2, #KEYS do
  result[index + 1] = redis.call('ZCOUNT', KEYS[index], '(' .. (now - tonumber(ARGV[index - 1])), '+inf')
end
return result
`);

/**
 * A rate limit shared by every replica: permits are counted in Valkey, in sliding windows, by one
 * atomic script that reads the server's clock. For GitHub's secondary limits, one limiter per
 * credential with {@link githubContentCreationWindows}, and {@link SharedRateLimiter.blockUntil} when
 * GitHub answers with `retry-after` anyway. Keys expire once idle, so an unused credential costs nothing.
 */
export class SharedRateLimiter {
  readonly name: string;
  readonly windows: readonly RateWindow[];
  private readonly client: ValkeyClient;
  private readonly blockedKey: string;
  private readonly sequenceKey: string;
  private readonly windowKeys: readonly string[];
  private readonly windowArguments: readonly number[];

  constructor(options: SharedRateLimiterOptions) {
    requireNonEmpty("name", options.name);
    requireWindows(options.windows);
    this.client = options.client;
    this.name = options.name;
    this.windows = options.windows.map(({ limit, windowMs }) => ({ limit, windowMs }));
    const base = withHashTag(`${options.keyPrefix ?? "monarch:ratelimit"}:${options.name}`);
    this.blockedKey = `${base}:blocked`;
    this.sequenceKey = `${base}:seq`;
    this.windowKeys = this.windows.map(({ windowMs }) => `${base}:w${windowMs}`);
    this.windowArguments = this.windows.flatMap(({ limit, windowMs }) => [limit, windowMs]);
    requireSameSlot("a rate limiter", [this.blockedKey, this.sequenceKey, ...this.windowKeys]);
  }

  /** Takes a permit if every window allows one now; never waits. */
  async tryAcquire(): Promise<RatePermit> {
    const reply = (await tryAcquireScript.run(
      this.client,
      [this.blockedKey, this.sequenceKey, ...this.windowKeys],
      this.windowArguments,
    )) as [number, number];
    return reply[0] === 1 ? { granted: true, at: reply[1] } : { granted: false, waitMs: reply[1] };
  }

  /**
   * Takes a permit, waiting as long as the limiter says each time it refuses (other replicas may take
   * the freed permit first, so it can refuse again). Resolves with the server time of the grant;
   * rejects with `CancelledError` once `signal` aborts.
   */
  async acquire(signal?: AbortSignal): Promise<number> {
    for (;;) {
      if (signal?.aborted) throw new CancelledError(signal.reason);
      const permit = await this.tryAcquire();
      if (permit.granted) return permit.at;
      try {
        await sleep(permit.waitMs, undefined, signal ? { signal } : {});
      } catch (error) {
        if (signal?.aborted) throw new CancelledError(signal.reason);
        throw error;
      }
    }
  }

  /**
   * Refuses permits to every replica until `epochMs` (e.g. from GitHub's `retry-after`). A block that
   * already lasts longer is kept; the key expires with the block.
   */
  async blockUntil(epochMs: number): Promise<void> {
    if (!Number.isFinite(epochMs)) throw new RangeError(`blockUntil needs an epoch ms time, got ${epochMs}`);
    await blockUntilScript.run(this.client, [this.blockedKey], [Math.ceil(epochMs)]);
  }

  /** The permits in each window now, for metrics and status pages. */
  async snapshot(): Promise<RateLimiterSnapshot> {
    const reply = (await snapshotScript.run(
      this.client,
      [this.blockedKey, ...this.windowKeys],
      this.windows.map(({ windowMs }) => windowMs),
    )) as number[];
    const [at = 0, blockedUntil = 0, ...used] = reply;
    return {
      at,
      blockedUntil: blockedUntil === 0 ? null : blockedUntil,
      windows: this.windows.map((window, index) => ({ ...window, used: used[index] ?? 0 })),
    };
  }
}

function requireWindows(windows: readonly RateWindow[]): void {
  if (windows.length === 0) throw new RangeError("windows must list at least one window");
  windows.forEach(({ limit, windowMs }, index) => {
    requireInteger(`windows[${index}].limit`, limit, 1);
    requireInteger(`windows[${index}].windowMs`, windowMs, 1);
    const first = windows.findIndex((other) => other.windowMs === windowMs);
    if (first !== index) {
      // Both would count in one sorted set; the smaller limit is the one that matters anyway.
      throw new RangeError(`windows[${index}].windowMs (${windowMs}) repeats windows[${first}].windowMs`);
    }
  });
}
