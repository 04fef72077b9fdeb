import { jsonSchemas, MAX_REQUEST_BYTES, RequestId } from "@monarch/contracts";
import { z } from "zod";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from "../signature.js";
import { MigrationAccepted, ProblemDetails } from "./answers.js";

/** Draft 2020-12 schemas sit in OpenAPI 3.1 as they are, minus their own `$schema`. */
function component(schema: object): object {
  const { $schema: _dialect, ...rest } = schema as { $schema?: string };
  return rest;
}

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/ProblemDetails" } } },
});

const requestIdParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { $ref: "#/components/schemas/RequestId" },
};

/**
 * Ingest's OpenAPI 3.1 description, served at `/openapi.json`. Its schemas are the contracts' own
 * (exported from the same zod schemas the service validates with), so the two cannot drift.
 */
export interface ApiSettings {
  readonly version: string;
  readonly signatureToleranceSeconds: number;
  readonly duplicateWindowSeconds: number;
  readonly idempotencyTtlHours: number;
}

export function openApiDocument(settings: ApiSettings): Record<string, unknown> {
  const { version, signatureToleranceSeconds, duplicateWindowSeconds, idempotencyTtlHours } = settings;
  const contracts = jsonSchemas();
  const accepted = {
    content: { "application/json": { schema: { $ref: "#/components/schemas/MigrationAccepted" } } },
    headers: { Location: { description: "The status URL.", schema: { type: "string" } } },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Monarch ingest",
      version,
      description:
        "Submit migration requests and follow them. Authenticate with `Authorization: Bearer <token>`, or sign: " +
        `\`${TIMESTAMP_HEADER}\` is the Unix time in seconds and \`${SIGNATURE_HEADER}\` is \`sha256=\` and the hex ` +
        "HMAC-SHA256, keyed with the shared secret, of the timestamp, a `.` and the raw body. Signatures more than " +
        `${signatureToleranceSeconds} seconds from the server's clock are refused.`,
    },
    security: [{ bearer: [] }, { signature: [], signatureTimestamp: [] }],
    paths: {
      "/v1/migrations": {
        post: {
          operationId: "submitMigration",
          summary: "Submit a migration request",
          description:
            "Answers 202 once the request is stored in the migrations stream. " +
            (duplicateWindowSeconds > 0
              ? `The same request sent again within ${duplicateWindowSeconds} seconds is accepted once: the answer is 200 with the first request's id.`
              : ""),
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description:
                `Sending the same key again within ${idempotencyTtlHours} hours returns the first answer (with \`Idempotent-Replayed: true\`) ` +
                "and stores nothing; the same key with a different body is refused with 422. " +
                "Keys are kept apart by how the request is authenticated (bearer token or signature).",
              schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
            },
          ],
          requestBody: {
            required: true,
            description: `At most ${MAX_REQUEST_BYTES} bytes of UTF-8 JSON.`,
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/MigrationRequestPayload" } },
            },
          },
          responses: {
            "202": { description: "Stored; the migrator will take it.", ...accepted },
            "200": { description: "The same request was accepted within the duplicate window.", ...accepted },
            "400": problem(
              "The body is not valid UTF-8 JSON, breaks the schema, or the Idempotency-Key is malformed.",
            ),
            "401": problem("No credentials, a wrong token, or a bad or stale signature."),
            "413": problem(`The body is larger than ${MAX_REQUEST_BYTES} bytes.`),
            "415": problem("The body is not sent as application/json."),
            "422": problem("The Idempotency-Key was used with a different body."),
            "500": problem(
              "An error in ingest (logged). The request may or may not be stored: sent again with the same Idempotency-Key, or within the duplicate window, it is stored once either way.",
            ),
            "503": problem(
              "Storing the request was not confirmed (Valkey away, slow or failing). Send it again, with the same Idempotency-Key if it had one: with the key, or within the duplicate window, it is stored once either way.",
            ),
          },
        },
      },
      "/v1/migrations/{id}": {
        get: {
          operationId: "getMigration",
          summary: "A request's status and progress",
          parameters: [requestIdParameter],
          responses: {
            "200": {
              description: "The status the migrator records (`accepted` until it takes the request).",
              content: { "application/json": { schema: { $ref: "#/components/schemas/MigrationStatus" } } },
            },
            "400": problem("The id is not a request id."),
            "401": problem("Not authenticated."),
            "404": problem("No such request, or its records are past retention."),
            "500": problem("An error in ingest (logged), such as a stored status this version cannot read."),
            "503": problem("The records could not be read: Valkey is away or failing. Try again."),
          },
        },
      },
      "/v1/migrations/{id}/replay": {
        post: {
          operationId: "replayMigration",
          summary: "Run a stored request's payload again as a new request",
          description:
            "For operators: skips the duplicate window, and the new request's status names the original.",
          parameters: [requestIdParameter],
          responses: {
            "202": { description: "Stored as a new request.", ...accepted },
            "400": problem("The id is not a request id."),
            "401": problem("Not authenticated."),
            "404": problem("No such request, or its payload is past retention."),
            "409": problem("The stored payload is no longer valid."),
            "500": problem("An error in ingest (logged)."),
            "503": problem(
              "Reading the payload or storing the replay was not confirmed (Valkey away, slow or failing). A replay is never taken for a duplicate: one sent again may run twice.",
            ),
          },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "getOpenApi",
          summary: "This document",
          security: [],
          responses: {
            "200": { description: "The OpenAPI description.", content: { "application/json": {} } },
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        signature: { type: "apiKey", in: "header", name: SIGNATURE_HEADER },
        signatureTimestamp: { type: "apiKey", in: "header", name: TIMESTAMP_HEADER },
      },
      schemas: {
        MigrationRequestPayload: component(contracts.MigrationRequestPayload),
        MigrationStatus: component(contracts.MigrationStatus),
        MigrationAccepted: component(z.toJSONSchema(MigrationAccepted)),
        ProblemDetails: component(z.toJSONSchema(ProblemDetails)),
        RequestId: component(z.toJSONSchema(RequestId)),
      },
    },
  };
}
