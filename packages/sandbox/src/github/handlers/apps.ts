import { GitHubApiError } from "../errors.js";
import type { AppRouteContext, Reply } from "../route.js";
import { jsonObject } from "./fields.js";

/** What GitHub lets a caller narrow a token to; the simulator cannot, and says so rather than grant more. */
const NARROWING = ["repositories", "repository_ids", "permissions"];

/**
 * `POST /app/installations/{installation_id}/access_tokens`: a new token of one of the App's own
 * installations (another App's is as unknown as a missing one), good for an hour.
 */
export function createInstallationAccessToken(context: AppRouteContext): Reply {
  const installation = context.store.installation(Number(context.params.installation_id));
  if (installation?.app !== context.app) throw new GitHubApiError(404, "Not Found");
  const fields = jsonObject(context.body);
  const narrowed = NARROWING.filter((field) => fields[field] !== undefined);
  if (narrowed.length > 0) {
    throw new GitHubApiError(
      422,
      `The simulator does not narrow installation tokens (${narrowed.join(", ")}).`,
    );
  }
  const issued = context.store.issueInstallationToken(installation);
  return { status: 201, body: context.representations.installationToken(issued) };
}
