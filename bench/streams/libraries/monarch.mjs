// @monarch/valkey-client in a child process of the driver: a StreamProducer or a StreamConsumer.
import { closeClient, createClient, StreamConsumer, StreamProducer } from "@monarch/valkey-client";
import { channel, guarantees, messageSchema } from "../settings.mjs";
import { childOptions, runConsumer, runProducer } from "../workload.mjs";

const options = childOptions();
const stream = `{${channel}}`;
const client = createClient({ endpoint: { url: options.url }, name: `bench-${options.role}` });

if (options.role === "producer") {
  // No retention: every entry stays, as BullMQ keeps every job until it completes.
  const producer = new StreamProducer({ client, stream, schema: messageSchema });
  await runProducer(options, {
    send: (message) => producer.append(message),
    close: () => closeClient(client),
  });
} else {
  await runConsumer(options, async (recorder) => {
    const consumer = new StreamConsumer({
      client,
      stream,
      group: "bench",
      schema: messageSchema,
      concurrency: options.concurrency,
      // blockMs and the retry backoff (exponential from 1 s, full jitter, capped at 60 s) are the defaults.
      maxDeliveries: guarantees.maxDeliveries,
      leaseMs: guarantees.leaseMs,
      handler: async ({ id, message }) => recorder.delivered(id, message),
      // Called once XACK has returned.
      hooks: { onHandled: (id) => recorder.acked(id) },
    });
    await consumer.start();
    return async () => {
      await consumer.stop();
      await closeClient(client);
    };
  });
}
