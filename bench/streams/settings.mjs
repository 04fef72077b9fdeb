// What both libraries are measured on: the same messages, concurrency, loads and guarantees, so that
// the processes spawned by the driver do equivalent work and their results line up row by row.
import { z } from "zod";

/** Defaults of the command-line options (see the driver). */
export const defaults = Object.freeze({
  /** Messages timed in a max-throughput run, after the warm-up. */
  messages: 50_000,
  /** Messages sent and handled before the timed ones, so both processes run optimised code. */
  warmup: 2_000,
  /** Handlers running at once in the consumer process, for both libraries. */
  concurrency: 16,
  /**
   * Sends in flight at once in the producer of a max-throughput run: enough that neither library's
   * end-to-end throughput rises with more (16 held Monarch back; 64 and 256 gave the same).
   */
  producerWindow: 64,
  /** Offered load of a paced run, in messages per second. */
  rate: 2_000,
  /** Messages timed in a paced run. */
  pacedMessages: 10_000,
  /** Runs of each kind for each library; the report gives the median and the spread. */
  repeats: 3,
});

/** The `parseArgs` options of the driver; it passes the sizes on to the children. */
export const options = /** @type {const} */ ({
  messages: { type: "string", default: String(defaults.messages) },
  warmup: { type: "string", default: String(defaults.warmup) },
  concurrency: { type: "string", default: String(defaults.concurrency) },
  "producer-window": { type: "string", default: String(defaults.producerWindow) },
  rate: { type: "string", default: String(defaults.rate) },
  "paced-messages": { type: "string", default: String(defaults.pacedMessages) },
  repeats: { type: "string", default: String(defaults.repeats) },
  /** Comma-separated subsets, e.g. for profiling one library: `--libraries monarch --modes max`. */
  libraries: { type: "string", default: "monarch,bullmq" },
  modes: { type: "string", default: "max,paced" },
  /** A folder for `node --cpu-prof` profiles of every child. */
  "cpu-prof": { type: "string" },
  "no-json": { type: "boolean", default: false },
});

/** Guarantees both libraries are configured for: the same retries and lease on the same failures. */
export const guarantees = Object.freeze({
  /** Deliveries of a failing message before it is set aside (dead letter / failed set). */
  maxDeliveries: 5,
  /** First retry delay, doubling after it. */
  retryDelayMs: 1_000,
  /** How long a message may stay unacknowledged by a silent consumer before another takes it over. */
  leaseMs: 30_000,
});

/** The BullMQ queue name; Monarch's stream is the same in a hash tag, shared with its dead-letter stream. */
export const channel = "bench-seed";

/**
 * The message: small JSON as a service would send it, with the send time for the latency. Validated
 * by Monarch on every append and every delivery, as its producer and consumer always do.
 */
export const messageSchema = z.object({
  seq: z.number().int().nonnegative(),
  /** `performance.timeOrigin + performance.now()` in the producer just before the send, in ms. */
  sentAt: z.number(),
  warmup: z.boolean(),
  repository: z.string().min(1),
  issue: z.number().int().positive(),
  labels: z.array(z.string()),
});

/**
 * @typedef {z.infer<typeof messageSchema>} Message
 * @typedef {"max" | "paced"} Mode
 */
