// Runs the ingest benchmark: signed `POST /v1/migrations` from autocannon in this process against a
// bare node:http server (the ceiling) and then against the built ingest service, each server in its
// own process on a core of its own (see lib/cores.mjs), with the same load, warm-up and duration.
// Prints the markdown report and keeps the raw numbers in results/. Uses the built packages: run
// `pnpm build` first.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { MIGRATIONS_STREAM } from "@monarch/contracts";
import { findFreePort, startValkey } from "@monarch/sandbox";
import { closeClient, createClient, DATA_FIELD, fieldsToRecord } from "@monarch/valkey-client";
import { coreLayout, keepToOtherCores, onServerCore } from "../lib/cores.mjs";
import {
  machine as describeMachine,
  describeValkeyServer,
  revision,
  saveResults,
  scriptArgs,
} from "../lib/environment.mjs";
import { cpuMsOf, cpuTimesOf, deadline, machineCpuMs } from "../lib/proc.mjs";
import { formatReport, names } from "./report.mjs";
import { HMAC_SECRET, options } from "./settings.mjs";
import { load, requestNumbers } from "./workload.mjs";

/** Longest a server may take to say it is ready. */
const READY_TIMEOUT_MS = 30_000;

const ingestDir = fileURLToPath(new URL("../../services/ingest/", import.meta.url));

/**
 * The options ingest's start script runs node with (`node <options> dist/main.js`): the bench runs
 * ingest the same way, and the ceiling with the same runtime flags (all but ingest's `--import`).
 */
function startOptions() {
  const start = JSON.parse(readFileSync(`${ingestDir}package.json`, "utf8")).scripts.start;
  const words = start.split(/\s+/);
  if (words[0] !== "node" || words.at(-1) !== "dist/main.js") {
    throw new Error(`ingest's start script is not "node <options> dist/main.js" but "${start}"`);
  }
  const ingest = words.slice(1, -1);
  const runtime = ingest.filter((word, index) => word !== "--import" && ingest[index - 1] !== "--import");
  return { ingest, runtime };
}

const { values } = parseArgs({ args: scriptArgs(), options });
const nodeOptions = startOptions();
const cores = values["no-pin"] ? { layout: undefined, why: "cores are shared (--no-pin)" } : coreLayout();
const settings = {
  connections: Number(values.connections),
  warmup: Number(values.warmup),
  duration: Number(values.duration),
  rounds: Number(values.rounds),
  servers: /** @type {Array<"ceiling" | "ingest">} */ (values.servers.split(",")),
  logLevel: values["log-level"],
  nodeOptions,
  cores: cores.layout
    ? `each server alone on core ${cores.layout.server}, the bench process and Valkey on core ${cores.layout.others} (\`taskset\`)`
    : cores.why,
  ...(values["ingest-main"] === undefined ? {} : { ingestMain: values["ingest-main"] }),
};
const { servers } = settings;
if (
  servers.length === 0 ||
  new Set(servers).size < servers.length ||
  servers.some((name) => !(name in names))
) {
  console.error(`--servers takes "ceiling", "ingest" or both, comma-separated; got "${values.servers}"`);
  process.exit(2);
}
if (!Number.isInteger(settings.rounds) || settings.rounds % 2 !== 1) {
  // With an even count, no round is the median, and either middle one would flatter or wrong the result.
  console.error(
    `--rounds must be an odd number (1, 3, 5, …) so that every median is one round's value; got ${values.rounds}`,
  );
  process.exit(2);
}

/** This process's CPU time in ms. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Server processes still running: ended with the driver, however it ends, so none is left behind. */
/** @type {Set<import("node:child_process").ChildProcess>} */
const children = new Set();
const killChildren = () => {
  for (const child of children) child.kill("SIGKILL");
};
process.once("exit", killChildren);
for (const [signal, number] of /** @type {const} */ ([
  ["SIGINT", 2],
  ["SIGTERM", 15],
])) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + number);
  });
}

/**
 * A server process, ready to take requests.
 * @param {"ceiling" | "ingest"} name
 * @param {string} valkeyUrl
 * @param {number} round names the profile, when one is taken
 */
