// The measuring half of a child process. Each library file wires its producer or consumer to
// `runProducer` or `runConsumer`, which send and time the messages the same way for both libraries
// and talk to the driver in JSON lines: events on stdout, the "go" command on stdin.
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { quantile } from "../lib/stats.mjs";

/**
 * @typedef {import("./settings.mjs").Message} Message
 * @typedef {import("./settings.mjs").Mode} Mode
 * @typedef {{ role: "producer" | "consumer", mode: Mode, url: string, messages: number, warmup: number,
 *   concurrency: number, producerWindow: number, rate: number }} ChildOptions
 * @typedef {{ p50: number, p99: number, max: number }} Latency in ms
 * @typedef {{ sent: number, elapsedMs: number, cpuMs: number }} ProducerResult
 * @typedef {{ handled: number, redelivered: number, elapsedMs: number, perSecond: number,
 *   delivery: Latency, ack: Latency, cpuMs: number }} ConsumerResult
 */

/** Wall-clock time in ms with sub-ms resolution, comparable between the processes of one machine. */
export const now = () => performance.timeOrigin + performance.now();

/** The options the driver passes to every child. */
export function childOptions() {
  const { values } = parseArgs({
    options: Object.fromEntries(
      ["role", "mode", "url", "messages", "warmup", "concurrency", "producer-window", "rate"].map((name) => [
        name,
        { type: /** @type {const} */ ("string") },
      ]),
    ),
  });
  const number = (/** @type {string} */ name) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value)) throw new Error(`--${name} must be a number, got ${values[name]}`);
    return value;
  };
  return /** @type {ChildOptions} */ ({
    role: values.role,
    mode: values.mode,
    url: values.url,
    messages: number("messages"),
    warmup: number("warmup"),
    concurrency: number("concurrency"),
    producerWindow: number("producer-window"),
    rate: number("rate"),
  });
}

/** Tells the driver something: one JSON line on stdout. */
function emit(/** @type {string} */ event, /** @type {object} */ data = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

/** Resolves when the driver writes "go" on stdin. */
function driverSaysGo() {
  const lines = createInterface({ input: process.stdin });
  return new Promise((resolve) => {
    lines.on("line", (line) => {
      if (line.trim() !== "go") return;
      lines.close();
      resolve(undefined);
    });
  });
}

/**
 * A message as a service would send one, stamped with the time it is handed to the library.
 * @returns {Message}
 */
function message(/** @type {number} */ seq, /** @type {boolean} */ warmup) {
  return {
    seq,
    sentAt: now(),
    warmup,
    repository: `team-${seq % 50}/service-${seq % 7}`,
    issue: seq + 1,
    labels: ["seeded", "monarch"],
  };
}

/**
 * Sends `count` messages as fast as the library takes them, `window` sends in flight at once.
 * @param {(message: Message) => Promise<unknown>} send
 */
async function sendFlatOut(send, /** @type {number} */ count, /** @type {number} */ window, warmup = false) {
  let next = 0;
  const lane = async () => {
    while (next < count) await send(message(next++, warmup));
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

/**
 * Sends `count` messages at `rate` per second, each at its due time (checked every millisecond),
 * however many are still in flight, as independent callers would.
 * @param {(message: Message) => Promise<unknown>} send
 */
async function sendPaced(send, /** @type {number} */ count, /** @type {number} */ rate) {
  const start = now();
  /** @type {Promise<unknown>[]} */
  const sends = [];
  while (sends.length < count) {
    const due = Math.min(count, Math.floor(((now() - start) * rate) / 1000) + 1);
    while (sends.length < due) sends.push(send(message(sends.length, false)));
    await sleep(1);
  }
  await Promise.all(sends);
}

/**
 * The producer process: sends the warm-up messages, waits for the driver's "go" (given once the
 * consumer has handled them all), then sends the timed messages flat out or paced.
 * @param {ChildOptions} options
 * @param {{ send: (message: Message) => Promise<unknown>, close: () => Promise<unknown> }} producer
 */
export async function runProducer(options, { send, close }) {
  await sendFlatOut(send, options.warmup, options.producerWindow, true);
  emit("warm");
  await driverSaysGo();
  const cpu = process.cpuUsage();
  const start = now();
  if (options.mode === "paced") await sendPaced(send, options.messages, options.rate);
  else await sendFlatOut(send, options.messages, options.producerWindow);
  const elapsedMs = now() - start;
  const { user, system } = process.cpuUsage(cpu);
  emit(
    "done",
    /** @type {ProducerResult} */ ({ sent: options.messages, elapsedMs, cpuMs: (user + system) / 1000 }),
  );
  await close();
}

/** Latency percentiles of the first `count` values. */
function latency(/** @type {Float64Array} */ values, /** @type {number} */ count) {
  const sorted = values.subarray(0, count).sort();
  return /** @type {Latency} */ ({
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted[count - 1],
  });
}

/**
 * What a consumer's handler and acknowledgement call, keyed by the library's own message id.
 * @typedef {{ delivered: (key: string, message: Message) => void, acked: (key: string) => void }} Recorder
 */

/**
 * The consumer process. `start` starts the library's consumer, whose handler calls
 * `recorder.delivered` and whose acknowledgement (the library's own, after the handler) calls
 * `recorder.acked`; it resolves with a function that stops it. After the warm-up messages, times the
 * timed ones from the first send to the last acknowledgement.
 * @param {ChildOptions} options
 * @param {(recorder: Recorder) => Promise<() => Promise<unknown>>} start
 */
export async function runConsumer(options, start) {
  const { messages, warmup } = options;
  const deliveryMs = new Float64Array(messages);
  const ackMs = new Float64Array(messages);
  /** The delivered messages not yet acknowledged, by key (-1 for a warm-up message). */
  const inFlight = new Map();
  const acked = new Uint8Array(messages);
  let deliveries = 0;
  let handled = 0;
  let warmupHandled = 0;
  let firstSentAt = Number.POSITIVE_INFINITY;
  let lastAckAt = 0;
  let cpu = process.cpuUsage();
  /** @type {(value?: unknown) => void} */
  let finished = () => {};
  const done = new Promise((resolve) => {
    finished = resolve;
  });

  const stop = await start({
    delivered(key, message) {
      if (message.warmup) {
        inFlight.set(key, -1);
        return;
      }
      const at = now();
      if (deliveries < messages) deliveryMs[deliveries] = at - message.sentAt;
      deliveries++;
      firstSentAt = Math.min(firstSentAt, message.sentAt);
      inFlight.set(key, message);
    },
    acked(key) {
      const message = inFlight.get(key);
      inFlight.delete(key);
      if (message === -1) {
        if (++warmupHandled === warmup) {
          cpu = process.cpuUsage();
          emit("warm");
        }
        return;
      }
      // At-least-once: a redelivered message counts once.
      if (!message || acked[message.seq]) return;
      acked[message.seq] = 1;
      const at = now();
      ackMs[handled++] = at - message.sentAt;
      lastAckAt = at;
      if (handled === messages) finished();
    },
  });
  emit("ready");
  if (warmup === 0) emit("warm");
  await done;
  const { user, system } = process.cpuUsage(cpu);
  const elapsedMs = lastAckAt - firstSentAt;
  emit(
    "done",
    /** @type {ConsumerResult} */ ({
      handled,
      redelivered: deliveries - handled,
      elapsedMs,
      perSecond: (handled / elapsedMs) * 1000,
      delivery: latency(deliveryMs, Math.min(deliveries, messages)),
      ack: latency(ackMs, handled),
      cpuMs: (user + system) / 1000,
    }),
  );
  await stop();
}
