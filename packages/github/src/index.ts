export {
  createGitHubClient,
  type GitHubClient,
  type GitHubClientOptions,
  type GitHubCredentials,
} from "./client.js";
export {
  GitHubError,
  PermanentGitHubError,
  RateLimitedError,
  type RateLimitKind,
  type RequestTarget,
  TransientGitHubError,
  type TransientReason,
} from "./errors.js";
export {
  type BodyTemplate,
  type CreateIssueOptions,
  createMarkedIssue,
  ensureLabels,
  ensureMilestone,
  type LabelSpec,
  listSourceIssues,
  MarkedIssueFinder,
  type MilestoneSpec,
  type SourceIssue,
} from "./issues.js";
export { marker, parseMarker, type RepositoryRef, repositoryRef, sourceKey, withMarker } from "./marker.js";
export { type RateLimitListener, type RateLimitSnapshot, RateLimitState } from "./rate-limit-state.js";
