import { GitHubApiError } from "../errors.js";
import type { RouteContext } from "../route.js";
import type { Credential, RepoAccess, RepositoryRecord } from "../store.js";

export interface RepositoryAccess {
  readonly repository: RepositoryRecord;
  readonly access: RepoAccess;
}

/** The request's `{owner}/{repo}` and the token's access to it; 404 when it is missing or invisible. */
export function visibleRepository(context: RouteContext): RepositoryAccess {
  const repository = context.store.repository(`${context.params.owner}/${context.params.repo}`);
  const access = repository ? context.store.access(context.credential, repository) : "none";
  if (!repository || access === "none") throw new GitHubApiError(404, "Not Found");
  return { repository, access };
}

/** As {@link visibleRepository}, and 410 when the repository has its issues disabled. */
export function repositoryWithIssues(context: RouteContext): RepositoryAccess {
  const found = visibleRepository(context);
  if (!found.repository.hasIssues) {
    throw new GitHubApiError(410, "Issues are disabled for this repo", {
      documentationUrl: "https://docs.github.com/v3/issues/",
    });
  }
  return found;
}

export function hasPush(access: RepoAccess): boolean {
  return access === "admin" || access === "write";
}

/** GitHub's 403 for what a token's permissions do not cover, worded by the kind of token. */
export function notAccessible(credential: Credential): GitHubApiError {
  const by = credential.installation ? "integration" : "personal access token";
  return new GitHubApiError(403, `Resource not accessible by ${by}`);
}

/** Refuses a mutation to a token that may only read: 403, as GitHub answers a read-only token. */
export function refuseReadOnlyToken(credential: Credential, access: RepoAccess): void {
  if (access === "read-only") throw notAccessible(credential);
}

/** Refuses a mutation that needs push access; GitHub hides such endpoints from readers (404). */
export function requirePush(credential: Credential, access: RepoAccess): void {
  refuseReadOnlyToken(credential, access);
  if (!hasPush(access)) throw new GitHubApiError(404, "Not Found");
}
