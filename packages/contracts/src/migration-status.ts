import { z } from "zod";
import { ItemCounts } from "./events.js";
import { Count, Intake, Reason, RequestId, Timestamp } from "./fields.js";
import { Repository } from "./repository.js";
import { schemaVersionField } from "./version.js";

/** A request's stages: ingest records `accepted`; the migrator moves it on. */
export const MIGRATION_STAGES = ["accepted", "running", "done", "failed"] as const;

/**
 * Where one request stands, stored as JSON under `migrationRecordKeys(id).status` and served by
 * `GET /v1/migrations/{id}`. Ingest writes it when it accepts the request; the migrator rewrites it
 * whole as the request progresses (keeping the key's expiry).
 */
export const MigrationStatus = z
  .object({
    schemaVersion: schemaVersionField(),
    requestId: RequestId,
    stage: z.enum(MIGRATION_STAGES).describe("accepted, running, done or failed."),
    via: Intake,
    receivedAt: Timestamp,
    updatedAt: Timestamp,
    source: Repository,
    targetCount: Count.min(1),
    dryRun: z.boolean(),
    /** The request whose stored payload this one replays, when it is a replay. */
    replayOf: RequestId.optional(),
    /** Items by outcome, once the migrator has planned the request. */
    counts: ItemCounts.optional(),
    /** Seconds left by the migrator's estimate; absent until it has one. */
    etaSeconds: z.number().nonnegative().optional(),
    /** Why the request failed, when `stage` is `failed`. */
    failure: Reason.optional(),
  })
  .meta({ title: "MigrationStatus", description: "Where one migration request stands." });
export type MigrationStatus = z.infer<typeof MigrationStatus>;
