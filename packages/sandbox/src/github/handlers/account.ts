import type { Reply, RouteContext } from "../route.js";
import { visibleRepository } from "./access.js";

/** `GET /user`: the token's user. */
export function getAuthenticatedUser(context: RouteContext): Reply {
  return { status: 200, body: context.representations.privateUser(context.credential.user) };
}

/** `GET /rate_limit`: the user's primary limit, which this request does not count against. */
export function getRateLimit(context: RouteContext): Reply {
  return { status: 200, body: context.representations.rateLimits(context.rateLimit, context.now) };
}

/** `GET /repos/{owner}/{repo}`: whether the token sees the repository, and its `permissions` there. */
export function getRepository(context: RouteContext): Reply {
  const { repository, access } = visibleRepository(context);
  return { status: 200, body: context.representations.repository(repository, access) };
}
