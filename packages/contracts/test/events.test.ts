import { describe, expect, expectTypeOf, it } from "vitest";
import {
  contractIssues,
  MIGRATION_EVENT_TYPES,
  MigrationEvent,
  type MigrationEventType,
} from "../src/index.js";

const common = {
  schemaVersion: 1,
  requestId: "req-1",
  at: "2026-11-23T08:47:00.000Z",
  notificationChannel: "C06GHMZB3M3",
  dryRun: false,
} as const;
const target = { owner: "stevebrownlee", name: "rare-test" };
const done = { created: 10, skipped: 2, failed: 1 };

const samples: Record<MigrationEventType, MigrationEvent> = {
  accepted: {
    ...common,
    type: "accepted",
    source: { owner: "nss-group-projects", name: "cider-falls" },
    targets: [target],
    includeClosed: false,
  },
  started: { ...common, type: "started", targetCount: 1, issuesPlanned: 13 },
  progress: {
    ...common,
    type: "progress",
    counts: { created: 4, skipped: 2, failed: 0, pending: 7 },
    targets: [{ target, counts: { created: 4, skipped: 2, failed: 0, pending: 7 } }],
    etaSeconds: 12.5,
  },
  "target-done": { ...common, type: "target-done", target, counts: done },
  "request-done": { ...common, type: "request-done", counts: done, durationMs: 61_000 },
  "request-failed": {
    ...common,
    type: "request-failed",
    reason: "the source repository nss-group-projects/cider-falls does not exist",
    counts: { created: 0, skipped: 0, failed: 0 },
  },
};

function issuesOf(input: unknown) {
  const result = MigrationEvent.safeParse(input);
  if (result.success) throw new Error("expected the event to be refused");
  return contractIssues(result.error);
}

describe("migration events", () => {
  it("has the six event types", () => {
    expect(MIGRATION_EVENT_TYPES).toEqual([
      "accepted",
      "started",
      "progress",
      "target-done",
      "request-done",
      "request-failed",
    ]);
  });

  it.each(Object.entries(samples))("reads a %s event, and what it reads survives JSON", (_, event) => {
    expect(MigrationEvent.parse(event)).toEqual(event);
    expect(MigrationEvent.parse(JSON.parse(JSON.stringify(MigrationEvent.parse(event))))).toEqual(event);
  });

  it("takes an unknown ETA as null, and per-target progress as optional", () => {
    const { targets: _, ...withoutTargets } = samples.progress as Extract<
      MigrationEvent,
      { type: "progress" }
    >;
    expect(MigrationEvent.parse({ ...withoutTargets, etaSeconds: null })).toMatchObject({ etaSeconds: null });
    expect(issuesOf({ ...withoutTargets, etaSeconds: -1 })).toEqual([
      { path: "etaSeconds", message: "Too small: expected number to be >=0" },
    ]);
    expect(issuesOf({ ...withoutTargets, etaSeconds: undefined }).map(({ path }) => path)).toEqual([
      "etaSeconds",
    ]);
  });

  it("keeps the reason of a failed target", () => {
    const failed = { ...samples["target-done"], reason: "issues are disabled in stevebrownlee/rare-test" };
    expect(MigrationEvent.parse(failed)).toEqual(failed);
    expect(issuesOf({ ...failed, reason: "" })).toEqual([{ path: "reason", message: "the reason is empty" }]);
  });

  it("refuses counts that are not whole non-negative numbers, naming each", () => {
    expect(
      issuesOf({ ...samples["request-done"], counts: { created: -1, skipped: 1.5, failed: "2" } }),
    ).toEqual([
      { path: "counts.created", message: "Too small: expected number to be >=0" },
      { path: "counts.skipped", message: "Invalid input: expected int, received number" },
      { path: "counts.failed", message: "Invalid input: expected number, received string" },
    ]);
  });

  it("names an unknown event type and the types it knows", () => {
    expect(issuesOf({ ...common, type: "target-retrying" })).toEqual([
      {
        path: "type",
        message:
          'unknown event type "target-retrying"; this consumer understands accepted, started, progress, target-done, request-done, request-failed',
      },
    ]);
  });

  it("says when an event has no type", () => {
    expect(issuesOf(common)).toEqual([
      {
        path: "type",
        message:
          "no type; this consumer understands accepted, started, progress, target-done, request-done, request-failed",
      },
    ]);
    expect(issuesOf("progress")).toEqual([
      { path: "", message: "Invalid input: expected object, received string" },
    ]);
  });

  it("refuses a newer schema version", () => {
    expect(issuesOf({ ...samples.started, schemaVersion: 2 })).toEqual([
      { path: "schemaVersion", message: "newer schema version 2; this consumer understands up to 1" },
    ]);
  });

  it("ignores fields it does not know", () => {
    expect(MigrationEvent.parse({ ...samples.started, milestonesPlanned: 3, hint: "new" })).toEqual(
      samples.started,
    );
  });

  it("checks the repositories and the request id it carries", () => {
    expect(
      issuesOf({ ...samples["target-done"], requestId: "", target: { owner: "a", name: "b.git" } }),
    ).toEqual([
      {
        path: "requestId",
        message: 'request id "" must be 1 to 64 letters, digits, "_" or "-", starting with a letter or digit',
      },
      { path: "target.name", message: 'repository name "b.git" may not end in ".git"' },
    ]);
  });

  it("narrows on type, so a consumer's switch can be exhaustive", () => {
    const describe = (event: MigrationEvent): string => {
      switch (event.type) {
        case "accepted":
          return `${event.targets.length} targets`;
        case "started":
          return `${event.issuesPlanned} issues`;
        case "progress":
          return `${event.counts.pending} pending, eta ${event.etaSeconds ?? "unknown"}`;
        case "target-done":
          return `${event.target.name}: ${event.reason ?? "done"}`;
        case "request-done":
          return `${event.durationMs} ms`;
        case "request-failed":
          return event.reason;
        default:
          return event satisfies never;
      }
    };
    expect(describe(samples.progress)).toBe("7 pending, eta 12.5");
    expectTypeOf<MigrationEventType>().toEqualTypeOf<(typeof MIGRATION_EVENT_TYPES)[number]>();
  });
});
