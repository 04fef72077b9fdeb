import { Cluster, Redis, type RedisOptions } from "iovalkey";

/** A connected client: a single server or a cluster; both speak the same commands. */
export type ValkeyClient = Redis | Cluster;

/** A cluster node, as `host:port` or an object. */
export type ClusterNodeAddress = string | { readonly host: string; readonly port: number };

/** Where Valkey is: one URL (`valkey://`, `valkeys://`, `redis://`, `rediss://`) or cluster nodes. */
export type ValkeyEndpoint =
  | { readonly url: string }
  | { readonly clusterNodes: readonly ClusterNodeAddress[] };

/** Connection events, for logs and metrics. */
export interface ConnectionHooks {
  readonly onReady?: () => void;
  readonly onReconnecting?: (delayMs: number) => void;
  readonly onError?: (error: Error) => void;
  readonly onClose?: () => void;
}

export interface ValkeyConnectionOptions {
  readonly endpoint: ValkeyEndpoint;
  /** Shown in `CLIENT LIST`, e.g. the service and instance. */
  readonly name?: string;
  readonly hooks?: ConnectionHooks;
  /** Cap on the wait between reconnection attempts. Default 5 000 ms. */
  readonly maxReconnectDelayMs?: number;
}

/** Thrown for a Valkey address that cannot be used, naming what is wrong. */
export class InvalidValkeyEndpointError extends Error {
  override readonly name = "InvalidValkeyEndpointError";
}

/**
 * Reconnection waits: 50 ms doubling per attempt up to the cap, with jitter so that replicas do not
 * reconnect in lockstep. Never gives up: a service without Valkey can only wait for it.
 */
export function reconnectDelay(attempt: number, maxDelayMs: number): number {
  const exponential = Math.min(maxDelayMs, 50 * 2 ** Math.min(attempt - 1, 16));
  return Math.round(exponential / 2 + Math.random() * (exponential / 2));
}

/** Errors after which the command is retried on a fresh connection: a restarting or demoted server. */
function reconnectOnError(error: Error): 2 | false {
  return /^(LOADING|READONLY)/.test(error.message) ? 2 : false;
}

/** Accepts `valkey://`/`valkeys://` as aliases of `redis://`/`rediss://`. */
export function normaliseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The text is not echoed: a URL may carry a password.
    throw new InvalidValkeyEndpointError(
      "the Valkey URL cannot be parsed (expected e.g. valkey://localhost:6379)",
    );
  }
  const protocols: Record<string, string> = {
    "valkey:": "redis:",
    "valkeys:": "rediss:",
    "redis:": "redis:",
    "rediss:": "rediss:",
  };
  const protocol = protocols[parsed.protocol];
  if (!protocol) {
    throw new InvalidValkeyEndpointError(
      `unsupported scheme "${parsed.protocol}" in a Valkey URL (expected valkey, valkeys, redis or rediss)`,
    );
  }
  return protocol + url.slice(parsed.protocol.length);
}

/**
 * Builds the options every Monarch connection shares: capped exponential reconnects that never give
 * up, TCP keepalive, retries on LOADING/READONLY, and the hooks.
 */
function baseOptions(options: ValkeyConnectionOptions): RedisOptions {
  const maxDelayMs = options.maxReconnectDelayMs ?? 5_000;
  return {
    ...(options.name === undefined ? {} : { connectionName: options.name }),
    keepAlive: 10_000,
    retryStrategy: (attempt) => {
      const delayMs = reconnectDelay(attempt, maxDelayMs);
      options.hooks?.onReconnecting?.(delayMs);
      return delayMs;
    },
    reconnectOnError,
  };
}

function attachHooks(client: ValkeyClient, hooks: ConnectionHooks | undefined): void {
  // Without an error listener, iovalkey reports every connection error as unhandled.
  client.on("error", (error: Error) => hooks?.onError?.(error));
  if (hooks?.onReady) client.on("ready", hooks.onReady);
  if (hooks?.onClose) client.on("end", hooks.onClose);
}

