import { z } from "zod";
import { DeadLetterEntry } from "./dead-letter.js";
import { MigrationEvent } from "./events.js";
import { HeartbeatRecord } from "./heartbeat.js";
import { LogEntry } from "./log-entry.js";
import { MigrationRequested, MigrationRequestPayload, NormalisedRequest } from "./migration-request.js";
import { MigrationStatus } from "./migration-status.js";

const contracts = {
  MigrationRequestPayload,
  NormalisedRequest,
  MigrationRequested,
  MigrationStatus,
  MigrationEvent,
  DeadLetterEntry,
  LogEntry,
  HeartbeatRecord,
};

export type ContractName = keyof typeof contracts;
export type JsonSchema = z.core.JSONSchema.JSONSchema;

/**
 * Every contract as a JSON Schema (draft 2020-12, which OpenAPI 3.1 uses as is), for the docs and
 * ingest's OpenAPI document. They describe what a writer sends (zod's input side): unknown fields are
 * allowed, since readers ignore them. Checks that JSON Schema cannot say (duplicate targets, the
 * source among the targets) are only in the zod schemas.
 */
export function jsonSchemas(): Record<ContractName, JsonSchema> {
  const schemas = {} as Record<ContractName, JsonSchema>;
  for (const name of Object.keys(contracts) as ContractName[]) {
    schemas[name] = z.toJSONSchema(contracts[name], { io: "input" });
  }
  return schemas;
}
