export { ConfigError, type LoadConfigOptions, type LoadedConfig, loadConfig, secret } from "./config.js";
export { HealthServer, type HealthServerOptions, type ReadinessCheck } from "./http/health-server.js";
export { ExitCode, Lifecycle, type LifecycleOptions, type ServicePart } from "./lifecycle/lifecycle.js";
export { createLogger, type Logger, type LoggerOptions } from "./logging/logger.js";
export { prettyLine } from "./logging/pretty.js";
export { secretScrubber } from "./logging/scrub.js";
export { ValkeyLogStream, type ValkeyLogStreamOptions } from "./logging/valkey-log-stream.js";
export { MetricNameError, Metrics } from "./metrics/metrics.js";
export {
  CONFIG_ERROR_EXIT_CODE,
  commonEnv,
  runService,
  type ServiceContext,
  type ServiceDefinition,
} from "./service.js";
export { startTracing, stopTracing, tracingConfigured } from "./tracing/sdk.js";
