export {
  MalformedCircuitStateError,
  ValkeyCircuitStateStore,
  type ValkeyCircuitStateStoreOptions,
} from "./breaker-store.js";
export {
  becomesReady,
  type ClusterNodeAddress,
  type ConnectionHooks,
  closeClient,
  createClient,
  duplicateForBlocking,
  endpointFromEnv,
  InvalidValkeyEndpointError,
  normaliseUrl,
  ping,
  reconnectDelay,
  type ValkeyClient,
  type ValkeyConnectionOptions,
  type ValkeyEndpoint,
} from "./connection.js";
export {
  type ConsumerBacklog,
  type ConsumerHooks,
  type ConsumerStats,
  type DeadLetterCause,
  StreamConsumer,
  type StreamConsumerOptions,
  type StreamEntry,
  type StreamHandler,
} from "./consumer/consumer.js";
export { DATA_FIELD, fieldsToRecord, recordToFields } from "./entry.js";
export {
  type HeartbeatKeyOptions,
  type LiveInstance,
  listLiveInstances,
  ValkeyHeartbeatSink,
  type ValkeyHeartbeatSinkOptions,
} from "./heartbeats.js";
export { CrossSlotKeysError, requireSameSlot, withHashTag } from "./keys.js";
export { type Lease, LeaseManager, type LeaseManagerOptions } from "./lease.js";
export { LuaScript } from "./lua.js";
export { StreamProducer, type StreamProducerOptions, type StreamRetention } from "./producer.js";
export {
  githubContentCreationWindows,
  type RateLimiterSnapshot,
  type RatePermit,
  type RateWindow,
  SharedRateLimiter,
  type SharedRateLimiterOptions,
} from "./rate-limiter.js";
export { describeIssues, MessageValidationError, type StandardSchemaV1, validate } from "./schema.js";
export {
  ChannelSubscriber,
  type ChannelSubscriberHooks,
  type ChannelSubscriberOptions,
  SubscriberClosedError,
} from "./subscriber.js";
export { type TraceFields, withProducerSpan } from "./tracing.js";
