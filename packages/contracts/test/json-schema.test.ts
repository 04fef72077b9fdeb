import { Ajv2020 } from "ajv/dist/2020.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ContractName,
  DeadLetterEntry,
  HeartbeatRecord,
  ingestRejectionFields,
  type JsonSchema,
  jsonSchemas,
  LogEntry,
  MigrationEvent,
  MigrationRequested,
  MigrationRequestPayload,
  MigrationStatus,
  NormalisedRequest,
} from "../src/index.js";
import { validOwner } from "./support/arbitraries.js";

const schemas = jsonSchemas();
// Strict: an unknown keyword or a malformed schema is an error. Formats are checked by the patterns
// zod writes beside them.
const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false });
const validators = Object.fromEntries(
  Object.entries(schemas).map(([name, schema]) => [name, ajv.compile(schema)]),
) as Record<ContractName, ReturnType<Ajv2020["compile"]>>;

const request = {
  source: { owner: "nss-group-projects", name: "cider-falls" },
  targets: [{ owner: "stevebrownlee", name: "rare-test" }],
  notificationChannel: "C06GHMZB3M3",
  options: { includeClosed: false, dryRun: false },
};

/** Valid examples of each contract, as a writer sends them. */
const examples: Record<ContractName, unknown> = {
  MigrationRequestPayload: {
    notification_channel: "C06GHMZB3M3",
    source_repo: "nss-group-projects/cider-falls",
    all_target_repositories: ["stevebrownlee/rare-test"],
  },
  NormalisedRequest: request,
  MigrationRequested: {
    schemaVersion: 1,
    requestId: "req-1",
    receivedAt: "2026-11-23T08:47:00.000Z",
    via: "http",
    request,
  },
  MigrationStatus: {
    schemaVersion: 1,
    requestId: "req-1",
    stage: "accepted",
    via: "inbox",
    receivedAt: "2026-11-23T08:47:00.000Z",
    updatedAt: "2026-11-23T08:47:00.000Z",
    source: request.source,
    targetCount: 1,
    dryRun: false,
  },
  MigrationEvent: {
    schemaVersion: 1,
    type: "progress",
    requestId: "req-1",
    at: "2026-11-23T08:47:00.000Z",
    notificationChannel: "C06GHMZB3M3",
    dryRun: false,
    counts: { created: 1, skipped: 0, failed: 0, pending: 3 },
    etaSeconds: null,
  },
  DeadLetterEntry: ingestRejectionFields({
    reason: "not JSON",
    via: "pubsub",
    receivedAt: new Date("2026-11-23T08:47:00.000Z"),
    raw: "{",
  }),
  LogEntry: { level: 30, time: 1, service: "ingest", instance: "i", version: "1", msg: "hello", extra: true },
  HeartbeatRecord: {
    service: "ingest",
    instance: "i",
    host: "h",
    pid: 1,
    status: { name: "ingest", healthy: true, lastHeartbeatAt: null, missedChecks: 0, since: 1 },
  },
};

const zodSchemas = {
  MigrationRequestPayload,
  NormalisedRequest,
  MigrationRequested,
  MigrationStatus,
  MigrationEvent,
  DeadLetterEntry,
  LogEntry,
  HeartbeatRecord,
};

/** Every object schema inside `schema`. */
function objectSchemas(schema: unknown): Array<Record<string, unknown>> {
  if (typeof schema !== "object" || schema === null) return [];
  const children = Object.values(schema).flatMap((value) =>
    Array.isArray(value) ? value.flatMap(objectSchemas) : objectSchemas(value),
  );
  return (schema as { type?: unknown }).type === "object"
    ? [schema as Record<string, unknown>, ...children]
    : children;
}

