// BullMQ in a child process of the driver: a Queue that adds jobs or a Worker that processes them.
import { Queue, Worker } from "bullmq";
import { channel, guarantees } from "../settings.mjs";
import { childOptions, runConsumer, runProducer } from "../workload.mjs";

const options = childOptions();
const { hostname: host, port } = new URL(options.url);
// BullMQ's workers need maxRetriesPerRequest: null; the queue takes the same connection options.
const connection = { host, port: Number(port), maxRetriesPerRequest: null };

if (options.role === "producer") {
  const queue = new Queue(channel, {
    connection,
    defaultJobOptions: {
      // The same retries as Monarch's consumer: 5 deliveries in all, exponential from 1 s.
      attempts: guarantees.maxDeliveries,
      backoff: { type: "exponential", delay: guarantees.retryDelayMs },
      // A completed job is deleted, as an acknowledged stream entry leaves the pending list; a job
      // that failed every attempt stays in the failed set, BullMQ's dead letters.
      removeOnComplete: true,
      removeOnFail: false,
    },
  });
  await runProducer(options, {
    send: (message) => queue.add("seed", message),
    close: () => queue.close(),
  });
} else {
  await runConsumer(options, async (recorder) => {
    const worker = new Worker(channel, async (job) => recorder.delivered(String(job.id), job.data), {
      connection,
      concurrency: options.concurrency,
      // The lease: a job whose lock is not renewed for this long is taken back (stalled); after as
      // many stalls as Monarch allows deliveries, it fails for good.
      lockDuration: guarantees.leaseMs,
      maxStalledCount: guarantees.maxDeliveries - 1,
    });
    // Emitted once the job has been moved to completed on the server.
    worker.on("completed", (job) => recorder.acked(String(job.id)));
    worker.on("error", (error) => console.error(`bullmq worker: ${error}`));
    await worker.waitUntilReady();
    return () => worker.close();
  });
}
