// Runs the logging benchmark: Monarch's logger into Valkey against pino into /dev/null (the ceiling),
// each in its own process, alternating, three times each. Prints a markdown table.
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { startValkey } from "@monarch/sandbox";

const ROUNDS = 3;
const here = new URL(".", import.meta.url).pathname;

/** @param {string} script @param {string[]} args */
function run(script, args = []) {
  const output = execFileSync(process.execPath, [`${here}${script}`, ...args], { encoding: "utf8" });
  return JSON.parse(output.trim().split("\n").at(-1) ?? "{}");
}

/** @param {number[]} values */
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const server = await startValkey();
const load = loadavg()[0]?.toFixed(2);
const samples = { ceiling: [], flatOut: [], paced: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const ceiling = run("ceiling.mjs");
    samples.ceiling.push(ceiling);
    samples.flatOut.push(run("monarch.mjs", [server.url]));
    // Half the ceiling this round reached: the rate the goal asks the service to sustain.
    const halfCeiling = Math.round((ceiling.lines / ceiling.elapsedMs) * 500);
    samples.paced.push({ ...run("monarch.mjs", [server.url, String(halfCeiling)]), target: halfCeiling });
  }
} finally {
  await server.stop();
}

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
const lost = samples.paced.some((r) => r.dropped > 0 || r.stored !== r.lines);

const row = (name, s) =>
  `| ${name} | ${Math.round(s.linesPerSecond).toLocaleString("en")} | ${s.p99.toFixed(1)} | ${s.max.toFixed(1)} | ${s.dropped} |`;
console.log(
  `Run ${new Date().toISOString()} on ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, Node ${process.version}, load average ${load} at the start.`,
);
console.log(`Median of ${ROUNDS} runs of 4 s each, each in its own process.\n`);
console.log("| logger | lines/s (stored) | event-loop delay p99 ms | max ms | lines dropped (max) |");
console.log("| :-- | --: | --: | --: | --: |");
console.log(row("pino to /dev/null, flat out (ceiling)", ceiling));
console.log(row("@monarch/runtime to stdout (/dev/null) and Valkey, flat out", flatOut));
console.log(row("@monarch/runtime to stdout (/dev/null) and Valkey, paced at half the ceiling", paced));
console.log(
  `\nGoals, at half the ceiling: every line stored: **${lost ? "not met" : "met"}**; ` +
    `at least half the ceiling stored per second: **${ratio >= 0.495 ? "met" : "not met"}** (${ratio.toFixed(2)}); ` +
    `event-loop delay p99 under 20 ms: **${paced.p99 < 20 ? "met" : "not met"}** (${paced.p99.toFixed(1)} ms).`,
);
