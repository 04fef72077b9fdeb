// Gives the server under test a core of its own, and this process (the load generator) and Valkey the
// others, as they would be on separate machines. Shared, the scheduler puts them on one core in turn:
// a server then waits for the core for a good part of its time, and runs differ by 15 % or more.
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";

/**
 * @typedef {{ server: string, others: string }} CoreLayout the `taskset -c` lists of the server's
 *   core and of the other cores
 */

/**
 * The layout to run with, or why there is none: it needs Linux, two cores and `taskset` (util-linux).
 * @returns {{ layout: CoreLayout } | { layout: undefined, why: string }}
 */
export function coreLayout() {
  const count = cpus().length;
  if (process.platform !== "linux") return { layout: undefined, why: "cores are shared (not Linux)" };
  if (count < 2) return { layout: undefined, why: "cores are shared (one core)" };
  if (spawnSync("taskset", ["--version"]).status !== 0) {
    return { layout: undefined, why: "cores are shared (no taskset)" };
  }
  return { layout: { server: "0", others: count === 2 ? "1" : `1-${count - 1}` } };
}

/**
 * Moves every thread of this process to the other cores; processes started afterwards (Valkey)
 * inherit them.
 * @param {CoreLayout} layout
 */
export function keepToOtherCores(layout) {
  const pinned = spawnSync(
    "taskset",
    ["--all-tasks", "--cpu-list", "--pid", layout.others, String(process.pid)],
    {
      encoding: "utf8",
    },
  );
  if (pinned.status !== 0)
    throw new Error(`taskset could not move the bench process: ${pinned.stderr.trim()}`);
}

/**
 * The command that runs `command` with `args` on the server's core alone, or as it is without a layout.
 * `taskset` replaces itself with the command, so the child's pid is the server's.
 * @param {CoreLayout | undefined} layout
 * @param {string} command
 * @param {readonly string[]} args
 * @returns {[string, string[]]}
 */
export function onServerCore(layout, command, args) {
  return layout === undefined
    ? [command, [...args]]
    : ["taskset", ["--cpu-list", layout.server, command, ...args]];
}
