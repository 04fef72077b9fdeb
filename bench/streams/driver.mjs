// Runs the streams benchmark: @monarch/valkey-client against BullMQ on one private server, each
// library in its own producer and consumer processes, one library at a time, the server flushed
// between runs. Prints a markdown report and keeps the raw numbers in results/.
// Uses the built packages: run `pnpm build` first.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startValkey } from "@monarch/sandbox";
import { closeClient, createClient } from "@monarch/valkey-client";
import {
  machine as describeMachine,
  describeValkeyServer,
  revision,
  saveResults,
  scriptArgs,
} from "../lib/environment.mjs";
import { cpuMsOf, deadline, machineCpuMs } from "../lib/proc.mjs";
import { formatReport } from "./report.mjs";
import { options } from "./settings.mjs";

/** @typedef {import("./settings.mjs").Mode} Mode */

/** Longest a run may take before the benchmark gives up on it. */
const RUN_TIMEOUT_MS = 120_000;

const { values } = parseArgs({ args: scriptArgs(), options });
const repeats = Number(values.repeats);
const libraries = values.libraries.split(",");
const modes = /** @type {Mode[]} */ (values.modes.split(","));

/**
 * A producer or consumer process of one library, and the JSON-line events it prints.
 * @param {string} library
 * @param {"producer" | "consumer"} role
 * @param {Mode} mode
 * @param {string} url
 * @param {string} label for profile file names
 */
function startChild(library, role, mode, url, label) {
  const script = fileURLToPath(new URL(`libraries/${library}.mjs`, import.meta.url));
  const profile = values["cpu-prof"]
    ? ["--cpu-prof", "--cpu-prof-dir", values["cpu-prof"], "--cpu-prof-name", `${label}-${role}.cpuprofile`]
    : [];
  const messages = mode === "paced" ? values["paced-messages"] : values.messages;
  const args = [
    ...profile,
    script,
    ...["--role", role, "--mode", mode, "--url", url, "--messages", String(messages)],
    ...["--warmup", String(values.warmup), "--concurrency", String(values.concurrency)],
    ...["--producer-window", String(values["producer-window"]), "--rate", String(values.rate)],
  ];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  /** @type {Map<string, object>} */
  const seen = new Map();
  /** @type {Map<string, (data: object) => void>} */
  const waiting = new Map();
  createInterface({ input: /** @type {import("node:stream").Readable} */ (child.stdout) }).on(
    "line",
    (line) => {
      /** @type {{ event?: string }} */
      let parsed = {};
      try {
        parsed = JSON.parse(line);
      } catch {
        // Not one of ours: something the library printed.
      }
      const { event, ...data } = parsed;
      if (!event) {
        console.error(`${library} ${role}: ${line}`);
        return;
      }
      seen.set(event, data);
      waiting.get(event)?.(data);
    },
  );
  const exited = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(undefined);
      else reject(new Error(`${library} ${role} exited with code ${code} (was \`pnpm build\` run?)`));
    });
  });
  exited.catch(() => {});
  return {
    /** Resolves with the event's data once the child has printed it. */
    next(/** @type {string} */ event) {
      const data = seen.get(event);
      if (data) return Promise.resolve(data);
      return Promise.race([
        new Promise((resolve) => waiting.set(event, resolve)),
        exited.then(() => Promise.reject(new Error(`${library} ${role} ended before "${event}"`))),
      ]);
    },
    go: () => child.stdin?.end("go\n"),
    exited,
    kill: () => child.kill("SIGKILL"),
  };
}

/**
 * The server's command counts so far, from INFO commandstats (commands run by scripts included).
 * @param {import("@monarch/valkey-client").ValkeyClient} admin
 * @returns {Promise<Record<string, number>>}
 */
