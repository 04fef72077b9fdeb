// The data directory's claim: two servers on one append-only file would corrupt it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dataDir, StartError } from "./settings.mjs";

/**
 * Claims the data directory for this run, since two servers on one append-only file would corrupt
 * it. The claim names this process, its server and its services; one whose processes are all gone (a
 * run that was killed) is taken over. It is given up when this process exits.
 */
export function claimDataDir() {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "pnpm-start.json");
  const pids = [process.pid];
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pids }), { flag: "wx" });
      break;
    } catch (error) {
      if (error.code !== "EEXIST" || attempt > 0) throw error;
      const alive = claimedBy(file).filter(isRunning);
      if (alive.length > 0) {
        throw new StartError(
          `another pnpm start is using ${dataDir} (process ${alive.join(" and ")}): stop it, or set MONARCH_DATA_DIR to another directory`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  process.on("exit", () => rmSync(file, { force: true }));
  return {
    addProcess: (pid) => {
      if (pid !== undefined) pids.push(pid);
      writeFileSync(file, JSON.stringify({ pids }));
    },
  };
}

function claimedBy(file) {
  try {
    const { pids } = JSON.parse(readFileSync(file, "utf8"));
    return Array.isArray(pids) ? pids.filter(Number.isInteger) : [];
  } catch {
    // A claim cut short by a crash claims nothing.
    return [];
  }
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
