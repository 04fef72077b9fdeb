import { spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  builtEntry,
  type CollectedSpan,
  findFreePort,
  formatTrace,
  SpanWaitTimeoutError,
  startTraceCollector,
  type TraceCollector,
  TraceCollectorStoppedError,
} from "../src/index.js";
import {
  bytesOf,
  doubleOf,
  fieldsOf,
  fixed64Of,
  int64Of,
  ProtobufDecodeError,
  stringOf,
  varintOf,
} from "../src/otlp/protobuf-reader.js";
import {
  doubleField,
  fixed32Field,
  fixed64Field,
  lenField,
  uintField,
  varint,
} from "./support/protobuf-writer.js";
import { watch } from "./support/watch.js";

type ExporterConfig = NonNullable<ConstructorParameters<typeof JsonExporter>[0]>;
// The exporters type `compression` with an enum from @opentelemetry/otlp-exporter-base, a package they do
// not re-export; its value is the string.
const GZIP = "gzip" as NonNullable<ExporterConfig["compression"]>;

const EXPORTERS = [
  { format: "OTLP/JSON", exporter: (config: ExporterConfig): SpanExporter => new JsonExporter(config) },
  {
    format: "OTLP/protobuf",
    exporter: (config: ExporterConfig): SpanExporter => new ProtobufExporter(config),
  },
];

const ROOT_ATTRIBUTES = {
  "http.request.method": "POST",
  "http.response.status_code": 201,
  "monarch.dry_run": false,
  "monarch.ratio": 0.25,
  "monarch.repos": ["api", "web"],
  "monarch.offset": -3,
  "monarch.bytes": 2 ** 40,
};

interface ExportedTrace {
  readonly traceId: string;
  readonly rootId: string;
  readonly childId: string;
}

/** Traces a request through the real SDK: a SERVER root and a failed PRODUCER child, then flushes. */
async function exportTrace(
  exporter: SpanExporter,
  processor: "simple" | "batch" = "simple",
  serviceName = "ingest",
): Promise<ExportedTrace> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [
      processor === "batch" ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter),
    ],
  });
  const tracer = provider.getTracer("monarch-test", "1.0.0");
  const root = tracer.startSpan("POST /v1/migrations", {
    kind: SpanKind.SERVER,
    attributes: ROOT_ATTRIBUTES,
  });
  const child = tracer.startSpan(
    "send {monarch:migrations}",
    { kind: SpanKind.PRODUCER },
    trace.setSpan(context.active(), root),
  );
  child.setStatus({ code: SpanStatusCode.ERROR, message: "queue full" });
  child.end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();
  return {
    traceId: root.spanContext().traceId,
    rootId: root.spanContext().spanId,
    childId: child.spanContext().spanId,
  };
}

function spanNamed(spans: readonly CollectedSpan[], name: string): CollectedSpan {
  const span = spans.find((candidate) => candidate.name === name);
  if (!span) throw new Error(`no span named ${name} among ${spans.map((s) => s.name).join(", ")}`);
  return span;
}

function post(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string>,
): Promise<{ status: number; type: string | null; text: string }> {
  return fetch(url, { method: "POST", body, headers }).then(async (response) => ({
    status: response.status,
    type: response.headers.get("content-type"),
    text: await response.text(),
  }));
}

const JSON_HEADERS = { "content-type": "application/json" };
const PROTOBUF_HEADERS = { "content-type": "application/x-protobuf" };

