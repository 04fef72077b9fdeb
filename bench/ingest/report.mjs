// Turns the runs into the markdown report: the side-by-side table, where the CPU went, and the goal.
import { describeRun } from "../lib/environment.mjs";
import { integer, table, verdict } from "../lib/markdown.mjs";
import { median } from "../lib/stats.mjs";
import { goals } from "./settings.mjs";

/**
 * @typedef {import("./workload.mjs").LoadResult} LoadResult
 * @typedef {{ round: number, name: "ceiling" | "ingest", otherShare: number, wallMs: number,
 *   cpuMs: { server: number, serverSystem: number, valkey: number, bench: number },
 *   warmup: Omit<LoadResult, "accepted">, timed: Omit<LoadResult, "accepted"> & { accepted202: number },
 *   stream?: { storedBefore: number, stored: number, storedDuringTimed: number, idsMatch: boolean,
 *     accepted202: number },
 *   counters?: { accepted: number, duplicate: number, logLinesDropped: number },
 *   ownAnswerTimes?: Array<{ le: string, count: number }> }} Run
 * @typedef {{ connections: number, warmup: number, duration: number, rounds: number,
 *   servers: Array<"ceiling" | "ingest">, logLevel: string, cores: string,
 *   nodeOptions: { ingest: string[], runtime: string[] }, ingestMain?: string }} Settings
 */

/** The servers measured, by their `--servers` names. */
export const names = { ceiling: "bare node:http, 202 (ceiling)", ingest: "@monarch/ingest" };

const ms = (/** @type {number} */ value) => value.toFixed(value < 10 ? 2 : 1);

/** 2xx and non-2xx answers of a timed part. */
function answers(/** @type {Run} */ { timed }) {
  const count = (/** @type {(status: number) => boolean} */ which) =>
    Object.entries(timed.statuses)
      .filter(([status]) => which(Number(status)))
      .reduce((sum, [, n]) => sum + n, 0);
  return { ok: count((s) => s >= 200 && s < 300), other: count((s) => s < 200 || s >= 300) };
}

/**
 * Formats the report.
 * @param {{ date: string, revision: string, machine: import("../lib/environment.mjs").Machine,
 *   server: string, versions: Record<string, string>, settings: Settings, runs: Run[] }} result
 */
export function formatReport({ date, revision, machine, server, versions, settings, runs }) {
  const lines = [describeRun(date, revision, machine), ""];
  lines.push(
    `${versions.autocannon} in the bench process sends to each server, one after the other and each in its ` +
      `own process, in ${settings.rounds} round${settings.rounds === 1 ? "" : "s"} of ${settings.servers.join(" and ")}` +
      `${settings.servers.length > 1 ? " (in turn, the order reversed every other round)" : ""} ` +
      `(each goal is judged on its median over the rounds): ${settings.connections} connections, one request in flight on each, every request a new ` +
      "legacy payload (its own target) signed with `signatureHeaders`; " +
      `${settings.warmup} s of warm-up, then ${settings.duration} s timed, ended by letting each connection ` +
      "finish the request it has in flight. Latency: nearest rank over every timed request. " +
      `${versions.ingest}: \`node ${[...settings.nodeOptions.ingest, settings.ingestMain ?? "dist/main.js"].join(" ")}\` ` +
      `(its start script's options; the ceiling runs with ${settings.nodeOptions.runtime.join(" ") || "no options"}) with LOG_LEVEL=${settings.logLevel}` +
      `${settings.logLevel === "info" ? " (production's: a line per request to stdout, here /dev/null, and to Valkey)" : " (not production's info)"}, ` +
      `the default 10-minute duplicate window, on ${server} (\`startValkey()\`); ${settings.cores}.`,
    "",
  );
  lines.push(
    ...table(
      [
        "Server",
        "round",
        "requests/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "2xx",
        "non-2xx",
        "errors (timeouts)",
      ],
      runs.map((run) => {
        const { ok, other } = answers(run);
        const { timed } = run;
        return [
          names[run.name],
          String(run.round),
          integer(timed.perSecond),
          ms(timed.latency.p50),
          ms(timed.latency.p90),
          ms(timed.latency.p99),
          ms(timed.latency.max),
          integer(ok),
          integer(other),
          `${integer(timed.errors)} (${integer(timed.timeouts)})`,
        ];
      }),
    ),
  );
  lines.push(
    "",
    "CPU over the timed part (from /proc): per request answered (the server's time in the kernel, i.e. " +
      "system calls and the loopback network stack, in brackets), and in cores (CPU time / wall time); other " +
      "work is the share of the machine's cores that other processes took meanwhile.",
    "",
    ...table(
      [
        "Server",
        "round",
        "server µs/req (in kernel)",
        "Valkey µs/req",
        "load generator µs/req",
        "server cores",
        "Valkey cores",
        "load generator cores",
        "other work %",
      ],
      runs.map(({ name, round, cpuMs, wallMs, timed, otherShare }) => {
        const perRequest = (/** @type {number} */ cpu) => integer((cpu * 1000) / timed.answered);
        const cores = (/** @type {number} */ cpu) => (cpu / wallMs).toFixed(2);
        return [
          names[name],
          String(round),
          `${perRequest(cpuMs.server)} (${perRequest(cpuMs.serverSystem)})`,
          name === "ingest" ? perRequest(cpuMs.valkey) : "—",
          perRequest(cpuMs.bench),
          cores(cpuMs.server),
          name === "ingest" ? cores(cpuMs.valkey) : "—",
          cores(cpuMs.bench),
          integer(otherShare * 100),
        ];
      }),
    ),
  );
  lines.push(...goalLines(runs));
  return lines.join("\n");
}

