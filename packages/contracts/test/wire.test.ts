// The contracts against the code that really writes and reads these entries: valkey-client's
// producer, consumer and heartbeat sink, on a private Valkey server.
import { startValkey, until, type ValkeyServer } from "@monarch/sandbox";
import {
  closeClient,
  createClient,
  listLiveInstances,
  type StandardSchemaV1,
  StreamConsumer,
  StreamProducer,
  type ValkeyClient,
  ValkeyHeartbeatSink,
} from "@monarch/valkey-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CONSUMER_GROUPS,
  DeadLetterEntry,
  EVENTS_DEAD_LETTER_STREAM,
  EVENTS_STREAM,
  HEARTBEAT_KEY_PREFIX,
  HeartbeatRecord,
  INGEST_DEAD_LETTER_STREAM,
  ingestRejectionFields,
  MIGRATIONS_DEAD_LETTER_STREAM,
  MIGRATIONS_STREAM,
  MigrationEvent,
  MigrationRequested,
  parseMigrationRequest,
} from "../src/index.js";

let server: ValkeyServer;
let client: ValkeyClient;
const consumers: Array<{ stop(deadlineMs: number): Promise<void> }> = [];

beforeAll(async () => {
  server = await startValkey();
  client = createClient({ endpoint: { url: server.url }, name: "contracts-test" });
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((consumer) => consumer.stop(1_000)));
  await client.flushall();
});

afterAll(async () => {
  await closeClient(client);
  await server.stop();
});

/** The entries of a stream as field records. */
async function entries(stream: string): Promise<Array<Record<string, string>>> {
  const reply = (await client.xrange(stream, "-", "+")) as Array<[string, string[]]>;
  return reply.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let index = 0; index + 1 < fields.length; index += 2)
      record[fields[index] ?? ""] = fields[index + 1] ?? "";
    return record;
  });
}

const message: MigrationRequested = {
  schemaVersion: 1,
  requestId: "req-1",
  receivedAt: "2026-11-23T08:47:00.000Z",
  via: "inbox",
  request: parseMigrationRequest(
    '{"notification_channel": "C06GHMZB3M3", "source_repo": "https://github.com/nss-group-projects/cider-falls", "all_target_repositories": ["stevebrownlee/rare-test"]}',
  ),
};

/** A migrator-group consumer that dead-letters an entry after its first failure. */
function consume<T>(
  stream: string,
  schema: StandardSchemaV1<unknown, T>,
  handler: (message: T) => Promise<void>,
): StreamConsumer<T> {
  const consumer = new StreamConsumer<T>({
    client,
    stream,
    group: CONSUMER_GROUPS.migrator,
    schema,
    blockMs: 100,
    maxDeliveries: 1,
    handler: ({ message }) => handler(message),
  });
  consumers.push(consumer);
  return consumer;
}

describe("on the wire, through valkey-client", () => {
  it("a MigrationRequested that the producer appends is what the migrator's consumer receives", async () => {
    const received: MigrationRequested[] = [];
    await consume(MIGRATIONS_STREAM, MigrationRequested, async (request) => {
      received.push(request);
    }).start();
    await new StreamProducer({ client, stream: MIGRATIONS_STREAM, schema: MigrationRequested }).append(
      message,
    );
    await until(() => received.length === 1);
    expect(received[0]).toEqual(message);
  });

  it("an entry from a newer producer is dead-lettered with a reason the contract reads back", async () => {
    await consume(MIGRATIONS_STREAM, MigrationRequested, async () => {}).start();
    await client.xadd(MIGRATIONS_STREAM, "*", "data", JSON.stringify({ ...message, schemaVersion: 2 }));
    await until(async () => (await client.xlen(MIGRATIONS_DEAD_LETTER_STREAM)) === 1);
    const [entry] = await entries(MIGRATIONS_DEAD_LETTER_STREAM);
    expect(DeadLetterEntry.parse(entry)).toMatchObject({
      cause: "invalid",
      source_stream: MIGRATIONS_STREAM,
      group: CONSUMER_GROUPS.migrator,
      deliveries: 1,
      reason: expect.stringContaining(
        "schemaVersion: newer schema version 2; this consumer understands up to 1",
      ),
    });
  });

  it("an event whose handler keeps failing is dead-lettered as max-deliveries, readable by the contract", async () => {
    await consume(EVENTS_STREAM, MigrationEvent, async () => {
      throw new Error("Slack is down");
    }).start();
    const event: MigrationEvent = {
      schemaVersion: 1,
      type: "request-failed",
      requestId: "req-1",
      at: "2026-11-23T08:47:00.000Z",
      notificationChannel: "C06GHMZB3M3",
      dryRun: false,
      reason: "the source repository does not exist",
      counts: { created: 0, skipped: 0, failed: 0 },
    };
    await new StreamProducer({ client, stream: EVENTS_STREAM, schema: MigrationEvent }).append(event);
    await until(async () => (await client.xlen(EVENTS_DEAD_LETTER_STREAM)) === 1);
    const [entry] = await entries(EVENTS_DEAD_LETTER_STREAM);
    const deadLetter = DeadLetterEntry.parse(entry);
    expect(deadLetter).toMatchObject({
      cause: "max-deliveries",
      source_stream: EVENTS_STREAM,
      reason: "Error: Slack is down",
      deliveries: 1,
    });
    expect(
      deadLetter.cause !== "rejected" && MigrationEvent.parse(JSON.parse(deadLetter.data ?? "")),
    ).toEqual(event);
  });

  it("an ingest rejection appended as fields reads back whole", async () => {
    const fields = ingestRejectionFields({
      reason: "the request is not JSON",
      via: "pubsub",
      receivedAt: new Date("2026-11-23T08:47:00.000Z"),
      raw: "{'single': 'quotes'} ✓",
    });
    await client.xadd(INGEST_DEAD_LETTER_STREAM, "*", ...Object.entries(fields).flat());
    const [entry] = await entries(INGEST_DEAD_LETTER_STREAM);
    expect(DeadLetterEntry.parse(entry)).toEqual({ ...fields, payload_bytes: 24, truncated: false });
  });

  it("a heartbeat that the sink stores under the contract's prefix reads as a HeartbeatRecord", async () => {
    const sink = new ValkeyHeartbeatSink({
      client,
      service: "migrator",
      instance: "host-1:4242",
      ttlMs: 10_000,
      version: "0.1.0",
      keyPrefix: HEARTBEAT_KEY_PREFIX,
    });
    const status = { name: "migrator", healthy: true, lastHeartbeatAt: 1_000, missedChecks: 0, since: 500 };
    await sink.record(status);
    const stored = await client.hget(`${HEARTBEAT_KEY_PREFIX}:status`, "migrator/host-1:4242");
    expect(HeartbeatRecord.parse(JSON.parse(stored ?? "null"))).toMatchObject({
      service: "migrator",
      instance: "host-1:4242",
      version: "0.1.0",
      pid: process.pid,
      status,
    });
    const [live] = await listLiveInstances(client, "migrator", { keyPrefix: HEARTBEAT_KEY_PREFIX });
    expect(live && HeartbeatRecord.parse(live)).toMatchObject({ status });
  });
});
