export { builtEntry } from "./built-package.js";
export { findFreePort, isPortFree } from "./free-port.js";
export { type Clock, ManualClock, systemClock } from "./github/clock.js";
export { DEMO_TOKEN, type GitHubDemo, seedGitHubDemo } from "./github/demo.js";
export { type ErrorBody, type FieldError, SeedError } from "./github/errors.js";
export type {
  FaultKind,
  FaultRoute,
  FaultSpec,
  Latency,
  Outage,
  ServerErrorStatus,
} from "./github/faults.js";
export type { RequestRecord, Violation } from "./github/inspection.js";
export {
  GITHUB_RATE_LIMITS,
  type LimitKind,
  type RateLimitConfig,
  type RateLimitOptions,
  type RateLimitStatus,
} from "./github/rate-limits.js";
export type { RouteKey } from "./github/route.js";
export {
  type FaultControls,
  GitHubSimulator,
  type StartGitHubSimulatorOptions,
  startGitHubSimulator,
} from "./github/simulator.js";
export type {
  AppPermission,
  AppSeed,
  InstallationSeed,
  IssueSeed,
  IssueState,
  LabelSeed,
  MilestoneSeed,
  RepoAccess,
  RepositorySeed,
  SimulatedIssue,
  TokenGrant,
} from "./github/store.js";
export {
  type SpansPredicate,
  SpanWaitTimeoutError,
  type StartTraceCollectorOptions,
  startTraceCollector,
  TraceCollector,
  TraceCollectorStoppedError,
  type WaitForSpansOptions,
} from "./otlp/collector.js";
export type {
  Attributes,
  AttributeValue,
  CollectedSpan,
  CollectedTrace,
  SpanKindName,
  SpanStatus,
  StatusCodeName,
} from "./otlp/span.js";
export { formatTrace } from "./otlp/summary.js";
export type { SlackErrorCode } from "./slack/errors.js";
export type { SlackFailure, SlackFault } from "./slack/faults.js";
export type { SlackRequestRecord } from "./slack/handler.js";
export { SLACK_METHODS, type SlackMethod } from "./slack/methods.js";
export { SLACK_RATE_LIMITS, type SlackRateLimit, type SlackRateLimitOverrides } from "./slack/rate-limits.js";
export { SlackSimulator, type StartSlackSimulatorOptions, startSlackSimulator } from "./slack/simulator.js";
export type {
  MessageChange,
  MessageVersion,
  SlackBlock,
  SlackChannelSeed,
  SlackIdentity,
  SlackMessage,
} from "./slack/workspace.js";
export { until } from "./until.js";
export { findServerBinaries, type ServerBinaries, ServerBinaryNotFoundError } from "./valkey/binaries.js";
export {
  type ClusterNode,
  type StartClusterOptions,
  startValkeyCluster,
  ValkeyCluster,
} from "./valkey/cluster.js";
export { type StartValkeyOptions, startValkey, ValkeyServer } from "./valkey/server.js";
