import { INGEST_INBOX_STREAM, LEGACY_REQUEST_CHANNEL, MIGRATIONS_STREAM } from "@monarch/contracts";
import { type CollectedSpan, startTraceCollector, type TraceCollector } from "@monarch/sandbox";
import { DATA_FIELD } from "@monarch/valkey-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postMigration, requestOf, startIngest, streamFields, useValkey } from "./support/ingest.js";

const valkey = useValkey();
const register = new URL("../../../packages/runtime/dist/tracing/register.js", import.meta.url).href;
let collector: TraceCollector;

beforeAll(async () => {
  collector = await startTraceCollector();
});
afterAll(() => collector?.stop());

const payload = (target: string) =>
  JSON.stringify({
    source_repo: "https://github.com/nss-group-projects/cider-falls",
    all_target_repositories: [target],
    notification_channel: "C06GHMZB3M3",
  });

/** The W3C trace context stored with each entry of the migrations stream, by request id. */
async function storedTraceparents(): Promise<Map<string, string>> {
  const entries = await streamFields(valkey.client(), MIGRATIONS_STREAM);
  return new Map(entries.map((fields) => [requestOf(fields).requestId, fields.traceparent ?? ""]));
}

describe("traces", () => {
  it("start at ingest on every way in, and travel with the request into the migrations stream", async () => {
    const ingest = await startIngest(
      valkey.server().url,
      {
        OTEL_SERVICE_NAME: "ingest",
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_BSP_SCHEDULE_DELAY: "100",
      },
      ["--import", register],
    );
    const accepted = await postMigration(ingest.url, payload("team-http/rare-test"));
    expect(accepted.status).toBe(202);
    const { requestId: httpId } = (await accepted.json()) as { requestId: string };
    valkey.cli(["PUBLISH", LEGACY_REQUEST_CHANNEL, payload("team-pubsub/rare-test")]);
    const inboxEntry = valkey.cli([
      "XADD",
      INGEST_INBOX_STREAM,
      "*",
      DATA_FIELD,
      payload("team-inbox/rare-test"),
    ]);

    const sends = (spans: readonly CollectedSpan[]) =>
      spans.filter((span) => span.kind === "PRODUCER" && span.name === `send ${MIGRATIONS_STREAM}`);
    const spans = await collector.waitForSpans((received) => sends(received).length === 3);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const parentOf = (span: CollectedSpan) => byId.get(span.parentSpanId ?? "");
    const traceparents = await storedTraceparents();
    expect(traceparents.size).toBe(3);

    for (const send of sends(spans)) {
      const root = parentOf(send);
      expect(send.resource["service.name"]).toBe("ingest");
      // Each request's trace starts in ingest: its root span has no parent.
      expect(root?.parentSpanId).toBeUndefined();
      // The entry carries the producer span's context, for the migrator to continue the trace.
      expect([...traceparents.values()]).toContain(`00-${send.traceId}-${send.spanId}-01`);
    }
    const roots = sends(spans).map((send) => parentOf(send));
    const rootNames = (kind: string) => roots.filter((root) => root?.kind === kind).map((root) => root?.name);
    expect(rootNames("CONSUMER").sort()).toEqual([
      `process ${INGEST_INBOX_STREAM}`,
      `receive ${LEGACY_REQUEST_CHANNEL}`,
    ]);
    expect(rootNames("SERVER")).toEqual([expect.stringMatching(/^POST/)]);
    const serverSend = sends(spans).find((send) => parentOf(send)?.kind === "SERVER");
    expect(traceparents.get(httpId)).toBe(`00-${serverSend?.traceId}-${serverSend?.spanId}-01`);
    expect(traceparents.has(`inbox-${inboxEntry}`)).toBe(true);
  });
});
