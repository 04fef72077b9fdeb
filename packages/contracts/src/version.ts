import { z } from "zod";
import { quote } from "./issues.js";

/** The schema version this build of the contracts writes, and the newest it understands. */
export const SCHEMA_VERSION = 1;

/**
 * Why `version` is not one this consumer reads. A newer version gets its own message: it means a
 * producer was deployed before its consumers, which the versioning policy (README) rules out.
 */
function versionProblem(version: unknown): string {
  return typeof version === "number" && Number.isInteger(version) && version > SCHEMA_VERSION
    ? `newer schema version ${version}; this consumer understands up to ${SCHEMA_VERSION}`
    : `expected schema version ${SCHEMA_VERSION}, got ${describeValue(version)}`;
}

/**
 * A short account of any JSON value: arrays and objects by their kind only, since writing out a
 * deeply nested one would exhaust the stack (and the message could be huge).
 */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  return typeof value === "string" ? quote(value) : String(value);
}

/** The `schemaVersion` of a JSON message. */
export function schemaVersionField() {
  return z.literal(SCHEMA_VERSION, { error: (issue) => versionProblem(issue.input) });
}

/** The `schema_version` field of a flat stream entry, where every value is a string. */
export function storedSchemaVersionField() {
  return z.literal(`${SCHEMA_VERSION}` as const, {
    error: (issue) =>
      versionProblem(
        typeof issue.input === "string" && /^\d+$/.test(issue.input) ? Number(issue.input) : issue.input,
      ),
  });
}
