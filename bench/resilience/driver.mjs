// Runs the resilience benchmark: one child process per library, one after the other so they never
// compete for the two cores, then prints a markdown report and keeps the raw numbers in results/.
// Uses the built packages: run `pnpm build` first.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatReport } from "./report.mjs";
import { samplingOptions } from "./settings.mjs";

const libraries = ["monarch", "cockatiel", "opossum"];

const { values } = parseArgs({
  // `pnpm run bench:resilience -- --rounds 3` passes the "--" on; skip it.
  args: process.argv.slice(process.argv[2] === "--" ? 3 : 2),
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

/** The commit measured, marked "+changes" when the library's sources differ from it. */
function revision() {
  const library = fileURLToPath(new URL("../../packages/resilience", import.meta.url));
  const git = (/** @type {string[]} */ ...args) =>
    execFileSync("git", args, { cwd: library, encoding: "utf8" }).trim();
  try {
    const dirty = git("status", "--porcelain", "--", ".") !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? "+changes" : ""}`;
  } catch {
    return "unknown";
  }
}

const startedAt = new Date();
const measuredRevision = revision();
// Other work on the machine skews the numbers; the load average at the start says if there was any.
const load = loadavg()[0].toFixed(2);
const reports = [];
for (const library of libraries) {
  const begin = performance.now();
  reports.push(await runChild(library));
  console.error(`${library}: done in ${((performance.now() - begin) / 1000).toFixed(1)} s`);
}

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  load,
};
const run = { date: startedAt.toISOString(), revision: measuredRevision, machine, reports };
console.log(formatReport(run));

if (!values["no-json"]) {
  const folder = new URL("../results/", import.meta.url);
  mkdirSync(folder, { recursive: true });
  const file = new URL(`resilience-${startedAt.toISOString().replaceAll(":", "-")}.json`, folder);
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  console.error(`raw results: ${fileURLToPath(file)}`);
}
