import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { startValkey, startValkeyCluster, type ValkeyCluster, type ValkeyServer } from "@monarch/sandbox";
import { Cluster, Redis } from "iovalkey";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChannelSubscriber, SubscriberClosedError, type ValkeyClient } from "../src/index.js";
import { connect, deployments, uniqueName } from "./support/endpoints.js";
import { killConnections } from "./support/server-side.js";

/** A subscriber that records what its hooks were told; closed after the test. */
const subscribers: ChannelSubscriber[] = [];
afterEach(async () => {
  await Promise.all(subscribers.splice(0).map((subscriber) => subscriber.close()));
});

function recordingSubscriber(client: ValkeyClient, onMessage?: (channel: string, message: string) => void) {
  const received: Array<[string, string]> = [];
  const confirmations: string[][] = [];
  const errors: Error[] = [];
  const connectionName = `monarch-test-subscriber-${randomUUID().slice(0, 8)}`;
  const subscriber = new ChannelSubscriber({
    client,
    connectionName,
    hooks: {
      onMessage: (channel, message) => {
        received.push([channel, message]);
        onMessage?.(channel, message);
      },
      onSubscribed: (channels) => confirmations.push([...channels]),
      onError: (error) => errors.push(error),
    },
  });
  subscribers.push(subscriber);
  return { subscriber, received, confirmations, errors, connectionName };
}

/** One connection to publish through, so messages arrive in the order sent, on a cluster too. */
async function publisher(client: ValkeyClient): Promise<Redis> {
  if (!(client instanceof Cluster)) return client;
  await client.ping();
  const [node] = client.nodes("master");
  if (!node) throw new Error("the cluster client knows no node");
  return node;
}

/** Publishes every 50 ms until `received` holds the message: messages sent while down are lost. */
async function publishUntilReceived(
  client: ValkeyClient,
  channel: string,
  received: ReadonlyArray<[string, string]>,
  timeoutMs = 10_000,
): Promise<void> {
  const message = `hello ${randomUUID()}`;
  const deadline = Date.now() + timeoutMs;
  while (!received.some(([from, text]) => from === channel && text === message)) {
    if (Date.now() > deadline) throw new Error(`nothing received on ${channel} within ${timeoutMs} ms`);
    await client.publish(channel, message).catch(() => {});
    await sleep(50);
  }
}

describe.each(deployments)("ChannelSubscriber on a $name", ({ endpoint }) => {
  it("delivers the messages of its channels only, and confirms each subscription", async () => {
    const client = connect(endpoint());
    const { subscriber, received, confirmations } = recordingSubscriber(client);
    const [news, alerts] = [uniqueName("news"), uniqueName("alerts")];
    const publish = await publisher(client);

    await subscriber.subscribe(news, alerts);
    expect(confirmations).toEqual([[news, alerts]]);
    await publish.publish(news, "first");
    await publish.publish(alerts, "second");
    await vi.waitFor(() => expect(received).toHaveLength(2));
    await subscriber.unsubscribe(news);
    await publish.publish(news, "not for us");
    await publish.publish(alerts, "third");

    await vi.waitFor(() => expect(received).toHaveLength(3));
    expect(received).toEqual([
      [news, "first"],
      [alerts, "second"],
      [alerts, "third"],
    ]);
  });

  it("hands over each message's bytes exactly as published, beside its text", async () => {
    const client = connect(endpoint());
    const seen: Array<[string, Buffer]> = [];
    const subscriber = new ChannelSubscriber({
      client,
      hooks: { onMessage: (_channel, text, bytes) => seen.push([text, bytes]) },
    });
    subscribers.push(subscriber);
    const channel = uniqueName("bytes");
    await subscriber.subscribe(channel);
    // "é" in UTF-8, then a byte that is not UTF-8 at all.
    const published = Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0xff]);
    await (await publisher(client)).publish(channel, published);

    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]?.[1].equals(published)).toBe(true);
    expect(seen[0]?.[0]).toBe("café \ufffd");
  });

  it("subscribes again after its connection is cut, confirms, and delivers", async () => {
    const client = connect(endpoint());
    const { subscriber, received, confirmations, connectionName } = recordingSubscriber(client);
    const channel = uniqueName("legacy");
    await subscriber.subscribe(channel);

    expect(await killConnections(client, connectionName)).toBe(1);

    await vi.waitFor(() => expect(confirmations).toEqual([[channel], [channel]]), { timeout: 10_000 });
    await (await publisher(client)).publish(channel, "after the cut");
    await vi.waitFor(() => expect(received).toEqual([[channel, "after the cut"]]));
  });

  it("reports what onMessage throws and keeps delivering", async () => {
    const client = connect(endpoint());
    const failure = new Error("handler bug");
    const { subscriber, received, errors } = recordingSubscriber(client, (_, message) => {
      if (message === "bad") throw failure;
    });
    const channel = uniqueName("legacy");
    await subscriber.subscribe(channel);
    const publish = await publisher(client);

    await publish.publish(channel, "bad");
    await publish.publish(channel, "good");

    await vi.waitFor(() => expect(received.map(([, message]) => message)).toEqual(["bad", "good"]));
    expect(errors).toEqual([failure]);
  });

  it("refuses to subscribe once closed", async () => {
    const { subscriber } = recordingSubscriber(connect(endpoint()));
    await subscriber.subscribe(uniqueName("legacy"));

    await subscriber.close();

    await expect(subscriber.subscribe(uniqueName("legacy"))).rejects.toBeInstanceOf(SubscriberClosedError);
  });
});

