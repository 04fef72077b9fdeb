import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { startValkey } from "@monarch/sandbox";
import { closeClient, createClient } from "@monarch/valkey-client";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createLogger } from "../src/logging/logger.js";
import { ValkeyLogStream } from "../src/logging/valkey-log-stream.js";

const token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(new BasicTracerProvider());
});
afterAll(() => {
  trace.disable();
  context.disable();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capture() {
  const lines: string[] = [];
  return { lines, stdout: { write: (line: string) => lines.push(line) } };
}

function setup(
  url: string,
  options: Pick<
    ConstructorParameters<typeof ValkeyLogStream>[0],
    "maxBufferedLines" | "hooks" | "flushDelayMs"
  > = {},
) {
  const streamPrefix = `test:logs:${randomUUID().slice(0, 8)}`;
  const valkey = new ValkeyLogStream({
    connection: { endpoint: { url }, maxReconnectDelayMs: 100 },
    streamFor: (day) => `${streamPrefix}:${day.toISOString().slice(0, 10)}`,
    ...options,
  });
  const reader = createClient({ endpoint: { url } });
  cleanups.push(
    () => valkey.close(500),
    () => closeClient(reader),
  );
  const { lines, stdout } = capture();
  const logger = createLogger({
    service: "ingest",
    instance: "ingest-1",
    version: "1.2.3",
    secrets: [token],
    valkey,
    stdout,
  });
  const today = `${streamPrefix}:${new Date().toISOString().slice(0, 10)}`;
  const stored = async () => {
    const entries = await reader.xrange(today, "-", "+");
    return entries.map(([, fields]) => JSON.parse(fields[1] ?? "{}") as Record<string, unknown>);
  };
  return { logger, valkey, reader, lines, today, stored };
}

describe("logs", () => {
  it("land in the day's stream with the base fields and the active span's ids, and expire after the retention", async () => {
    const { logger, valkey, reader, today, stored } = setup(inject("valkeyUrl"));
    const span = trace.getTracer("test").startSpan("work");
    context.with(trace.setSpan(context.active(), span), () =>
      logger.info({ requestId: "r1" }, "accepted request"),
    );
    span.end();
    logger.warn("no span here");
    await valkey.flush();
    const [first, second] = await stored();
    expect(first).toMatchObject({
      level: 30,
      msg: "accepted request",
      service: "ingest",
      instance: "ingest-1",
      version: "1.2.3",
      requestId: "r1",
    });
    expect(typeof first?.time).toBe("number");
    expect(first?.trace_id).toBe(span.spanContext().traceId);
    expect(first?.span_id).toBe(span.spanContext().spanId);
    expect(second).not.toHaveProperty("trace_id");
    expect(second).toMatchObject({ level: 40, msg: "no span here" });
    const ttlMs = await reader.pttl(today);
    expect(ttlMs).toBeGreaterThan(30 * 86_400_000);
    expect(ttlMs).toBeLessThanOrEqual(31 * 86_400_000);
  });

  it("never let a secret through, whether in a header, a nested object or an error message", async () => {
    const { logger, valkey, lines, stored } = setup(inject("valkeyUrl"));
    logger.info({ headers: { authorization: `Bearer ${token}` } }, "request");
    logger.info({ request: { auth: { credential: token } }, list: [`x${token}y`] }, "nested");
    logger.error({ err: new Error(`GitHub refused token ${token}`) }, `failed with ${token}`);
    logger.info({ token: "some-other-unknown-token" }, "by field name");
    await valkey.flush();
    const everything = [...lines, ...(await stored()).map((entry) => JSON.stringify(entry))].join("\n");
    expect(lines).toHaveLength(4);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain("some-other-unknown-token");
    expect(everything).toContain("[REDACTED]");
    expect(everything).toContain("GitHub refused token [REDACTED]");
  });

  it("keep flowing when Valkey goes away and comes back, counting what the bounded buffer dropped", async () => {
    const server = await startValkey({ appendOnly: true });
    cleanups.push(() => server.stop());
    const { logger, valkey, lines, stored } = setup(server.url, { maxBufferedLines: 50 });
    logger.info("before");
    await valkey.flush();
    await server.kill();
    const started = performance.now();
    for (let index = 0; index < 200; index++) logger.info({ index }, "while down");
    // Logging never waits for Valkey.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(lines).toHaveLength(201);
    await sleep(300);
    expect(valkey.dropped).toBe(150);
    await server.relaunch();
    logger.info("after");
    await valkey.flush(10_000);
    const messages = (await stored()).map((entry) => (entry.msg === "while down" ? entry.index : entry.msg));
    // The buffer held the newest 50 lines; "after" pushed out one more. What survived is in order.
    const survivors = Array.from({ length: 49 }, (_, offset) => 151 + offset);
    expect(messages).toEqual(["before", ...survivors, "after"]);
    expect(valkey.dropped).toBe(151);
  });

  it("wait for the first connection without calling it an outage", async () => {
    const said: string[] = [];
    // Sent at once: the first batch goes before the connection is made.
    const { logger, valkey, stored } = setup(inject("valkeyUrl"), {
      flushDelayMs: 0,
      hooks: { onFailing: (error) => said.push(String(error)), onRecovered: () => said.push("recovered") },
    });
    logger.info("first line");
    await valkey.flush(5_000);
    expect((await stored()).map((entry) => entry.msg)).toEqual(["first line"]);
    expect(said).toEqual([]);
  });

  it("say once when lines stop reaching Valkey though it answers, and once when they reach it again", async () => {
    const said: string[] = [];
    const { logger, valkey, reader, today, stored } = setup(inject("valkeyUrl"), {
      maxBufferedLines: 5,
      // Hooks that throw, too: the lines flow on regardless.
      hooks: {
        onFailing: (error) => {
          said.push(`failing: ${String(error)}`);
          throw new Error("a broken hook");
        },
        onRecovered: (dropped) => {
          said.push(`recovered, ${dropped} dropped`);
          throw new Error("a broken hook");
        },
      },
    });
    // The day's stream key taken by a string: every XADD to it now fails.
    await reader.set(today, "not a stream");
    for (let index = 0; index < 8; index++) {
      logger.info({ index }, "refused");
      await valkey.flush(200);
    }
    expect(said).toEqual([expect.stringMatching(/^failing: .*WRONGTYPE/)]);
    await reader.del(today);
    logger.info("after");
    await valkey.flush(5_000);
    expect(said).toEqual([expect.stringMatching(/WRONGTYPE/), "recovered, 4 dropped"]);
    expect((await stored()).map((entry) => entry.index ?? entry.msg)).toEqual([4, 5, 6, 7, "after"]);
  });
});
