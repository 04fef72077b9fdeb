import { setTimeout as sleep } from "node:timers/promises";
import { until } from "@monarch/sandbox";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  type ConsumerHooks,
  DATA_FIELD,
  StreamConsumer,
  type StreamConsumerOptions,
  type StreamEntry,
  StreamProducer,
} from "../src/index.js";
import { connect, deployments, uniqueName } from "./support/endpoints.js";

const Job = z.object({ n: z.number().int() });
type Job = z.infer<typeof Job>;

describe.each(deployments)("consumer group on a $name", ({ endpoint }) => {
  function setup(overrides: Partial<StreamConsumerOptions<Job>> = {}) {
    const client = connect(endpoint());
    const stream = uniqueName("jobs");
    const producer = new StreamProducer({ client, stream, schema: Job });
    const handled: Array<StreamEntry<Job>> = [];
    const consumers: Array<StreamConsumer<Job>> = [];
    const consume = (options: Partial<StreamConsumerOptions<Job>> = {}) => {
      const consumer = new StreamConsumer<Job>({
        client,
        stream,
        group: "workers",
        schema: Job,
        blockMs: 200,
        leaseMs: 1_000,
        retryBackoff: () => 50,
        handler: async (entry) => {
          handled.push(entry);
        },
        ...overrides,
        ...options,
      });
      consumers.push(consumer);
      return consumer;
    };
    const stopAll = () => Promise.all(consumers.map((consumer) => consumer.stop(2_000)));
    return { client, stream, producer, handled, consume, stopAll };
  }

  it("hands every appended message to the handler once, in order, and acknowledges it", async () => {
    const { producer, handled, consume, stopAll } = setup({ concurrency: 1 });
    const consumer = consume();
    await consumer.start();
    for (let n = 0; n < 50; n++) await producer.append({ n });
    await until(() => handled.length === 50);
    expect(handled.map((entry) => entry.message.n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(handled.every((entry) => entry.deliveries === 1)).toBe(true);
    await until(async () => (await consumer.backlog()).pending === 0);
    expect(await consumer.backlog()).toEqual({ pending: 0, lag: 0 });
    expect(consumer.stats()).toEqual({ handled: 50, failed: 0, deadLettered: 0, inFlight: 0, waiting: 0 });
    await stopAll();
  });

  it("handles entries appended before the group existed", async () => {
    const { producer, handled, consume, stopAll } = setup();
    await producer.append({ n: 1 });
    await consume().start();
    await until(() => handled.length === 1);
    await stopAll();
  });

  it("never runs more handlers at once than its concurrency, and reads no more than it can run", async () => {
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const { client, stream, producer, consume, stopAll } = setup({
      concurrency: 3,
      handler: async () => {
        peak = Math.max(peak, ++running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
      },
    });
    for (let n = 0; n < 10; n++) await producer.append({ n });
    await consume().start();
    await until(() => release.length === 3);
    await sleep(300); // several blocking-read periods: nothing more may be read meanwhile
    const pending = (await client.xpending(stream, "workers")) as [number, ...unknown[]];
    expect(pending[0]).toBe(3);
    let released = 0;
    while (released < 10) {
      await until(() => release.length > 0);
      release.shift()?.();
      released++;
    }
    await until(() => running === 0);
    expect(peak).toBe(3);
    await stopAll();
  });

  it("stays within its concurrency when entries it claims and entries its waiting read gets arrive together", async () => {
    let running = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    const { client, stream, producer, handled, consume, stopAll } = setup({
      concurrency: 2,
      blockMs: 10_000,
      handler: async (entry) => {
        peak = Math.max(peak, ++running);
        await new Promise<void>((resolve) => release.push(resolve));
        running--;
        handled.push(entry);
      },
    });
    // Two entries a vanished consumer read: claimed once their lease (1 s) has run out.
    await client.xgroup("CREATE", stream, "workers", "0", "MKSTREAM");
    for (const n of [1, 2]) await producer.append({ n });
    await client.xreadgroup("GROUP", "workers", "vanished", "COUNT", 2, "STREAMS", stream, ">");
    const consumer = consume();
    await consumer.start();
    // Its read, sent with both slots free, waits for new entries while the claim fills both slots.
    await until(() => release.length === 2, 15_000);
    // Both at once, so that the waiting read (COUNT 2) gets both.
    await client
      .multi()
      .xadd(stream, "*", DATA_FIELD, JSON.stringify({ n: 3 }))
      .xadd(stream, "*", DATA_FIELD, JSON.stringify({ n: 4 }))
      .exec();
    const pendingTo = async (name: string) => {
      const [, , , owners] = (await client.xpending(stream, "workers")) as [
        number,
        unknown,
        unknown,
        [string, string][] | null,
      ];
      return Number(owners?.find(([owner]) => owner === name)?.[1] ?? 0);
    };
    await until(async () => (await pendingTo(consumer.consumer)) === 4);
    expect(consumer.stats()).toMatchObject({ inFlight: 2, waiting: 2 });
    for (let released = 0; released < 4; released++) {
      await until(() => release.length > 0);
      release.shift()?.();
    }
    await until(() => handled.length === 4);
    expect(peak).toBe(2);
    expect(handled.map((entry) => entry.message.n).sort()).toEqual([1, 2, 3, 4]);
    await stopAll();
  });

  it("leaves the entries waiting for a slot pending for another consumer when it stops", async () => {
    const release: Array<() => void> = [];
    const { client, stream, producer, handled, consume, stopAll } = setup({
      concurrency: 1,
      blockMs: 10_000,
    });
    const first = consume({
      handler: async (entry) => {
        await new Promise<void>((resolve) => release.push(resolve));
        handled.push(entry);
      },
    });
    // A vanished consumer's entry, claimed while the read waits; then the read brings one more.
    await client.xgroup("CREATE", stream, "workers", "0", "MKSTREAM");
    await producer.append({ n: 1 });
    await client.xreadgroup("GROUP", "workers", "vanished", "COUNT", 1, "STREAMS", stream, ">");
    await first.start();
    await until(() => release.length === 1, 15_000);
    await producer.append({ n: 2 });
    await until(() => first.stats().waiting === 1);

    const stopped = first.stop(5_000);
    release.shift()?.();
    await stopped;
    expect(first.stats()).toMatchObject({ handled: 1, inFlight: 0, waiting: 0 });
    expect(handled.map((entry) => entry.message.n)).toEqual([1]);
    await consume().start();
    await until(() => handled.length === 2, 15_000);
    expect(handled[1]).toMatchObject({ message: { n: 2 }, deliveries: 2 });
    await stopAll();
  });

  it("keeps the lease of a failed entry that waits for a slot to be retried", async () => {
    const release: Array<() => void> = [];
    const seenBy: Array<[string, number, number]> = [];
    const { producer, consume, stopAll } = setup({ concurrency: 1 });
    const first = consume({
      handler: async ({ message, deliveries }) => {
        seenBy.push(["first", message.n, deliveries]);
        if (message.n === 1 && deliveries === 1) throw new Error("fails once");
        if (message.n === 2) await new Promise<void>((resolve) => release.push(resolve));
      },
    });
    await first.start();
    await producer.append({ n: 1 });
    await producer.append({ n: 2 });
    // Entry 1 failed; entry 2 holds the one slot, so entry 1's retry waits for it.
    await until(() => release.length === 1);
    const second = consume({
      handler: async ({ message, deliveries }) => {
        seenBy.push(["second", message.n, deliveries]);
      },
    });
    await second.start();
    await sleep(2_500); // more than twice the lease: another consumer would take an entry left unrenewed
    release.shift()?.();
    await until(() => first.stats().handled === 2);
    expect(seenBy).toEqual([
      ["first", 1, 1],
      ["first", 2, 1],
      ["first", 1, 2],
    ]);
    await stopAll();
  });

  it("retries a failing entry with backoff, counting deliveries, until it succeeds", async () => {
    const attempts: number[] = [];
    const { producer, consume, stopAll } = setup({
      handler: async ({ deliveries }) => {
        attempts.push(deliveries);
        if (deliveries < 3) throw new Error("not yet");
      },
    });
    const consumer = consume();
    await consumer.start();
    await producer.append({ n: 7 });
    await until(() => consumer.stats().handled === 1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(consumer.stats()).toMatchObject({ handled: 1, failed: 2, deadLettered: 0 });
    await stopAll();
  });

  it("moves a poison entry to the dead-letter stream with the reason and count, without holding up others", async () => {
    const deadLettered: string[] = [];
    const hooks: ConsumerHooks = { onDeadLettered: (id) => deadLettered.push(id) };
    const { client, stream, producer, handled, consume, stopAll } = setup({
      maxDeliveries: 3,
      hooks,
      handler: async (entry) => {
        if (entry.message.n === 13) throw new TypeError("cannot handle 13");
        handled.push(entry);
      },
    });
    const consumer = consume();
    await consumer.start();
    const poison = await producer.append({ n: 13 });
    for (let n = 0; n < 5; n++) await producer.append({ n });
    await until(() => handled.length === 5);
    await until(() => deadLettered.length === 1);
    const [dead] = await client.xrange(`${stream}:dead`, "-", "+");
    const fields = Object.fromEntries(chunk(dead?.[1] ?? []));
    expect(fields).toMatchObject({
      source_stream: stream,
      source_id: poison,
      group: "workers",
      deliveries: "3",
      cause: "max-deliveries",
      reason: "TypeError: cannot handle 13",
      data: JSON.stringify({ n: 13 }),
    });
    expect((await consumer.backlog()).pending).toBe(0);
    await stopAll();
  });

  it("dead-letters an invalid message at once, with what is wrong and where", async () => {
    const { client, stream, handled, consume, stopAll } = setup();
    const consumer = consume();
    await consumer.start();
    const wrongType = String(await client.xadd(stream, "*", "data", JSON.stringify({ n: "seven" })));
    const notJson = String(await client.xadd(stream, "*", "data", "{not json"));
    await until(() => consumer.stats().deadLettered === 2);
    const dead = await client.xrange(`${stream}:dead`, "-", "+");
    const bySource = new Map(
      dead.map(([, fields]) => {
        const record = Object.fromEntries(chunk(fields));
        return [record.source_id, record];
      }),
    );
    expect(bySource.get(wrongType)).toMatchObject({ cause: "invalid", deliveries: "1" });
    expect(bySource.get(wrongType)?.reason).toMatch(/^invalid message: n: /);
    expect(bySource.get(notJson)?.reason).toMatch(/^invalid message: SyntaxError/);
    expect(handled).toEqual([]);
    await stopAll();
  });

  it("hands the fields to a custom decode, so a consumer can judge raw input itself", async () => {
    const client = connect(endpoint());
    const stream = uniqueName("raw");
    const seen: string[] = [];
    const consumer = new StreamConsumer({
      client,
      stream,
      group: "workers",
      blockMs: 200,
      schema: z.object({ payload: z.string() }),
      decode: (fields) => ({ payload: fields.payload }),
      handler: async ({ message }) => {
        seen.push(message.payload);
      },
    });
    await consumer.start();
    await client.xadd(stream, "*", "payload", "{not json");
    const withoutPayload = String(await client.xadd(stream, "*", "other", "x"));
    await until(() => seen.length === 1 && consumer.stats().deadLettered === 1);
    expect(seen).toEqual(["{not json"]);
    const [dead] = await client.xrange(`${stream}:dead`, "-", "+");
    expect(Object.fromEntries(chunk(dead?.[1] ?? []))).toMatchObject({
      source_id: withoutPayload,
      cause: "invalid",
      other: "x",
    });
    await consumer.stop(2_000);
  });

  it("takes over entries whose consumer stopped renewing its lease", async () => {
    const { client, stream, producer, handled, consume, stopAll } = setup();
    // A consumer that read an entry and then vanished without a trace.
    await client.xgroup("CREATE", stream, "workers", "0", "MKSTREAM");
    await producer.append({ n: 42 });
    await client.xreadgroup("GROUP", "workers", "vanished", "COUNT", 1, "STREAMS", stream, ">");
    await consume().start();
    await until(() => handled.length === 1, 15_000);
    expect(handled[0]).toMatchObject({ message: { n: 42 }, deliveries: 2 });
    await stopAll();
  });

  it("dead-letters an entry that every consumer died on, instead of handing it to another to crash", async () => {
    const { client, stream, producer, handled, consume, stopAll } = setup({ maxDeliveries: 3 });
    await client.xgroup("CREATE", stream, "workers", "0", "MKSTREAM");
    const id = await producer.append({ n: 666 });
    await client.xreadgroup("GROUP", "workers", "crashed-1", "COUNT", 1, "STREAMS", stream, ">");
    await client.xclaim(stream, "workers", "crashed-2", 0, id);
    await client.xclaim(stream, "workers", "crashed-3", 0, id);
    const consumer = consume();
    await consumer.start();
    await until(() => consumer.stats().deadLettered === 1, 15_000);
    const [dead] = await client.xrange(`${stream}:dead`, "-", "+");
    expect(Object.fromEntries(chunk(dead?.[1] ?? []))).toMatchObject({
      source_id: id,
      deliveries: "3",
      cause: "max-deliveries",
      reason: "every consumer that took it stopped before finishing (3 deliveries)",
    });
    expect(handled).toEqual([]);
    await stopAll();
  });

  it("does not acknowledge an entry another consumer took over while it was handled", async () => {
    let finish: () => void = () => {};
    const { client, stream, producer, consume, stopAll } = setup({
      handler: () =>
        new Promise<void>((resolve) => {
          finish = resolve;
        }),
    });
    const consumer = consume({ consumer: "slow" });
    await consumer.start();
    const id = await producer.append({ n: 1 });
    await until(() => consumer.stats().inFlight === 1);
    // Presumed dead, its entry goes to another consumer, whose attempt may still fail.
    await client.xclaim(stream, "workers", "successor", 0, id);
    finish();
    await until(() => consumer.stats().inFlight === 0);
    expect(consumer.stats().handled).toBe(0);
    const pending = (await client.xpending(stream, "workers", "-", "+", 10)) as Array<[string, string]>;
    expect(pending.map(([pendingId, owner]) => [pendingId, owner])).toEqual([[id, "successor"]]);
    await stopAll();
  });

  it("keeps the lease of a slow handler, so nobody else takes its entry", async () => {
    const starts: string[] = [];
    let finish: () => void = () => {};
    const { producer, consume, stopAll } = setup({
      handler: async () => {
        starts.push("start");
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    });
    const first = consume({ consumer: "first" });
    await first.start();
    await producer.append({ n: 1 });
    await until(() => starts.length === 1);
    await consume({ consumer: "second" }).start();
    await sleep(2_500); // more than two lease periods
    expect(starts).toHaveLength(1);
    finish();
    await until(() => first.stats().handled === 1);
    await stopAll();
  });

  it("stop() lets a running handler finish and acknowledge, then reads nothing more", async () => {
    let finish: () => void = () => {};
    const { producer, handled, consume } = setup({
      handler: async (entry) => {
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        handled.push(entry);
      },
    });
    const consumer = consume();
    await consumer.start();
    await producer.append({ n: 1 });
    await until(() => consumer.stats().inFlight === 1);
    const stopped = consumer.stop(5_000);
    finish();
    await stopped;
    expect(consumer.stats()).toMatchObject({ handled: 1, inFlight: 0 });
    await producer.append({ n: 2 });
    await sleep(300);
    expect(handled).toHaveLength(1);
    expect((await consumer.backlog()).lag).toBe(1);
  });

  it("stop() past its deadline aborts the handler's signal and leaves the entry pending for others", async () => {
    let aborted: unknown;
    const { client, stream, producer, consume } = setup({
      handler: ({ signal }) =>
        new Promise<void>((_, reject) => {
          signal.addEventListener("abort", () => {
            aborted = signal.reason;
            reject(signal.reason);
          });
        }),
    });
    const consumer = consume();
    await consumer.start();
    await producer.append({ n: 1 });
    await until(() => consumer.stats().inFlight === 1);
    await consumer.stop(100);
    expect(aborted).toEqual(new Error("consumer stopped"));
    const pending = (await client.xpending(stream, "workers")) as [number, ...unknown[]];
    expect(pending[0]).toBe(1);
  });

  it("after a restart under the same name, takes back its own unacknowledged entries first", async () => {
    const { client, stream, producer, handled, consume, stopAll } = setup();
    await client.xgroup("CREATE", stream, "workers", "0", "MKSTREAM");
    await producer.append({ n: 1 });
    await client.xreadgroup("GROUP", "workers", "me", "COUNT", 1, "STREAMS", stream, ">");
    await consume({ consumer: "me", leaseMs: 60_000 }).start();
    await until(() => handled.length === 1);
    expect(handled[0]?.deliveries).toBe(2);
    await stopAll();
  });
});

function chunk(fields: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let index = 0; index + 1 < fields.length; index += 2)
    pairs.push([fields[index] ?? "", fields[index + 1] ?? ""]);
  return pairs;
}
