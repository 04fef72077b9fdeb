export {
  type CappedPayload,
  ConsumerDeadLetter,
  capPayload,
  DeadLetterEntry,
  IngestRejection,
  type IngestRejectionFields,
  ingestRejectionFields,
  MAX_DEAD_LETTER_PAYLOAD_BYTES,
  type RejectedInput,
} from "./dead-letter.js";
export {
  CompletedCounts,
  ItemCounts,
  MIGRATION_EVENT_TYPES,
  MigrationEvent,
  type MigrationEventType,
  RequestAccepted,
  RequestDone,
  RequestFailed,
  RequestProgress,
  RequestStarted,
  TargetDone,
  TargetProgress,
} from "./events.js";
export {
  Count,
  Intake,
  MAX_REASON_LENGTH,
  Reason,
  RequestId,
  SLACK_CHANNEL_ID_PATTERN,
  SlackChannelId,
  Timestamp,
} from "./fields.js";
export { HeartbeatRecord, HeartbeatStatus } from "./heartbeat.js";
export { type ContractIssue, contractIssues, formatIssues } from "./issues.js";
export { type ContractName, type JsonSchema, jsonSchemas } from "./json-schema.js";
export { LOG_LEVELS, LogEntry, type LogLevelLabel, logLevelLabel } from "./log-entry.js";
export {
  InvalidMigrationRequestError,
  type InvalidRequestKind,
  MAX_REQUEST_BYTES,
  MAX_TARGETS_PER_REQUEST,
  MigrationRequested,
  MigrationRequestPayload,
  NormalisedRequest,
  parseMigrationRequest,
  RequestOptions,
  requestFingerprint,
} from "./migration-request.js";
export { MIGRATION_STAGES, MigrationStatus } from "./migration-status.js";
export {
  CONSUMER_GROUPS,
  EVENTS_DEAD_LETTER_STREAM,
  EVENTS_STREAM,
  HEARTBEAT_KEY_PREFIX,
  INGEST_DEAD_LETTER_STREAM,
  INGEST_INBOX_STREAM,
  ingestRejectionMarker,
  LEGACY_REQUEST_CHANNEL,
  LOG_RETENTION_DAYS,
  logStreamFor,
  MIGRATIONS_DEAD_LETTER_STREAM,
  MIGRATIONS_STREAM,
  migrationRecordKeys,
  retainedLogStreams,
} from "./names.js";
export {
  formatRepository,
  InvalidRepositoryError,
  MAX_REPOSITORY_REFERENCE_LENGTH,
  OWNER_MAX_LENGTH,
  parseRepository,
  REPOSITORY_NAME_MAX_LENGTH,
  Repository,
  RepositoryName,
  RepositoryOwner,
  type RepositoryParseResult,
  type RepositoryProblem,
  RepositoryReference,
  repositoryKey,
  repositoryUrl,
  safeParseRepository,
} from "./repository.js";
export { SCHEMA_VERSION } from "./version.js";
