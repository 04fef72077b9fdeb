export { builtEntry } from "./built-package.js";
export { findFreePort, isPortFree } from "./free-port.js";
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
export { until } from "./until.js";
export { findServerBinaries, type ServerBinaries, ServerBinaryNotFoundError } from "./valkey/binaries.js";
export {
  type ClusterNode,
  type StartClusterOptions,
  startValkeyCluster,
  ValkeyCluster,
} from "./valkey/cluster.js";
export { type StartValkeyOptions, startValkey, ValkeyServer } from "./valkey/server.js";
