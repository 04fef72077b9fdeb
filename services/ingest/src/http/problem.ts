import type { ServerResponse } from "node:http";
import type { ContractIssue } from "@monarch/contracts";

/** An error answer in RFC 9457's problem form: what went wrong, and each problem's field path. */
export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly problems?: readonly ContractIssue[];
}

export function sendProblem(
  response: ServerResponse,
  problem: Problem,
  headers: Record<string, string> = {},
): void {
  sendJson(response, problem.status, problem, { ...headers, "content-type": "application/problem+json" });
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
    ...headers,
  });
  response.end(text);
}
