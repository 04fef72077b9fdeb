import { z } from "zod";
import { quote } from "./issues.js";

/**
 * A request's id, assigned by ingest (a UUID or ULID in practice). Limited to characters that are
 * safe in keys, URLs (`GET /v1/migrations/:id`) and Slack text.
 */
export const RequestId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, {
  error: (issue) =>
    `request id ${quote(issue.input)} must be 1 to 64 letters, digits, "_" or "-", starting with a letter or digit`,
});

/**
 * Slack conversation ids: C (public channel), G (private channel or group DM) or D (direct message),
 * then capital letters and digits. Today they are 9 or 11 characters long; Slack says they may grow,
 * so up to 21 are accepted.
 */
export const SLACK_CHANNEL_ID_PATTERN = /^[CGD][A-Z0-9]{8,20}$/;

export const SlackChannelId = z
  .string()
  .regex(SLACK_CHANNEL_ID_PATTERN, {
    error: (issue) =>
      `${quote(issue.input)} is not a Slack channel id: expected C, G or D and then 8 to 20 capital letters or digits, like "C06GHMZB3M3"`,
  })
  .describe('The Slack channel to report to, by id (like "C06GHMZB3M3"), not by name.');

/** A UTC instant as `Date.prototype.toISOString()` writes it (`2026-11-23T08:47:00.000Z`). */
export const Timestamp = z.iso
  .datetime({
    error: (issue) =>
      `${quote(issue.input)} is not an ISO 8601 UTC timestamp like "2026-11-23T08:47:00.000Z"`,
  })
  .describe("A UTC time in ISO 8601.");

/** How a request reached ingest: the legacy pub/sub channel, the inbox stream, or `POST /v1/migrations`. */
export const Intake = z
  .enum(["pubsub", "inbox", "http"])
  .describe("How the request reached ingest: pub/sub channel, inbox stream or HTTP.");
export type Intake = z.infer<typeof Intake>;

/** Reasons are cut to this length where they are written, as valkey-client's consumer does. */
export const MAX_REASON_LENGTH = 2_000;

/** Why something failed, for people: non-empty and bounded. */
export const Reason = z.string().min(1, "the reason is empty").max(MAX_REASON_LENGTH);

/** A number of items or issues. */
export const Count = z.number().int().nonnegative();
