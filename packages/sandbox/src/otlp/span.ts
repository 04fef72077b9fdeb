/** What the collector keeps of a received span: OTLP's nested messages flattened into plain values. */

/**
 * An attribute value as OTLP's AnyValue carries it. int64 values become numbers, exact up to 2^53; an
 * empty AnyValue (what exporters send for a null or undefined array element) becomes null.
 */
export type AttributeValue =
  | string
  | number
  | boolean
  | Uint8Array
  | null
  | readonly AttributeValue[]
  | { readonly [key: string]: AttributeValue };

export type Attributes = Readonly<Record<string, AttributeValue>>;

const SPAN_KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"] as const;
export type SpanKindName = (typeof SPAN_KINDS)[number];

const STATUS_CODES = ["UNSET", "OK", "ERROR"] as const;
export type StatusCodeName = (typeof STATUS_CODES)[number];

export interface SpanStatus {
  readonly code: StatusCodeName;
  /** Empty when the span set none. */
  readonly message: string;
}

export interface CollectedSpan {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** Undefined for a root span. */
  readonly parentSpanId: string | undefined;
  /** The W3C `tracestate` header value, if the span had one. */
  readonly traceState: string | undefined;
  readonly name: string;
  readonly kind: SpanKindName;
  /** Milliseconds since the epoch, to the microsecond. */
  readonly startTimeMs: number;
  readonly endTimeMs: number;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  /** The attributes of the resource that produced the span, `service.name` among them. */
  readonly resource: Attributes;
  /** The name of the instrumentation scope (the tracer) that made the span. */
  readonly scopeName: string;
}

export interface CollectedTrace {
  readonly traceId: string;
  /** In the order they arrived. */
  readonly spans: readonly CollectedSpan[];
}

/** Thrown when a request body is not a well-formed ExportTraceServiceRequest; the collector answers 400. */
export class OtlpDecodeError extends Error {
  override readonly name = "OtlpDecodeError";
}

/**
 * A span as either wire format decodes it, with proto3 defaults (empty, zero) for absent fields. Enums
 * are numbers, or their proto names (`SPAN_KIND_SERVER`) when a JSON encoder used protojson's option.
 */
export interface WireSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  traceState: string;
  name: string;
  kind: number | string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  statusCode: number | string;
  statusMessage: string;
}

export function emptyWireSpan(): WireSpan {
  return {
    traceId: new Uint8Array(),
    spanId: new Uint8Array(),
    parentSpanId: new Uint8Array(),
    traceState: "",
    name: "",
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    statusCode: 0,
    statusMessage: "",
  };
}

/** Checks a decoded span and converts it into what the collector keeps; both wire formats end here. */
export function collectedSpan(wire: WireSpan, resource: Attributes, scopeName: string): CollectedSpan {
  return {
    traceId: requiredId(wire.traceId, 16, "traceId"),
    spanId: requiredId(wire.spanId, 8, "spanId"),
    parentSpanId:
      wire.parentSpanId.length === 0 ? undefined : requiredId(wire.parentSpanId, 8, "parentSpanId"),
    traceState: wire.traceState === "" ? undefined : wire.traceState,
    name: wire.name,
    kind: enumName(SPAN_KINDS, "SPAN_KIND_", wire.kind, "span kind"),
    startTimeMs: nanosToMs(wire.startTimeUnixNano),
    endTimeMs: nanosToMs(wire.endTimeUnixNano),
    status: {
      code: enumName(STATUS_CODES, "STATUS_CODE_", wire.statusCode, "status code"),
      message: wire.statusMessage,
    },
    attributes: wire.attributes,
    resource,
    scopeName,
  };
}

/** Spans grouped by trace, traces in the order their first span arrived. */
export function groupByTrace(spans: readonly CollectedSpan[]): CollectedTrace[] {
  const traces = new Map<string, CollectedSpan[]>();
  for (const span of spans) {
    const trace = traces.get(span.traceId);
    if (trace) trace.push(span);
    else traces.set(span.traceId, [span]);
  }
  return [...traces].map(([traceId, spansOfTrace]) => ({ traceId, spans: spansOfTrace }));
}

function requiredId(bytes: Uint8Array, length: number, field: string): string {
  if (bytes.length !== length) throw new OtlpDecodeError(`${field} has ${bytes.length} bytes, not ${length}`);
  return Buffer.from(bytes).toString("hex");
}

function enumName<Name extends string>(
  names: readonly Name[],
  prefix: string,
  value: number | string,
  what: string,
): Name {
  const name =
    typeof value === "number" ? names[value] : names.find((candidate) => prefix + candidate === value);
  if (name === undefined) throw new OtlpDecodeError(`unknown ${what} ${JSON.stringify(value)}`);
  return name;
}

// Integer division first: nanoseconds since the epoch exceed 2^53, microseconds do not.
function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1000n) / 1000;
}
