import { GitHubApiError } from "../errors.js";

/** The JSON object a mutation sends; GitHub's words for what is wrong with it. */
export type JsonObject = Readonly<Record<string, unknown>>;

function invalidRequest(detail: string): GitHubApiError {
  return new GitHubApiError(422, `Invalid request.\n\n${detail}`);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The body as an object; an absent body is an empty one. */
export function jsonObject(body: unknown): JsonObject {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest(`For 'links/0/schema', ${describe(body)} is not an object.`);
  }
  return body as JsonObject;
}

export function requiredString(object: JsonObject, field: string): string {
  if (object[field] === undefined) throw invalidRequest(`"${field}" wasn't supplied.`);
  const value = optionalString(object, field);
  if (value === null || value === undefined)
    throw invalidRequest(`For 'properties/${field}', null is not a string.`);
  return value;
}

/** A string field; undefined when absent, null when sent as null. */
export function optionalString(object: JsonObject, field: string): string | null | undefined {
  const value = object[field];
  if (value === undefined || value === null || typeof value === "string") return value;
  throw invalidRequest(`For 'properties/${field}', ${describe(value)} is not a string or null.`);
}

/** An array of strings, where each may also be an object with a `name` (as issue labels may be). */
export function optionalNames(object: JsonObject, field: string): string[] | undefined {
  const value = object[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    throw invalidRequest(`For 'properties/${field}', ${describe(value)} is not an array.`);
  return value.map((item: unknown) => {
    if (typeof item === "string") return item;
    const name = typeof item === "object" && item !== null ? (item as JsonObject).name : undefined;
    if (typeof name === "string") return name;
    throw invalidRequest(`For 'items', ${describe(item)} is not a string or an object with a name.`);
  });
}
