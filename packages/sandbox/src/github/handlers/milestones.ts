import { validationFailed } from "../errors.js";
import { paginate } from "../pagination.js";
import type { Reply, RouteContext } from "../route.js";
import type { MilestoneRecord, RepositoryRecord } from "../store.js";
import { requirePush, visibleRepository } from "./access.js";
import { jsonObject, optionalString, requiredString } from "./fields.js";
import { choice, ordered } from "./query.js";

function completeness(repository: RepositoryRecord, milestone: MilestoneRecord): number {
  const issues = repository.issues.filter((issue) => issue.milestone === milestone);
  return issues.length ? issues.filter((issue) => issue.state === "closed").length / issues.length : 0;
}

/**
 * `GET /repos/{owner}/{repo}/milestones`, filtered by `state` (default open), sorted by `sort` (`due_on`,
 * the default, with undated ones last; or `completeness`) and `direction` (default asc), paginated.
 */
export function listMilestones(context: RouteContext): Reply {
  const { repository } = visibleRepository(context);
  const { url } = context;
  const state = choice(url, "state", ["open", "closed", "all"], "open", "Milestone");
  const sort = choice(url, "sort", ["due_on", "completeness"], "due_on", "Milestone");
  const direction = choice(url, "direction", ["asc", "desc"], "asc", "Milestone");
  const key =
    sort === "due_on"
      ? (milestone: MilestoneRecord) => milestone.dueOn ?? Number.MAX_SAFE_INTEGER
      : (milestone: MilestoneRecord) => completeness(repository, milestone);
  const milestones = repository.milestones
    .filter((milestone) => state === "all" || milestone.state === state)
    .sort(ordered(direction, key, (milestone) => milestone.number));
  const page = paginate(milestones, url);
  return {
    status: 200,
    body: page.items.map((milestone) => context.representations.milestone(repository, milestone)),
    ...(page.link ? { headers: { link: page.link } } : {}),
  };
}

/** `POST /repos/{owner}/{repo}/milestones`: needs push access; titles are unique. */
export function createMilestone(context: RouteContext): Reply {
  const { repository, access } = visibleRepository(context);
  requirePush(context.credential, access);
  const fields = jsonObject(context.body);
  const title = requiredString(fields, "title");
  const state = optionalString(fields, "state") ?? "open";
  if (state !== "open" && state !== "closed") {
    throw validationFailed({ resource: "Milestone", field: "state", code: "invalid", value: state });
  }
  const dueOnText = optionalString(fields, "due_on");
  const dueOn = dueOnText ? Date.parse(dueOnText) : null;
  if (Number.isNaN(dueOn)) {
    throw validationFailed({
      resource: "Milestone",
      field: "due_on",
      code: "invalid",
      value: dueOnText ?? null,
    });
  }
  if (context.store.findMilestoneByTitle(repository, title)) {
    throw validationFailed({ resource: "Milestone", field: "title", code: "already_exists", value: title });
  }
  const milestone = context.store.createMilestone(
    repository,
    { title, state, description: optionalString(fields, "description") ?? null, dueOn },
    context.credential.user,
  );
  const representation = context.representations.milestone(repository, milestone);
  return { status: 201, body: representation, headers: { location: representation.url } };
}
