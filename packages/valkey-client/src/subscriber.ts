import { setTimeout as sleep } from "node:timers/promises";
import { Cluster, Redis } from "iovalkey";
import { becomesReady, closeClient, reconnectDelay, type ValkeyClient } from "./connection.js";

export interface ChannelSubscriberHooks {
  /**
   * A message on a subscribed channel: as text (read as UTF-8, U+FFFD where the bytes are not) and as
   * the bytes exactly as published, for a receiver that must tell the two apart. An error it throws
   * goes to `onError`.
   */
  readonly onMessage: (channel: string, message: string, bytes: Buffer) => void;
  /**
   * The server confirmed these channels: after {@link ChannelSubscriber.subscribe} and again after
   * every reconnect. Messages published while the connection was down are lost, so this is where to
   * catch up on what they would have said. It may repeat for a channel.
   */
  readonly onSubscribed?: (channels: readonly string[]) => void;
  /** Connection errors (the subscriber keeps reconnecting), failed re-subscriptions, hook errors. */
  readonly onError?: (error: Error) => void;
}

export interface ChannelSubscriberOptions {
  /** The subscriber opens its own connection to where this client connects, with its options. */
  readonly client: ValkeyClient;
  readonly hooks: ChannelSubscriberHooks;
  /** Shown in `CLIENT LIST`. Default: the client's connection name. */
  readonly connectionName?: string;
}

/** Thrown by {@link ChannelSubscriber.subscribe} once the subscriber, or the client it uses, is closed. */
export class SubscriberClosedError extends Error {
  override readonly name = "SubscriberClosedError";
}

/** Attempts to reconnect to one cluster node before moving to another: it may be gone for good. */
const NODE_RECONNECT_ATTEMPTS = 3;

/**
 * A pub/sub subscriber on its own connection that keeps its channels across reconnects: after every
 * reconnect it subscribes them again, waits for the server to confirm, and then says so through
 * `onSubscribed`, so that the application can catch up on what it missed.
 *
 * On a single server the connection reconnects forever. On a cluster (where a published message
 * reaches every node) it is a connection to one node, which moves to another node when its own does
 * not come back after a few attempts. Re-subscribing is done here rather than by iovalkey's
 * `autoResubscribe`, which gives no sign of when the channels are back, and on a cluster re-subscribes
 * only when the node connection is lost in the way it expects.
 */
export class ChannelSubscriber {
  private readonly client: ValkeyClient;
  private readonly hooks: ChannelSubscriberHooks;
  private readonly connectionName: string | undefined;
  private readonly channels = new Set<string>();
  /** The connection in use, or being opened. */
  private connection: Promise<Redis> | undefined;
  /** The connection in use once opened, for closing without waiting for one being opened. */
  private opened: Redis | undefined;
  /** Connections in a row that ended without reconnecting; spaces out the next ones. */
  private endedConnections = 0;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(options: ChannelSubscriberOptions) {
    this.client = options.client;
    this.hooks = options.hooks;
    this.connectionName = options.connectionName;
  }

  /** Subscribes to `channels`; resolves once the server has confirmed them. */
  async subscribe(...channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    for (;;) {
      const connection = await this.readyConnection();
      for (const channel of channels) this.channels.add(channel);
      try {
        await connection.subscribe(...channels);
        break;
      } catch (error) {
        // A cluster node's connection that ended is replaced: subscribe on the next one.
        if (this.closed || connection.status !== "end") throw error;
      }
    }
    this.notifySubscribed(channels);
  }

  /** Stops receiving `channels`, also after reconnects. */
  async unsubscribe(...channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    for (const channel of channels) this.channels.delete(channel);
    // A connection that is not ready has no subscriptions on the server to cancel.
    if (this.opened?.status === "ready") await this.opened.unsubscribe(...channels);
  }

