import { hash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_REQUEST_BYTES, RequestId } from "@monarch/contracts";
import type { Logger, Metrics } from "@monarch/runtime";
import { AdmissionUnconfirmedError } from "../admission-batch.js";
import type { Receptionist, RejectionReason } from "../reception.js";
import { RecordsUnavailableError, type RequestLedger } from "../request-ledger.js";
import { acceptedAnswer, statusPath } from "./answers.js";
import type { Authenticator } from "./authentication.js";
import { BodyTooLargeError, readBody } from "./body.js";
import { type Problem, sendJson, sendProblem } from "./problem.js";

export interface IngestApiOptions {
  readonly receptionist: Receptionist;
  readonly ledger: RequestLedger;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The OpenAPI document served at `/openapi.json`. */
  readonly openApi: object;
  readonly port: number;
  readonly host: string;
}

/** Refused before anything is stored; counted as a refused request under `reason`, when it has one. */
class Refusal extends Error {
  override readonly name = "Refusal";
  constructor(
    readonly reason: RejectionReason | undefined,
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail);
  }
}

/** Routes as the duration metric names them; the error answers depend on them too. */
const SUBMIT_ROUTE = "/v1/migrations";
const REPLAY_ROUTE = "/v1/migrations/{id}/replay";

interface Route {
  readonly name: string;
  /** Absent: any method (so that an unknown path is a 404 whatever the method). */
  readonly methods?: readonly string[];
  readonly handle: (this: IngestApi, request: IncomingMessage, response: ServerResponse) => Promise<void>;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const JSON_MEDIA_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * The HTTP way in: `POST /v1/migrations` (202 once the request is in the stream), `GET
 * /v1/migrations/{id}`, `POST /v1/migrations/{id}/replay` and `GET /openapi.json`. Every answer
 * that is not a success is a problem document naming what is wrong.
 */
export class IngestApi {
  private readonly server: Server;
  private readonly duration;
  private stopping = false;
  /** Answers not yet sent; when the stop begins, each is told to close its connection. */
  private readonly unanswered = new Set<ServerResponse>();
  private readonly routes = {
    submit: { name: SUBMIT_ROUTE, methods: ["POST"], handle: this.submit },
    status: { name: "/v1/migrations/{id}", methods: ["GET", "HEAD"], handle: this.status },
    replay: { name: REPLAY_ROUTE, methods: ["POST"], handle: this.replay },
    openApi: { name: "/openapi.json", methods: ["GET", "HEAD"], handle: this.openApi },
    unknown: { name: "unknown", handle: notFound },
  } satisfies Record<string, Route>;

