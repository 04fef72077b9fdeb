import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { listenOnLoopback } from "../http/loopback-server.js";
import { BodyTooLargeError, readBody } from "../http/read-body.js";
import { decodeJsonTraces } from "./decode-json.js";
import { decodeProtobufTraces } from "./decode-protobuf.js";
import { type CollectedSpan, OtlpDecodeError } from "./span.js";

export const TRACES_PATH = "/v1/traces";

/** The collector's limit on a request body, before and after decompression (the OTel Collector's default). */
export const MAX_BODY_BYTES = 20 * 1024 * 1024;

const JSON_TYPE = "application/json";
const PROTOBUF_TYPE = "application/x-protobuf";

interface Format {
  decode(body: Buffer): CollectedSpan[];
  /** An empty ExportTraceServiceResponse: full success. */
  readonly success: string;
}

const FORMATS: ReadonlyMap<string, Format> = new Map([
  [JSON_TYPE, { decode: (body) => decodeJsonTraces(body.toString("utf8")), success: "{}" }],
  [PROTOBUF_TYPE, { decode: decodeProtobufTraces, success: "" }],
]);

export interface OtlpReceiverOptions {
  /** 0 for any free port. */
  readonly port: number;
  /** Called with the spans of each well-formed export request before it is answered. */
  readonly onSpans: (spans: CollectedSpan[]) => void;
}

/** The HTTP side of the collector: an OTLP/HTTP endpoint for traces on a loopback port. */
export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly headers: OutgoingHttpHeaders = {},
  ) {
    super(message);
  }
}

const gunzipAsync = promisify(gunzip);

/**
 * Starts an OTLP/HTTP trace endpoint bound to 127.0.0.1 that answers as the OpenTelemetry Collector does:
 * 200 with an empty response, 400 for a malformed body, 404, 405, 413 and 415 for the rest. Error
 * bodies are one line of plain text, which is what exporters log.
 */
export function startOtlpReceiver(options: OtlpReceiverOptions): Promise<OtlpReceiver> {
  return listenOnLoopback((request, response) => {
    receive(request, response, options.onSpans).catch((error: unknown) => {
      const { status, message, headers } =
        error instanceof HttpError ? error : new HttpError(500, `collector failed: ${String(error)}`);
      response
        .writeHead(status, { ...headers, "content-type": "text/plain; charset=utf-8" })
        .end(`${message}\n`);
    });
  }, options.port);
}

async function receive(
  request: IncomingMessage,
  response: ServerResponse,
  onSpans: (spans: CollectedSpan[]) => void,
): Promise<void> {
  const { pathname } = new URL(request.url ?? "/", "http://127.0.0.1");
  if (pathname !== TRACES_PATH) {
    throw new HttpError(404, `${pathname} not found: send traces to ${TRACES_PATH}`);
  }
  if (request.method !== "POST") {
    throw new HttpError(405, `${request.method} ${TRACES_PATH} not allowed: use POST`, { allow: "POST" });
  }
  const mediaType = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase() ?? "";
  const format = FORMATS.get(mediaType);
  if (!format) {
    throw new HttpError(
      415,
      `unsupported content type "${mediaType}": send ${JSON_TYPE} or ${PROTOBUF_TYPE}`,
    );
  }
  const encoding = request.headers["content-encoding"]?.trim().toLowerCase() ?? "identity";
  if (encoding !== "identity" && encoding !== "gzip") {
    throw new HttpError(415, `unsupported content encoding "${encoding}": send gzip or identity`);
  }
  const received = await readBody(request, MAX_BODY_BYTES).catch((error: unknown) => {
    throw error instanceof BodyTooLargeError ? tooLarge() : error;
  });
  const body = encoding === "gzip" ? await decompress(received) : received;
  let spans: CollectedSpan[];
  try {
    spans = format.decode(body);
  } catch (error) {
    if (error instanceof OtlpDecodeError) {
      throw new HttpError(400, `malformed ${mediaType} body: ${error.message}`);
    }
    throw error;
  }
  onSpans(spans);
  response.writeHead(200, { "content-type": mediaType }).end(format.success);
}

function tooLarge(): HttpError {
  // Closing the connection spares reading the rest of a body nobody wants.
  return new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`, { connection: "close" });
}

async function decompress(body: Buffer): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: MAX_BODY_BYTES });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge();
    throw new HttpError(400, `body is not valid gzip: ${(error as Error).message}`);
  }
}
