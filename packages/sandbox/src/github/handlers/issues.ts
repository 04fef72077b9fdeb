import { GitHubApiError, validationFailed } from "../errors.js";
import { paginate } from "../pagination.js";
import type { Reply, RouteContext } from "../route.js";
import type {
  Account,
  GitHubStore,
  IssueRecord,
  LabelRecord,
  MilestoneRecord,
  RepositoryRecord,
} from "../store.js";
import { hasPush, refuseReadOnlyToken, repositoryWithIssues } from "./access.js";
import { jsonObject, optionalNames, optionalString, requiredString } from "./fields.js";
import { choice, ordered } from "./query.js";

/** GitHub's limit on an issue body. */
const MAX_BODY_CHARACTERS = 65_536;

const SECOND = 1000;
const lower = (text: string) => text.toLowerCase();

function sinceFilter(url: URL): ((issue: IssueRecord) => boolean) | undefined {
  const since = url.searchParams.get("since");
  if (since === null) return undefined;
  const time = Date.parse(since);
  if (Number.isNaN(time))
    throw validationFailed({ resource: "Issue", field: "since", code: "invalid", value: since });
  // GitHub keeps times to the second.
  return (issue) => Math.floor(issue.createdAt / SECOND) * SECOND >= time;
}

function milestoneFilter(value: string | null): ((issue: IssueRecord) => boolean) | undefined {
  if (value === null) return undefined;
  if (value === "*") return (issue) => issue.milestone !== null;
  if (value === "none") return (issue) => issue.milestone === null;
  return (issue) => String(issue.milestone?.number) === value;
}

function assigneeFilter(value: string | null): ((issue: IssueRecord) => boolean) | undefined {
  if (value === null) return undefined;
  if (value === "*") return (issue) => issue.assignees.length > 0;
  if (value === "none") return (issue) => issue.assignees.length === 0;
  return (issue) => issue.assignees.some((assignee) => lower(assignee.login) === lower(value));
}

/**
 * `GET /repos/{owner}/{repo}/issues`: issues and pull requests, filtered by `state`, `labels` (all of
 * them), `milestone`, `creator`, `assignee` and `since`, sorted by `sort` and `direction`, paginated.
 */
export function listIssues(context: RouteContext): Reply {
  const { repository } = repositoryWithIssues(context);
  const { url } = context;
  const state = choice(url, "state", ["open", "closed", "all"], "open", "Issue");
  // All issues are created once and never commented on, so "updated" and "comments" order as "created" does.
  choice(url, "sort", ["created", "updated", "comments"], "created", "Issue");
  const direction = choice(url, "direction", ["asc", "desc"], "desc", "Issue");
  const labels = url.searchParams.get("labels")?.split(",").map(lower).filter(Boolean) ?? [];
  const creator = url.searchParams.get("creator");
  const filters = [
    state === "all" ? undefined : (issue: IssueRecord) => issue.state === state,
    labels.length
      ? (issue: IssueRecord) =>
          labels.every((name) => issue.labels.some((label) => lower(label.name) === name))
      : undefined,
    milestoneFilter(url.searchParams.get("milestone")),
    creator === null ? undefined : (issue: IssueRecord) => lower(issue.user.login) === lower(creator),
    assigneeFilter(url.searchParams.get("assignee")),
    sinceFilter(url),
  ].filter((filter) => filter !== undefined);
  const issues = repository.issues
    .filter((issue) => filters.every((filter) => filter(issue)))
    .sort(
      ordered(
        direction,
        (issue) => issue.createdAt,
        (issue) => issue.number,
      ),
    );
  const page = paginate(issues, url);
  return {
    status: 200,
    body: page.items.map((issue) => context.representations.issue(repository, issue)),
    ...(page.link ? { headers: { link: page.link } } : {}),
  };
}

/** `GET /repos/{owner}/{repo}/issues/{issue_number}`: an issue, or a pull request as an issue. */
export function getIssue(context: RouteContext): Reply {
  const { repository } = repositoryWithIssues(context);
  const number = Number(context.params.issue_number);
  const issue = repository.issues.find((candidate) => candidate.number === number);
  if (!issue) throw new GitHubApiError(404, "Not Found");
  return { status: 200, body: context.representations.issue(repository, issue) };
}

function milestoneNumber(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === "number" || (typeof value === "string" && /^\d+$/.test(value))) return Number(value);
  throw validationFailed({ resource: "Issue", field: "milestone", code: "invalid", value: String(value) });
}

interface IssueMetadata {
  readonly labels: readonly LabelRecord[];
  readonly milestone: MilestoneRecord | null;
  readonly assignees: readonly Account[];
}

/**
 * `POST /repos/{owner}/{repo}/issues`. With push access, labels the repository lacks are created, and an
 * unknown milestone or assignee is a 422; without it, GitHub silently drops labels, milestone and
 * assignees and opens the issue anyway.
 */
export function createIssue(context: RouteContext): Reply {
  const { repository, access } = repositoryWithIssues(context);
  refuseReadOnlyToken(context.credential, access);
  const fields = jsonObject(context.body);
  const rawTitle = fields.title;
  const title = typeof rawTitle === "number" ? String(rawTitle) : requiredString(fields, "title");
  if (title.trim() === "")
    throw validationFailed({ resource: "Issue", field: "title", code: "missing_field" });
  const body = optionalString(fields, "body") ?? null;
  if (body !== null && body.length > MAX_BODY_CHARACTERS) {
    throw validationFailed({
      resource: "Issue",
      field: "body",
      code: "custom",
      message: `body is too long (maximum is ${MAX_BODY_CHARACTERS} characters)`,
    });
  }
  const labelNames = optionalNames(fields, "labels") ?? [];
  const assigneeLogins = optionalNames(fields, "assignees") ?? [];
  const milestone = milestoneNumber(fields.milestone);
  const { store } = context;
  const metadata: IssueMetadata = hasPush(access)
    ? {
        // The same label named twice is applied once.
        labels: [...new Set(labelNames.map((name) => store.ensureLabel(repository, name)))],
        milestone: resolveMilestone(store, repository, milestone),
        assignees: assigneeLogins.map((login) => resolveAssignee(store, login)),
      }
    : { labels: [], milestone: null, assignees: [] };
  const issue = store.createIssue(repository, {
    title,
    body,
    state: "open",
    user: context.credential.user,
    pullRequest: false,
    ...metadata,
  });
  const representation = context.representations.issue(repository, issue);
  return { status: 201, body: representation, headers: { location: representation.url } };
}

function resolveMilestone(
  store: GitHubStore,
  repository: RepositoryRecord,
  number: number | null | undefined,
): MilestoneRecord | null {
  if (number === undefined || number === null) return null;
  const milestone = store.findMilestone(repository, number);
  if (!milestone)
    throw validationFailed({ resource: "Issue", field: "milestone", code: "invalid", value: number });
  return milestone;
}

function resolveAssignee(store: GitHubStore, login: string): Account {
  const account = store.findAccount(login);
  if (account?.type !== "User") {
    throw validationFailed({ resource: "Issue", field: "assignees", code: "invalid", value: login });
  }
  return account;
}
