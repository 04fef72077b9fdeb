import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  capPayload,
  contractIssues,
  DeadLetterEntry,
  ingestRejectionFields,
  MAX_DEAD_LETTER_PAYLOAD_BYTES,
  MAX_REASON_LENGTH,
} from "../src/index.js";

/** Fields as valkey-client's StreamConsumer writes them for a message that failed its schema. */
const consumerFields = {
  data: '{"schemaVersion":2}',
  traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  source_stream: "{monarch:migrations}",
  source_id: "1732351620000-0",
  group: "migrator",
  consumer: "host-1234-ab12cd34",
  deliveries: "1",
  cause: "invalid",
  reason: "invalid message: schemaVersion: newer schema version 2; this consumer understands up to 1",
  failed_at: "2026-11-23T08:47:00.000Z",
};

const receivedAt = new Date("2026-11-23T08:47:00.000Z");

describe("dead-letter entries", () => {
  it("reads what valkey-client's consumer writes, numbers as numbers", () => {
    expect(DeadLetterEntry.parse(consumerFields)).toEqual({ ...consumerFields, deliveries: 1 });
    expect(
      DeadLetterEntry.parse({ ...consumerFields, cause: "max-deliveries", deliveries: "5" }),
    ).toMatchObject({
      cause: "max-deliveries",
      deliveries: 5,
    });
  });

  it("reads an entry whose original had no data field", () => {
    const { data: _, ...withoutData } = consumerFields;
    expect(DeadLetterEntry.parse(withoutData)).not.toHaveProperty("data");
  });

  it("names what is wrong with a malformed entry", () => {
    const result = DeadLetterEntry.safeParse({
      ...consumerFields,
      deliveries: "five",
      source_id: "x",
      failed_at: "",
    });
    expect(result.error && contractIssues(result.error)).toEqual([
      { path: "source_id", message: '"x" is not a stream entry id like "1700000000000-0"' },
      { path: "deliveries", message: '"five" is not a whole number' },
      { path: "failed_at", message: '"" is not an ISO 8601 UTC timestamp like "2026-11-23T08:47:00.000Z"' },
    ]);
    const unknown = DeadLetterEntry.safeParse({ ...consumerFields, cause: "timeout" });
    expect(unknown.error && contractIssues(unknown.error)).toEqual([
      {
        path: "cause",
        message:
          'unknown dead-letter cause "timeout"; this consumer understands invalid, max-deliveries, rejected',
      },
    ]);
  });

  it("ignores fields it does not know (the original entry's own fields ride along)", () => {
    expect(DeadLetterEntry.parse({ ...consumerFields, tenant: "nss" })).not.toHaveProperty("tenant");
  });
});

describe("ingest rejections", () => {
  it("round-trip: the fields ingest writes read back as what was refused", () => {
    const raw = '{"notification_channel": "general"}';
    const fields = ingestRejectionFields({
      reason: "notification_channel: bad",
      via: "pubsub",
      receivedAt,
      raw,
    });
    expect(fields).toEqual({
      cause: "rejected",
      schema_version: "1",
      reason: "notification_channel: bad",
      via: "pubsub",
      received_at: "2026-11-23T08:47:00.000Z",
      payload: raw,
      payload_bytes: String(raw.length),
      truncated: "false",
    });
    expect(DeadLetterEntry.parse(fields)).toEqual({
      ...fields,
      schema_version: "1",
      payload_bytes: raw.length,
      truncated: false,
    });
  });

  it(`keeps at most ${MAX_DEAD_LETTER_PAYLOAD_BYTES} bytes of the payload and says it cut it`, () => {
    const raw = Buffer.alloc(10 * 1024 * 1024, "x");
    const fields = ingestRejectionFields({ reason: "too large", via: "http", receivedAt, raw });
    expect(fields.payload).toHaveLength(MAX_DEAD_LETTER_PAYLOAD_BYTES);
    expect(DeadLetterEntry.parse(fields)).toMatchObject({ payload_bytes: raw.length, truncated: true });
  });

  it(`cuts the reason to ${MAX_REASON_LENGTH} characters, as the consumer does`, () => {
    const fields = ingestRejectionFields({ reason: "r".repeat(5_000), via: "inbox", receivedAt, raw: "{}" });
    expect(fields.reason).toHaveLength(MAX_REASON_LENGTH);
  });

  it("refuses a rejection written by a newer ingest", () => {
    const fields = ingestRejectionFields({ reason: "x", via: "inbox", receivedAt, raw: "{}" });
    const result = DeadLetterEntry.safeParse({ ...fields, schema_version: "2" });
    expect(result.error && contractIssues(result.error)).toEqual([
      { path: "schema_version", message: "newer schema version 2; this consumer understands up to 1" },
    ]);
  });
});

describe("capPayload", () => {
  it("cuts on a character boundary, never leaving half a character", () => {
    const capped = capPayload("é".repeat(10), 5);
    expect(capped).toEqual({ text: "éé", bytes: 20, truncated: true });
    expect(capPayload("a😀", 4)).toEqual({ text: "a", bytes: 5, truncated: true });
  });

  it("keeps a payload that fits as it is", () => {
    expect(capPayload("héllo", 6)).toEqual({ text: "héllo", bytes: 6, truncated: false });
    expect(capPayload(Buffer.from("héllo"), 6)).toEqual({ text: "héllo", bytes: 6, truncated: false });
  });

  it("stays within the bound for bytes that are not UTF-8 (each becomes a 3-byte U+FFFD)", () => {
    const capped = capPayload(Buffer.alloc(100, 0xff), 100);
    expect(Buffer.byteLength(capped.text)).toBeLessThanOrEqual(100);
    expect(capped.truncated).toBe(true);
  });

  it("properties: within the bound, a prefix of the text, whole exactly when not truncated", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 60 }),
        fc.integer({ min: 0, max: 80 }),
        (raw, maxBytes) => {
          const { text, bytes, truncated } = capPayload(raw, maxBytes);
          expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxBytes);
          expect(bytes).toBe(Buffer.byteLength(raw));
          expect(raw.startsWith(text)).toBe(true);
          expect(truncated).toBe(text !== raw);
          expect(capPayload(Buffer.from(raw), maxBytes)).toEqual({ text, bytes, truncated });
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("never throws on arbitrary bytes, and stays within the bound", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: 0, max: 120 }), (bytes, maxBytes) => {
        const capped = capPayload(Buffer.from(bytes), maxBytes);
        expect(Buffer.byteLength(capped.text)).toBeLessThanOrEqual(maxBytes);
        expect(capped.bytes).toBe(bytes.length);
      }),
      { numRuns: 1_000 },
    );
  });
});