/**
 * The goals, each judged on its median over the rounds (ingest's share of the ceiling of the same round,
 * and its p99), and every round held to the stream's count and to clean answers.
 * @param {Run[]} runs
 */
function goalLines(runs) {
  const ingestRuns = runs.filter((run) => run.name === "ingest");
  if (ingestRuns.length === 0) return [];
  const lines = ["", "Goals:", ""];
  const list = (/** @type {string[]} */ values) => values.join(", ");
  const pairs = ingestRuns.flatMap((ingest) => {
    const ceiling = runs.find((run) => run.name === "ceiling" && run.round === ingest.round);
    return ceiling ? [{ ingest, ceiling }] : [];
  });
  if (pairs.length > 0) {
    const ratios = pairs.map(({ ingest, ceiling }) => ingest.timed.perSecond / ceiling.timed.perSecond);
    const ratio = median(ratios);
    lines.push(
      `- At least ${goals.ceilingShare * 100} % of the ceiling's requests/s: ${verdict(ratio >= goals.ceilingShare)} ` +
        `(median ${ratio.toFixed(2)}; by round ${list(ratios.map((value) => value.toFixed(2)))}).` +
        paceSetByLoadGenerator(pairs),
    );
  }
  const p99s = ingestRuns.map((run) => run.timed.latency.p99);
  const p99 = median(p99s);
  lines.push(
    `- p99 under ${goals.p99Ms} ms: ${verdict(p99 < goals.p99Ms)} (median ${ms(p99)} ms; by round ` +
      `${list(p99s.map((value) => `${ms(value)} ms`))}).` +
      ceilingLatency(pairs.map(({ ceiling }) => ceiling)),
  );
  const exact = ingestRuns.every(
    ({ stream, timed, counters }) =>
      stream &&
      stream.storedDuringTimed === timed.accepted202 &&
      stream.idsMatch &&
      counters?.duplicate === 0,
  );
  lines.push(
    `- The stream holds exactly as many requests as 202s were returned: ${verdict(exact)} in every round (` +
      ingestRuns
        .map(({ round, stream, timed, counters }) =>
          stream
            ? `round ${round}: XLEN grew by ${integer(stream.storedDuringTimed)} in the timed part, which had ` +
              `${integer(timed.accepted202)} 202s, and over warm-up and timed part the stream's ` +
              `${integer(stream.stored)} request ids ${stream.idsMatch ? "are exactly" : "are not"} the ` +
              `${integer(stream.accepted202)} ids answered with 202, each once, ` +
              `${integer(counters?.duplicate ?? Number.NaN)} taken for duplicates`
            : `round ${round}: not checked`,
        )
        .join("; ") +
      ").",
  );
  const clean = ingestRuns.every((run) => {
    const { other } = answers(run);
    const all202 = Object.keys(run.timed.statuses).every((status) => status === "202");
    const warmupAll202 = Object.keys(run.warmup.statuses).every((status) => status === "202");
    return other === 0 && run.timed.errors === 0 && run.warmup.errors === 0 && all202 && warmupAll202;
  });
  const statuses = ingestRuns.map((run) => JSON.stringify(run.timed.statuses));
  lines.push(
    `- Only 202s, no errors or timeouts: ${verdict(clean)} in every round (statuses ${list(statuses)}; errors ` +
      `${list(ingestRuns.map((run) => integer(run.timed.errors)))}).`,
  );
  const counted = ingestRuns.flatMap(({ round, counters }) =>
    counters
      ? [
          `round ${round}: ${integer(counters.accepted)} accepted, ${integer(counters.duplicate)} duplicates, ` +
            `${integer(counters.logLinesDropped)} log lines dropped (buffer full)`,
        ]
      : [],
  );
  if (counted.length > 0) {
    lines.push("", `Ingest's own counters over warm-up and timed part: ${counted.join("; ")}.`);
  }
  lines.push(...ownAnswerTimeLines(ingestRuns));
  return lines;
}