describe("JSON Schema export", () => {
  it("exports every contract", () => {
    expect(Object.keys(schemas).sort()).toEqual(Object.keys(zodSchemas).sort());
  });

  it.each(Object.entries(schemas))(
    "%s is a draft 2020-12 schema that compiles strictly, with a title",
    (name, schema) => {
      expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
      expect(schema.title).toBe(name);
      expect(ajv.validateSchema(schema)).toBe(true);
      expect(schema.type === "object" || Array.isArray(schema.oneOf)).toBe(true);
    },
  );

  it.each(Object.keys(schemas) as ContractName[])(
    "%s lets writers add fields (readers ignore them)",
    (name) => {
      const objects = objectSchemas(schemas[name]);
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) expect(object.additionalProperties).not.toBe(false);
      expect(validators[name]({ ...(examples[name] as object), addedLater: 1 })).toBe(true);
    },
  );

  it.each(Object.keys(schemas) as ContractName[])("%s accepts the same example as the zod schema", (name) => {
    expect(zodSchemas[name].safeParse(examples[name]).success).toBe(true);
    expect(validators[name](examples[name]), JSON.stringify(validators[name].errors)).toBe(true);
  });

  it.each<[ContractName, unknown]>([
    [
      "MigrationRequestPayload",
      { ...(examples.MigrationRequestPayload as object), all_target_repositories: [] },
    ],
    [
      "MigrationRequestPayload",
      { ...(examples.MigrationRequestPayload as object), notification_channel: "general" },
    ],
    ["MigrationRequestPayload", { ...(examples.MigrationRequestPayload as object), schema_version: 2 }],
    ["MigrationRequestPayload", { ...(examples.MigrationRequestPayload as object), dry_run: "yes" }],
    ["MigrationRequested", { ...(examples.MigrationRequested as object), via: "email" }],
    ["MigrationRequested", { ...(examples.MigrationRequested as object), receivedAt: "2026-11-23" }],
    ["NormalisedRequest", { ...request, targets: [{ owner: "a--b", name: "x" }] }],
    ["NormalisedRequest", { ...request, targets: [{ owner: "a", name: "x.git" }] }],
    ["NormalisedRequest", { ...request, targets: [{ owner: "a", name: ".." }] }],
    ["MigrationStatus", { ...(examples.MigrationStatus as object), stage: "paused" }],
    ["MigrationStatus", { ...(examples.MigrationStatus as object), targetCount: 0 }],
    ["MigrationEvent", { ...(examples.MigrationEvent as object), type: "unknown" }],
    ["MigrationEvent", { ...(examples.MigrationEvent as object), etaSeconds: -1 }],
    ["DeadLetterEntry", { ...(examples.DeadLetterEntry as object), truncated: "maybe" }],
    ["LogEntry", { ...(examples.LogEntry as object), time: "now" }],
    ["HeartbeatRecord", { ...(examples.HeartbeatRecord as object), pid: -1 }],
  ])("%s: both refuse %j", (name, value) => {
    expect(zodSchemas[name].safeParse(value).success).toBe(false);
    expect(validators[name](value)).toBe(false);
  });

  it("agrees with zod on the owner and name rules (the patterns are GitHub's rules too)", () => {
    const owner = fc.oneof(
      validOwner,
      fc.string({ unit: fc.constantFrom("a", "Z", "9", "-", "_", "."), maxLength: 41 }),
    );
    const name = fc.string({ unit: fc.constantFrom("a", ".", "g", "i", "t", "-", "_", "/"), maxLength: 8 });
    fc.assert(
      fc.property(owner, name, (ownerCandidate, nameCandidate) => {
        const candidate = { ...request, targets: [{ owner: ownerCandidate, name: nameCandidate }] };
        expect(validators.NormalisedRequest(candidate)).toBe(NormalisedRequest.safeParse(candidate).success);
      }),
      { numRuns: 2_000 },
    );
  });

  it("returns fresh objects, so a caller may edit them (e.g. into an OpenAPI document)", () => {
    const first = jsonSchemas();
    (first.NormalisedRequest as JsonSchema & { title: string }).title = "changed";
    expect(jsonSchemas().NormalisedRequest.title).toBe("NormalisedRequest");
  });
});
