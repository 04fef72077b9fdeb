import type { CircuitStateStore, SharedCircuitState, Unsubscribe } from "@monarch/resilience";
import type { ValkeyClient } from "./connection.js";
import { withHashTag } from "./keys.js";
import { LuaScript } from "./lua.js";
import { ChannelSubscriber } from "./subscriber.js";

export interface ValkeyCircuitStateStoreOptions {
  readonly client: ValkeyClient;
  /** Default "monarch:breaker". */
  readonly keyPrefix?: string;
  /** Subscription and delivery errors; publish errors reach the breaker's `storeError` event instead. */
  readonly onError?: (error: Error) => void;
  /** Shown in `CLIENT LIST` for the subscriber connection. */
  readonly connectionName?: string;
}

/** Thrown for a stored or published breaker state that is not a {@link SharedCircuitState}. */
export class MalformedCircuitStateError extends Error {
  override readonly name = "MalformedCircuitStateError";
}

type Listener = (state: SharedCircuitState) => void;

interface Subscription {
  readonly name: string;
  readonly listeners: Set<Listener>;
}

/**
 * Stores a breaker's state unless the stored one changed later, and then publishes it.
 * KEYS: the breaker's hash (fields changedAt, state). ARGV: changedAt, state JSON, channel.
 * Returns 1 when stored and published, 0 when the stored state is newer.
 */
const publishScript = new LuaScript(`
local known = tonumber(redis.call('HGET', KEYS[1], 'changedAt'))
if known and known > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'changedAt', ARGV[1], 'state', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[2])
return 1
`);

/**
 * Shares circuit breaker state between replicas through Valkey: the latest state of each breaker
 * name is stored, and each change is published on a channel per name. Subscribers listen on one
 * connection of their own, opened on the first subscribe. Each time a channel is (re)subscribed, after
 * a reconnect too, its listeners get the stored state, so a change published while they were cut off
 * is not missed. Listeners may see a state more than once and must ignore states not newer than their
 * own, as `CircuitBreaker` does.
 */
export class ValkeyCircuitStateStore implements CircuitStateStore {
  private readonly client: ValkeyClient;
  private readonly keyPrefix: string;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly connectionName: string | undefined;
  /** Listeners by channel. */
  private readonly subscriptions = new Map<string, Subscription>();
  private subscriber: ChannelSubscriber | undefined;

  constructor(options: ValkeyCircuitStateStoreOptions) {
    this.client = options.client;
    this.keyPrefix = options.keyPrefix ?? "monarch:breaker";
    this.onError = options.onError;
    this.connectionName = options.connectionName;
  }

  async publish(name: string, state: SharedCircuitState): Promise<void> {
    await publishScript.run(
      this.client,
      [this.keyOf(name)],
      [state.changedAt, JSON.stringify(state), this.channelOf(name)],
    );
  }

  subscribe(name: string, listener: Listener): Unsubscribe {
    const channel = this.channelOf(name);
    const known = this.subscriptions.get(channel);
    const subscription: Subscription = known ?? { name, listeners: new Set() };
    subscription.listeners.add(listener);
    if (known) {
      void this.deliverLatest(subscription, listener);
    } else {
      this.subscriptions.set(channel, subscription);
      // Confirmation triggers `onSubscribed`, which delivers the stored state.
      this.subscriberConnection()
        .subscribe(channel)
        .catch((error: unknown) => this.report(error));
    }
    return () => {
      subscription.listeners.delete(listener);
      if (subscription.listeners.size > 0 || this.subscriptions.get(channel) !== subscription) return;
      this.subscriptions.delete(channel);
      this.subscriber?.unsubscribe(channel).catch((error: unknown) => this.report(error));
    };
  }

  /** The stored state of breaker `name`, or null when none was published. */
  async latest(name: string): Promise<SharedCircuitState | null> {
    const json = await this.client.hget(this.keyOf(name), "state");
    return json === null ? null : parseState(json);
  }

  /** Closes the subscriber connection; the client stays open. */
  async close(): Promise<void> {
    this.subscriptions.clear();
    await this.subscriber?.close();
  }

  private subscriberConnection(): ChannelSubscriber {
    this.subscriber ??= new ChannelSubscriber({
      client: this.client,
      ...(this.connectionName === undefined ? {} : { connectionName: this.connectionName }),
      hooks: {
        onMessage: (channel, message) => this.onMessage(channel, message),
        onSubscribed: (channels) => {
          for (const channel of channels) {
            const subscription = this.subscriptions.get(channel);
            if (subscription) void this.deliverLatest(subscription);
          }
        },
        onError: (error) => this.report(error),
      },
    });
    return this.subscriber;
  }

  private onMessage(channel: string, message: string): void {
    const subscription = this.subscriptions.get(channel);
    if (subscription) this.deliver(parseState(message), subscription.listeners);
  }

  /** Reads the stored state and hands it to the subscription's listeners, or to `only` of them. */
  private async deliverLatest(subscription: Subscription, only?: Listener): Promise<void> {
    try {
      const state = await this.latest(subscription.name);
      if (!state) return;
      // Listeners may have left while the state was read.
      if (only === undefined) this.deliver(state, subscription.listeners);
      else if (subscription.listeners.has(only)) this.deliver(state, [only]);
    } catch (error) {
      this.report(error);
    }
  }

  private deliver(state: SharedCircuitState, listeners: Iterable<Listener>): void {
    for (const listener of [...listeners]) {
      try {
        listener(state);
      } catch (error) {
        this.report(error);
      }
    }
  }

  private report(error: unknown): void {
    this.onError?.(error instanceof Error ? error : new Error(String(error)));
  }

  private keyOf(name: string): string {
    return withHashTag(`${this.keyPrefix}:${name}`);
  }

  /** Channels are not keys: they reach every node of a cluster whatever their name. */
  private channelOf(name: string): string {
    return `${this.keyPrefix}:${name}`;
  }
}

function parseState(json: string): SharedCircuitState {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new MalformedCircuitStateError(`breaker state is not JSON: ${json.slice(0, 200)}`);
  }
  const fields = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const { state, changedAt, openUntil, trips } = fields;
  if (
    !isCircuitState(state) ||
    typeof changedAt !== "number" ||
    !(openUntil === null || typeof openUntil === "number") ||
    typeof trips !== "number"
  ) {
    throw new MalformedCircuitStateError(`not a breaker state: ${json.slice(0, 200)}`);
  }
  return { state, changedAt, openUntil, trips };
}

function isCircuitState(value: unknown): value is SharedCircuitState["state"] {
  return value === "closed" || value === "open" || value === "isolated";
}
