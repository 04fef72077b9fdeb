/** Where a failed request went: method and route template, never headers (they hold the token). */
export interface RequestTarget {
  readonly method: string;
  readonly route: string;
}

interface GitHubErrorOptions extends RequestTarget {
  readonly cause: unknown;
}

/** Any failed GitHub request, classified so that callers never read status codes. */
export abstract class GitHubError extends Error {
  readonly method: string;
  readonly route: string;

  constructor(message: string, options: GitHubErrorOptions) {
    super(`${options.method} ${options.route}: ${message}`, { cause: options.cause });
    this.method = options.method;
    this.route = options.route;
  }
}

export type RateLimitKind = "primary" | "secondary";

/** Told to wait: a congestion signal, not a failure. `retryAfterMs` is the hint `@monarch/resilience` reads. */
export class RateLimitedError extends GitHubError {
  override readonly name = "RateLimitedError";
  readonly kind: RateLimitKind;
  readonly status: number;
  /** Exactly how long GitHub asked to wait, from its headers. */
  readonly retryAfterMs: number;
  /** When the wait ends (epoch ms). */
  readonly resetAt: number;

  constructor(
    options: GitHubErrorOptions & {
      kind: RateLimitKind;
      status: number;
      retryAfterMs: number;
      resetAt: number;
    },
  ) {
    super(`${options.kind} rate limit (${options.status}), retry in ${options.retryAfterMs} ms`, options);
    this.kind = options.kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.resetAt = options.resetAt;
  }
}

/** What failed a transient request: a 5xx answer, no answer, or no answer in time. */
export type TransientReason = "status" | "network" | "timeout";

/** Worth retrying with backoff: a 5xx, a network failure or a timeout. */
export class TransientGitHubError extends GitHubError {
  override readonly name = "TransientGitHubError";
  readonly reason: TransientReason;
  /** The 5xx status; undefined when no answer came. */
  readonly status: number | undefined;

  constructor(options: GitHubErrorOptions & { reason: TransientReason; status?: number; detail: string }) {
    super(options.detail, options);
    this.reason = options.reason;
    this.status = options.status;
  }
}

/** Will fail again whatever the wait: the item or target fails at once, with `reason`. */
export class PermanentGitHubError extends GitHubError {
  override readonly name = "PermanentGitHubError";
  readonly status: number;
  /** For a person: "repository not found or not visible", "issues are disabled", "validation failed: …". */
  readonly reason: string;

  constructor(options: GitHubErrorOptions & { status: number; reason: string }) {
    super(`${options.reason} (${options.status})`, options);
    this.status = options.status;
    this.reason = options.reason;
  }
}
