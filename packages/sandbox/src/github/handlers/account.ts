import type { Reply, RouteContext } from "../route.js";
import { notAccessible, visibleRepository } from "./access.js";

/** `GET /user`: the token's user. An installation's bot is no user GitHub lets a token read this way. */
export function getAuthenticatedUser(context: RouteContext): Reply {
  const { credential } = context;
  if (credential.installation) throw notAccessible(credential);
  return { status: 200, body: context.representations.privateUser(credential.user) };
}

/** `GET /rate_limit`: the user's or installation's primary limit, which it does not count against. */
export function getRateLimit(context: RouteContext): Reply {
  return { status: 200, body: context.representations.rateLimits(context.rateLimit, context.now) };
}

/** `GET /repos/{owner}/{repo}`: whether the token sees the repository, and its `permissions` there. */
export function getRepository(context: RouteContext): Reply {
  const { repository, access } = visibleRepository(context);
  return { status: 200, body: context.representations.repository(repository, access) };
}
