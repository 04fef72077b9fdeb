import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BodyTooLargeError, readBody } from "../http/read-body.js";
import { authenticateApp } from "./app-jwt.js";
import type { Clock } from "./clock.js";
import { GitHubApiError } from "./errors.js";
import type { FaultPlan, Faults } from "./faults.js";
import type { OpenRecord, RequestLog } from "./inspection.js";
import type { GitHubRateLimits, Refusal } from "./rate-limits.js";
import { Representations } from "./representations.js";
import {
  type AppRoute,
  type HandlerContext,
  matchRoute,
  type Reply,
  type Route,
  type TokenRoute,
} from "./route.js";
import { GENERAL_DOCUMENTATION_URL, ROUTES } from "./routes.js";
import type { AppRecord, Credential, GitHubStore } from "./store.js";

/** Far above GitHub's 65 536-character issue body, so that its own 422 is what a long body meets. */
const MAX_BODY_BYTES = 1024 * 1024;

/** The headers GitHub sends with every answer, whatever its status. */
const ALWAYS = {
  "x-github-api-version-selected": "2022-11-28",
  "x-github-media-type": "github.v3; format=json",
};

/** What GitHub adds to the answers of GETs that a client may cache. */
const CACHEABLE = {
  "cache-control": "private, max-age=60, s-maxage=60",
  vary: "Accept, Authorization, Cookie, X-GitHub-OTP",
};

export interface GitHubServerParts {
  readonly store: GitHubStore;
  readonly limits: GitHubRateLimits;
  readonly faults: Faults;
  readonly log: RequestLog;
  readonly clock: Clock;
  readonly keepResponseBodies: boolean;
  /** Aborted when the simulator stops: latencies end early and nothing more is answered. */
  readonly stopped: AbortSignal;
}

/** GitHub's request ids look like `C0DE:1F2E:3A4B5C:6D7E8F:65A1B2C3`; this keeps the shape. */
function newRequestId(): string {
  const hex = randomBytes(14).toString("hex").toUpperCase();
  return [hex.slice(0, 4), hex.slice(4, 8), hex.slice(8, 14), hex.slice(14, 20), hex.slice(20, 28)].join(":");
}

function tokenOf(request: IncomingMessage): string | undefined {
  const match = /^(?:token|bearer)\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? "");
  return match?.[1];
}

type Answer = (status: number, body: unknown, headers: OutgoingHttpHeaders) => void;

function etagOf(text: string): string {
  return `W/"${createHash("sha256").update(text).digest("hex")}"`;
}

/** Whether `If-None-Match` names `etag`; ETags compare weakly, as for GET. */
function notModified(request: IncomingMessage, etag: string): boolean {
  const header = request.headers["if-none-match"];
  if (!header) return false;
  const strip = (tag: string) => tag.trim().replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim() === "*" || strip(tag) === strip(etag));
}

/**
 * One request through the simulated GitHub: route, injected faults, authentication (a token, or an
 * App's JWT for the App's own endpoints), rate limits, latency, the handler, conditional GETs; each
 * step recorded in the request log.
 */
class Exchange {
  private readonly requestId = newRequestId();
  private readonly record: OpenRecord;
  private readonly url: URL;
  private route: Route | undefined;

  constructor(
    private readonly parts: GitHubServerParts,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
  ) {
    // The simulator's URLs are those the client reached it by.
    this.url = new URL(request.url ?? "/", `http://${request.headers.host ?? "127.0.0.1"}`);
    this.record = parts.log.open({
      requestId: this.requestId,
      method: request.method ?? "GET",
      path: request.url ?? "/",
      route: undefined,
      receivedAt: parts.clock.now(),
    });
  }

  async run(): Promise<void> {
    const { parts, record } = this;
    const match = matchRoute(ROUTES, record.method, this.url.pathname);
    this.route = match?.route;
    record.route = match?.route.key;
    const plan = parts.faults.plan(record.route, record.receivedAt);
    record.fault = plan.fault;
    if (plan.fault === "timeout") return;
    if (plan.fault === "outage" || plan.fault === "server-error") {
      await this.delay(plan);
      return this.fail(plan);
    }
    if (!match) throw new GitHubApiError(404, "Not Found");
    const token = tokenOf(this.request);
    if (token === undefined) throw new GitHubApiError(401, "Requires authentication");
    const { route, params } = match;
    if (route.authentication === "app") {
      const app = authenticateApp(token, parts.store, record.receivedAt);
      record.login = app.slug;
      return this.serveApp(route, params, app, plan);
    }
    const credential = parts.store.credential(token);
    if (!credential) throw new GitHubApiError(401, "Bad credentials");
    record.login = credential.user.login;
    await this.serve(route, params, credential, plan);
  }

  /** Answers what {@link run} threw: GitHub's error for a GitHubApiError, a 500 for a simulator bug. */
  answerError(error: unknown): void {
    const apiError =
      error instanceof GitHubApiError ? error : new GitHubApiError(500, `simulator failed: ${String(error)}`);
    const documentationUrl = this.route?.documentationUrl ?? GENERAL_DOCUMENTATION_URL;
    this.send(apiError.status, apiError.body(documentationUrl), { ...apiError.options.headers });
  }

