import { RequestId } from "@monarch/contracts";
import { z } from "zod";

/** The answer to an accepted (202) or duplicate (200) `POST /v1/migrations`. */
export const MigrationAccepted = z
  .object({
    requestId: RequestId.describe("The request's id; for a duplicate, the id of the request accepted first."),
    duplicate: z.boolean().describe("True when the same request was accepted within the duplicate window."),
    statusUrl: z.string().describe("Where GET answers with the request's status."),
  })
  .meta({ title: "MigrationAccepted", description: "Where an accepted request can be followed." });
export type MigrationAccepted = z.infer<typeof MigrationAccepted>;

/** Every error answer (RFC 9457 `application/problem+json`). */
export const ProblemDetails = z
  .object({
    status: z.number().int(),
    title: z.string(),
    detail: z.string(),
    problems: z
      .array(
        z.object({
          path: z.string().describe('Where, like "all_target_repositories.0"; "" for the whole body.'),
          message: z.string(),
        }),
      )
      .optional()
      .describe("Each thing wrong with the body, when it was read."),
  })
  .meta({ title: "ProblemDetails", description: "Why a request was refused." });

export function statusPath(requestId: string): string {
  return `/v1/migrations/${requestId}`;
}

export function acceptedAnswer(requestId: string, duplicate: boolean): MigrationAccepted {
  return { requestId, duplicate, statusUrl: statusPath(requestId) };
}
