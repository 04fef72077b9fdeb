import { hostname } from "node:os";
import { HEARTBEAT_KEY_PREFIX, LOG_RETENTION_DAYS, logStreamFor } from "@monarch/contracts";
import { Watchdog } from "@monarch/resilience";
import {
  closeClient,
  createClient,
  endpointFromEnv,
  ping,
  type ValkeyClient,
  type ValkeyConnectionOptions,
  ValkeyHeartbeatSink,
} from "@monarch/valkey-client";
import { z } from "zod";
import { ConfigError, loadConfig, secret } from "./config.js";
import { HealthServer, type ReadinessCheck } from "./http/health-server.js";
import { ExitCode, Lifecycle, type ServicePart } from "./lifecycle/lifecycle.js";
import { createLogger, type Logger } from "./logging/logger.js";
import { ValkeyLogStream } from "./logging/valkey-log-stream.js";
import { Metrics } from "./metrics/metrics.js";
import { stopTracing } from "./tracing/sdk.js";

/** Variables every service reads, beside its own. */
export const commonEnv = {
  // A URL may carry a password: kept out of errors and scrubbed from logs.
  VALKEY_URL: secret(z.string().optional()),
  VALKEY_CLUSTER_NODES: z.string().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  INSTANCE_ID: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  WATCHDOG_INTERVAL_MS: z.coerce.number().int().positive().default(5_000),
};

type CommonConfig = z.infer<z.ZodObject<typeof commonEnv>>;

/** What a service's own code gets to work with. */
export interface ServiceContext<Config> {
  readonly name: string;
  readonly instance: string;
  readonly config: Config & CommonConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly valkey: ValkeyClient;
  readonly connection: ValkeyConnectionOptions;
  /** Call `heartbeat()` as work progresses; `/healthz` fails when it stops. */
  readonly watchdog: Watchdog;
  /** Add the service's own conditions for `/readyz`. */
  readonly readiness: ReadinessCheck[];
}

export interface ServiceDefinition<Shape extends z.ZodRawShape> {
  readonly name: string;
  readonly version: string;
  /** The service's own variables; mark secrets with `secret()`. */
  readonly env: Shape;
  /** Rules between variables (e.g. "one of A or B"); each returned problem stops the start. */
  readonly checkConfig?: (config: z.infer<z.ZodObject<Shape>>) => readonly string[];
  /** Builds the service's parts, started in order after the runtime's own and stopped before them. */
  readonly parts: (
    context: ServiceContext<z.infer<z.ZodObject<Shape>>>,
  ) => ServicePart[] | Promise<ServicePart[]>;
  /** Test hook: where the process exit goes. */
  readonly exit?: (code: number) => void;
}

/** Exit code for a configuration the service cannot start with (sysexits' EX_CONFIG). */
export const CONFIG_ERROR_EXIT_CODE = 78;

/**
 * Runs a service process: validates its environment, then starts logs (stdout and Valkey), the
 * Valkey connection, `/metrics` `/healthz` `/readyz`, the watchdog with heartbeats in Valkey, and the
 * service's own parts; stops them all in reverse on SIGTERM/SIGINT.
 */
