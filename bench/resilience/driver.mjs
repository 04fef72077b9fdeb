// Runs the resilience benchmark: one child process per library, one after the other so they never
// compete for the two cores, then prints a markdown report and keeps the raw numbers in results/.
// Uses the built packages: run `pnpm build` first.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { machine as describeMachine, revision, saveResults, scriptArgs } from "../lib/environment.mjs";
import { formatReport } from "./report.mjs";
import { samplingOptions } from "./settings.mjs";

const libraries = ["monarch", "cockatiel", "opossum"];

const { values } = parseArgs({
  args: scriptArgs(),
  options: { ...samplingOptions, "no-json": { type: "boolean", default: false } },
});

/**
 * Runs one library's scenarios in a fresh Node process, so no library shares a JIT, heap or timer
 * queue with another, and returns the JSON it prints.
 * @param {string} library
 * @returns {Promise<import("./report.mjs").LibraryReport>}
 */
function runChild(library) {
  const script = fileURLToPath(new URL(`libraries/${library}.mjs`, import.meta.url));
  const args = [script, "--rounds", values.rounds, "--calls", values.calls];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0)
        reject(new Error(`${library} benchmark exited with code ${code} (was \`pnpm build\` run?)`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const startedAt = new Date();
const measuredRevision = revision(["resilience"]);
// Taken before the children start, for the load average at the start.
const machine = describeMachine();
const reports = [];
for (const library of libraries) {
  const begin = performance.now();
  reports.push(await runChild(library));
  console.error(`${library}: done in ${((performance.now() - begin) / 1000).toFixed(1)} s`);
}

const run = { date: startedAt.toISOString(), revision: measuredRevision, machine, reports };
console.log(formatReport(run));

if (!values["no-json"]) saveResults("resilience", startedAt, run);
