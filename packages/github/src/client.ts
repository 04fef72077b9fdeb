import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";
import { classifyFailure, credentialScrubber } from "./classify.js";
import { GitHubError } from "./errors.js";
import { RateLimitState } from "./rate-limit-state.js";

/** How the client authenticates: a personal access token, or a GitHub App installation. */
export type GitHubCredentials =
  | { readonly type: "token"; readonly token: string }
  | {
      readonly type: "app";
      readonly appId: number | string;
      readonly privateKey: string;
      readonly installationId: number;
    };

export interface GitHubClientOptions {
  readonly credentials: GitHubCredentials;
  /** https://api.github.com (default), `https://HOST/api/v3` for Enterprise Server, or the simulator's URL. */
  readonly baseUrl?: string;
  /** Epoch ms, where rate-limit waits are computed. Default Date.now. */
  readonly now?: () => number;
  /** Per-request timeout; a request without an answer by then fails as transient "timeout". Default 30 s. */
  readonly timeoutMs?: number;
  /** Octokit's logger (its request log); default silent: callers log the typed errors. */
  readonly log?: { debug: Logger; info: Logger; warn: Logger; error: Logger };
}

type Logger = (message: string, ...rest: unknown[]) => void;

const silent: Logger = () => {};

/** Where an App exchanges its JWT for an installation token (as Octokit's hooks see the route). */
const INSTALLATION_TOKEN_ROUTE = "/app/installations/{installation_id}/access_tokens";

/** An Octokit whose failures are typed `GitHubError`s, and the rate-limit state its answers report. */
export interface GitHubClient {
  readonly octokit: Octokit;
  readonly rateLimit: RateLimitState;
}

/**
 * Deliberately without @octokit/plugin-retry (it re-sends POSTs after a 5xx, creating duplicates, and
 * ignores retry-after) and plugin-throttling (it does not enforce the hourly cap): retries belong to
 * the migrator's policies, and a create is never blindly re-sent.
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const { credentials } = options;
  const secrets = new Set([credentials.type === "token" ? credentials.token : credentials.privateKey]);
  const scrub = credentialScrubber(secrets);
  const octokit = new Octokit({
    ...(credentials.type === "token"
      ? { auth: credentials.token }
      : {
          authStrategy: createAppAuth,
          auth: {
            appId: credentials.appId,
            privateKey: credentials.privateKey,
            installationId: credentials.installationId,
          },
        }),
    ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
    log: options.log ?? { debug: silent, info: silent, warn: silent, error: silent },
  });
  const rateLimit = new RateLimitState();
  octokit.hook.before("request", (request) => {
    request.request = {
      ...request.request,
      signal: request.request?.signal ?? AbortSignal.timeout(timeoutMs),
    };
  });
  octokit.hook.after("request", (response, request) => {
    rateLimit.update(response.headers);
    if (request.url !== INSTALLATION_TOKEN_ROUTE) return;
    // An App's installation tokens (a new one each hour) are credentials as much as its key.
    const { token } = response.data as { token?: unknown };
    if (typeof token === "string") secrets.add(token);
  });
  octokit.hook.error("request", (error, request) => {
    // Already classified by an inner request (an App's installation-token exchange).
    if (error instanceof GitHubError) throw error;
    const response = (error as { response?: { status: number; headers: Record<string, string> } }).response;
    if (response) rateLimit.update(response.headers);
    // A 304 is the answer a conditional request hopes for, not a failure.
    if (response?.status === 304) return response as never;
    throw classifyFailure(error, { method: request.method, route: request.url }, now(), scrub);
  });
  return { octokit, rateLimit };
}