describe("startTraceCollector", () => {
  let collector: TraceCollector;
  beforeAll(async () => {
    collector = await startTraceCollector();
  });
  afterEach(() => collector.clear());
  afterAll(() => collector.stop());

  it("listens on loopback and tells exporters where to post", () => {
    expect(collector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(collector.tracesUrl).toBe(`${collector.url}/v1/traces`);
  });

  describe.each(EXPORTERS)("with the $format exporter", ({ exporter }) => {
    it("keeps ids, parent links, names, kinds, times, attributes, resource, scope and status", async () => {
      const before = Date.now();
      const { traceId, rootId, childId } = await exportTrace(exporter({ url: collector.tracesUrl }));
      const spans = await collector.waitForSpans((received) => received.length === 2);
      const root = spanNamed(spans, "POST /v1/migrations");
      const child = spanNamed(spans, "send {monarch:migrations}");
      expect(root).toMatchObject({
        traceId,
        spanId: rootId,
        parentSpanId: undefined,
        traceState: undefined,
        kind: "SERVER",
        status: { code: "UNSET", message: "" },
        attributes: ROOT_ATTRIBUTES,
        scopeName: "monarch-test",
      });
      expect(root.resource).toEqual({ "service.name": "ingest" });
      expect(child).toMatchObject({
        traceId,
        spanId: childId,
        parentSpanId: rootId,
        kind: "PRODUCER",
        status: { code: "ERROR", message: "queue full" },
        attributes: {},
      });
      expect(root.startTimeMs).toBeGreaterThanOrEqual(before - 1);
      expect(root.startTimeMs).toBeLessThanOrEqual(child.startTimeMs);
      expect(child.endTimeMs).toBeLessThanOrEqual(root.endTimeMs);
      expect(root.endTimeMs).toBeLessThanOrEqual(Date.now() + 1);
      expect(collector.traces()).toEqual([{ traceId, spans }]);
    });

    it("accepts gzip-compressed batches", async () => {
      const first = await exportTrace(exporter({ url: collector.tracesUrl, compression: GZIP }), "batch");
      const second = await exportTrace(
        exporter({ url: collector.tracesUrl, compression: GZIP }),
        "batch",
        "worker",
      );
      await collector.waitForSpans((received) => received.length === 4);
      expect(collector.traces().map(({ traceId, spans }) => [traceId, spans.length])).toEqual([
        [first.traceId, 2],
        [second.traceId, 2],
      ]);
      expect(collector.traces()[1]?.spans[0]?.resource["service.name"]).toBe("worker");
    });
  });

  it("accepts base64 ids, int64 strings and enum names in OTLP/JSON, as some exporters send them", async () => {
    const traceId = Buffer.from("4bf92f3577b34da6a3ce929d0e0e4736", "hex");
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "legacy" } }] },
          scopeSpans: [
            {
              scope: { name: "old-tracer" },
              spans: [
                {
                  traceId: traceId.toString("base64"),
                  spanId: Buffer.from("00f067aa0ba902b7", "hex").toString("base64"),
                  parentSpanId: "",
                  name: "GET /",
                  kind: "SPAN_KIND_CLIENT",
                  startTimeUnixNano: "1700000000000000000",
                  endTimeUnixNano: 1700000000012345600,
                  attributes: [
                    { key: "count", value: { intValue: "9007199254740993" } },
                    { key: "nan", value: { doubleValue: "NaN" } },
                    { key: "raw", value: { bytesValue: Buffer.from([1, 2, 3]).toString("base64") } },
                    {
                      key: "nested",
                      value: { kvlistValue: { values: [{ key: "a", value: { boolValue: true } }] } },
                    },
                    { key: "empty", value: {} },
                  ],
                  status: { code: "STATUS_CODE_OK" },
                },
              ],
            },
          ],
        },
      ],
    };
    const response = await post(collector.tracesUrl, JSON.stringify(body), JSON_HEADERS);
    expect(response).toEqual({ status: 200, type: "application/json", text: "{}" });
    expect(collector.spans()).toEqual([
      {
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
        spanId: "00f067aa0ba902b7",
        parentSpanId: undefined,
        traceState: undefined,
        name: "GET /",
        kind: "CLIENT",
        startTimeMs: 1_700_000_000_000,
        // Sent as a JSON number (which cannot hold every nanosecond timestamp exactly), read all the same.
        endTimeMs: 1_700_000_000_012.345,
        status: { code: "OK", message: "" },
        attributes: {
          count: 9007199254740992,
          nan: Number.NaN,
          raw: new Uint8Array([1, 2, 3]),
          nested: { a: true },
          empty: null,
        },
        resource: { "service.name": "legacy" },
        scopeName: "old-tracer",
      },
    ]);
  });

  it("decodes bytes, kvlist and nested array values from OTLP/protobuf and skips fields it does not keep", async () => {
    const keyValue = (key: string, anyValue: number[]) => [...lenField(1, key), ...lenField(2, anyValue)];
    const span = [
      ...lenField(1, [...Buffer.from("0af7651916cd43dd8448eb211c80319c", "hex")]),
      ...lenField(2, [...Buffer.from("b7ad6b7169203331", "hex")]),
      ...lenField(3, "vendor=1"),
      ...lenField(4, [...Buffer.from("00f067aa0ba902b7", "hex")]),
      ...lenField(5, "consume"),
      ...uintField(6, 5),
      ...fixed64Field(7, 1_700_000_000_000_000_000n),
      ...fixed64Field(8, 1_700_000_000_001_500_000n),
      ...lenField(9, keyValue("raw", lenField(7, [0xde, 0xad]))),
      ...lenField(9, keyValue("map", lenField(6, lenField(1, keyValue("depth", uintField(3, 2)))))),
      ...lenField(
        9,
        keyValue("list", lenField(5, [...lenField(1, doubleField(4, 1.5)), ...lenField(1, [])])),
      ),
      ...lenField(11, [...fixed64Field(1, 1n), ...lenField(2, "an event")]),
      ...fixed32Field(16, 0x101),
      ...lenField(15, [...lenField(2, "boom"), ...uintField(3, 2)]),
    ];
    const resource = lenField(1, lenField(1, keyValue("service.name", lenField(1, "worker"))));
    const scopeSpans = lenField(2, [...lenField(1, lenField(1, "consumer-lib")), ...lenField(2, span)]);
    // The resource after its scope spans: field order on the wire is free.
    const request = lenField(1, [...scopeSpans, ...resource]);
    const response = await post(collector.tracesUrl, new Uint8Array(request), PROTOBUF_HEADERS);
    expect(response).toEqual({ status: 200, type: "application/x-protobuf", text: "" });
    expect(collector.spans()).toEqual([
      {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        parentSpanId: "00f067aa0ba902b7",
        traceState: "vendor=1",
        name: "consume",
        kind: "CONSUMER",
        startTimeMs: 1_700_000_000_000,
        endTimeMs: 1_700_000_000_001.5,
        status: { code: "ERROR", message: "boom" },
        attributes: { raw: new Uint8Array([0xde, 0xad]), map: { depth: 2 }, list: [1.5, null] },
        resource: { "service.name": "worker" },
        scopeName: "consumer-lib",
      },
    ]);
  });

  describe("waitForSpans", () => {
    it("resolves when the export that satisfies it arrives, before the exporter hears back", async () => {
      let settled: CollectedSpan[] | undefined;
      const waiting = collector
        .waitForSpans((spans) => spans.some((span) => span.kind === "PRODUCER"))
        .then((spans) => {
          settled = spans;
          return spans;
        });
      expect(settled).toBeUndefined();
      await exportTrace(new ProtobufExporter({ url: collector.tracesUrl }));
      // The wait settled as the spans were stored, not at some later poll.
      expect(settled?.map((span) => span.kind)).toContain("PRODUCER");
      await waiting;
    });

    it("resolves at once when the spans are already there", async () => {
      await exportTrace(new JsonExporter({ url: collector.tracesUrl }));
      const spans = await collector.waitForSpans((received) => received.length >= 2, { timeoutMs: 1 });
      expect(spans).toHaveLength(2);
    });

    it("times out with an error that lists what did arrive", async () => {
      await exportTrace(new JsonExporter({ url: collector.tracesUrl }));
      const waiting = collector.waitForSpans((spans) => spans.some((span) => span.name === "never"), {
        timeoutMs: 50,
      });
      await expect(waiting).rejects.toThrow(SpanWaitTimeoutError);
      await expect(waiting).rejects.toThrow(
        "the awaited spans did not arrive within 50 ms; 2 spans received: send {monarch:migrations} (PRODUCER), POST /v1/migrations (SERVER)",
      );
    });

    it("rejects with what the predicate throws", async () => {
      await expect(
        collector.waitForSpans(() => {
          throw new Error("bad predicate");
        }),
      ).rejects.toThrow("bad predicate");
    });

    it("rejects pending waits when the collector stops, and forgets spans on clear", async () => {
      const own = await startTraceCollector();
      await exportTrace(new JsonExporter({ url: own.tracesUrl }));
      own.clear();
      expect(own.spans()).toEqual([]);
      const waiting = own.waitForSpans((spans) => spans.length > 0);
      await own.stop();
      await expect(waiting).rejects.toThrow(TraceCollectorStoppedError);
      await expect(own.waitForSpans(() => true)).rejects.toThrow(TraceCollectorStoppedError);
    });
  });

  describe("answers what a real collector would to bad requests", () => {
    it.each([
      ["JSON that does not parse", "{", JSON_HEADERS, /^malformed application\/json body: body is not JSON/],
      [
        "JSON of the wrong shape",
        JSON.stringify({ resourceSpans: [{ scopeSpans: {} }] }),
        JSON_HEADERS,
        /resourceSpans\[0\]\.scopeSpans is not an array/,
      ],
      [
        "an id of the wrong length",
        JSON.stringify({
          resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "abcd", spanId: "00f067aa0ba902b7" }] }] }],
        }),
        JSON_HEADERS,
        /traceId has 3 bytes, not 16/,
      ],
      [
        "protobuf cut off mid-field",
        new Uint8Array(lenField(1, lenField(2, [1, 2, 3])).slice(0, 4)),
        PROTOBUF_HEADERS,
        /^malformed application\/x-protobuf body: field at byte 2 needs 5 bytes/,
      ],
      [
        "protobuf with the wrong wire type",
        new Uint8Array(uintField(1, 7)),
        PROTOBUF_HEADERS,
        /field 1 has wire type VARINT, not LEN/,
      ],
    ])("400 for %s", async (_, body, headers, message) => {
      const response = await post(collector.tracesUrl, body, headers);
      expect(response.status).toBe(400);
      expect(response.type).toBe("text/plain; charset=utf-8");
      expect(response.text).toMatch(message);
      expect(collector.spans()).toEqual([]);
    });

    it("400 for a body that claims gzip but is not", async () => {
      const response = await post(collector.tracesUrl, "{}", { ...JSON_HEADERS, "content-encoding": "gzip" });
      expect(response.status).toBe(400);
      expect(response.text).toMatch(/^body is not valid gzip/);
    });

    it("415 for other content types and encodings", async () => {
      const text = await post(collector.tracesUrl, "{}", { "content-type": "text/plain" });
      expect(text.status).toBe(415);
      expect(text.text).toMatch(/send application\/json or application\/x-protobuf/);
      const brotli = await post(collector.tracesUrl, "{}", { ...JSON_HEADERS, "content-encoding": "br" });
      expect(brotli.status).toBe(415);
    });

    it("404 for other paths and 405 for other methods", async () => {
      expect((await post(`${collector.url}/v1/metrics`, "{}", JSON_HEADERS)).status).toBe(404);
      const get = await fetch(collector.tracesUrl);
      expect(get.status).toBe(405);
      expect(get.headers.get("allow")).toBe("POST");
    });

    it("413 for bodies over 20 MiB, compressed or once decompressed", async () => {
      const huge = new Uint8Array(20 * 1024 * 1024 + 1);
      expect((await post(collector.tracesUrl, huge, PROTOBUF_HEADERS)).status).toBe(413);
      const bomb = gzipSync(huge);
      expect(bomb.length).toBeLessThan(100_000);
      const response = await post(collector.tracesUrl, bomb, {
        ...PROTOBUF_HEADERS,
        "content-encoding": "gzip",
      });
      expect(response.status).toBe(413);
      expect(response.text).toBe("body larger than 20971520 bytes\n");
    });
  });

  it("binds the port it is given", async () => {
    const port = await findFreePort();
    const own = await startTraceCollector({ port });
    try {
      expect(own.url).toBe(`http://127.0.0.1:${port}`);
      await expect(startTraceCollector({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await own.stop();
    }
  });
});

describe("the protobuf wire reader", () => {
  it("splits a message into varint, fixed64, length-delimited and fixed32 fields", () => {
    const message = new Uint8Array([
      ...uintField(1, 300),
      ...uintField(2, -2n),
      ...fixed64Field(3, 2n ** 64n - 1n),
      ...doubleField(4, -0.5),
      ...lenField(5, "héllo"),
      ...fixed32Field(6, 7),
      ...uintField(536_870_911, 1),
    ]);
    const fields = [...fieldsOf(message)];
    expect(fields.map((field) => [field.number, field.wireType])).toEqual([
      [1, "VARINT"],
      [2, "VARINT"],
      [3, "I64"],
      [4, "I64"],
      [5, "LEN"],
      [6, "I32"],
      [536_870_911, "VARINT"],
    ]);
    const field = (index: number) => {
      const found = fields[index];
      if (!found) throw new Error(`no field at ${index}`);
      return found;
    };
    expect(varintOf(field(0))).toBe(300n);
    // A negative int64 takes all ten bytes a varint may have.
    expect(varint(-2n)).toHaveLength(10);
    expect(int64Of(field(1))).toBe(-2n);
    expect(fixed64Of(field(2))).toBe(2n ** 64n - 1n);
    expect(doubleOf(field(3))).toBe(-0.5);
    expect(stringOf(field(4))).toBe("héllo");
    expect(bytesOf(field(4))).toEqual(new Uint8Array(Buffer.from("héllo")));
  });

  it.each([
    ["a cut-off varint", [0x08, 0x80], /varint at byte 1 is cut off/],
    [
      "a varint over ten bytes",
      [0x08, ...new Array(10).fill(0xff), 0x01],
      /varint at byte 1 is longer than 10 bytes/,
    ],
    ["a cut-off fixed64", [0x09, 1, 2, 3], /field at byte 1 needs 8 bytes but the message has 3 left/],
    ["a length past the end", [0x0a, 0x05, 1], /field at byte 2 needs 5 bytes but the message has 1 left/],
    ["a group", [0x0b], /field 1 has unsupported wire type 3/],
    ["field number 0", [0x00, 0x01], /field number 0/],
  ])("rejects %s", (_, bytes, message) => {
    expect(() => [...fieldsOf(new Uint8Array(bytes))]).toThrow(ProtobufDecodeError);
    expect(() => [...fieldsOf(new Uint8Array(bytes))]).toThrow(message);
  });

  it("rejects a field read as the wrong scalar, and strings that are not UTF-8", () => {
    const [number] = [...fieldsOf(new Uint8Array(uintField(1, 1)))];
    const [text] = [...fieldsOf(new Uint8Array(lenField(2, [0xff, 0xfe])))];
    if (!number || !text) throw new Error("fields missing");
    expect(() => fixed64Of(number)).toThrow("field 1 has wire type VARINT, not I64");
    expect(() => varintOf(text)).toThrow("field 2 has wire type LEN, not VARINT");
    expect(() => stringOf(text)).toThrow("field 2 is not valid UTF-8");
  });
});

describe("formatTrace", () => {
  const span = (
    spanId: string,
    parentSpanId: string | undefined,
    startTimeMs: number,
    endTimeMs: number,
  ) => ({
    traceId: "t",
    spanId,
    parentSpanId,
    traceState: undefined,
    name: `op-${spanId}`,
    kind: "INTERNAL" as const,
    startTimeMs,
    endTimeMs,
    status: { code: "UNSET" as const, message: "" },
    attributes: {},
    resource: { "service.name": "svc" },
    scopeName: "s",
  });

  it("nests children in start order, lifts spans whose parent is elsewhere, and keeps spans in a cycle", () => {
    const text = formatTrace({
      traceId: "t",
      spans: [
        span("b", "a", 5, 6),
        span("a", undefined, 0, 10),
        span("c", "a", 1, 1.25),
        span("d", "elsewhere", 2, 3),
        span("x", "y", 4, 5),
        span("y", "x", 4.5, 5),
      ],
    });
    expect(text).toBe(
      [
        "trace t (6 spans, 10.0 ms)",
        "  svc  op-a  INTERNAL  10.0 ms",
        "    svc  op-c  INTERNAL  250 µs",
        "    svc  op-b  INTERNAL  1.0 ms",
        "  svc  op-d  INTERNAL  1.0 ms",
        "  svc  op-x  INTERNAL  1.0 ms",
        "    svc  op-y  INTERNAL  500 µs",
      ].join("\n"),
    );
  });
});

describe("the collector CLI", () => {
  let cli: string;
  beforeAll(() => {
    cli = join(dirname(builtEntry(fileURLToPath(new URL("..", import.meta.url)))), "otlp/cli.js");
  });

  it("prints each trace as a tree once it is complete, and on a signal prints what is pending and exits", async () => {
    const child = spawn(process.execPath, [cli, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = once(child, "close");
    try {
      const stdout = watch(child.stdout);
      const [, url] = await stdout.waitFor(
        /trace collector on (http:\/\/127\.0\.0\.1:\d+) \(POST \/v1\/traces\)/,
      );
      const first = await exportTrace(new ProtobufExporter({ url: `${url}/v1/traces` }));
      const exportedAt = Date.now();
      await stdout.waitFor(new RegExp(`trace ${first.traceId} \\(2 spans, [\\d.]+ (ms|µs)\\)\\n`));
      // Printed only after a quiet second, so that spans still in flight join their trace.
      expect(Date.now() - exportedAt).toBeGreaterThanOrEqual(900);
      expect(stdout.text()).toMatch(
        new RegExp(
          `trace ${first.traceId} \\(2 spans, [\\d.]+ (ms|µs)\\)\\n` +
            "  ingest  POST /v1/migrations  SERVER  [\\d.]+ (ms|µs)\\n" +
            "    ingest  send \\{monarch:migrations\\}  PRODUCER  [\\d.]+ (ms|µs)  ERROR: queue full\\n",
        ),
      );

      const second = await exportTrace(new JsonExporter({ url: `${url}/v1/traces` }), "simple", "worker");
      child.kill("SIGINT");
      expect(await exited).toEqual([0, null]);
      expect(stdout.text()).toContain(`trace ${second.traceId} (2 spans,`);
      expect(stdout.text()).toContain("  worker  POST /v1/migrations  SERVER");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses bad arguments with its usage", async () => {
    const child = spawn(process.execPath, [cli, "--port", "http"], { stdio: ["ignore", "pipe", "pipe"] });
    const stderr = watch(child.stderr);
    expect(await once(child, "close")).toEqual([2, null]);
    expect(stderr.text()).toMatch(/^usage: collector \[--port 4318\]/);
  });
});