/** A process using this share of its core or more had no time to spare: it set the pace. */
const SATURATED_CORES = 0.95;

/**
 * When autocannon had no time to spare in the ceiling's rounds, the ceiling's requests/s are the load
 * generator's limit rather than node:http's, and the share flatters ingest: this says so, with what
 * CPU per request says instead (the bare server's cost as a share of ingest's). Empty otherwise.
 * @param {Array<{ ingest: Run, ceiling: Run }>} pairs
 */
function paceSetByLoadGenerator(pairs) {
  const cores = (/** @type {Run} */ run, /** @type {number} */ cpuMs) => cpuMs / run.wallMs;
  const generator = pairs.map(({ ceiling }) => cores(ceiling, ceiling.cpuMs.bench));
  if (median(generator) < SATURATED_CORES) return "";
  const server = pairs.map(({ ceiling }) => cores(ceiling, ceiling.cpuMs.server));
  const perRequest = (/** @type {Run} */ run) => run.cpuMs.server / run.timed.answered;
  const costShares = pairs.map(({ ingest, ceiling }) => perRequest(ceiling) / perRequest(ingest));
  const span = (/** @type {number[]} */ values) => {
    const [least, most] = [Math.min(...values).toFixed(2), Math.max(...values).toFixed(2)];
    return least === most ? least : `${least} to ${most}`;
  };
  return (
    ` The ceiling is the load generator's limit, not node:http's: in its rounds autocannon used ${span(generator)} ` +
    `of its core and the bare server only ${span(server)} of its own. By CPU per request, the bare server costs ` +
    `${median(costShares).toFixed(2)} of what ingest costs (median; by round ${costShares.map((share) => share.toFixed(2)).join(", ")}).`
  );
}

/**
 * The ceiling's own p99 over the same rounds: where the bare server that does nothing but answer
 * misses the goal too, the goal is beyond this machine under this load.
 * @param {Run[]} ceilings
 */
function ceilingLatency(ceilings) {
  if (ceilings.length === 0) return "";
  const p99s = ceilings.map((run) => run.timed.latency.p99);
  const p99 = median(p99s);
  return (
    ` The ceiling's own p99 in the same rounds: median ${ms(p99)} ms (by round ${p99s.map((value) => `${ms(value)} ms`).join(", ")})` +
    (p99 < goals.p99Ms ? "." : `, so on this machine the bare server misses the goal too.`)
  );
}

/**
 * How long ingest itself took to answer, from its duration histogram over the timed part; autocannon's
 * latency also holds the wait before ingest's thread reads a request (64 connections queued on one
 * thread) and autocannon's own. Given as the bucket bounds within which half and 99 % of the 202s were
 * answered.
 * @param {Run[]} ingestRuns
 */
function ownAnswerTimeLines(ingestRuns) {
  const rounds = ingestRuns.flatMap(({ round, ownAnswerTimes }) => {
    const total = ownAnswerTimes?.find(({ le }) => le === "+Inf")?.count ?? 0;
    if (!ownAnswerTimes || total === 0) return [];
    const within = (/** @type {number} */ share) => {
      const bound = ownAnswerTimes.find(({ count }) => count >= share * total)?.le ?? "+Inf";
      return bound === "+Inf" ? "over the largest bucket" : `within ${Number(bound) * 1000} ms`;
    };
    return [`round ${round}: half ${within(0.5)}, 99 % ${within(0.99)}`];
  });
  if (rounds.length === 0) return [];
  return [
    "",
    "Ingest's own time to answer a 202 over the timed part (its request duration histogram, from the " +
      "handler's start to the answer sent; autocannon's latency also holds the wait before ingest's thread reads " +
      `the request, and autocannon's own): ${rounds.join("; ")}.`,
  ];
}
