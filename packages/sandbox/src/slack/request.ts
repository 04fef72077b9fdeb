import type { IncomingMessage } from "node:http";
import { readBody } from "../http/read-body.js";
import { SlackApiError } from "./errors.js";
import type { SlackArgs } from "./methods.js";

/** Web API calls are `POST {url}{method}`; the simulator's `url` ends in this path. */
export const API_PATH = "/api/";

/** Far more than any message (Slack truncates text at 40 000 characters); a larger body gets 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

const FORM_TYPE = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

/** What a request asks for, before the simulator checks any of it. */
export interface SlackCall {
  readonly token: string | undefined;
  readonly args: SlackArgs;
}

/** The method named by a request's path (`/api/chat.postMessage`), or undefined for another path. */
export function methodOf(request: IncomingMessage): string | undefined {
  const { pathname } = new URL(request.url ?? "/", "http://127.0.0.1");
  const method = pathname.startsWith(API_PATH) ? pathname.slice(API_PATH.length) : "";
  return /^[\w.]+$/.test(method) ? method : undefined;
}

/**
 * Reads a call's token and arguments as Slack does: the token from `Authorization: Bearer`, or from a
 * `token` field of a form body (never of a JSON body); arguments from a form or JSON body. A body of
 * another type, or malformed JSON, is refused with {@link SlackApiError}; one over
 * {@link MAX_BODY_BYTES} with `BodyTooLargeError`.
 */
export async function readCall(request: IncomingMessage): Promise<SlackCall> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  const body = await readBody(request, MAX_BODY_BYTES);
  if (body.length === 0) return { token: bearer, args: {} };
  const mediaType = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (mediaType === undefined) throw new SlackApiError("missing_post_type");
  if (mediaType === FORM_TYPE) {
    const { token, ...args } = Object.fromEntries(new URLSearchParams(body.toString("utf8")));
    return { token: bearer ?? token, args };
  }
  if (mediaType === JSON_TYPE) return { token: bearer, args: jsonArgs(body) };
  throw new SlackApiError("invalid_post_type");
}

function jsonArgs(body: Buffer): SlackArgs {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new SlackApiError("invalid_json");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SlackApiError("json_not_object");
  }
  return parsed as SlackArgs;
}
