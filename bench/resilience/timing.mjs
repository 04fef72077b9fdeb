// The measuring half of a child process: each library file builds its scenarios and hands them to
// `runBenchmark`, which times them all the same way and prints one JSON document on stdout.
import { parseArgs } from "node:util";
import { median } from "../lib/stats.mjs";
import { baselineOf, rows, sampling, samplingOptions } from "./settings.mjs";

/** The protected operation of every happy path: as cheap as an async function gets. */
export const noop = async () => 1;

// Created once: a fresh Error per call would measure stack capture, not the library.
const plannedFailure = new Error("planned failure");

/** The protected operation of every failure path. */
export const failing = async () => {
  throw plannedFailure;
};

const swallow = () => {};

/**
 * @typedef {() => Promise<unknown>} Attempt One call through the library, not yet caught.
 * @typedef {{ id: string, kind: "happy" | "failure", medianNs: number, minNs: number, maxNs: number,
 *   overheadNs: number, samplesNs: number[], overheadsNs: number[], refusedWith?: string }} ScenarioResult
 *   `overheadNs` is the median of `overheadsNs`: each round's sample minus its paired baseline sample.
 */

/**
 * Times `calls` sequential awaited calls and returns ns per call. The one timing loop of the benchmark:
 * baselines and every library's scenarios all go through it.
 * @param {() => Promise<unknown>} call
 * @param {number} calls
 */
async function nsPerCall(call, calls) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call();
  return Number(process.hrtime.bigint() - start) / calls;
}

/**
 * Makes one call and checks it ends as the row expects, so a misconfigured scenario (a breaker that
 * opened, a refusal that resolved) fails the run instead of producing a plausible number.
 * @param {string} id
 * @param {import("./settings.mjs").Expectation} expect
 * @param {Attempt} attempt
 * @returns {Promise<string | undefined>} the refusal error's name, for refusals
 */
async function check(id, expect, attempt) {
  /** @type {{ value?: unknown, error?: unknown, failed: boolean }} */
  let outcome;
  try {
    outcome = { value: await attempt(), failed: false };
  } catch (error) {
    outcome = { error, failed: true };
  }
  const ok =
    expect === "value"
      ? !outcome.failed && outcome.value === 1
      : outcome.failed && (outcome.error === plannedFailure) === (expect === "failure");
  if (!ok) {
    throw new Error(
      `scenario "${id}" should end in ${expect}, got ${outcome.failed ? outcome.error : "a value"}`,
    );
  }
  // The class, not `name`: cockatiel's errors keep the inherited name "Error".
  return expect === "refusal" ? Object(outcome.error).constructor.name : undefined;
}

/**
 * Warms every scenario up, then takes `rounds` samples of each, and prints the results as JSON on
 * stdout.
 * @param {{ library: string, version: string, config: string, scenarios: Record<string, Attempt>,
 *   notes?: Record<string, string> }} benchmark scenarios by row id (rows a library cannot express are
 *   left out and reported as n/a), and notes by row id for the report's footnotes
 */
export async function runBenchmark({ library, version, config, scenarios, notes = {} }) {
  const { values } = parseArgs({ options: samplingOptions });
  const rounds = Number(values.rounds);
  const calls = Number(values.calls);
  /** @type {Record<string, Attempt | undefined>} */
  const attempts = { ...scenarios, baseline: noop, "baseline-failure": failing };

  // Baselines are measured only when some scenario is compared with them.
  const baselinesUsed = new Set(rows.filter((row) => !row.baseline && attempts[row.id]).map(baselineOf));
  /** @type {{ row: import("./settings.mjs").Row, attempt: Attempt, call: Attempt, refusedWith?: string,
   *   samples: number[], overheads: number[] }[]} */
  const measured = [];
  for (const row of rows) {
    const attempt = attempts[row.id];
    if (!attempt || (row.baseline && !baselinesUsed.has(row.id))) continue;
    const refusedWith = await check(row.id, row.expect, attempt);
    // Failure paths are timed with the caller's catch, as the baseline `failing().catch(...)` is.
    const call = row.expect === "value" ? attempt : () => attempt().catch(swallow);
    measured.push({ row, attempt, call, refusedWith, samples: [], overheads: [] });
  }
  const byId = new Map(measured.map((scenario) => [scenario.row.id, scenario]));
  const scenariosOnly = measured.filter(({ row }) => !row.baseline);

  /** Takes one sample. */
  const sample = async (/** @type {(typeof measured)[number]} */ scenario) => {
    // A sample runs as one long chain of microtasks; let the event loop turn in between, as it would in
    // an application, so that timers (opossum's window rotation, say) and Node's bookkeeping of caught
    // rejections run outside the timed loop instead of piling up. No forced gc() here: after one, a
    // sample spent about 9 times as long collecting and ran less optimised code, so it measured the
    // recovery from the collection, unequally across libraries, instead of the steady state.
    await new Promise((resolve) => setImmediate(resolve));
    const ns = await nsPerCall(scenario.call, calls);
    scenario.samples.push(ns);
    return ns;
  };

  // Two passes over everything, so that every scenario is optimised and every call site has seen all
  // the shapes it will see before the first sample is taken.
  for (let pass = 0; pass < 2; pass++) {
    for (const { call } of measured) await nsPerCall(call, sampling.warmupCalls);
  }
  // Each sample is paired with a baseline sample taken just before it, so that a stretch of noise
  // (this is a shared 2-core VM) shifts both and cancels out of the overhead. The order rotates
  // every round, so no scenario always follows the same neighbour.
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < scenariosOnly.length; i++) {
      const scenario = scenariosOnly[(i + round) % scenariosOnly.length];
      const baseline = byId.get(baselineOf(scenario.row));
      if (!baseline) throw new Error(`no baseline for "${scenario.row.id}"`);
      const baselineNs = await sample(baseline);
      scenario.overheads.push((await sample(scenario)) - baselineNs);
    }
  }
  // The state must not have drifted while timing (e.g. a breaker opening on the failure path).
  for (const { row, attempt } of measured) await check(row.id, row.expect, attempt);

  /** @type {ScenarioResult[]} */
  const results = measured.map(({ row, samples, overheads, refusedWith }) => ({
    id: row.id,
    kind: row.expect === "value" ? "happy" : "failure",
    medianNs: median(samples),
    minNs: Math.min(...samples),
    maxNs: Math.max(...samples),
    overheadNs: row.baseline ? 0 : median(overheads),
    samplesNs: samples,
    overheadsNs: overheads,
    ...(refusedWith && { refusedWith }),
  }));
  const report = { library, version, node: process.version, rounds, calls, config, notes, results };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
