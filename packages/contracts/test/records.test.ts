import type { WatchdogStatus } from "@monarch/resilience";
import type { LiveInstance } from "@monarch/valkey-client";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  contractIssues,
  HeartbeatRecord,
  type HeartbeatStatus,
  LogEntry,
  logLevelLabel,
} from "../src/index.js";

/** A line as the runtime's pino logger writes it inside a span, with fields of the call site. */
const line = {
  level: 30,
  time: 1_732_351_620_000,
  service: "migrator",
  instance: "host-1:4242",
  version: "0.1.0",
  trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
  span_id: "00f067aa0ba902b7",
  msg: "target done",
  requestId: "req-1",
  counts: { created: 3 },
};

describe("log entries", () => {
  it("reads a pino line, keeping every extra field and adding the level's label", () => {
    expect(LogEntry.parse(line)).toEqual({ ...line, levelLabel: "info" });
  });

  it("reads a line without a message or trace ids", () => {
    const { msg: _, trace_id: __, span_id: ___, ...bare } = line;
    expect(LogEntry.parse(bare)).toMatchObject({ levelLabel: "info" });
  });

  it("names what a malformed line lacks", () => {
    const { service: _, ...withoutService } = line;
    const result = LogEntry.safeParse({ ...withoutService, level: "info", trace_id: "xyz" });
    expect(result.error && contractIssues(result.error).map(({ path }) => path)).toEqual([
      "level",
      "service",
      "trace_id",
    ]);
  });

  it.each([
    [10, "trace"],
    [20, "debug"],
    [30, "info"],
    [35, "info"],
    [40, "warn"],
    [50, "error"],
    [60, "fatal"],
    [100, "fatal"],
    [5, "trace"],
  ] as const)("labels level %i as %s", (level, label) => {
    expect(logLevelLabel(level)).toBe(label);
  });
});

describe("heartbeat records", () => {
  const record = {
    service: "migrator",
    instance: "host-1:4242",
    host: "host-1",
    pid: 4242,
    version: "0.1.0",
    status: {
      name: "migrator",
      healthy: true,
      lastHeartbeatAt: 1_732_351_620_000,
      missedChecks: 0,
      since: 1_732_351_600_000,
    },
  };

  it("reads a record, before the first heartbeat too", () => {
    expect(HeartbeatRecord.parse(record)).toEqual(record);
    const fresh = {
      ...record,
      status: { ...record.status, lastHeartbeatAt: null, healthy: false, missedChecks: 3 },
    };
    expect(HeartbeatRecord.parse(fresh)).toEqual(fresh);
  });

  it("ignores fields it does not know", () => {
    expect(HeartbeatRecord.parse({ ...record, zone: "eu" })).toEqual(record);
  });

  it("names what is wrong", () => {
    const result = HeartbeatRecord.safeParse({
      ...record,
      pid: 0,
      status: { ...record.status, missedChecks: -1 },
    });
    expect(result.error && contractIssues(result.error).map(({ path }) => path)).toEqual([
      "pid",
      "status.missedChecks",
    ]);
  });

  it("has the shape that @monarch/resilience and valkey-client use", () => {
    expectTypeOf<HeartbeatStatus>().toEqualTypeOf<{
      -readonly [K in keyof WatchdogStatus]: WatchdogStatus[K];
    }>();
    // What valkey-client stores is a record (the wire test reads a real one too).
    expectTypeOf<Omit<LiveInstance, "expiresAt">>().toExtend<HeartbeatRecord>();
  });
});
