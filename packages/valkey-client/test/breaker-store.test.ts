import { randomUUID } from "node:crypto";
import {
  CircuitBreaker,
  consecutiveFailures,
  ManualClock,
  type SharedCircuitState,
} from "@monarch/resilience";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MalformedCircuitStateError, ValkeyCircuitStateStore } from "../src/index.js";
import { connect, deployments, uniqueName } from "./support/endpoints.js";
import { killConnections } from "./support/server-side.js";

const open = (changedAt: number): SharedCircuitState => ({
  state: "open",
  changedAt,
  openUntil: changedAt + 60_000,
  trips: 1,
});
const closed = (changedAt: number): SharedCircuitState => ({
  state: "closed",
  changedAt,
  openUntil: null,
  trips: 0,
});

describe.each(deployments)("ValkeyCircuitStateStore on a $name", ({ endpoint }) => {
  const stores: ValkeyCircuitStateStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  /** One replica's store, on its own client; replicas given the same key prefix share state. */
  function replica(keyPrefix: string) {
    const client = connect(endpoint());
    const errors: Error[] = [];
    const connectionName = `monarch-test-breakers-${randomUUID().slice(0, 8)}`;
    const store = new ValkeyCircuitStateStore({
      client,
      keyPrefix,
      connectionName,
      onError: (e) => errors.push(e),
    });
    stores.push(store);
    return { client, store, errors, connectionName };
  }

  /** Two replicas sharing state, and the prefix of their keys and channels. */
  function twoReplicas() {
    const keyPrefix = uniqueName("breakers");
    return { keyPrefix, publisher: replica(keyPrefix), subscriber: replica(keyPrefix) };
  }

  function listen(store: ValkeyCircuitStateStore, name: string) {
    const received: SharedCircuitState[] = [];
    const unsubscribe = store.subscribe(name, (state) => received.push(state));
    return { received, unsubscribe };
  }

  it("opens and closes breakers of one name in two processes together", async () => {
    const { publisher: here, subscriber: there } = twoReplicas();
    // One clock for both, as if the two machines agreed on the time.
    const clock = new ManualClock(1_000);
    const options = { name: "github", trip: consecutiveFailures(1), openDuration: 60_000, clock } as const;
    const local = new CircuitBreaker({ ...options, store: here.store });
    const remote = new CircuitBreaker({ ...options, store: there.store });

    clock.advance(1);
    await expect(local.execute(() => Promise.reject(new Error("502 from GitHub")))).rejects.toThrow("502");
    expect(local.state).toBe("open");
    await vi.waitFor(() => expect(remote.state).toBe("open"));
    expect(remote.snapshot().openUntil).toBe(local.snapshot().openUntil);

    clock.advance(1);
    local.reset();
    await vi.waitFor(() => expect(remote.state).toBe("closed"));
    local.dispose();
    remote.dispose();
  });

  it("never lets an older state replace a newer one", async () => {
    const { publisher, subscriber } = twoReplicas();
    const { received } = listen(subscriber.store, "github");
    await publisher.store.publish("github", open(2_000));
    await vi.waitFor(() => expect(received).toContainEqual(open(2_000)));

    await publisher.store.publish("github", closed(1_500));
    await publisher.store.publish("github", closed(3_000));

    await vi.waitFor(() => expect(received.at(-1)).toEqual(closed(3_000)));
    expect(received.map(({ changedAt }) => changedAt)).not.toContain(1_500);
    expect(await subscriber.store.latest("github")).toEqual(closed(3_000));
  });

  it("gives a late listener the stored state at once, and stops delivering to one that left", async () => {
    const { publisher, subscriber } = twoReplicas();
    await publisher.store.publish("github", open(2_000));

    const first = listen(subscriber.store, "github");
    await vi.waitFor(() => expect(first.received).toEqual([open(2_000)]));
    const second = listen(subscriber.store, "github");
    await vi.waitFor(() => expect(second.received).toEqual([open(2_000)]));
    first.unsubscribe();
    await publisher.store.publish("github", closed(3_000));

    await vi.waitFor(() => expect(second.received).toEqual([open(2_000), closed(3_000)]));
    expect(first.received).toEqual([open(2_000)]);
  });

  it("catches up on a state published while its subscriber connection was down", async () => {
    const { publisher, subscriber, keyPrefix } = twoReplicas();
    const { received } = listen(subscriber.store, "github");
    await publisher.store.publish("github", open(2_000));
    await vi.waitFor(() => expect(received).toContainEqual(open(2_000)));

    // A change whose message the subscriber misses: stored, but published to nobody.
    await publisher.client.hset(`${keyPrefix}:github`, {
      changedAt: 3_000,
      state: JSON.stringify(closed(3_000)),
    });
    expect(await killConnections(subscriber.client, subscriber.connectionName)).toBe(1);

    await vi.waitFor(() => expect(received.at(-1)).toEqual(closed(3_000)), { timeout: 10_000 });
  });

  it("reports a malformed message instead of delivering it", async () => {
    const keyPrefix = uniqueName("breakers");
    const { store, client, errors } = replica(keyPrefix);
    const { received } = listen(store, "github");
    await store.publish("github", open(2_000));
    await vi.waitFor(() => expect(received).toContainEqual(open(2_000)));

    await client.publish(`${keyPrefix}:github`, JSON.stringify({ state: "melted", changedAt: 3_000 }));

    await vi.waitFor(() => expect(errors[0]).toBeInstanceOf(MalformedCircuitStateError));
    expect(received.map(({ changedAt }) => changedAt)).not.toContain(3_000);
  });
});
