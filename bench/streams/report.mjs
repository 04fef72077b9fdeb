// Turns the runs into the markdown report: a table per mode, the libraries' options, and the goal.
import { describeRun } from "../lib/environment.mjs";
import { integer, table, verdict } from "../lib/markdown.mjs";
import { median } from "../lib/stats.mjs";
import { guarantees } from "./settings.mjs";

/**
 * @typedef {import("./workload.mjs").ProducerResult} ProducerResult
 * @typedef {import("./workload.mjs").ConsumerResult} ConsumerResult
 * @typedef {{ library: string, mode: import("./settings.mjs").Mode, load: number, otherShare: number,
 *   producer: ProducerResult, consumer: ConsumerResult, serverCpuMs: number,
 *   commands: Record<string, number> }} Run
 * @typedef {{ messages: number, pacedMessages: number, warmup: number, concurrency: number,
 *   producerWindow: number, rate: number, repeats: number }} Settings
 */

/** The target for @monarch/valkey-client: this many times BullMQ's throughput, at a p99 no higher. */
const throughputFactor = 2;

const names = /** @type {Record<string, string>} */ ({ monarch: "@monarch/valkey-client", bullmq: "BullMQ" });

const ms = (/** @type {number} */ value) => value.toFixed(value < 10 ? 2 : 1);

/**
 * "median (min–max)" of one figure over the repeats.
 * @param {number[]} values
 * @param {(value: number) => string} format
 */
const spread = (values, format) =>
  values.length === 1
    ? format(values[0])
    : `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;

/** How each library is set up (see libraries/), for the report. */
function configuration(/** @type {string} */ library, /** @type {Settings} */ { concurrency }) {
  const { maxDeliveries, retryDelayMs, leaseMs } = guarantees;
  if (library === "monarch")
    return (
      "`StreamProducer.append` (zod schema, no retention); `StreamConsumer` with " +
      `\`concurrency: ${concurrency}, maxDeliveries: ${maxDeliveries}, leaseMs: ${leaseMs}\`, ` +
      "default `blockMs` (5000) and retry backoff (exponential from 1 s); acknowledged after the handler."
    );
  if (library === "bullmq")
    return (
      "`Queue.add` with `defaultJobOptions: { attempts: " +
      `${maxDeliveries}, backoff: { type: "exponential", delay: ${retryDelayMs} }, removeOnComplete: true, ` +
      `removeOnFail: false }\`; \`Worker\` with \`concurrency: ${concurrency}, lockDuration: ${leaseMs}, ` +
      `maxStalledCount: ${maxDeliveries - 1}\`; completed after the processor returns.`
    );
  return "";
}

/**
 * Median over the runs of each command's calls per message, the most frequent first.
 * @param {Run[]} runs
 */
function commandsPerMessage(runs) {
  const commands = [...new Set(runs.flatMap((run) => Object.keys(run.commands)))];
  const perMessage = commands.map((name) => ({
    name,
    calls: median(runs.map((run) => (run.commands[name] ?? 0) / run.consumer.handled)),
  }));
  return perMessage
    .filter(({ calls }) => calls >= 0.005)
    .sort((a, b) => b.calls - a.calls)
    .map(({ name, calls }) => `${name} ${calls.toFixed(2)}`)
    .join(", ");
}

/**
 * Formats the report.
 * @param {{ date: string, revision: string, machine: import("../lib/environment.mjs").Machine,
 *   server: string, versions: Record<string, string>, settings: Settings,
 *   runs: Run[] }} result
 */
