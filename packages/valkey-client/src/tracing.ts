import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

// There is no OpenTelemetry instrumentation for iovalkey, so stream producers and consumers make
// their own spans, linked through the W3C trace context carried in each entry.
const tracer = trace.getTracer("@monarch/valkey-client");

/** The trace context fields of a stream entry (`traceparent`, and `tracestate` when there is one). */
export type TraceFields = Record<string, string>;

function messagingAttributes(
  stream: string,
  operation: "send" | "process",
  extra: Attributes = {},
): Attributes {
  return {
    "messaging.system": "valkey",
    "messaging.destination.name": stream,
    "messaging.operation.type": operation,
    ...extra,
  };
}

/**
 * Runs `append` inside a PRODUCER span, handing it the trace fields to store in the entry. A span
 * nobody records (tracing off, or not sampled) still passes its context on in the fields, but `append`
 * then runs in the caller's context: a span it starts is the caller's child, not the producer's.
 */
export async function withProducerSpan<T>(
  stream: string,
  append: (fields: TraceFields) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(`send ${stream}`, {
    kind: SpanKind.PRODUCER,
    attributes: messagingAttributes(stream, "send"),
  });
  // Tracing is off: there is no context to pass on, nor one to run `append` in.
  if (!isSpanContextValid(span.spanContext())) return append({});
  const spanContext = trace.setSpan(context.active(), span);
  const fields: TraceFields = {};
  propagation.inject(spanContext, fields);
  if (!span.isRecording()) {
    span.end();
    return append(fields);
  }
  return context.with(spanContext, () => finishSpan(span, () => append(fields)));
}

/** Runs `handle` inside a CONSUMER span that continues the trace found in the entry's fields. */
export function withConsumerSpan<T>(
  stream: string,
  group: string,
  entryId: string,
  fields: Readonly<Record<string, string>>,
  handle: () => Promise<T>,
): Promise<T> {
  const parent: Context = propagation.extract(ROOT_CONTEXT, fields);
  return tracer.startActiveSpan(
    `process ${stream}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: messagingAttributes(stream, "process", {
        "messaging.consumer.group.name": group,
        "messaging.message.id": entryId,
      }),
    },
    parent,
    (span) => finishSpan(span, handle),
  );
}

async function finishSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
