import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { startValkey, until, type ValkeyServer } from "@monarch/sandbox";
import { afterEach, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { StreamConsumer, type StreamEntry, StreamProducer } from "../src/index.js";
import { builtEntry } from "./support/built-package.js";
import { connect, uniqueName } from "./support/endpoints.js";

const Job = z.object({ n: z.number() });
type Job = z.infer<typeof Job>;

const consumers: Array<StreamConsumer<Job>> = [];
const servers: ValkeyServer[] = [];
afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop(1_000)));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

function collectingConsumer(url: string, stream: string, handled: Array<StreamEntry<Job>>) {
  const consumer = new StreamConsumer<Job>({
    client: connect({ url }),
    stream,
    group: "workers",
    schema: Job,
    blockMs: 500,
    leaseMs: 600,
    handler: async (entry) => {
      handled.push(entry);
    },
  });
  consumers.push(consumer);
  return consumer;
}

describe("crash recovery", () => {
  it("an entry whose worker was killed with SIGKILL mid-handler is handled by another worker, once", async () => {
    const url = inject("valkeyUrl");
    const stream = uniqueName("crash");
    const client = connect({ url });
    const worker = spawn(process.execPath, [
      new URL("fixtures/stuck-worker.mjs", import.meta.url).pathname,
      builtEntry(),
      url,
      stream,
      "workers",
    ]);
    let output = "";
    worker.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    await until(() => output.includes("ready"));
    const id = await new StreamProducer({ client, stream, schema: Job }).append({ n: 1 });
    await until(() => output.includes(`started ${id}`));
    const exited = new Promise((resolve) => worker.once("exit", resolve));
    worker.kill("SIGKILL");
    await exited;

    const handled: Array<StreamEntry<Job>> = [];
    await collectingConsumer(url, stream, handled).start();
    await until(() => handled.length === 1);
    await sleep(1_500); // more than two leases: nothing may be handled twice
    expect(handled.map(({ id: handledId, deliveries }) => [handledId, deliveries])).toEqual([[id, 2]]);
    const pending = (await client.xpending(stream, "workers")) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
  });

  it.each([
    ["restarted", (server: ValkeyServer) => server.restart()],
    [
      "killed and relaunched",
      async (server: ValkeyServer) => {
        await server.kill();
        await server.relaunch();
      },
    ],
  ] as const)("a worker blocked in a read resumes by itself when the server is %s", async (_, bounce) => {
    const server = await startValkey({ appendOnly: true });
    servers.push(server);
    const stream = uniqueName("bounce");
    const handled: Array<StreamEntry<Job>> = [];
    const producer = new StreamProducer({ client: connect({ url: server.url }), stream, schema: Job });
    await collectingConsumer(server.url, stream, handled).start();
    await producer.append({ n: 1 });
    await until(() => handled.length === 1);
    await sleep(100); // the worker is back in its blocking read
    await bounce(server);
    await producer.append({ n: 2 });
    await until(() => handled.length === 2);
    expect(handled.map((entry) => entry.message.n)).toEqual([1, 2]);
  });

  it("a worker recreates its group when a server without persistence comes back empty", async () => {
    const server = await startValkey();
    servers.push(server);
    const stream = uniqueName("amnesia");
    const handled: Array<StreamEntry<Job>> = [];
    const producer = new StreamProducer({ client: connect({ url: server.url }), stream, schema: Job });
    await collectingConsumer(server.url, stream, handled).start();
    await server.restart();
    // The group is gone; the worker must make it again before a new entry can reach it.
    await until(async () => {
      await producer.append({ n: handled.length });
      await sleep(200);
      return handled.length > 0;
    });
    expect(handled[0]?.deliveries).toBe(1);
  });
});