  constructor(private readonly options: IngestApiOptions) {
    this.server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (request, response) => {
      void this.serve(request, response);
    });
    this.duration = options.metrics.histogram({
      name: "monarch_ingest_http_request_duration_seconds",
      help: "Time to answer an HTTP request, by route and status.",
      labelNames: ["route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
  }

  /** Listens, and resolves with the port (useful with port 0). */
  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.options.logger.info({ port }, "serving POST /v1/migrations");
    return port;
  }

  /** Takes no new connections, lets requests in progress finish until `deadlineMs`, then cuts the rest. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    for (const response of this.unanswered) {
      if (!response.headersSent) response.setHeader("connection", "close");
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)))]);
    clearTimeout(timer);
    this.server.closeAllConnections();
    await closed;
  }

  get listening(): boolean {
    return this.server.listening && !this.stopping;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    // While stopping, each answer closes its keep-alive connection.
    if (this.stopping) response.setHeader("connection", "close");
    else this.unanswered.add(response);
    const route = this.route(request);
    try {
      const { methods } = route;
      if (methods && !methods.includes(request.method ?? "GET")) throw methodNotAllowed(request, methods);
      await route.handle.call(this, request, response);
    } catch (error) {
      this.fail(request, response, route.name, error);
    } finally {
      // Every handler settles (an aborted request fails its body read), so nothing stays here.
      this.unanswered.delete(response);
      const seconds = (performance.now() - started) / 1000;
      this.duration.observe({ route: route.name, status: String(response.statusCode) }, seconds);
    }
  }

  private route(request: IncomingMessage): Route {
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    if (path === SUBMIT_ROUTE) return this.routes.submit;
    if (path === "/openapi.json") return this.routes.openApi;
    const match = /^\/v1\/migrations\/[^/]+(\/replay)?$/.exec(path);
    if (match) return match[1] ? this.routes.replay : this.routes.status;
    return this.routes.unknown;
  }

  private async submit(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const receivedAt = new Date();
    const { body, caller } = await this.authenticatedBody(request, { expectsJson: true });
    const idempotencyKey = request.headers["idempotency-key"];
    if (
      idempotencyKey !== undefined &&
      (typeof idempotencyKey !== "string" || !IDEMPOTENCY_KEY.test(idempotencyKey))
    ) {
      throw new Refusal("bad-idempotency-key", {
        status: 400,
        title: "Bad Idempotency-Key",
        detail:
          "Idempotency-Key must be one header of 1 to 255 visible ASCII characters (a UUID is a good choice)",
      });
    }
    const reception = await this.options.receptionist.receive({
      raw: body,
      via: "http",
      requestId: randomUUID(),
      receivedAt,
      ...(idempotencyKey === undefined
        ? {}
        : {
            idempotency: {
              // A key is the caller's own: one sent with a token and one signed never meet.
              keyDigest: hash("sha256", `${caller}\n${idempotencyKey}`),
              bodyDigest: hash("sha256", body),
            },
          }),
    });
    switch (reception.outcome) {
      case "rejected":
        sendProblem(response, {
          status: 400,
          title: "Invalid migration request",
          detail: reception.error.message,
          problems: reception.error.issues,
        });
        return;
      case "replayed":
        if (!reception.sameBody) {
          throw new Refusal("idempotency-key-reused", {
            status: 422,
            title: "Idempotency-Key reused",
            detail:
              "this Idempotency-Key was used with a different body, and is still remembered; use a new key for a new request",
          });
        }
        this.sendAccepted(response, reception.requestId, reception.first === "duplicate", {
          "idempotent-replayed": "true",
        });
        return;
      default:
        this.sendAccepted(response, reception.requestId, reception.outcome === "duplicate");
    }
  }

  private async status(request: IncomingMessage, response: ServerResponse): Promise<void> {
    await this.authenticatedBody(request, { expectsJson: false });
    const requestId = this.requestIdOf(request);
    const status = await this.options.ledger.status(requestId);
    if (status === null) throw unknownRequest(requestId);
    sendJson(response, 200, status);
  }

  /** Runs a stored payload again as a new request (an operator's decision, so no duplicate check). */
  private async replay(request: IncomingMessage, response: ServerResponse): Promise<void> {
    await this.authenticatedBody(request, { expectsJson: false });
    const original = this.requestIdOf(request);
    const raw = await this.options.ledger.payload(original);
    if (raw === null) throw unknownRequest(original);
    const reception = await this.options.receptionist.receive({
      raw,
      via: "http",
      requestId: randomUUID(),
      receivedAt: new Date(),
      replayOf: original,
    });
    if (reception.outcome === "rejected") {
      // Only possible when the contracts became stricter since the payload was accepted.
      sendProblem(response, {
        status: 409,
        title: "Stored payload no longer valid",
        detail: reception.error.message,
        problems: reception.error.issues,
      });
      return;
    }
    this.sendAccepted(response, reception.requestId, false);
  }

  private async openApi(_request: IncomingMessage, response: ServerResponse): Promise<void> {
    sendJson(response, 200, this.options.openApi, { "cache-control": "public, max-age=300" });
  }

  private sendAccepted(
    response: ServerResponse,
    requestId: string,
    duplicate: boolean,
    headers: Record<string, string> = {},
  ): void {
    sendJson(response, duplicate ? 200 : 202, acceptedAnswer(requestId, duplicate), {
      location: statusPath(requestId),
      ...headers,
    });
  }

  /**
   * Checks the caller before reading more than it must: a bearer token and the declared size and
   * type come first, the body is read with a hard limit, and a signature is checked over it.
   */
  private async authenticatedBody(
    request: IncomingMessage,
    { expectsJson }: { expectsJson: boolean },
  ): Promise<{ body: Buffer; caller: "bearer" | "signed" }> {
    const { authenticator } = this.options;
    const screening = authenticator.screen(request.headers);
    if (screening.verdict === "refused") throw unauthorized(screening.problem, authenticator.schemes);
    if (expectsJson) {
      const declared = Number(request.headers["content-length"] ?? 0);
      if (declared > MAX_REQUEST_BYTES) throw tooLarge(declared);
      const type = request.headers["content-type"];
      if (type === undefined || !JSON_MEDIA_TYPE.test(type)) {
        throw new Refusal(
          "unsupported-media-type",
          {
            status: 415,
            title: "Unsupported media type",
            detail: `the body must be sent as application/json (UTF-8), not ${type === undefined ? "without a Content-Type" : `as ${type}`}`,
          },
          { "accept-post": "application/json" },
        );
      }
    }
    let body: Buffer;
    try {
      body = await readBody(request, MAX_REQUEST_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw tooLarge(undefined);
      throw error;
    }
    if (screening.verdict === "signed") {
      const problem = authenticator.signatureProblem(request.headers, body);
      if (problem !== undefined) throw unauthorized(problem, authenticator.schemes);
      return { body, caller: "signed" };
    }
    return { body, caller: screening.scheme };
  }

  private requestIdOf(request: IncomingMessage): string {
    // Ids are plain ASCII: anything percent-encoded is not one.
    const parsed = RequestId.safeParse((request.url ?? "").split("?")[0]?.split("/")[3] ?? "");
    if (!parsed.success) {
      throw new Refusal(undefined, {
        status: 400,
        title: "Bad request id",
        detail: parsed.error.issues[0]?.message ?? "not a request id",
      });
    }
    return parsed.data;
  }

  private fail(request: IncomingMessage, response: ServerResponse, route: string, error: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof Refusal) {
      if (error.reason !== undefined) {
        void this.options.receptionist.refuse({
          via: "http",
          reason: error.reason,
          detail: error.problem.detail,
          raw: "",
          receivedAt: new Date(),
        });
      }
      sendProblem(response, error.problem, error.headers);
      return;
    }
    const unavailable = unavailableProblem(route, error);
    if (unavailable !== undefined) {
      this.options.logger.warn(
        { err: error, method: request.method, url: request.url },
        "could not answer a request: Valkey is away or failing",
      );
      sendProblem(response, unavailable, { "retry-after": "1" });
      return;
    }
    this.options.logger.error(
      { err: error, method: request.method, url: request.url },
      "could not answer a request",
    );
    const storedOnce =
      route === SUBMIT_ROUTE
        ? "; it may or may not be stored: sent again with the same Idempotency-Key, or within the duplicate window, it is stored once either way"
        : "";
    sendProblem(response, {
      status: 500,
      title: "Internal error",
      detail: `the request could not be answered because of an error in ingest, which is logged${storedOnce}`,
    });
  }
}

/** A 503 for an error that says Valkey is away or failing (a retry may succeed), else undefined. */
function unavailableProblem(route: string, error: unknown): Problem | undefined {
  if (error instanceof RecordsUnavailableError) {
    return {
      status: 503,
      title: "Records unavailable",
      detail: "the request's records could not be read, because Valkey is away or failing; try again",
    };
  }
  if (!(error instanceof AdmissionUnconfirmedError)) return undefined;
  return {
    status: 503,
    title: "Not confirmed",
    detail:
      route === REPLAY_ROUTE
        ? "the replay could not be confirmed as stored; a replay is never taken for a duplicate, so one sent again may run twice"
        : "the request could not be confirmed as stored; send it again, with the same Idempotency-Key if it had one: with the key, or within the duplicate window, it is stored once either way",
  };
}

function unauthorized(detail: string, schemes: string): Refusal {
  return new Refusal(
    "unauthorized",
    { status: 401, title: "Unauthorized", detail: `${detail} (this API accepts ${schemes})` },
    { "www-authenticate": 'Bearer realm="monarch-ingest"' },
  );
}

function tooLarge(declared: number | undefined): Refusal {
  const size = declared === undefined ? "larger than that" : `${declared} bytes`;
  return new Refusal("too-large", {
    status: 413,
    title: "Request too large",
    detail: `a migration request may be at most ${MAX_REQUEST_BYTES} bytes; this one is ${size}`,
  });
}

function unknownRequest(requestId: string): Refusal {
  return new Refusal(undefined, {
    status: 404,
    title: "Unknown request",
    detail: `no request ${requestId} is known here (or its records are past retention)`,
  });
}

function methodNotAllowed(request: IncomingMessage, allowed: readonly string[]): Refusal {
  return new Refusal(
    undefined,
    {
      status: 405,
      title: "Method not allowed",
      detail: `${request.method} is not allowed here; use ${allowed.join(", ")}`,
    },
    { allow: allowed.join(", ") },
  );
}

async function notFound(request: IncomingMessage): Promise<void> {
  throw new Refusal(undefined, {
    status: 404,
    title: "Not found",
    detail: `nothing at ${(request.url ?? "").split("?")[0]}; the API is POST /v1/migrations, GET /v1/migrations/{id}, POST /v1/migrations/{id}/replay and GET /openapi.json`,
  });
}
