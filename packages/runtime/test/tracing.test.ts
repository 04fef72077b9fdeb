import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { builtEntry, startTraceCollector, type TraceCollector, until } from "@monarch/sandbox";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startTracing, tracingConfigured } from "../src/tracing/sdk.js";

const run = promisify(execFile);
const fixtures = new URL("fixtures/", import.meta.url).pathname;
const runtimeDir = new URL("..", import.meta.url).pathname;
let entries: [string, string];
let register: string;
let collector: TraceCollector;
let httpServer: Server;

beforeAll(async () => {
  entries = [builtEntry(runtimeDir), builtEntry(new URL("../../valkey-client", import.meta.url).pathname)];
  register = new URL("../dist/tracing/register.js", import.meta.url).href;
  collector = await startTraceCollector();
  httpServer = createServer((_, response) => response.end("ok"));
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  httpServer?.close();
});

const env = (service: string) => ({
  PATH: process.env.PATH,
  OTEL_SERVICE_NAME: service,
  OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
  OTEL_BSP_SCHEDULE_DELAY: "100",
});

describe("traces across processes", () => {
  it("an entry produced in one process and consumed in another gives one trace at the collector", async () => {
    const stream = `{test:trace:${randomUUID().slice(0, 8)}}`;
    const url = inject("valkeyUrl");
    const httpUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/`;
    const consumer = spawn(
      process.execPath,
      ["--import", register, `${fixtures}trace-consumer.mjs`, ...entries, url, stream, httpUrl],
      { env: env("fixture-consumer") },
    );
    let consumerOutput = "";
    consumer.stdout.on("data", (chunk: Buffer) => {
      consumerOutput += chunk.toString();
    });
    const consumerExited = new Promise((resolve) => consumer.once("exit", resolve));
    await until(() => consumerOutput.includes("ready"));
    await run(
      process.execPath,
      ["--import", register, `${fixtures}trace-producer.mjs`, ...entries, url, stream],
      {
        env: env("fixture-producer"),
      },
    );
    expect(await consumerExited).toBe(0);

    const spans = await collector.waitForSpans((received) =>
      received.some((span) => span.kind === "CLIENT" && span.resource["service.name"] === "fixture-consumer"),
    );
    const submit = spans.find((span) => span.name === "submit");
    const send = spans.find((span) => span.kind === "PRODUCER" && span.name === `send ${stream}`);
    const process_ = spans.find((span) => span.kind === "CONSUMER" && span.name === `process ${stream}`);
    const fetchSpan = spans.find((span) => span.kind === "CLIENT" && span.traceId === submit?.traceId);
    expect(submit?.resource["service.name"]).toBe("fixture-producer");
    expect(send).toMatchObject({ traceId: submit?.traceId, parentSpanId: submit?.spanId });
    expect(process_).toMatchObject({ traceId: submit?.traceId, parentSpanId: send?.spanId });
    expect(process_?.resource["service.name"]).toBe("fixture-consumer");
    // undici instrumentation: the handler's fetch is a child of the consumer span.
    expect(fetchSpan).toMatchObject({ parentSpanId: process_?.spanId });
  });
});

describe("tracing configuration", () => {
  it("is on only when an OTLP endpoint is named and the SDK is not disabled", () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318" })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://jaeger:4318/v1/traces" })).toBe(
      true,
    );
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_SDK_DISABLED: "true" })).toBe(
      false,
    );
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x", OTEL_TRACES_EXPORTER: "none" })).toBe(
      false,
    );
  });

  it("starting without an endpoint loads nothing and changes nothing", () => {
    const env: NodeJS.ProcessEnv = {};
    expect(startTracing(env)).toBe(false);
    expect(env).toEqual({});
  });
});
