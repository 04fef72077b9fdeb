// Gives the server under test a core of its own, and this process (the load generator) and Valkey the
// others, as they would be on separate machines. Shared, the scheduler puts them on one core in turn:
// a server then waits for the core for a good part of its time, and runs differ by 15 % or more.
import { spawnSync } from "node:child_process";

/**
 * @typedef {{ server: string, others: string }} CoreLayout the `taskset --cpu-list` lists of the
 *   server's core and of the other cores
 */

/**
 * The cores this process may run on (a container may allow fewer than the machine has), from
 * `taskset`, or undefined without it.
 * @returns {number[] | undefined}
 */
function allowedCores() {
  const shown = spawnSync("taskset", ["--cpu-list", "--pid", String(process.pid)], { encoding: "utf8" });
  // "pid 4242's current affinity list: 0,2-3"
  const list = shown.status === 0 ? /list:\s*(\S+)/.exec(shown.stdout)?.[1] : undefined;
  return list?.split(",").flatMap((range) => {
    const [first, last = first] = range.split("-").map(Number);
    return Array.from({ length: last - first + 1 }, (_, index) => first + index);
  });
}

/**
 * The layout to run with, or why there is none: it needs Linux, `taskset` (util-linux) and two cores.
 * @returns {{ layout: CoreLayout } | { layout: undefined, why: string }}
 */
export function coreLayout() {
  if (process.platform !== "linux") return { layout: undefined, why: "cores are shared (not Linux)" };
  const cores = allowedCores();
  if (cores === undefined) return { layout: undefined, why: "cores are shared (no taskset)" };
  const [server, ...others] = cores;
  if (server === undefined || others.length === 0) {
    return { layout: undefined, why: "cores are shared (one core)" };
  }
  return { layout: { server: String(server), others: others.join(",") } };
}

/**
 * Moves every thread of this process to the other cores; processes started afterwards (Valkey)
 * inherit them.
 * @param {CoreLayout} layout
 */
export function keepToOtherCores(layout) {
  const args = ["--all-tasks", "--cpu-list", "--pid", layout.others, String(process.pid)];
  const moved = spawnSync("taskset", args, { encoding: "utf8" });
  if (moved.status !== 0) throw new Error(`taskset could not move the bench process: ${moved.stderr.trim()}`);
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
