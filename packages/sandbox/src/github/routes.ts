import { getAuthenticatedUser, getRateLimit, getRepository } from "./handlers/account.js";
import { createInstallationAccessToken } from "./handlers/apps.js";
import { createIssue, getIssue, listIssues } from "./handlers/issues.js";
import { createLabel, listLabels } from "./handlers/labels.js";
import { createMilestone, listMilestones } from "./handlers/milestones.js";
import type {
  AppRoute,
  AppRouteContext,
  Reply,
  Route,
  RouteBase,
  RouteContext,
  RouteKey,
  RouteMethod,
  TokenRoute,
} from "./route.js";

const DOCS = "https://docs.github.com/rest";

interface Traits {
  readonly createsContent?: boolean;
  readonly rateLimited?: boolean;
}

function described(key: RouteKey, documentationPath: string, traits: Traits): RouteBase {
  return {
    key,
    method: key.split(" ")[0] as RouteMethod,
    documentationUrl: `${DOCS}/${documentationPath}`,
    createsContent: traits.createsContent ?? false,
    rateLimited: traits.rateLimited ?? true,
  };
}

function route(
  key: RouteKey,
  documentationPath: string,
  handle: (context: RouteContext) => Reply,
  traits: Traits = {},
): TokenRoute {
  return { ...described(key, documentationPath, traits), authentication: "token", handle };
}

function appRoute(
  key: RouteKey,
  documentationPath: string,
  handle: (context: AppRouteContext) => Reply,
): AppRoute {
  return { ...described(key, documentationPath, { rateLimited: false }), authentication: "app", handle };
}

/** What the simulator serves: the endpoints Monarch uses. */
export const ROUTES: readonly Route[] = [
  route(
    "GET /rate_limit",
    "rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user",
    getRateLimit,
    {
      rateLimited: false,
    },
  ),
  route("GET /user", "users/users#get-the-authenticated-user", getAuthenticatedUser),
  route("GET /repos/{owner}/{repo}", "repos/repos#get-a-repository", getRepository),
  route("GET /repos/{owner}/{repo}/issues", "issues/issues#list-repository-issues", listIssues),
  route("POST /repos/{owner}/{repo}/issues", "issues/issues#create-an-issue", createIssue, {
    createsContent: true,
  }),
  route("GET /repos/{owner}/{repo}/issues/{issue_number}", "issues/issues#get-an-issue", getIssue),
  route("GET /repos/{owner}/{repo}/labels", "issues/labels#list-labels-for-a-repository", listLabels),
  route("POST /repos/{owner}/{repo}/labels", "issues/labels#create-a-label", createLabel, {
    createsContent: true,
  }),
  route("GET /repos/{owner}/{repo}/milestones", "issues/milestones#list-milestones", listMilestones),
  route("POST /repos/{owner}/{repo}/milestones", "issues/milestones#create-a-milestone", createMilestone, {
    createsContent: true,
  }),
  appRoute(
    "POST /app/installations/{installation_id}/access_tokens",
    "apps/apps#create-an-installation-access-token-for-an-app",
    createInstallationAccessToken,
  ),
];

/** Where GitHub's answers to requests outside any route link to. */
export const GENERAL_DOCUMENTATION_URL = DOCS;