/** Opens a client; `overrides` tune it for a purpose, e.g. blocking reads. */
export function createClient(
  options: ValkeyConnectionOptions,
  overrides: Partial<RedisOptions> = {},
): ValkeyClient {
  const { endpoint } = options;
  const clientOptions = { ...baseOptions(options), ...overrides };
  let client: ValkeyClient;
  if ("url" in endpoint) {
    client = new Redis(normaliseUrl(endpoint.url), clientOptions);
  } else {
    if (endpoint.clusterNodes.length === 0)
      throw new InvalidValkeyEndpointError("cluster endpoint lists no nodes");
    const { retryStrategy, enableOfflineQueue = true, ...redisOptions } = clientOptions;
    client = new Cluster([...endpoint.clusterNodes], {
      ...(retryStrategy ? { clusterRetryStrategy: (attempt: number) => retryStrategy(attempt) } : {}),
      redisOptions,
      enableOfflineQueue,
    });
  }
  attachHooks(client, options.hooks);
  return client;
}

/**
 * A second connection to the same place for blocking reads, which would otherwise hold up every other
 * command. It has no per-command retry limit: a read that was in flight when the server went away is
 * sent again after the reconnect, so the reader never ends up stuck or failed for good.
 */
export function duplicateForBlocking(client: ValkeyClient): ValkeyClient {
  const blocking =
    client instanceof Cluster
      ? client.duplicate(undefined, {
          redisOptions: { ...client.options.redisOptions, maxRetriesPerRequest: null },
        })
      : client.duplicate({ maxRetriesPerRequest: null });
  return blocking;
}

/**
 * Reads the endpoint from the environment: `VALKEY_CLUSTER_NODES` (comma-separated `host:port`) when
 * set, else `VALKEY_URL`, else `redis://127.0.0.1:6379`.
 */
export function endpointFromEnv(env: NodeJS.ProcessEnv = process.env): ValkeyEndpoint {
  const nodes = env.VALKEY_CLUSTER_NODES?.trim();
  if (nodes) return { clusterNodes: nodes.split(",").map((node) => node.trim()) };
  return { url: env.VALKEY_URL?.trim() || "redis://127.0.0.1:6379" };
}

/**
 * Closes a client without ever hanging: a polite QUIT, then a hard disconnect if the server does not
 * answer within `timeoutMs`. Resolves once the connection has ended.
 */
export async function closeClient(client: ValkeyClient, timeoutMs = 2_000): Promise<void> {
  if (client.status === "end") return;
  if (client.status === "ready")
    await withTimeout(
      client.quit().then(() => undefined),
      timeoutMs,
      undefined,
    );
  // A client waiting to reconnect has no socket left: disconnecting only cancels the reconnection.
  const hasSocket = ["connect", "connecting", "ready"].includes(client.status);
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
  client.disconnect();
  if (hasSocket) await withTimeout(ended, timeoutMs, undefined);
}

/** Whether the server answers `PING` within `timeoutMs`: the readiness check. */
export async function ping(client: ValkeyClient, timeoutMs = 1_000): Promise<boolean> {
  return withTimeout(
    client.ping().then(
      (reply) => reply === "PONG",
      () => false,
    ),
    timeoutMs,
    false,
  );
}

/** Settles like `promise`, or with `fallback` after `timeoutMs`; a rejection also gives `fallback`. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs);
  });
  try {
    return await Promise.race([promise.catch(() => fallback), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true once `emitter` is ready, false if it ends first. */
export function becomesReady(emitter: ValkeyClient): Promise<boolean> {
  if (emitter.status === "end") return Promise.resolve(false);
  return new Promise((resolve) => {
    const onReady = () => {
      emitter.off("end", onEnd);
      resolve(true);
    };
    const onEnd = () => {
      emitter.off("ready", onReady);
      resolve(false);
    };
    emitter.once("ready", onReady);
    emitter.once("end", onEnd);
  });
}
