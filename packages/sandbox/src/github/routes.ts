import { getAuthenticatedUser, getRateLimit, getRepository } from "./handlers/account.js";
import { createIssue, getIssue, listIssues } from "./handlers/issues.js";
import { createLabel, listLabels } from "./handlers/labels.js";
import { createMilestone, listMilestones } from "./handlers/milestones.js";
import type { Reply, Route, RouteContext, RouteKey, RouteMethod } from "./route.js";

const DOCS = "https://docs.github.com/rest";

function route(
  key: RouteKey,
  documentationPath: string,
  handle: (context: RouteContext) => Reply,
  traits: { readonly createsContent?: boolean; readonly rateLimited?: boolean } = {},
): Route {
  return {
    key,
    method: key.split(" ")[0] as RouteMethod,
    documentationUrl: `${DOCS}/${documentationPath}`,
    handle,
    createsContent: traits.createsContent ?? false,
    rateLimited: traits.rateLimited ?? true,
  };
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
];

/** Where GitHub's answers to requests outside any route link to. */
export const GENERAL_DOCUMENTATION_URL = DOCS;