export function formatReport({ date, revision, machine, server, versions, settings, runs }) {
  const libraries = [...new Set(runs.map((run) => run.library))];
  const of = (/** @type {string} */ library, /** @type {string} */ mode) =>
    runs.filter((run) => run.library === library && run.mode === mode);
  /** Median and spread of one figure of a library's runs in one mode. */
  const cell = (
    /** @type {string} */ library,
    /** @type {string} */ mode,
    /** @type {(run: Run) => number} */ figure,
    /** @type {(value: number) => string} */ format,
  ) => spread(of(library, mode).map(figure), format);
  const perMessage = (/** @type {number} */ cpuMs, /** @type {number} */ count) => (cpuMs * 1000) / count;
  const middle = (
    /** @type {string} */ library,
    /** @type {string} */ mode,
    /** @type {(run: Run) => number} */ figure,
  ) => median(of(library, mode).map(figure));

  const maxBody = libraries.map((library) => [
    names[library] ?? library,
    cell(library, "max", (r) => r.consumer.perSecond, integer),
    cell(library, "max", (r) => (r.producer.sent / r.producer.elapsedMs) * 1000, integer),
    cell(library, "max", (r) => r.consumer.delivery.p50, ms),
    cell(library, "max", (r) => r.consumer.delivery.p99, ms),
    cell(library, "max", (r) => perMessage(r.producer.cpuMs, r.producer.sent), integer),
    cell(library, "max", (r) => perMessage(r.consumer.cpuMs, r.consumer.handled), integer),
    cell(library, "max", (r) => perMessage(r.serverCpuMs, r.consumer.handled), integer),
  ]);
  const pacedBody = libraries.map((library) => [
    names[library] ?? library,
    cell(library, "paced", (r) => r.consumer.delivery.p50, ms),
    cell(library, "paced", (r) => r.consumer.delivery.p99, ms),
    cell(library, "paced", (r) => r.consumer.ack.p50, ms),
    cell(library, "paced", (r) => r.consumer.ack.p99, ms),
    cell(library, "paced", (r) => r.consumer.delivery.max, ms),
    cell(library, "paced", (r) => perMessage(r.producer.cpuMs, r.producer.sent), integer),
    cell(library, "paced", (r) => perMessage(r.consumer.cpuMs, r.consumer.handled), integer),
    cell(library, "paced", (r) => perMessage(r.serverCpuMs, r.consumer.handled), integer),
  ]);
  const cpuHeader = ["producer CPU µs/msg", "consumer CPU µs/msg", "server CPU µs/msg"];
  const redelivered = runs.reduce((sum, run) => sum + run.consumer.redelivered, 0);

  const out = [
    describeRun(date, revision, machine),
    `Server: ${server}, private, no AOF, flushed before every run. Other work on the machine took ` +
      `${spread(
        runs.map((run) => run.otherShare * 100),
        (value) => value.toFixed(0),
      )} % of its cores ` +
      "during the timed parts of the runs.",
    "",
    `Each figure: median (min–max) of ${settings.repeats} runs per library; each run a fresh producer ` +
      `process and a fresh consumer process (concurrency ${settings.concurrency}), ` +
      `${integer(settings.warmup)} warm-up messages first. Latency: from the send call in the producer to ` +
      "the handler (delivery) or to the acknowledgement confirmed by the server (ack).",
    "",
    `Max throughput: ${integer(settings.messages)} messages sent flat out (${settings.producerWindow} sends ` +
      "in flight); msg/s = messages handled and acknowledged / time from the first send to the last ack.",
    "",
    ...table(
      ["Library", "msg/s end to end", "producer msg/s", "delivery p50 ms", "delivery p99 ms", ...cpuHeader],
      maxBody,
    ),
    "",
    `Paced: ${integer(settings.pacedMessages)} messages offered at ${integer(settings.rate)} msg/s.`,
    "",
    ...table(
      [
        "Library",
        "delivery p50 ms",
        "delivery p99 ms",
        "ack p50 ms",
        "ack p99 ms",
        "delivery max ms",
        ...cpuHeader,
      ],
      pacedBody,
    ),
    "",
    `Redelivered messages over all runs: ${redelivered}.`,
    "",
    "Server commands per message in the max-throughput runs (INFO commandstats; commands that scripts " +
      "run are counted too):",
    "",
    ...libraries.map(
      (library) => `- ${names[library] ?? library}: ${commandsPerMessage(of(library, "max"))}`,
    ),
    "",
    "Libraries and options:",
    "",
    ...libraries.map((library) => `- ${versions[library] ?? library}: ${configuration(library, settings)}`),
  ];

  if (libraries.includes("monarch") && libraries.includes("bullmq")) {
    const throughput = (/** @type {string} */ library) => middle(library, "max", (r) => r.consumer.perSecond);
    const p99 = (/** @type {string} */ library, /** @type {string} */ mode) =>
      middle(library, mode, (r) => r.consumer.delivery.p99);
    const factor = throughput("monarch") / throughput("bullmq");
    const pacedP99 = [p99("monarch", "paced"), p99("bullmq", "paced")];
    const maxP99 = [p99("monarch", "max"), p99("bullmq", "max")];
    const met = factor >= throughputFactor && pacedP99[0] <= pacedP99[1];
    out.push(
      "",
      "Goal for @monarch/valkey-client:",
      "",
      `- At least ${throughputFactor}x BullMQ's throughput at equal or lower p99: ${verdict(met)}. ` +
        `Throughput ${factor.toFixed(2)}x BullMQ's (${integer(throughput("monarch"))} against ` +
        `${integer(throughput("bullmq"))} msg/s, medians); delivery p99 at ${integer(settings.rate)} msg/s ` +
        `${ms(pacedP99[0])} against ${ms(pacedP99[1])} ms. (At max throughput the latency is the backlog ` +
        `the producer builds up, not the libraries' own: p99 ${ms(maxP99[0])} against ${ms(maxP99[1])} ms.)`,
    );
  }
  return out.join("\n");
}
