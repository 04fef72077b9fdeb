/*
 * Every stream, key prefix, channel and consumer group that more than one process uses. Keys that a
 * script or transaction touches together share a hash tag (`{…}`), so that they live in one slot of
 * a Valkey Cluster: a stream and its dead letters, for instance. Messages travel as JSON under the
 * entry field `data`, beside the W3C `traceparent` (valkey-client's layout).
 */

/** Accepted requests (`MigrationRequested`), appended by ingest, read by the migrator's group. */
export const MIGRATIONS_STREAM = "{monarch:migrations}";
export const MIGRATIONS_DEAD_LETTER_STREAM = "{monarch:migrations}:dead";

/**
 * What is kept of each request beside the migrations stream, in its slot, so that ingest's admission
 * appends the entry and writes these in one atomic script:
 * - `status`: the request's `MigrationStatus` as JSON;
 * - `payload`: the raw payload as it arrived, for replay;
 * - `fingerprint`: the id of the request accepted with this `requestFingerprint` within the duplicate
 *   window;
 * - `idempotency`: the outcome recorded for an HTTP `Idempotency-Key` (by its digest).
 */
export const migrationRecordKeys = {
  status: (requestId: string) => `${MIGRATIONS_STREAM}:status:${requestId}`,
  payload: (requestId: string) => `${MIGRATIONS_STREAM}:payload:${requestId}`,
  fingerprint: (fingerprint: string) => `${MIGRATIONS_STREAM}:fingerprint:${fingerprint}`,
  idempotency: (keyDigest: string) => `${MIGRATIONS_STREAM}:idempotency:${keyDigest}`,
} as const;

/** The migrator's `MigrationEvent`s, read by the notifier's group. */
export const EVENTS_STREAM = "{monarch:events}";
export const EVENTS_DEAD_LETTER_STREAM = "{monarch:events}:dead";

/**
 * The durable way in for the platform: `XADD {monarch:ingest}:inbox * data '<payload JSON>'`, the
 * one-line change from its PUBLISH. Read by ingest's group.
 */
export const INGEST_INBOX_STREAM = "{monarch:ingest}:inbox";

/**
 * Input ingest refused, from any intake (`IngestRejection`), and inbox entries its consumer gave up
 * on (`ConsumerDeadLetter`).
 */
export const INGEST_DEAD_LETTER_STREAM = "{monarch:ingest}:dead";

/**
 * Set when a refused request's dead letter is written, so that the same input delivered again (an
 * inbox entry redelivered after a crash) is not dead-lettered twice. In the dead-letter stream's slot.
 */
export const ingestRejectionMarker = (requestId: string) =>
  `${INGEST_DEAD_LETTER_STREAM}:written:${requestId}`;

/** The platform's original way in: it PUBLISHes the payload here. Pub/sub loses what nobody hears. */
export const LEGACY_REQUEST_CHANNEL = "channel_migrate_issue_tickets";

/** One consumer group per service; each replica is one consumer in it. */
export const CONSUMER_GROUPS = { ingest: "ingest", migrator: "migrator", notifier: "notifier" } as const;

/**
 * Where valkey-client's heartbeat sink keeps instance statuses (`keyPrefix` of `ValkeyHeartbeatSink`
 * and `listLiveInstances`); its two keys hang off this tag.
 */
export const HEARTBEAT_KEY_PREFIX = "{monarch:heartbeats}";

/** Days a daily log stream is kept after its day ends. */
export const LOG_RETENTION_DAYS = 30;

const LOG_STREAM_PREFIX = "monarch:logs:";
const DAY_MS = 86_400_000;

/**
 * The log stream of the UTC day that `date` falls in: `monarch:logs:YYYY-MM-DD`. Not hash-tagged on
 * purpose: each day is read and expired on its own, and a common tag would pin every day to one
 * cluster node.
 */
export function logStreamFor(date: Date): string {
  return `${LOG_STREAM_PREFIX}${date.toISOString().slice(0, 10)}`;
}

/** The log streams that retention still keeps at `now`, newest first (the log viewer's range). */
export function retainedLogStreams(now: Date): string[] {
  return Array.from({ length: LOG_RETENTION_DAYS + 1 }, (_, day) =>
    logStreamFor(new Date(now.getTime() - day * DAY_MS)),
  );
}