export async function runService<Shape extends z.ZodRawShape>(
  definition: ServiceDefinition<Shape>,
): Promise<Lifecycle> {
  const exit = definition.exit ?? ((code: number) => process.exit(code));
  let loaded: ReturnType<typeof loadConfig<typeof commonEnv & Shape>>;
  try {
    const { checkConfig } = definition;
    loaded = loadConfig(
      definition.name,
      { ...commonEnv, ...definition.env },
      checkConfig ? { check: (config) => checkConfig(config as z.infer<z.ZodObject<Shape>>) } : {},
    );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    exit(CONFIG_ERROR_EXIT_CODE);
    throw error;
  }
  const config = loaded.config as ServiceContext<z.infer<z.ZodObject<Shape>>>["config"];
  const instance = config.INSTANCE_ID ?? `${definition.name}-${hostname()}-${process.pid}`;
  const connection: ValkeyConnectionOptions = {
    endpoint: endpointFromEnv({
      VALKEY_URL: config.VALKEY_URL,
      VALKEY_CLUSTER_NODES: config.VALKEY_CLUSTER_NODES,
    }),
    name: instance,
  };
  const logStream: ValkeyLogStream = new ValkeyLogStream({
    connection,
    streamFor: logStreamFor,
    retentionDays: LOG_RETENTION_DAYS,
    // Said on stdout (the line also waits in the buffer): it is the one copy of the log that works now.
    hooks: {
      onFailing: (error) =>
        logger.warn(
          { err: error, buffered: logStream.pending },
          "log lines are not reaching Valkey; the newest wait here (up to the buffer's bound) and are sent when it takes them",
        ),
      onRecovered: (dropped) => logger.info({ dropped }, "log lines reach Valkey again"),
    },
  });
  const logger = createLogger({
    service: definition.name,
    instance,
    version: definition.version,
    level: config.LOG_LEVEL,
    secrets: loaded.secretValues,
    valkey: logStream,
  });
  const valkey = createClient({
    ...connection,
    hooks: {
      onReady: () => logger.info("valkey connected"),
      onReconnecting: (delayMs) => logger.warn({ delayMs }, "valkey connection lost; reconnecting"),
      onError: (error) => logger.debug({ err: error }, "valkey connection error"),
    },
  });
  const metrics = new Metrics(definition.name);
  metrics.observedCounter({
    name: "monarch_log_lines_dropped_total",
    help: "Log lines dropped because Valkey was unreachable or behind and the buffer was full.",
    observe: () => logStream.dropped,
  });
  metrics.observedGauge({
    name: "monarch_log_lines_buffered",
    help: "Log lines waiting to be stored in Valkey.",
    observe: () => logStream.pending,
  });
  const heartbeats = new ValkeyHeartbeatSink({
    client: valkey,
    keyPrefix: HEARTBEAT_KEY_PREFIX,
    service: definition.name,
    instance,
    ttlMs: 3 * config.WATCHDOG_INTERVAL_MS,
  });
  const watchdog = new Watchdog({
    name: definition.name,
    checkIntervalMs: config.WATCHDOG_INTERVAL_MS,
    sink: heartbeats,
  });
  watchdog.on("unhealthy", (status) => logger.error({ status }, "watchdog: no progress"));
  watchdog.on("healthy", () => logger.info("watchdog: progress again"));
  const readiness: ReadinessCheck[] = [{ name: "valkey", check: () => ping(valkey) }];
  const health = new HealthServer({
    metrics,
    alive: () => watchdog.status().healthy,
    readiness,
    port: config.METRICS_PORT,
  });
  const context: ServiceContext<z.infer<z.ZodObject<Shape>>> = {
    name: definition.name,
    instance,
    config,
    logger,
    metrics,
    valkey,
    connection,
    watchdog,
    readiness,
  };

  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS, exit });
  // Not ready once stopping, so that load balancers send nothing new while in-flight work finishes.
  readiness.unshift({ name: "not stopping", check: () => !lifecycle.stopRequested });
  let ownParts: ServicePart[];
  try {
    ownParts = await definition.parts(context);
  } catch (error) {
    // Nothing started yet, but the connections are open and would keep the process alive.
    logger.fatal({ err: error }, "could not set the service up");
    await Promise.all([closeClient(valkey), logStream.close(2_000)]);
    exit(ExitCode.failed);
    throw error;
  }
  lifecycle.add(
    { name: "logs", stop: () => logStream.close() },
    { name: "tracing", stop: () => stopTracing() },
    { name: "valkey", stop: () => closeClient(valkey) },
    {
      name: "health server",
      start: async () => logger.info({ port: await health.start() }, "serving /metrics, /healthz, /readyz"),
      stop: () => health.stop(),
    },
    {
      name: "watchdog",
      start: () => watchdog.start(),
      stop: async () => {
        watchdog.stop();
        await heartbeats.remove(); // gone from the status page at once, not after the TTL
      },
    },
    ...ownParts,
  );
  await lifecycle.run();
  return lifecycle;
}

export { ExitCode };
