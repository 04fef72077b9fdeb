import type { OutgoingHttpHeaders } from "node:http";
import { retryAfterSeconds } from "../http/retry-after.js";
import { WeightedWindow } from "../http/weighted-window.js";
import { GitHubApiError } from "./errors.js";
import type { RouteKey, RouteTraits } from "./route.js";
import type { Credential } from "./store.js";

/** Which of GitHub's limits refused a request. */
export type LimitKind = "primary" | "concurrency" | "points" | "content";

export interface RateLimitOptions {
  /**
   * Requests per sender (a user, whichever of its tokens, or an App installation) per hour, the `core`
   * resource. GitHub: 5 000 for a personal token, as much for an installation (more past 20
   * repositories or users, which the simulator does not model).
   */
  readonly primaryPerHour?: number;
  /** Points per sender and endpoint per minute; a GET costs 1, a mutation 5. GitHub: 900. */
  readonly pointsPerMinute?: number;
  /** Content-creating requests (issues, labels, milestones) per sender per minute. GitHub: 80. */
  readonly contentPerMinute?: number;
  /** The same per hour. GitHub: 500. */
  readonly contentPerHour?: number;
  /** Requests of one sender being handled at once. GitHub: 100. */
  readonly maxConcurrent?: number;
  /**
   * Divides every window, so that tests need not wait minutes: at 100 a minute lasts 600 ms and an hour
   * 36 s. Headers stay in real (clock) seconds, rounded up: a client that honours them needs no scale.
   */
  readonly timeScale?: number;
  /** GitHub documents 403 or 429 for both kinds of limit. Default 403, what it mostly sends. */
  readonly primaryStatus?: 403 | 429;
  readonly secondaryStatus?: 403 | 429;
  /**
   * Whether secondary-limit answers carry `retry-after`. Default true. Without it a client should wait
   * at least a (scaled) minute, and a request sooner counts as a violation.
   */
  readonly secondaryRetryAfter?: boolean;
  /**
   * Real milliseconds (not scaled) after an answer that told a wait during which a request of the same
   * sender is not held to be a violation, as it was likely sent before the client could read the answer
   * (another of its concurrent requests). Default 100.
   */
  readonly violationGraceMs?: number;
}

export type RateLimitConfig = Required<RateLimitOptions>;

/** GitHub's documented limits for a user's personal access token. */
export const GITHUB_RATE_LIMITS: RateLimitConfig = {
  primaryPerHour: 5_000,
  pointsPerMinute: 900,
  contentPerMinute: 80,
  contentPerHour: 500,
  maxConcurrent: 100,
  timeScale: 1,
  primaryStatus: 403,
  secondaryStatus: 403,
  secondaryRetryAfter: true,
  violationGraceMs: 100,
};

/** GitHub's cost of a request against the points limit. */
const MUTATION_POINTS = 5;
const READ_POINTS = 1;

/** The `core` resource of a sender as the `x-ratelimit-*` headers and `GET /rate_limit` tell it. */
export interface RateLimitStatus {
  readonly limit: number;
  readonly remaining: number;
  readonly used: number;
  /** Epoch seconds at which the window resets. */
  readonly reset: number;
}

/** A wait a client had been told about and did not honour. */
export interface IgnoredWait {
  readonly limit: LimitKind;
  /** When the answer that told it was sent (clock milliseconds). */
  readonly toldAt: number;
  /** Until when the client should have waited. */
  readonly until: number;
}

export interface Refusal {
  readonly limit: LimitKind;
  /** How long until the limit admits the request again; secondary limits only. */
  readonly retryAfterMs?: number;
  /**
   * The request came while a wait its sender had been told was in force. Its answer tells the time left
   * and starts no new wait, so that a client that keeps asking is not kept waiting for ever.
   */
  readonly told: boolean;
  /** Set when it came later than the grace after the telling answer: a violation. */
  readonly ignored?: IgnoredWait;
}

export type Admission =
  | {
      readonly admitted: true;
      /** Requests of its sender being handled, this one included (0: not counted, as for /rate_limit). */
      readonly concurrent: number;
      /** Frees the request's concurrency slot; call once, when it is answered or abandoned. */
      readonly release: () => void;
    }
  | { readonly admitted: false; readonly refusal: Refusal };

interface PrimaryWindow {
  /** Clock milliseconds, on a whole second, as the header can tell no finer. */
  readonly reset: number;
  used: number;
  /** When an answer first told the client `x-ratelimit-remaining: 0` in this window. */
  exhaustedToldAt: number | undefined;
}

interface ToldWait {
  readonly limit: Exclude<LimitKind, "primary">;
  /** The endpoint, for a points wait; the others hold for every endpoint they cover. */
  readonly route: RouteKey;
  readonly toldAt: number;
  readonly until: number;
}

interface SenderState {
  window: PrimaryWindow | undefined;
  inFlight: number;
  readonly points: Map<RouteKey, WeightedWindow>;
  readonly contentPerMinute: WeightedWindow;
  readonly contentPerHour: WeightedWindow;
  waits: ToldWait[];
}

