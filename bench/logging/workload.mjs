// The logging workload both variants run: log as fast as the event loop allows for a fixed time,
// yielding every batch so timers and I/O run, while measuring the event loop's delay.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setImmediate as yieldToLoop } from "node:timers/promises";

export const DURATION_MS = 4_000;
const BATCH = 200;

/**
 * Logs for DURATION_MS: flat out when `linesPerSecond` is Infinity, else paced to that rate.
 * @param {import("pino").Logger} logger
 * @param {number} [linesPerSecond]
 * @returns {Promise<{ lines: number, elapsedMs: number, loopDelayP99Ms: number, loopDelayMaxMs: number }>}
 */
export async function logFor(logger, linesPerSecond = Number.POSITIVE_INFINITY) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const started = performance.now();
  let lines = 0;
  for (let elapsed = 0; elapsed < DURATION_MS; elapsed = performance.now() - started) {
    const due = Math.min(BATCH, Math.floor((elapsed * linesPerSecond) / 1000) - lines);
    for (let index = 0; index < due; index++) {
      logger.info(
        { requestId: "req-8f14e45f", target: "cohort-42/team-7", issue: lines, attempt: 1 },
        "issue created",
      );
      lines++;
    }
    await yieldToLoop();
  }
  const elapsedMs = performance.now() - started;
  delay.disable();
  return { lines, elapsedMs, loopDelayP99Ms: delay.percentile(99) / 1e6, loopDelayMaxMs: delay.max / 1e6 };
}
