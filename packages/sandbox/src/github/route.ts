import type { OutgoingHttpHeaders } from "node:http";
import type { RateLimitStatus } from "./rate-limits.js";
import type { Representations } from "./representations.js";
import type { AppRecord, Credential, GitHubStore } from "./store.js";

/**
 * The endpoints the simulator serves, named as GitHub's OpenAPI description names them (method and path
 * template), so that a test can look up the schema of each answer.
 */
export type RouteKey =
  | "GET /rate_limit"
  | "GET /user"
  | "GET /repos/{owner}/{repo}"
  | "GET /repos/{owner}/{repo}/issues"
  | "POST /repos/{owner}/{repo}/issues"
  | "GET /repos/{owner}/{repo}/issues/{issue_number}"
  | "GET /repos/{owner}/{repo}/labels"
  | "POST /repos/{owner}/{repo}/labels"
  | "GET /repos/{owner}/{repo}/milestones"
  | "POST /repos/{owner}/{repo}/milestones"
  | "POST /app/installations/{installation_id}/access_tokens";

export type RouteMethod = "GET" | "POST";

/** What the rate limits need to know of a route. */
export interface RouteTraits {
  readonly key: RouteKey;
  readonly method: RouteMethod;
  /** Counts against GitHub's content-creation limits. */
  readonly createsContent: boolean;
  /** False for `GET /rate_limit`, which GitHub does not count against any limit. */
  readonly rateLimited: boolean;
}

/** Everything a handler may read or change for one request, however it was authenticated. */
export interface HandlerContext {
  readonly store: GitHubStore;
  readonly representations: Representations;
  /** The path parameters, decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The absolute URL of the request, as the simulator's base URL spells it. */
  readonly url: URL;
  /** The parsed JSON body; undefined without one. */
  readonly body: unknown;
  /** Clock milliseconds when the request is handled. */
  readonly now: number;
}

/** The context of a request authenticated by a personal or installation token. */
export interface RouteContext extends HandlerContext {
  readonly credential: Credential;
  readonly rateLimit: RateLimitStatus;
}

/** The context of a request authenticated as a GitHub App, by its JWT. */
export interface AppRouteContext extends HandlerContext {
  readonly app: AppRecord;
}

export interface Reply {
  readonly status: 200 | 201;
  readonly body: unknown;
  readonly headers?: OutgoingHttpHeaders;
}

/** What every route has, whatever authenticates its requests. */
export interface RouteBase extends RouteTraits {
  /** The page of GitHub's REST documentation that its errors link to. */
  readonly documentationUrl: string;
}

/** An endpoint for tokens, counted against the limits of the token's user or installation. */
export interface TokenRoute extends RouteBase {
  readonly authentication: "token";
  /** Answers the request, or throws GitHubApiError for GitHub's refusals. */
  readonly handle: (context: RouteContext) => Reply;
}

/**
 * An endpoint of the App itself, which takes only its JWT. GitHub counts these requests against no
 * limit and answers them without rate-limit headers.
 */
export interface AppRoute extends RouteBase {
  readonly authentication: "app";
  readonly handle: (context: AppRouteContext) => Reply;
}

export type Route = TokenRoute | AppRoute;

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment) || undefined;
  } catch {
    return undefined; // malformed percent-encoding: no route matches it
  }
}

/** The route for `method` and `pathname`, with the values of its `{parameters}`. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  pathname: string,
): RouteMatch | undefined {
  const segments = pathname.split("/").slice(1);
  for (const route of routes) {
    if (route.method !== method) continue;
    const template = route.key.slice(route.method.length + 2).split("/");
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = template.every((part, index) => {
      const segment = segments[index] ?? "";
      if (!part.startsWith("{")) return part === segment;
      const value = decoded(segment);
      if (!value) return false;
      params[part.slice(1, -1)] = value;
      return true;
    });
    if (matches) return { route, params };
  }
  return undefined;
}