const PRIMARY_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
const SECONDARY_DOCS =
  "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits";

function checkConfig(config: RateLimitConfig): void {
  const counts = ["primaryPerHour", "contentPerMinute", "contentPerHour", "maxConcurrent"] as const;
  for (const name of counts) {
    if (!(Number.isInteger(config[name]) && config[name] >= 1)) {
      throw new RangeError(`limits.${name} must be a whole number >= 1, got ${config[name]}`);
    }
  }
  if (!(Number.isInteger(config.pointsPerMinute) && config.pointsPerMinute >= MUTATION_POINTS)) {
    throw new RangeError(
      `limits.pointsPerMinute must be a whole number >= ${MUTATION_POINTS} (a mutation's cost), got ${config.pointsPerMinute}`,
    );
  }
  if (!(Number.isFinite(config.violationGraceMs) && config.violationGraceMs >= 0)) {
    throw new RangeError(
      `limits.violationGraceMs must be a finite number >= 0, got ${config.violationGraceMs}`,
    );
  }
  if (!(Number.isFinite(config.timeScale) && config.timeScale > 0)) {
    throw new RangeError(`limits.timeScale must be a finite number > 0, got ${config.timeScale}`);
  }
}

function coversRoute(wait: ToldWait, route: RouteTraits): boolean {
  switch (wait.limit) {
    case "concurrency":
      return true;
    case "points":
      return wait.route === route.key;
    case "content":
      return route.createsContent;
  }
}

/**
 * Whose requests the limits count together (the sender): a user's, whichever of its tokens sent them,
 * or an App installation's, whichever of its tokens, apart from any user's.
 */
function senderOf(credential: Credential): { readonly key: string; readonly name: string } {
  const { installation, user } = credential;
  return installation
    ? { key: `installation ${installation.id}`, name: `installation ID ${installation.id}` }
    : { key: `user ${user.id}`, name: `user ID ${user.id}` };
}

/**
 * GitHub's primary and secondary rate limits, per sender (user or installation), and what each client
 * was told to wait, to tell the requests that ignored it (violations). {@link admit} decides as a
 * request arrives; {@link answered} gives the headers of its answer as it is sent and remembers what
 * they told.
 *
 * - Primary: a fixed window of an hour from a sender's first request; every admitted request counts, except
 *   `GET /rate_limit` and those answered 304 ({@link refund}). When used up: `primaryStatus` with "API rate
 *   limit exceeded for user ID N." (or "installation ID N") until `x-ratelimit-reset`.
 * - Secondary: requests in flight at once; points per endpoint over a sliding minute; content-creating
 *   requests over a sliding minute and a sliding hour. Refused requests are not counted against them.
 *   Refusal: `secondaryStatus`, a message with "You have exceeded a secondary rate limit", and
 *   `retry-after`: the seconds until the window admits the request, or for the concurrency limit, which
 *   has no window, a (scaled) minute.
 * - A request that arrives while its sender was told to wait (after a `remaining: 0` answer and before the
 *   reset, or within a `retry-after` of the limit that covers it) is refused again, whether or not the
 *   limit would now admit it, with the time left; unless it came within `violationGraceMs` of the telling
 *   answer (sent before the client could read it), it is a violation.
 */
export class GitHubRateLimits {
  private readonly senders = new Map<string, SenderState>();
  private readonly minuteMs: number;
  private readonly hourMs: number;

  constructor(readonly config: RateLimitConfig) {
    checkConfig(config);
    this.minuteMs = 60_000 / config.timeScale;
    this.hourMs = 3_600_000 / config.timeScale;
  }

  admit(credential: Credential, route: RouteTraits, now: number): Admission {
    if (!route.rateLimited) return { admitted: true, concurrent: 0, release: () => {} };
    const state = this.state(credential);
    const window = this.currentWindow(state, now);
    if (window.used >= this.config.primaryPerHour) {
      const told = window.exhaustedToldAt;
      const wait =
        told === undefined ? undefined : { limit: "primary" as const, toldAt: told, until: window.reset };
      return { admitted: false, refusal: this.repeated(wait, now) ?? { limit: "primary", told: false } };
    }
    window.used += 1;
    state.waits = state.waits.filter((wait) => wait.until > now);
    const repeated = this.repeated(
      state.waits.find((wait) => coversRoute(wait, route)),
      now,
    );
    if (repeated) return { admitted: false, refusal: repeated };
    const refuse = (limit: LimitKind, retryAfterMs: number): Admission => ({
      admitted: false,
      refusal: { limit, retryAfterMs, told: false },
    });
    if (state.inFlight >= this.config.maxConcurrent) return refuse("concurrency", this.minuteMs);
    const points = this.pointsWindow(state, route.key);
    const cost = route.method === "GET" ? READ_POINTS : MUTATION_POINTS;
    const pointsWait = points.waitFor(now, cost);
    if (pointsWait > 0) return refuse("points", pointsWait);
    if (route.createsContent) {
      const contentWait = Math.max(
        state.contentPerMinute.waitFor(now, 1),
        state.contentPerHour.waitFor(now, 1),
      );
      if (contentWait > 0) return refuse("content", contentWait);
      state.contentPerMinute.add(now, 1);
      state.contentPerHour.add(now, 1);
    }
    points.add(now, cost);
    state.inFlight += 1;
    let released = false;
    return {
      admitted: true,
      concurrent: state.inFlight,
      release: () => {
        if (released) return;
        released = true;
        state.inFlight -= 1;
      },
    };
  }

