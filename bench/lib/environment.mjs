// What every benchmark driver records about its run: the machine, its load, the commit measured, and
// where the raw numbers go.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

/**
 * @typedef {{ cpu: string, cores: number, memoryGiB: number, node: string, platform: string,
 *   load: string }} Machine
 */

/** The command-line arguments after the script, without the "--" that `pnpm run x -- --flag` passes on. */
export function scriptArgs() {
  return process.argv.slice(process.argv[2] === "--" ? 3 : 2);
}

/**
 * The machine, and its one-minute load average now: other work on the machine skews the numbers, and
 * the load average at the start says if there was any.
 * @returns {Machine}
 */
export function machine() {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    load: loadavg()[0].toFixed(2),
  };
}

/**
 * The commit measured, marked "+changes" when the sources under the given packages differ from it.
 * @param {string[]} packages folder names under packages/, e.g. "resilience"
 */
export function revision(packages) {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const git = (/** @type {string[]} */ ...args) =>
    execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  try {
    const paths = packages.map((name) => `packages/${name}`);
    const dirty = git("status", "--porcelain", "--", ...paths) !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? "+changes" : ""}`;
  } catch {
    return "unknown";
  }
}

/**
 * Keeps a run's raw numbers in bench/results/<name>-<date>.json (ignored by git) and says where.
 * @param {string} name
 * @param {Date} startedAt
 * @param {unknown} run
 */
export function saveResults(name, startedAt, run) {
  const folder = new URL("../results/", import.meta.url);
  mkdirSync(folder, { recursive: true });
  const file = new URL(`${name}-${startedAt.toISOString().replaceAll(":", "-")}.json`, folder);
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  console.error(`raw results: ${fileURLToPath(file)}`);
}

/** The sentence every report opens with. */
export function describeRun(
  /** @type {string} */ date,
  /** @type {string} */ measuredRevision,
  /** @type {Machine} */ { cpu, cores, memoryGiB, node, platform, load },
) {
  return (
    `Run ${date} at commit ${measuredRevision} on ${cpu}, ${cores} cores, ${memoryGiB} GiB, ` +
    `Node ${node} (${platform}), load average ${load} at the start.`
  );
}

/**
 * Which server a client talks to ("Valkey 8.1.0", "Redis 7.0.15") and its process id, from INFO.
 * @param {import("@monarch/valkey-client").ValkeyClient} client
 * @returns {Promise<{ name: string, pid: number }>}
 */
export async function describeValkeyServer(client) {
  const info = String(await client.info("server"));
  const field = (/** @type {string} */ name) => info.match(new RegExp(`^${name}:(.*)$`, "m"))?.[1]?.trim();
  const valkey = field("valkey_version");
  return {
    name: valkey ? `Valkey ${valkey}` : `Redis ${field("redis_version")}`,
    pid: Number(field("process_id")),
  };
}
