import { z } from "zod";
import { Count, Reason, RequestId, SlackChannelId, Timestamp } from "./fields.js";
import { unknownVariantError } from "./issues.js";
import { MAX_TARGETS_PER_REQUEST, targetList } from "./migration-request.js";
import { Repository } from "./repository.js";
import { schemaVersionField } from "./version.js";

/** Items (one source issue in one target) that are finished, by outcome. */
export const CompletedCounts = z.object({
  /** Issues created in a target (in a dry run: that would have been created). */
  created: Count,
  /** Issues already in the target (found by their marker), so not created again. */
  skipped: Count,
  failed: Count,
});
export type CompletedCounts = z.infer<typeof CompletedCounts>;

/** {@link CompletedCounts} plus the items still to do. */
export const ItemCounts = CompletedCounts.extend({ pending: Count });
export type ItemCounts = z.infer<typeof ItemCounts>;

export const TargetProgress = z.object({ target: Repository, counts: ItemCounts });
export type TargetProgress = z.infer<typeof TargetProgress>;

/**
 * Fields of every event. The channel and the dry-run flag ride on each one so that any notifier
 * replica can render any event without having seen the request's earlier ones.
 */
const eventFields = {
  schemaVersion: schemaVersionField(),
  requestId: RequestId,
  at: Timestamp,
  notificationChannel: SlackChannelId,
  dryRun: z.boolean(),
};

/** The migrator took the request off the migrations stream. */
export const RequestAccepted = z.object({
  type: z.literal("accepted"),
  ...eventFields,
  source: Repository,
  targets: targetList(Repository),
  includeClosed: z.boolean(),
});
export type RequestAccepted = z.infer<typeof RequestAccepted>;

/** The plan is made: `issuesPlanned` source issues go into each of `targetCount` targets. */
export const RequestStarted = z.object({
  type: z.literal("started"),
  ...eventFields,
  targetCount: Count.min(1),
  issuesPlanned: Count,
});
export type RequestStarted = z.infer<typeof RequestStarted>;

/** Where the request stands. `etaSeconds` is null until there is enough progress to estimate it. */
export const RequestProgress = z.object({
  type: z.literal("progress"),
  ...eventFields,
  counts: ItemCounts,
  /** Per target, when the migrator reports it. */
  targets: z.array(TargetProgress).max(MAX_TARGETS_PER_REQUEST).optional(),
  etaSeconds: z.number().nonnegative().nullable(),
});
export type RequestProgress = z.infer<typeof RequestProgress>;

/** One target is finished. `reason` is set when the target failed as a whole (e.g. issues disabled). */
export const TargetDone = z.object({
  type: z.literal("target-done"),
  ...eventFields,
  target: Repository,
  counts: CompletedCounts,
  reason: Reason.optional(),
});
export type TargetDone = z.infer<typeof TargetDone>;

/** Every target is finished (some items may have failed: see the counts). */
export const RequestDone = z.object({
  type: z.literal("request-done"),
  ...eventFields,
  counts: CompletedCounts,
  durationMs: Count,
});
export type RequestDone = z.infer<typeof RequestDone>;

/** The request could not be carried out at all (e.g. the source repository does not exist). */
export const RequestFailed = z.object({
  type: z.literal("request-failed"),
  ...eventFields,
  reason: Reason,
  /** What was done before it failed. */
  counts: CompletedCounts,
});
export type RequestFailed = z.infer<typeof RequestFailed>;

const eventSchemas = [
  RequestAccepted,
  RequestStarted,
  RequestProgress,
  TargetDone,
  RequestDone,
  RequestFailed,
] as const;

export const MIGRATION_EVENT_TYPES = Object.freeze(eventSchemas.map((schema) => schema.shape.type.value));

/** What the migrator appends to the events stream, told apart by `type`. */
export const MigrationEvent = z
  .discriminatedUnion("type", eventSchemas, {
    error: unknownVariantError("type", "event type", MIGRATION_EVENT_TYPES),
  })
  .meta({ title: "MigrationEvent", description: "An event of one migration request, on the events stream." });
export type MigrationEvent = z.infer<typeof MigrationEvent>;
export type MigrationEventType = MigrationEvent["type"];