  /** Closes the connection; nothing is delivered afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    // A connection still being opened is dropped by `open` itself once it sees the subscriber closed.
    this.closing.abort();
    if (this.opened) await closeClient(this.opened);
  }

  /** The current connection once it is ready, opening it on first use. */
  private async readyConnection(): Promise<Redis> {
    for (;;) {
      if (this.closed) throw new SubscriberClosedError("the subscriber is closed");
      this.connection ??= this.open();
      const connection = await this.connection;
      if (connection.status === "ready" || (await becomesReady(connection))) return connection;
    }
  }

  private async open(failedNode?: string): Promise<Redis> {
    if (this.endedConnections > 0) {
      await sleep(reconnectDelay(this.endedConnections, 5_000), undefined, {
        signal: this.closing.signal,
      }).catch(() => {});
    }
    if (this.closed) throw new SubscriberClosedError("the subscriber is closed");
    const connection =
      this.client instanceof Cluster
        ? await this.openOnClusterNode(this.client, failedNode)
        : this.client.duplicate({ ...this.sharedOptions(), maxRetriesPerRequest: null });
    if (this.closed) {
      connection.disconnect();
      throw new SubscriberClosedError("the subscriber is closed");
    }
    this.opened = connection;
    this.watch(connection);
    return connection;
  }

  private async openOnClusterNode(cluster: Cluster, failedNode: string | undefined): Promise<Redis> {
    if (cluster.status !== "ready" && !(await becomesReady(cluster))) {
      throw new SubscriberClosedError("the cluster client the subscriber connects through is closed");
    }
    const nodes = cluster.nodes("all");
    const others = nodes.filter((node) => addressOf(node).key !== failedNode);
    const candidates = others.length > 0 ? others : nodes;
    const node = candidates[Math.floor(Math.random() * candidates.length)];
    if (!node) throw new SubscriberClosedError("the cluster client knows no node to subscribe on");
    const { host, port } = addressOf(node);
    return new Redis({
      ...cluster.options.redisOptions,
      ...this.sharedOptions(),
      host,
      port,
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => (attempt > NODE_RECONNECT_ATTEMPTS ? null : reconnectDelay(attempt, 1_000)),
    });
  }

  private sharedOptions(): { autoResubscribe: false; connectionName?: string } {
    return {
      autoResubscribe: false,
      ...(this.connectionName === undefined ? {} : { connectionName: this.connectionName }),
    };
  }

  private watch(connection: Redis): void {
    connection.on("error", (error: Error) => this.hooks.onError?.(error));
    connection.on("messageBuffer", (channel: Buffer, message: Buffer) => {
      try {
        this.hooks.onMessage(channel.toString(), message.toString(), message);
      } catch (error) {
        this.reportError(error);
      }
    });
    connection.on("ready", () => {
      this.endedConnections = 0;
      // The server forgot this connection's subscriptions when it dropped. (On the first connection
      // there are none yet: `subscribe` adds its channels only once the connection is ready.)
      if (this.channels.size === 0) return;
      const channels = [...this.channels];
      connection.subscribe(...channels).then(
        () => this.notifySubscribed(channels),
        (error: unknown) => this.reportError(error),
      );
    });
    connection.once("end", () => {
      if (this.closed) return;
      this.endedConnections++;
      this.connection = this.open(addressOf(connection).key);
      // Nothing else may be waiting for it: without a connection the subscriber cannot go on.
      this.connection.catch((error: unknown) => {
        if (!this.closed) this.reportError(error);
      });
    });
  }

  private notifySubscribed(channels: readonly string[]): void {
    try {
      this.hooks.onSubscribed?.(channels);
    } catch (error) {
      this.reportError(error);
    }
  }

  private reportError(error: unknown): void {
    this.hooks.onError?.(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Where a connection goes; iovalkey fills in its defaults, so both are always set. */
function addressOf(connection: Redis): { host: string; port: number; key: string } {
  const { host = "localhost", port = 6379 } = connection.options;
  return { host, port, key: `${host}:${port}` };
}
