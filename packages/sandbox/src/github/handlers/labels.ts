import { validationFailed } from "../errors.js";
import { paginate } from "../pagination.js";
import type { Reply, RouteContext } from "../route.js";
import { LABEL_COLOR } from "../store.js";
import { requirePush, visibleRepository } from "./access.js";
import { jsonObject, optionalString, requiredString } from "./fields.js";

/** `GET /repos/{owner}/{repo}/labels`, by name, paginated. Labels outlive disabled issues. */
export function listLabels(context: RouteContext): Reply {
  const { repository } = visibleRepository(context);
  const labels = [...repository.labels].sort((a, b) =>
    a.name.toLowerCase().localeCompare(b.name.toLowerCase()),
  );
  const page = paginate(labels, context.url);
  return {
    status: 200,
    body: page.items.map((label) => context.representations.label(repository, label)),
    ...(page.link ? { headers: { link: page.link } } : {}),
  };
}

/** `POST /repos/{owner}/{repo}/labels`: needs push access; names are unique without regard to case. */
export function createLabel(context: RouteContext): Reply {
  const { repository, access } = visibleRepository(context);
  requirePush(context.credential, access);
  const fields = jsonObject(context.body);
  const name = requiredString(fields, "name");
  if (name.trim() === "") throw validationFailed({ resource: "Label", field: "name", code: "missing_field" });
  const color = optionalString(fields, "color") ?? undefined;
  if (color !== undefined && !LABEL_COLOR.test(color)) {
    throw validationFailed({ resource: "Label", field: "color", code: "invalid", value: color });
  }
  if (context.store.findLabel(repository, name)) {
    throw validationFailed({ resource: "Label", field: "name", code: "already_exists", value: name });
  }
  const label = context.store.createLabel(repository, {
    name,
    ...(color === undefined ? {} : { color }),
    description: optionalString(fields, "description") ?? null,
  });
  const representation = context.representations.label(repository, label);
  return { status: 201, body: representation, headers: { location: representation.url } };
}
