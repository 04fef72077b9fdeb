import { setTimeout as sleep } from "node:timers/promises";
import { context, propagation, SpanKind, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { fieldsToRecord, StreamConsumer, StreamProducer } from "../src/index.js";
import { connect, uniqueName } from "./support/endpoints.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

describe("trace context through a stream", () => {
  it("passes an unsampled trace on in the entry without recording a span for it", async () => {
    const client = connect({ url: inject("valkeyUrl") });
    const stream = uniqueName("unsampled");
    const caller = trace.wrapSpanContext({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.NONE,
    });
    exporter.reset();
    await context.with(trace.setSpan(context.active(), caller), () =>
      new StreamProducer({ client, stream, schema: z.object({ n: z.number() }) }).append({ n: 1 }),
    );
    const [entry] = await client.xrange(stream, "-", "+");
    const fields = fieldsToRecord(entry?.[1] ?? []);
    // The caller's trace, a span id of the producer's own, and the caller's decision not to sample.
    expect(fields.traceparent).toMatch(
      /^00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)[0-9a-f]{16}-00$/,
    );
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("continues the producer's trace in the consumer's span, with the handler's work inside it", async () => {
    const client = connect({ url: inject("valkeyUrl") });
    const stream = uniqueName("traced");
    const schema = z.object({ n: z.number() });
    let handlerSpanId: string | undefined;
    const consumer = new StreamConsumer({
      client,
      stream,
      group: "g",
      schema,
      blockMs: 200,
      handler: async () => {
        handlerSpanId = trace.getActiveSpan()?.spanContext().spanId;
      },
    });
    await consumer.start();
    const request = trace.getTracer("test").startSpan("request");
    await context.with(trace.setSpan(context.active(), request), () =>
      new StreamProducer({ client, stream, schema }).append({ n: 1 }),
    );
    request.end();
    const deadline = Date.now() + 10_000;
    while (!handlerSpanId && Date.now() < deadline) await sleep(20);
    await consumer.stop();

    const spans = exporter.getFinishedSpans();
    const producer = spans.find((span) => span.kind === SpanKind.PRODUCER);
    const consumerSpan = spans.find((span) => span.kind === SpanKind.CONSUMER);
    expect(producer?.name).toBe(`send ${stream}`);
    expect(consumerSpan?.name).toBe(`process ${stream}`);
    expect(producer?.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(consumerSpan?.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(consumerSpan?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(handlerSpanId).toBe(consumerSpan?.spanContext().spanId);
    expect(consumerSpan?.attributes).toMatchObject({
      "messaging.system": "valkey",
      "messaging.destination.name": stream,
      "messaging.consumer.group.name": "g",
    });
  });
});