async function startServer(name, valkeyUrl, round) {
  const port = await findFreePort();
  const profile = values["cpu-prof"]
    ? ["--cpu-prof", "--cpu-prof-dir", values["cpu-prof"], "--cpu-prof-name", `${name}-${round}.cpuprofile`]
    : [];
  /** @type {import("node:child_process").ChildProcess} */
  let child;
  /** @type {() => Promise<void>} */
  let ready;
  /** @type {number | undefined} */
  let metricsPort;
  if (name === "ceiling") {
    const script = fileURLToPath(new URL("ceiling.mjs", import.meta.url));
    const args = [...nodeOptions.runtime, ...profile, script, String(port)];
    child = spawn(...onServerCore(cores.layout, process.execPath, args), {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = createInterface({ input: /** @type {import("node:stream").Readable} */ (child.stdout) });
    ready = () =>
      new Promise((resolve) => lines.once("line", () => resolve(undefined))).then(() => lines.close());
  } else {
    metricsPort = await findFreePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("OTEL_")));
    const main = values["ingest-main"] ?? `${ingestDir}dist/main.js`;
    const args = [...nodeOptions.ingest, ...profile, main];
    child = spawn(...onServerCore(cores.layout, process.execPath, args), {
      cwd: ingestDir,
      env: {
        ...env,
        VALKEY_URL: valkeyUrl,
        INGEST_HOST: "127.0.0.1",
        INGEST_PORT: String(port),
        METRICS_PORT: String(metricsPort),
        INGEST_HMAC_SECRET: HMAC_SECRET,
        // Production's level by default: a line per request, to stdout (here /dev/null) and to Valkey.
        LOG_LEVEL: values["log-level"],
      },
      // Stdout is the log; /dev/null, so that reading it costs this process nothing.
      stdio: ["ignore", "ignore", "inherit"],
    });
    ready = async () => {
      for (;;) {
        const answer = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined);
        if (answer?.status === 200) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
  }
  children.add(child);
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const timeout = deadline(READY_TIMEOUT_MS, `${name} getting ready`);
  await Promise.race([
    ready(),
    exited.then(({ code, signal }) => {
      throw new Error(`${name} exited (${code ?? signal}) before it was ready (was \`pnpm build\` run?)`);
    }),
    timeout.promise,
  ])
    .catch((error) => {
      child.kill("SIGKILL");
      throw error;
    })
    .finally(timeout.cancel);
  return {
    url: `http://127.0.0.1:${port}`,
    pid: /** @type {number} */ (child.pid),
    metricsPort,
    /** Stops the process as an orchestrator would (SIGTERM), and waits for it to end. */
    async stop() {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Every request id in the migrations stream, in order.
 * @param {import("@monarch/valkey-client").ValkeyClient} admin
 */
async function storedRequestIds(admin) {
  /** @type {string[]} */
  const ids = [];
  let start = "-";
  for (;;) {
    const entries = await admin.xrange(MIGRATIONS_STREAM, start, "+", "COUNT", 10_000);
    for (const [, fields] of entries) {
      const data = fieldsToRecord(fields)[DATA_FIELD];
      ids.push(JSON.parse(data).requestId);
    }
    if (entries.length < 10_000) return ids;
    start = `(${entries.at(-1)?.[0]}`;
  }
}

/**
 * Ingest's /metrics page, as text.
 * @param {number} port
 */
async function metricsText(port) {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/**
 * Ingest's own counters: what it logged, dropped, and answered.
 * @param {string} metrics its /metrics page
 */
function ingestCounters(metrics) {
  // A labelled counter has no line until it first counts.
  const value = (/** @type {RegExp} */ pattern) => Number(metrics.match(pattern)?.[1] ?? 0);
  return {
    accepted: value(/^monarch_ingest_requests_total\{[^}]*outcome="accepted"[^}]*\} (\S+)$/m),
    duplicate: value(/^monarch_ingest_requests_total\{[^}]*outcome="duplicate"[^}]*\} (\S+)$/m),
    logLinesDropped: value(/^monarch_log_lines_dropped_total(?:\{[^}]*\})? (\S+)$/m),
  };
}

/**
 * Ingest's own time to answer its accepted requests so far, from its duration histogram (handler start
 * to answer sent, so without the wait before ingest's thread reads a request): how many were answered
 * within each bucket's bound, by bound in seconds, cumulative as Prometheus counts them.
 * @param {string} metrics its /metrics page
 * @returns {Array<{ le: string, count: number }>}
 */
function answerTimes(metrics) {
  const bucket =
    /^monarch_ingest_http_request_duration_seconds_bucket\{(?=[^}]*route="\/v1\/migrations")(?=[^}]*status="202")[^}]*le="([^"]+)"[^}]*\} (\S+)$/gm;
  return [...metrics.matchAll(bucket)].map(([, le, count]) => ({ le: String(le), count: Number(count) }));
}

/**
 * One server: started, warmed up, timed, checked, stopped.
 * @param {"ceiling" | "ingest"} name
 * @param {{ url: string, pid: number, admin: import("@monarch/valkey-client").ValkeyClient }} valkey
 * @param {ReturnType<typeof requestNumbers>} numbers
 * @param {number} round
 */
