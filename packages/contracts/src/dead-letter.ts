import { z } from "zod";
import { Intake, MAX_REASON_LENGTH, Timestamp } from "./fields.js";
import { quote, unknownVariantError } from "./issues.js";
import { SCHEMA_VERSION, storedSchemaVersionField } from "./version.js";

/*
 * Dead letters are flat stream entries (every field a string), so that one XRANGE shows them whole
 * and valkey-client's consumer can move an entry with its fields as they were. The schemas read those
 * strings into numbers and booleans; field names stay as stored.
 */

/** Raw payload kept in an ingest rejection; the rest is cut (and `truncated` says so). */
export const MAX_DEAD_LETTER_PAYLOAD_BYTES = 16 * 1024;

const StreamEntryId = z.string().regex(/^\d+-\d+$/, {
  error: (issue) => `${quote(issue.input)} is not a stream entry id like "1700000000000-0"`,
});

const IntegerField = z
  .string()
  .regex(/^\d+$/, { error: (issue) => `${quote(issue.input)} is not a whole number` })
  .transform(Number);

const BooleanField = z.enum(["true", "false"]).transform((value) => value === "true");

/** W3C trace context of the span that wrote the original entry, when it had one. */
const traceFields = { traceparent: z.string().optional(), tracestate: z.string().optional() };

/**
 * What valkey-client's `StreamConsumer` writes when it gives up on an entry: the original fields
 * (`data` and the trace context) plus why. It has no schema version: valkey-client writes it.
 */
export const ConsumerDeadLetter = z.object({
  /** `invalid`: the message failed its schema; `max-deliveries`: its handler kept failing. */
  cause: z.enum(["invalid", "max-deliveries"]),
  source_stream: z.string().min(1),
  source_id: StreamEntryId,
  group: z.string().min(1),
  consumer: z.string().min(1),
  deliveries: IntegerField,
  reason: z.string(),
  failed_at: Timestamp,
  /** The original message's JSON; absent if the original entry had none. */
  data: z.string().optional(),
  ...traceFields,
});
export type ConsumerDeadLetter = z.output<typeof ConsumerDeadLetter>;

/** What ingest writes for input it refused: the reason and the raw payload, size-capped. */
export const IngestRejection = z.object({
  cause: z.literal("rejected"),
  schema_version: storedSchemaVersionField(),
  reason: z.string(),
  via: Intake,
  received_at: Timestamp,
  /** The raw payload as UTF-8 text, at most {@link MAX_DEAD_LETTER_PAYLOAD_BYTES} bytes of it. */
  payload: z.string(),
  /** The raw payload's full size. */
  payload_bytes: IntegerField,
  truncated: BooleanField,
  ...traceFields,
});
export type IngestRejection = z.output<typeof IngestRejection>;

/** Any entry of a dead-letter stream (`…:dead`), told apart by `cause`. */
export const DeadLetterEntry = z
  .discriminatedUnion("cause", [ConsumerDeadLetter, IngestRejection], {
    error: unknownVariantError("cause", "dead-letter cause", [
      ...ConsumerDeadLetter.shape.cause.options,
      IngestRejection.shape.cause.value,
    ]),
  })
  .meta({ title: "DeadLetterEntry", description: "The fields of an entry in a dead-letter stream." });
export type DeadLetterEntry = z.output<typeof DeadLetterEntry>;

/** The fields ingest appends for a refused input, ready for XADD. */
export type IngestRejectionFields = Required<Omit<z.input<typeof IngestRejection>, keyof typeof traceFields>>;

export interface RejectedInput {
  readonly reason: string;
  readonly via: Intake;
  readonly receivedAt: Date;
  /** The payload exactly as it came: it may be too large, not UTF-8 or not JSON. */
  readonly raw: string | Buffer;
}

/** Builds the dead-letter fields for a refused input, cutting the reason and the payload to size. */
export function ingestRejectionFields({
  reason,
  via,
  receivedAt,
  raw,
}: RejectedInput): IngestRejectionFields {
  const payload = capPayload(raw, MAX_DEAD_LETTER_PAYLOAD_BYTES);
  return {
    cause: "rejected",
    schema_version: `${SCHEMA_VERSION}` as const,
    reason: reason.slice(0, MAX_REASON_LENGTH),
    via,
    received_at: receivedAt.toISOString(),
    payload: payload.text,
    payload_bytes: String(payload.bytes),
    truncated: payload.truncated ? "true" : "false",
  };
}

export interface CappedPayload {
  /** At most `maxBytes` bytes of UTF-8, cut on a character boundary. */
  readonly text: string;
  /** Size of the whole raw payload. */
  readonly bytes: number;
  /** True when part of the payload is missing from `text`. */
  readonly truncated: boolean;
}

/**
 * The start of a raw payload as text of at most `maxBytes` UTF-8 bytes, cut on a character boundary.
 * Decoding turns each byte that is not UTF-8 into U+FFFD, which takes 3 bytes, so the text is encoded
 * and cut once more.
 */
export function capPayload(raw: string | Buffer, maxBytes: number): CappedPayload {
  const bytes = typeof raw === "string" ? Buffer.byteLength(raw, "utf8") : raw.length;
  // No character is shorter than one byte (nor one UTF-16 unit), so this head holds all that can fit.
  const head =
    typeof raw === "string"
      ? raw.slice(0, maxBytes)
      : raw.subarray(0, boundaryAtOrBefore(raw, maxBytes)).toString("utf8");
  const encoded = Buffer.from(head, "utf8");
  const end = boundaryAtOrBefore(encoded, maxBytes);
  return {
    text: encoded.subarray(0, end).toString("utf8"),
    bytes,
    truncated: bytes > maxBytes || end < encoded.length,
  };
}

/** The largest index up to `limit` where a character starts (continuation bytes are 10xxxxxx). */
function boundaryAtOrBefore(utf8: Buffer, limit: number): number {
  let end = Math.min(utf8.length, limit);
  while (end > 0 && end < utf8.length && ((utf8[end] ?? 0) & 0xc0) === 0x80) end--;
  return end;
}