async function commandCalls(admin) {
  const info = String(await admin.info("commandstats"));
  return Object.fromEntries(
    [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(([, name, calls]) => [name, Number(calls)]),
  );
}

/**
 * One run: an empty server, the consumer started and ready, the producer's warm-up handled, then the
 * timed messages. Returns both processes' results and the server's CPU time over the timed part.
 */
async function measure(
  /** @type {string} */ library,
  /** @type {Mode} */ mode,
  /** @type {{ url: string, pid: number, admin: import("@monarch/valkey-client").ValkeyClient }} */ server,
  /** @type {string} */ label,
) {
  await server.admin.flushall();
  const load = loadavg()[0];
  const consumer = startChild(library, "consumer", mode, server.url, label);
  const producer = startChild(library, "producer", mode, server.url, label);
  const timeout = deadline(RUN_TIMEOUT_MS, `${library} ${mode} run`);
  try {
    const run = async () => {
      await consumer.next("ready");
      await consumer.next("warm");
      await producer.next("warm");
      const callsBefore = await commandCalls(server.admin);
      const serverCpuMs = cpuMsOf(server.pid);
      const allCpuMs = machineCpuMs();
      const begin = performance.now();
      producer.go();
      const [produced, consumed] = await Promise.all([producer.next("done"), consumer.next("done")]);
      const wallMs = performance.now() - begin;
      const serverMs = cpuMsOf(server.pid) - serverCpuMs;
      // The share of the machine's cores that other work took meanwhile: a run to trust has little.
      const otherShare =
        (machineCpuMs() - allCpuMs - serverMs - produced.cpuMs - consumed.cpuMs) / (wallMs * cpus().length);
      const callsAfter = await commandCalls(server.admin);
      /** Commands the server ran while the timed messages went through (the driver's INFO excluded). */
      const commands = Object.fromEntries(
        Object.entries(callsAfter)
          .map(([name, calls]) => [name, calls - (callsBefore[name] ?? 0) - (name === "info" ? 1 : 0)])
          .filter(([, calls]) => calls > 0),
      );
      await Promise.all([producer.exited, consumer.exited]);
      return {
        ...{ library, mode, load, otherShare: Math.max(0, otherShare) },
        ...{ producer: produced, consumer: consumed, serverCpuMs: serverMs, commands },
      };
    };
    return await Promise.race([run(), timeout.promise]);
  } catch (error) {
    producer.kill();
    consumer.kill();
    throw error;
  } finally {
    timeout.cancel();
  }
}

/** The versions measured, from the installed packages. */
function versions() {
  const version = (/** @type {string} */ from, /** @type {string} */ name) =>
    createRequire(from)(`${name}/package.json`).version;
  const monarch = fileURLToPath(new URL("../../packages/valkey-client/package.json", import.meta.url));
  const bullmq = createRequire(import.meta.url).resolve("bullmq");
  return {
    monarch: `@monarch/valkey-client ${JSON.parse(readFileSync(monarch, "utf8")).version} (iovalkey ${version(monarch, "iovalkey")})`,
    bullmq: `bullmq ${version(import.meta.url, "bullmq")} (ioredis ${version(bullmq, "ioredis")})`,
  };
}

const startedAt = new Date();
const measuredRevision = revision(["valkey-client", "resilience"]);
const machine = describeMachine();
const valkey = await startValkey();
const admin = createClient({ endpoint: { url: valkey.url }, name: "bench-driver" });
/** @type {Awaited<ReturnType<typeof measure>>[]} */
const runs = [];
let serverInfo = "";
try {
  const described = await describeValkeyServer(admin);
  serverInfo = described.name;
  const server = { url: valkey.url, pid: described.pid, admin };
  // Each repeat runs both modes for both libraries, the library order alternating, so that a burst
  // of other work on the machine does not always land on the same library.
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const mode of modes) {
      const order = repeat % 2 === 0 ? libraries : [...libraries].reverse();
      for (const library of order) {
        const begin = performance.now();
        const label = `${library}-${mode}-${repeat + 1}`;
        const run = await measure(library, mode, server, label);
        runs.push(run);
        console.error(
          `${label}: ${Math.round(run.consumer.perSecond)} msg/s, delivery p99 ` +
            `${run.consumer.delivery.p99.toFixed(2)} ms, in ${((performance.now() - begin) / 1000).toFixed(1)} s`,
        );
      }
    }
  }
} finally {
  await closeClient(admin);
  await valkey.stop();
}

const settings = {
  messages: Number(values.messages),
  pacedMessages: Number(values["paced-messages"]),
  warmup: Number(values.warmup),
  concurrency: Number(values.concurrency),
  producerWindow: Number(values["producer-window"]),
  rate: Number(values.rate),
  repeats,
};
const result = {
  date: startedAt.toISOString(),
  revision: measuredRevision,
  machine,
  server: serverInfo,
  versions: versions(),
  settings,
  runs,
};
console.log(formatReport(result));
if (!values["no-json"]) saveResults("streams", startedAt, result);