async function measure(name, valkey, numbers, round) {
  await valkey.admin.flushall();
  const server = await startServer(name, valkey.url, round);
  try {
    const { connections } = settings;
    const warmup = await load(server.url, { seconds: settings.warmup, connections, numbers });
    const storedBefore = await valkey.admin.xlen(MIGRATIONS_STREAM);
    const answerTimesBefore =
      server.metricsPort === undefined ? [] : answerTimes(await metricsText(server.metricsPort));
    /** CPU times of everything involved, and when they were read. */
    const cpuSnapshot = () => {
      const { user, system } = cpuTimesOf(server.pid);
      return {
        server: user + system,
        serverSystem: system,
        valkey: cpuMsOf(valkey.pid),
        bench: ownCpuMs(),
        all: machineCpuMs(),
        at: performance.now(),
      };
    };
    const before = cpuSnapshot();
    /** CPU times as the last connection closes. */
    let after = before;
    const drained = () => {
      after = cpuSnapshot();
    };
    const timed = await load(server.url, {
      seconds: settings.duration,
      connections,
      numbers,
      onDrained: drained,
    });
    const wallMs = after.at - before.at;
    const cpuMs = {
      server: after.server - before.server,
      /** The server's share in the kernel: system calls (socket reads and writes), network stack. */
      serverSystem: after.serverSystem - before.serverSystem,
      valkey: after.valkey - before.valkey,
      bench: after.bench - before.bench,
    };
    // The share of the machine's cores that other processes took meanwhile: a run to trust has little.
    const otherShare = Math.max(
      0,
      (after.all - before.all - cpuMs.server - cpuMs.valkey - cpuMs.bench) / (wallMs * cpus().length),
    );
    const stored = await valkey.admin.xlen(MIGRATIONS_STREAM);
    /** @type {object | undefined} */
    let stream;
    /** @type {object | undefined} */
    let counters;
    /** @type {Array<{ le: string, count: number }> | undefined} */
    let ownAnswerTimes;
    if (name === "ingest") {
      const ids = await storedRequestIds(valkey.admin);
      const answered = new Set([...warmup.accepted, ...timed.accepted]);
      const storedIds = new Set(ids);
      stream = {
        storedBefore,
        stored,
        storedDuringTimed: stored - storedBefore,
        // Each id stored once, and the ids stored are exactly those answered with 202.
        idsMatch:
          storedIds.size === ids.length &&
          answered.size === warmup.accepted.length + timed.accepted.length &&
          storedIds.size === answered.size &&
          ids.every((id) => answered.has(id)),
        accepted202: warmup.accepted.length + timed.accepted.length,
      };
      const metrics = await metricsText(/** @type {number} */ (server.metricsPort));
      counters = ingestCounters(metrics);
      // The timed part's alone: what was counted by its end less what was counted before it.
      const countedBefore = new Map(answerTimesBefore.map(({ le, count }) => [le, count]));
      ownAnswerTimes = answerTimes(metrics).map(({ le, count }) => ({
        le,
        count: count - (countedBefore.get(le) ?? 0),
      }));
    }
    const { accepted: _warmupIds, ...warmupSummary } = warmup;
    const { accepted: timedIds, ...timedSummary } = timed;
    return {
      name,
      otherShare,
      wallMs,
      cpuMs,
      warmup: warmupSummary,
      timed: { ...timedSummary, accepted202: timedIds.length },
      stream,
      counters,
      ownAnswerTimes,
    };
  } finally {
    await server.stop();
  }
}

/** The versions measured, from the installed packages. */
function versions() {
  const read = (/** @type {string} */ path) => JSON.parse(readFileSync(path, "utf8")).version;
  const autocannon = createRequire(import.meta.url)("autocannon/package.json").version;
  return {
    ingest: `@monarch/ingest ${read(`${ingestDir}package.json`)}`,
    autocannon: `autocannon ${autocannon}`,
  };
}

const startedAt = new Date();
// The service and the packages it runs on (revision() looks under packages/).
const measuredRevision = revision(["../services/ingest/src", "runtime", "valkey-client", "contracts"]);
const machine = describeMachine();
// Before Valkey starts, so that it runs on the bench process's cores.
if (cores.layout) keepToOtherCores(cores.layout);
const valkeyServer = await startValkey();
const admin = createClient({ endpoint: { url: valkeyServer.url }, name: "bench-driver" });
/** @type {import("./report.mjs").Run[]} */
const runs = [];
let serverInfo = "";
try {
  const server = await describeValkeyServer(admin);
  serverInfo = server.name;
  const valkey = { url: valkeyServer.url, pid: server.pid, admin };
  const numbers = requestNumbers();
  for (let round = 1; round <= settings.rounds; round++) {
    // Turn about, so that a machine that slows down (or warms up) over a round favours neither.
    for (const name of round % 2 === 1 ? servers : [...servers].reverse()) {
      const begin = performance.now();
      const run = { round, ...(await measure(name, valkey, numbers, round)) };
      runs.push(run);
      console.error(
        `round ${round}, ${name}: ${Math.round(run.timed.perSecond)} requests/s, ` +
          `p99 ${run.timed.latency.p99.toFixed(2)} ms, in ${((performance.now() - begin) / 1000).toFixed(1)} s`,
      );
    }
  }
} finally {
  await closeClient(admin);
  await valkeyServer.stop();
}

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
if (!values["no-json"]) saveResults("ingest", startedAt, result);
