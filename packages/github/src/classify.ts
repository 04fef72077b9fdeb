import {
  type GitHubError,
  PermanentGitHubError,
  RateLimitedError,
  type RequestTarget,
  TransientGitHubError,
} from "./errors.js";

/** The parts of an Octokit `RequestError` classification reads. */
interface FailedRequest {
  readonly status?: unknown;
  readonly message?: unknown;
  readonly name?: unknown;
  readonly response?: {
    readonly headers: Readonly<Record<string, string | number | undefined>>;
    readonly data?: unknown;
  };
}

const MINUTE_MS = 60_000;

function header(failure: FailedRequest, name: string): number | undefined {
  const value = failure.response?.headers[name];
  if (value === undefined || value === "") return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function gitHubMessage(failure: FailedRequest): string {
  const data = failure.response?.data;
  if (typeof data === "object" && data !== null && "message" in data && typeof data.message === "string") {
    return data.message;
  }
  return typeof failure.message === "string" ? failure.message : "";
}

/** 422's field errors, e.g. "Label name already_exists", for the reason. */
function validationDetails(failure: FailedRequest): string {
  const data = failure.response?.data;
  if (typeof data !== "object" || data === null || !("errors" in data) || !Array.isArray(data.errors)) {
    return gitHubMessage(failure);
  }
  const details = data.errors.map((error: unknown) => {
    if (typeof error === "string") return error;
    if (typeof error !== "object" || error === null) return String(error);
    const { resource, field, code, message } = error as Record<string, unknown>;
    return typeof message === "string" ? message : [resource, field, code].filter(Boolean).join(" ");
  });
  return details.length > 0 ? details.join("; ") : gitHubMessage(failure);
}

function permanentReason(status: number, failure: FailedRequest, route: string): string {
  switch (status) {
    case 401:
      return `authentication failed: ${gitHubMessage(failure)}`;
    case 403:
      return `forbidden: ${gitHubMessage(failure)}`;
    case 404:
      // GitHub answers 404, not 403, for a private repository the credential cannot see.
      return route.includes("{repo}") ? "repository not found or not visible" : `not found: ${route}`;
    case 410:
      return "issues are disabled";
    case 422:
      return `validation failed: ${validationDetails(failure)}`;
    default:
      return `refused: ${gitHubMessage(failure)}`;
  }
}

/**
 * The wait a rate-limited answer asks for, or undefined when the answer is no rate limit.
 * Secondary: `retry-after` seconds, else until `x-ratelimit-reset` when none remain, else at least a
 * minute (GitHub's advice). Primary: until `x-ratelimit-reset`.
 */
function rateLimitWait(
  status: number,
  failure: FailedRequest,
  now: number,
): { kind: "primary" | "secondary"; retryAfterMs: number } | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const retryAfter = header(failure, "retry-after");
  const remaining = header(failure, "x-ratelimit-remaining");
  const reset = header(failure, "x-ratelimit-reset");
  const untilReset = reset === undefined ? undefined : Math.max(0, reset * 1000 - now);
  const secondary = /secondary rate limit/i.test(gitHubMessage(failure));
  if (secondary || (status === 429 && remaining !== 0)) {
    if (retryAfter !== undefined) return { kind: "secondary", retryAfterMs: retryAfter * 1000 };
    if (remaining === 0 && untilReset !== undefined) return { kind: "secondary", retryAfterMs: untilReset };
    return { kind: "secondary", retryAfterMs: MINUTE_MS };
  }
  if (remaining === 0) {
    if (retryAfter !== undefined) return { kind: "primary", retryAfterMs: retryAfter * 1000 };
    return { kind: "primary", retryAfterMs: untilReset ?? MINUTE_MS };
  }
  return undefined;
}

function isTimeout(failure: FailedRequest, cause: unknown): boolean {
  const names = [failure.name, (cause as { name?: unknown } | undefined)?.name];
  return names.some((name) => name === "TimeoutError" || name === "AbortError");
}

/**
 * Replaces every occurrence of each of `secrets` in a text that will be kept (messages, reasons). The
 * set is read at each call, so that credentials learnt later (an App's installation tokens) count too.
 */
export function credentialScrubber(secrets: ReadonlySet<string>): (text: string) => string {
  return (text) => {
    let kept = text;
    for (const secret of secrets) if (secret !== "") kept = kept.replaceAll(secret, "[REDACTED]");
    return kept;
  };
}

/** The Octokit error becomes the `cause`, so what it says is scrubbed too (it is logged with it). */
function scrubInPlace(failure: FailedRequest, scrub: (text: string) => string): void {
  const mutable = failure as { message?: unknown; response?: { data?: unknown } };
  if (typeof mutable.message === "string") mutable.message = scrub(mutable.message);
  const data = mutable.response?.data;
  if (typeof data === "object" && data !== null && "message" in data && typeof data.message === "string") {
    data.message = scrub(data.message);
  }
}

/**
 * The typed error for a failed request. `now` (epoch ms) is when the answer arrived, so waits until
 * `x-ratelimit-reset` are exact; `scrub` removes the credential from any text kept.
 */
export function classifyFailure(
  error: unknown,
  target: RequestTarget,
  now: number,
  scrub: (text: string) => string,
): GitHubError {
  const failure = (typeof error === "object" && error !== null ? error : {}) as FailedRequest;
  scrubInPlace(failure, scrub);
  const status = typeof failure.status === "number" ? failure.status : undefined;
  const innerCause = (error as { cause?: unknown } | undefined)?.cause;
  // Octokit reports a request that got no answer as a status 500 without a response.
  if (status === undefined || failure.response === undefined) {
    const timeout = isTimeout(failure, innerCause);
    return new TransientGitHubError({
      ...target,
      cause: error,
      reason: timeout ? "timeout" : "network",
      detail: scrub(timeout ? "no answer in time" : `no answer: ${gitHubMessage(failure)}`),
    });
  }
  const wait = rateLimitWait(status, failure, now);
  if (wait) {
    return new RateLimitedError({
      ...target,
      cause: error,
      status,
      ...wait,
      resetAt: now + wait.retryAfterMs,
    });
  }
  if (status >= 500) {
    return new TransientGitHubError({
      ...target,
      cause: error,
      reason: "status",
      status,
      detail: scrub(`server error ${status}: ${gitHubMessage(failure)}`),
    });
  }
  return new PermanentGitHubError({
    ...target,
    cause: error,
    status,
    reason: scrub(permanentReason(status, failure, target.route)),
  });
}