describe("ChannelSubscriber when its server goes away", () => {
  let server: ValkeyServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function subscribedToOwnServer() {
    server = await startValkey({ appendOnly: true });
    const endpoint = { url: server.url };
    const recording = recordingSubscriber(connect(endpoint));
    const channel = uniqueName("legacy");
    await recording.subscriber.subscribe(channel);
    return { ...recording, server, channel, endpoint };
  }

  it("receives messages published after a restart without being told", async () => {
    const { server, channel, endpoint, received, confirmations } = await subscribedToOwnServer();

    await server.restart();

    await publishUntilReceived(connect(endpoint), channel, received);
    expect(confirmations).toEqual([[channel], [channel]]);
  });

  it("receives messages published after a crash and a relaunch", async () => {
    const { server, channel, endpoint, received, confirmations } = await subscribedToOwnServer();

    await server.kill();
    await server.relaunch();

    await publishUntilReceived(connect(endpoint), channel, received);
    expect(confirmations).toEqual([[channel], [channel]]);
  });
});

describe("ChannelSubscriber when its cluster node goes away", () => {
  let cluster: ValkeyCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it("moves to another node and subscribes there", { timeout: 60_000 }, async () => {
    cluster = await startValkeyCluster();
    const client = connect({ clusterNodes: cluster.nodes.map(({ host, port }) => `${host}:${port}`) });
    const { subscriber, received, confirmations, connectionName } = recordingSubscriber(client);
    const channel = uniqueName("legacy");
    await subscriber.subscribe(channel);
    const holder = await findServerWith(cluster.servers, connectionName);
    const survivor = cluster.servers.find((server) => server !== holder) as ValkeyServer;

    await holder.kill();

    const publish = new Redis(survivor.port, survivor.host);
    try {
      await publishUntilReceived(publish, channel, received, 20_000);
    } finally {
      publish.disconnect();
    }
    expect(confirmations).toEqual([[channel], [channel]]);
  });
});

/** The server that has a connection named `connectionName`. */
async function findServerWith(
  servers: readonly ValkeyServer[],
  connectionName: string,
): Promise<ValkeyServer> {
  for (const server of servers) {
    const probe = new Redis(server.port, server.host);
    try {
      if (String(await probe.client("LIST")).includes(` name=${connectionName} `)) return server;
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`no server has a connection named ${connectionName}`);
}