  private async serve(
    route: TokenRoute,
    params: Record<string, string>,
    credential: Credential,
    plan: FaultPlan,
  ): Promise<void> {
    const { parts, record } = this;
    // Nothing is awaited between arrival and here, so arrival times are admission times, in order.
    const admission = parts.limits.admit(credential, route, record.receivedAt);
    if (!admission.admitted) return this.refuse(route, credential, admission.refusal);
    record.concurrent = admission.concurrent;
    // The slot is held until the exchange ends, answered or not (a lost response holds it until the client gives up).
    this.response.once("close", admission.release);
    const outcome = await this.handle(params, plan, (context) =>
      route.handle({ ...context, credential, rateLimit: parts.limits.status(credential, context.now) }),
    );
    this.conclude(route, plan, outcome, (status, body, headers) => {
      // GitHub does not count a conditional request answered 304 against the primary limit.
      if (status === 304) parts.limits.refund(credential, parts.clock.now());
      // The rate-limit headers are those in force as the answer is sent.
      this.send(status, body, {
        ...headers,
        ...parts.limits.answered(credential, route, undefined, parts.clock.now()),
      });
    });
  }

  /** An App's own endpoint: counted against no limit, answered without rate-limit headers. */
  private async serveApp(
    route: AppRoute,
    params: Record<string, string>,
    app: AppRecord,
    plan: FaultPlan,
  ): Promise<void> {
    const outcome = await this.handle(params, plan, (context) => route.handle({ ...context, app }));
    this.conclude(route, plan, outcome, (status, body, headers) => this.send(status, body, headers));
  }

  /**
   * Reads the body, waits out the latency, and runs `handler` with what it may read or change: its
   * reply, or the refusal it threw.
   */
  private async handle(
    params: Record<string, string>,
    plan: FaultPlan,
    handler: (context: HandlerContext) => Reply,
  ): Promise<Reply | GitHubApiError> {
    const { parts } = this;
    try {
      const body = await this.readJson();
      await this.delay(plan);
      return handler({
        store: parts.store,
        representations: new Representations(this.url.origin),
        params,
        url: this.url,
        body,
        now: parts.clock.now(),
      });
    } catch (error) {
      if (error instanceof GitHubApiError) return error;
      throw error;
    }
  }

  /** Answers the handler's outcome through `answer`, unless a fault takes the answer away. */
  private conclude(route: Route, plan: FaultPlan, outcome: Reply | GitHubApiError, answer: Answer): void {
    if (plan.fault === "error-after-success") this.fail(plan);
    else if (plan.fault !== "lost-response") answer(...this.answerTo(route, outcome));
  }

  /** The answer to the handler's outcome: a GET's with its ETag, or 304 when `If-None-Match` names it. */
  private answerTo(route: Route, outcome: Reply | GitHubApiError): Parameters<Answer> {
    if (outcome instanceof GitHubApiError) {
      return [outcome.status, outcome.body(route.documentationUrl), { ...outcome.options.headers }];
    }
    const text = JSON.stringify(outcome.body);
    if (route.method !== "GET") return [outcome.status, text, { ...outcome.headers }];
    const etag = etagOf(text);
    const headers = { ...outcome.headers, ...CACHEABLE, etag };
    return notModified(this.request, etag) ? [304, undefined, headers] : [outcome.status, text, headers];
  }

  private refuse(route: TokenRoute, credential: Credential, refusal: Refusal): void {
    const { parts, record } = this;
    record.refusedBy = refusal.limit;
    if (refusal.ignored) parts.log.violated(record, route.key, credential.user.login, refusal.ignored);
    const now = parts.clock.now();
    const error = parts.limits.refusalError(refusal, credential, this.requestId, now);
    this.send(
      error.status,
      error.body(route.documentationUrl),
      parts.limits.answered(credential, route, refusal, now),
    );
  }

  private fail(plan: FaultPlan): void {
    const status = plan.status ?? 502;
    const message = status === 503 ? "Service Unavailable" : "Server Error";
    this.send(status, { message, documentation_url: GENERAL_DOCUMENTATION_URL, status: String(status) }, {});
  }

  private async readJson(): Promise<unknown> {
    let raw: Buffer;
    try {
      raw = await readBody(this.request, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        throw new GitHubApiError(413, "Payload Too Large", { headers: { connection: "close" } });
      }
      throw error;
    }
    if (raw.length === 0) return undefined;
    try {
      return JSON.parse(raw.toString("utf8"));
    } catch {
      throw new GitHubApiError(400, "Problems parsing JSON");
    }
  }

  private async delay(plan: FaultPlan): Promise<void> {
    if (plan.latencyMs > 0) await sleep(plan.latencyMs, undefined, { signal: this.parts.stopped });
  }

  private send(status: number, body: unknown, headers: OutgoingHttpHeaders): void {
    const { response } = this;
    if (response.headersSent || response.destroyed) return;
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    response.writeHead(status, {
      ...ALWAYS,
      // The simulator's time: a client whose clock is off corrects its JWTs by it, as @octokit/auth-app does.
      date: new Date(this.parts.clock.now()).toUTCString(),
      "x-github-request-id": this.requestId,
      ...(text === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...headers,
    });
    response.end(text);
    this.parts.log.answered(
      this.record,
      status,
      this.parts.clock.now(),
      this.parts.keepResponseBodies ? (text ?? "") : undefined,
    );
  }
}

/** The request listener of a simulated GitHub over `parts`. */
export function gitHubRequestListener(parts: GitHubServerParts): RequestListener {
  return (request, response) => {
    const exchange = new Exchange(parts, request, response);
    exchange.run().catch((error: unknown) => {
      // A stop cuts latencies short: the connection is gone, so there is no one to answer.
      if (parts.stopped.aborted) return;
      exchange.answerError(error);
    });
  };
}
