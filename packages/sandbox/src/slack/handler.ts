import { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BodyTooLargeError } from "../http/read-body.js";
import { SlackApiError } from "./errors.js";
import type { Faults, SlackFailure } from "./faults.js";
import { callMethod, isSlackMethod } from "./methods.js";
import type { SlackRateLimits } from "./rate-limits.js";
import { API_PATH, methodOf, readCall, type SlackCall } from "./request.js";
import type { Workspace } from "./workspace.js";

/** One call the simulator answered, for tests to inspect. */
export interface SlackRequestRecord {
  /** The method named by the path, implemented or not. */
  readonly method: string;
  /** Epoch milliseconds when it arrived. */
  readonly at: number;
  /** The HTTP status answered, or `"dropped"` when an injected fault cut the connection. */
  readonly status: number | "dropped";
  /** Slack's `error` when the answer was `ok: false`; `"ratelimited"` with a 429. */
  readonly error?: string;
  /** The `Retry-After` of a 429, in seconds. */
  readonly retryAfter?: number;
  /** Whether the call came before a `Retry-After` told for its rate limit had passed. */
  readonly ignoredRetryAfter: boolean;
}

export interface SlackHandlerState {
  readonly workspace: Workspace;
  readonly rateLimits: SlackRateLimits;
  readonly faults: Faults;
  readonly record: (request: SlackRequestRecord) => void;
}

type Reply =
  | {
      readonly kind: "json";
      readonly status: 200 | 429;
      readonly body: Record<string, unknown>;
      readonly retryAfter?: number;
      readonly ignoredRetryAfter: boolean;
    }
  | {
      readonly kind: "text";
      readonly status: number;
      readonly text: string;
      readonly headers?: OutgoingHttpHeaders;
    }
  | { readonly kind: "drop" };

/**
 * Answers a Web API call as Slack would, and records it. Checked in this order: injected fault, body,
 * method, token, rate limit, then the method's own arguments and rules.
 */
export function handleSlackRequest(
  state: SlackHandlerState,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  answer(state, request).then(
    (reply) => send(response, reply),
    (error: unknown) =>
      send(response, { kind: "text", status: 500, text: `simulator failed: ${String(error)}` }),
  );
}

async function answer(state: SlackHandlerState, request: IncomingMessage): Promise<Reply> {
  const at = Date.now();
  const method = methodOf(request);
  if (method === undefined) {
    return { kind: "text", status: 404, text: `${request.url} not found: call ${API_PATH}<method>` };
  }
  const fault = state.faults.take(method);
  const reply = fault?.fail === undefined ? await call(state, method, request) : failure(fault.fail);
  if (fault?.delayMs) await sleep(fault.delayMs);
  state.record(recordOf(method, at, reply));
  return reply;
}

async function call(state: SlackHandlerState, method: string, request: IncomingMessage): Promise<Reply> {
  let slackCall: SlackCall;
  try {
    slackCall = await readCall(request);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      // Closing the connection spares reading the rest of a body nobody wants.
      return { kind: "text", status: 413, text: error.message, headers: { connection: "close" } };
    }
    if (error instanceof SlackApiError) return refusal(error, false);
    throw error;
  }
  if (!isSlackMethod(method)) return refusal(new SlackApiError("unknown_method"), false);
  if (slackCall.token === undefined) return refusal(new SlackApiError("not_authed"), false);
  const caller = state.workspace.identify(slackCall.token);
  if (!caller) return refusal(new SlackApiError("invalid_auth"), false);

  // chat.postMessage is limited per channel, which it may name rather than identify.
  const { channel } = slackCall.args;
  const postedTo =
    method === "chat.postMessage" && typeof channel === "string"
      ? (state.workspace.channelByIdOrName(channel)?.id ?? channel)
      : undefined;
  const limit = state.rateLimits.check(method, caller.teamId, caller.botId, postedTo, request.socket);
  const { ignoredRetryAfter } = limit;
  if (!limit.allowed) {
    const body = { ok: false, error: "ratelimited" };
    return { kind: "json", status: 429, body, retryAfter: limit.retryAfterSeconds, ignoredRetryAfter };
  }
  try {
    const body = callMethod(method, state.workspace, caller, slackCall.args);
    return { kind: "json", status: 200, body, ignoredRetryAfter };
  } catch (error) {
    if (error instanceof SlackApiError) return refusal(error, ignoredRetryAfter);
    throw error;
  }
}

function refusal(error: SlackApiError, ignoredRetryAfter: boolean): Reply {
  return { kind: "json", status: 200, body: error.toBody(), ignoredRetryAfter };
}

function failure(fail: SlackFailure): Reply {
  return fail === "drop" ? { kind: "drop" } : { kind: "text", status: fail, text: STATUS_CODES[fail] ?? "" };
}

function recordOf(method: string, at: number, reply: Reply): SlackRequestRecord {
  if (reply.kind === "drop") return { method, at, status: "dropped", ignoredRetryAfter: false };
  if (reply.kind === "text") return { method, at, status: reply.status, ignoredRetryAfter: false };
  const { error } = reply.body;
  return {
    method,
    at,
    status: reply.status,
    ...(typeof error === "string" ? { error } : {}),
    ...(reply.retryAfter === undefined ? {} : { retryAfter: reply.retryAfter }),
    ignoredRetryAfter: reply.ignoredRetryAfter,
  };
}

function send(response: ServerResponse, reply: Reply): void {
  switch (reply.kind) {
    case "drop":
      response.socket?.destroy();
      return;
    case "text":
      response
        .writeHead(reply.status, { ...reply.headers, "content-type": "text/plain; charset=utf-8" })
        .end(`${reply.text}\n`);
      return;
    case "json":
      response
        .writeHead(reply.status, {
          "content-type": "application/json; charset=utf-8",
          ...(reply.retryAfter === undefined ? {} : { "retry-after": String(reply.retryAfter) }),
        })
        .end(JSON.stringify(reply.body));
  }
}
