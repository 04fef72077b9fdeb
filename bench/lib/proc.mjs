// CPU time read from /proc (Linux): of one process, and of the whole machine. NaN elsewhere, so a
// report shows "NaN" rather than a wrong number.
import { readFileSync } from "node:fs";

/** CPU time the process has used in user space and in the kernel, in ms. */
export function cpuTimesOf(/** @type {number} */ pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks of 10 ms.
    return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

/** CPU time the process has used, in ms. */
export function cpuMsOf(/** @type {number} */ pid) {
  const { user, system } = cpuTimesOf(pid);
  return user + system;
}

/** CPU time all processes of the machine have used, in ms. */
export function machineCpuMs() {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user + nice + system + irq + softirq + steal) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Rejects after `ms`, so that a stuck step fails the benchmark instead of hanging it. */
export function deadline(/** @type {number} */ ms, /** @type {string} */ what) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  /** @type {Promise<never>} */
  const promise = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
