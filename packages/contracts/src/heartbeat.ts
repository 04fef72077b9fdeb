import { z } from "zod";

/** @monarch/resilience's `WatchdogStatus`, as stored. */
export const HeartbeatStatus = z.object({
  name: z.string(),
  healthy: z.boolean(),
  /** Epoch ms of the last heartbeat, or null before the first. */
  lastHeartbeatAt: z.number().nullable(),
  /** Checks in a row that found no heartbeat since the one before. */
  missedChecks: z.number().int().nonnegative(),
  /** Epoch ms since when the watchdog has been in its current health. */
  since: z.number(),
});
export type HeartbeatStatus = z.infer<typeof HeartbeatStatus>;

/**
 * What valkey-client's `ValkeyHeartbeatSink` stores for one service instance (under
 * `HEARTBEAT_KEY_PREFIX`): who it is and its watchdog's status. No schema version: valkey-client
 * writes it; readers ignore fields they do not know.
 */
export const HeartbeatRecord = z
  .object({
    service: z.string().min(1),
    instance: z.string().min(1),
    host: z.string(),
    pid: z.number().int().positive(),
    /** The running build. */
    version: z.string().optional(),
    status: HeartbeatStatus,
  })
  .meta({ title: "HeartbeatRecord", description: "One service instance's last watchdog status." });
export type HeartbeatRecord = z.infer<typeof HeartbeatRecord>;
