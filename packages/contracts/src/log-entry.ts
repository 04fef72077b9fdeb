import { z } from "zod";

/** pino's levels. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevelLabel = keyof typeof LOG_LEVELS;

const levelsDescending = (Object.entries(LOG_LEVELS) as Array<[LogLevelLabel, number]>).reverse();

/** The label of a pino level number; a custom level in between gets the label of the level below it. */
export function logLevelLabel(level: number): LogLevelLabel {
  return levelsDescending.find(([, value]) => level >= value)?.[0] ?? "trace";
}

/**
 * One pino line as the runtime stores it in the daily log stream (JSON under the entry field `data`).
 * Lines carry any extra fields a call site logged; they are all kept. The parsed entry adds
 * `levelLabel`. There is no schema version: pino writes these lines, and readers keep to the few
 * fields every line has.
 */
export const LogEntry = z
  .looseObject({
    /** pino's level number (30 is info). */
    level: z.number().int(),
    /** Epoch milliseconds. */
    time: z.number(),
    msg: z.string().optional(),
    service: z.string(),
    instance: z.string(),
    version: z.string(),
    /** Of the span active when the line was logged. */
    trace_id: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .optional(),
    span_id: z
      .string()
      .regex(/^[0-9a-f]{16}$/)
      .optional(),
  })
  .transform((entry) => ({ ...entry, levelLabel: logLevelLabel(entry.level) }))
  .meta({ title: "LogEntry", description: "A pino log line as stored in a daily log stream." });
export type LogEntry = z.output<typeof LogEntry>;
