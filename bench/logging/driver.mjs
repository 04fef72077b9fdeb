// Runs the logging benchmark: Monarch's logger into Valkey against pino into /dev/null (the ceiling),
// each in its own process, three rounds. Prints the markdown report.
import { execFileSync } from "node:child_process";
import { startValkey } from "@monarch/sandbox";
import { describeRun, machine, revision, saveResults } from "../lib/environment.mjs";
import { integer, table, verdict } from "../lib/markdown.mjs";
import { median } from "../lib/stats.mjs";
import { DURATION_MS } from "./workload.mjs";

const ROUNDS = 3;
const here = new URL(".", import.meta.url).pathname;

/** @param {string} script @param {string[]} args */
function run(script, args = []) {
  const output = execFileSync(process.execPath, [`${here}${script}`, ...args], { encoding: "utf8" });
  return JSON.parse(output.trim().split("\n").at(-1) ?? "{}");
}

const startedAt = new Date();
const host = machine();
const server = await startValkey();
const samples = { ceiling: [], flatOut: [], paced: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const ceiling = run("ceiling.mjs");
    samples.ceiling.push(ceiling);
    samples.flatOut.push(run("monarch.mjs", [server.url]));
    // Half the rate the ceiling reached this round: what the goal asks the service to sustain.
    const halfCeiling = Math.round((ceiling.lines / ceiling.elapsedMs) * 500);
    samples.paced.push({ ...run("monarch.mjs", [server.url, String(halfCeiling)]), target: halfCeiling });
  }
} finally {
  await server.stop();
}
saveResults("logging", startedAt, samples);

/** @param {Array<{ stored: number, elapsedMs: number, loopDelayP99Ms: number, loopDelayMaxMs: number, dropped: number }>} runs */
const summarise = (runs) => ({
  linesPerSecond: median(runs.map((r) => (r.stored / r.elapsedMs) * 1000)),
  p99: median(runs.map((r) => r.loopDelayP99Ms)),
  max: median(runs.map((r) => r.loopDelayMaxMs)),
  dropped: Math.max(...runs.map((r) => r.dropped)),
});
const ceiling = summarise(samples.ceiling);
const flatOut = summarise(samples.flatOut);
const paced = summarise(samples.paced);
const ratio = paced.linesPerSecond / ceiling.linesPerSecond;
const everyLineStored = samples.paced.every((r) => r.dropped === 0 && r.stored === r.lines);
const row = (/** @type {string} */ name, /** @type {ReturnType<typeof summarise>} */ s) => [
  name,
  integer(s.linesPerSecond),
  s.p99.toFixed(1),
  s.max.toFixed(1),
  integer(s.dropped),
];

console.log(describeRun(startedAt.toISOString(), revision(["runtime", "valkey-client"]), host));
console.log(
  `Median of ${ROUNDS} rounds of ${DURATION_MS / 1000} s per variant, each run in its own process.\n`,
);
for (const line of table(
  ["Logger", "lines/s stored", "event-loop delay p99 ms", "max ms", "lines dropped (max)"],
  [
    row("pino to /dev/null, flat out (ceiling)", ceiling),
    row("@monarch/runtime to /dev/null and Valkey, flat out", flatOut),
    row("@monarch/runtime to /dev/null and Valkey, at half the ceiling", paced),
  ],
)) {
  console.log(line);
}
console.log(
  `\nGoals, at half the ceiling: every line stored ${verdict(everyLineStored)}; at least half the ceiling ` +
    `stored per second ${verdict(ratio >= 0.495)} (${ratio.toFixed(2)}); event-loop delay p99 under 20 ms ` +
    `${verdict(paced.p99 < 20)} (${paced.p99.toFixed(1)} ms).`,
);
