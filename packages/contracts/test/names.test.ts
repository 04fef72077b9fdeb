import { requireSameSlot } from "@monarch/valkey-client";
import { describe, expect, it } from "vitest";
import {
  EVENTS_DEAD_LETTER_STREAM,
  EVENTS_STREAM,
  INGEST_DEAD_LETTER_STREAM,
  INGEST_INBOX_STREAM,
  ingestRejectionMarker,
  LEGACY_REQUEST_CHANNEL,
  LOG_RETENTION_DAYS,
  logStreamFor,
  MIGRATIONS_DEAD_LETTER_STREAM,
  MIGRATIONS_STREAM,
  migrationRecordKeys,
  retainedLogStreams,
} from "../src/index.js";

const DAY_MS = 86_400_000;

describe("names", () => {
  it("keeps the platform's pub/sub channel as it is", () => {
    expect(LEGACY_REQUEST_CHANNEL).toBe("channel_migrate_issue_tickets");
  });

  it.each([
    [MIGRATIONS_STREAM, MIGRATIONS_DEAD_LETTER_STREAM],
    [EVENTS_STREAM, EVENTS_DEAD_LETTER_STREAM],
    [INGEST_INBOX_STREAM, INGEST_DEAD_LETTER_STREAM],
  ])("%s and its dead letters %s share a cluster slot", (stream, dead) => {
    expect(() => requireSameSlot("dead-lettering", [stream, dead])).not.toThrow();
    expect(dead.endsWith(":dead")).toBe(true);
  });

  it("keeps every request record in the migrations stream's slot, each kind under its own name", () => {
    const keys = [
      migrationRecordKeys.status("req-1"),
      migrationRecordKeys.payload("req-1"),
      migrationRecordKeys.fingerprint("ab12"),
      migrationRecordKeys.idempotency("cd34"),
    ];
    expect(() => requireSameSlot("admission", [MIGRATIONS_STREAM, ...keys])).not.toThrow();
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("keeps ingest's dead-letter markers in the dead-letter stream's slot, one per request id", () => {
    const markers = [ingestRejectionMarker("inbox-1-0"), ingestRejectionMarker("inbox-1-1")];
    expect(() =>
      requireSameSlot("dead-lettering once", [INGEST_DEAD_LETTER_STREAM, ...markers]),
    ).not.toThrow();
    expect(markers[0]).not.toBe(markers[1]);
  });

  it("names the day's log stream by the UTC date", () => {
    expect(logStreamFor(new Date("2026-11-23T00:00:00.000Z"))).toBe("monarch:logs:2026-11-23");
    expect(logStreamFor(new Date("2026-11-23T23:59:59.999Z"))).toBe("monarch:logs:2026-11-23");
    expect(logStreamFor(new Date("2026-11-24T00:30:00.000+02:00"))).toBe("monarch:logs:2026-11-23");
  });

  it(`lists the log streams kept: today and the ${LOG_RETENTION_DAYS} days before, newest first`, () => {
    const now = new Date("2026-11-23T10:00:00.000Z");
    const streams = retainedLogStreams(now);
    expect(streams).toHaveLength(LOG_RETENTION_DAYS + 1);
    expect(streams[0]).toBe("monarch:logs:2026-11-23");
    expect(streams.at(-1)).toBe("monarch:logs:2026-10-24");
    // The runtime expires a day's stream retention days after the day ends: the oldest listed one
    // is still there, the day before it is gone.
    const expiresAt = (day: string) =>
      Date.parse(`${day}T00:00:00.000Z`) + DAY_MS + LOG_RETENTION_DAYS * DAY_MS;
    expect(expiresAt("2026-10-24")).toBeGreaterThan(now.getTime());
    expect(expiresAt("2026-10-23")).toBeLessThanOrEqual(now.getTime());
  });
});