  /** Gives back the primary request of an answer that turned out 304, which GitHub does not count. */
  refund(credential: Credential, now: number): void {
    const window = this.senders.get(senderOf(credential).key)?.window;
    if (window && now < window.reset && window.used > 0) window.used -= 1;
  }

  status(credential: Credential, now: number): RateLimitStatus {
    const window = this.senders.get(senderOf(credential).key)?.window;
    const current = window && now < window.reset ? window : undefined;
    const used = current?.used ?? 0;
    const limit = this.config.primaryPerHour;
    return {
      limit,
      used,
      remaining: Math.max(0, limit - used),
      reset: (current?.reset ?? this.nextReset(now)) / 1000,
    };
  }

  /**
   * The rate-limit headers of an answer to `credential` being sent `now`, `retry-after` included for a
   * secondary refusal; remembers what they told the client to wait for.
   */
  answered(
    credential: Credential,
    route: RouteTraits,
    refusal: Refusal | undefined,
    now: number,
  ): OutgoingHttpHeaders {
    const status = this.status(credential, now);
    const headers: OutgoingHttpHeaders = {
      "x-ratelimit-limit": String(status.limit),
      "x-ratelimit-remaining": String(status.remaining),
      "x-ratelimit-used": String(status.used),
      "x-ratelimit-reset": String(status.reset),
      "x-ratelimit-resource": "core",
    };
    const state = this.state(credential);
    if (status.remaining === 0 && state.window && state.window.exhaustedToldAt === undefined) {
      state.window.exhaustedToldAt = now;
    }
    if (refusal && refusal.limit !== "primary") {
      let waitMs = this.minuteMs;
      if (this.config.secondaryRetryAfter) {
        const seconds = retryAfterSeconds(refusal.retryAfterMs ?? this.minuteMs);
        headers["retry-after"] = String(seconds);
        waitMs = seconds * 1000;
      }
      if (!refusal.told)
        state.waits.push({ limit: refusal.limit, route: route.key, toldAt: now, until: now + waitMs });
    }
    return headers;
  }

  /** The answer GitHub gives for a refusal, in its words. */
  refusalError(refusal: Refusal, credential: Credential, requestId: string, now: number): GitHubApiError {
    const support = `If you reach out to GitHub Support for help, please include the request ID ${requestId}`;
    if (refusal.limit === "primary") {
      const timestamp = new Date(now)
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC");
      return new GitHubApiError(
        this.config.primaryStatus,
        `API rate limit exceeded for ${senderOf(credential).name}. ${support} and timestamp ${timestamp}.`,
        { documentationUrl: PRIMARY_DOCS },
      );
    }
    const message =
      refusal.limit === "content"
        ? "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later."
        : "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
    return new GitHubApiError(this.config.secondaryStatus, `${message} ${support}.`, {
      documentationUrl: SECONDARY_DOCS,
    });
  }

  /** The refusal of a request that came while `wait` was in force: a violation after the grace. */
  private repeated(wait: IgnoredWait | undefined, now: number): Refusal | undefined {
    if (!wait) return undefined;
    const { limit, toldAt, until } = wait;
    return {
      limit,
      told: true,
      ...(limit === "primary" ? {} : { retryAfterMs: until - now }),
      ...(now >= toldAt + this.config.violationGraceMs ? { ignored: { limit, toldAt, until } } : {}),
    };
  }

  private state(credential: Credential): SenderState {
    const { key } = senderOf(credential);
    let state = this.senders.get(key);
    if (!state) {
      state = {
        window: undefined,
        inFlight: 0,
        points: new Map(),
        contentPerMinute: new WeightedWindow(this.config.contentPerMinute, this.minuteMs),
        contentPerHour: new WeightedWindow(this.config.contentPerHour, this.hourMs),
        waits: [],
      };
      this.senders.set(key, state);
    }
    return state;
  }

  private currentWindow(state: SenderState, now: number): PrimaryWindow {
    if (!state.window || now >= state.window.reset) {
      state.window = { reset: this.nextReset(now), used: 0, exhaustedToldAt: undefined };
    }
    return state.window;
  }

  /** An hour from `now`, rounded up to the second that `x-ratelimit-reset` can name. */
  private nextReset(now: number): number {
    return Math.ceil((now + this.hourMs) / 1000) * 1000;
  }

  private pointsWindow(state: SenderState, route: RouteKey): WeightedWindow {
    let window = state.points.get(route);
    if (!window) {
      window = new WeightedWindow(this.config.pointsPerMinute, this.minuteMs);
      state.points.set(route, window);
    }
    return window;
  }
}
