import {
  CONSUMER_GROUPS,
  INGEST_DEAD_LETTER_STREAM,
  INGEST_INBOX_STREAM,
  LEGACY_REQUEST_CHANNEL,
  MAX_DEAD_LETTER_PAYLOAD_BYTES,
  MAX_REQUEST_BYTES,
} from "@monarch/contracts";
import { until } from "@monarch/sandbox";
import { describe, expect, it } from "vitest";
import {
  type IngestProcess,
  LEGACY_PAYLOAD,
  payloadFor,
  sharedIngest,
  startIngest,
  storedRejections,
  storedRequests,
  useValkey,
} from "./support/ingest.js";

const valkey = useValkey();
const GROUP = CONSUMER_GROUPS.ingest;

/** The platform's one-line change from PUBLISH: `XADD {monarch:ingest}:inbox * data '<payload>'`. */
const addToInbox = (payload: string, field = "data"): string =>
  valkey.cli(["XADD", INGEST_INBOX_STREAM, "*", field], payload);

const publish = (payload: string): string => valkey.cli(["PUBLISH", LEGACY_REQUEST_CHANNEL, payload]);

/** When an inbox entry was added, from its id: the same on every delivery. */
const timeOf = (entryId: string): string => new Date(Number(entryId.split("-")[0])).toISOString();

const requests = () => storedRequests(valkey.client());

const requestsWithId = async (requestId: string) =>
  (await requests()).filter((request) => request.requestId === requestId);

const requestsFor = async (target: string) =>
  (await requests()).filter((request) => request.request.targets[0]?.name === target);

const rejections = () => storedRejections(valkey.client());

/** Inbox entries delivered to ingest's group and not acknowledged, in all or by one consumer. */
async function pending(consumer?: string): Promise<number> {
  const [count, , , consumers] = (await valkey.client().xpending(INGEST_INBOX_STREAM, GROUP)) as [
    number,
    unknown,
    unknown,
    [string, string][] | null,
  ];
  if (consumer === undefined) return count;
  return Number(consumers?.find(([name]) => name === consumer)?.[1] ?? 0);
}

/** Waits for the request an inbox entry becomes, then for the entry's acknowledgement. */
async function untilStoredAndAcknowledged(entryId: string): Promise<void> {
  await until(async () => (await requestsWithId(`inbox-${entryId}`)).length > 0);
  await until(async () => (await pending()) === 0);
}

/** `monarch_ingest_requests_total` of one intake, by outcome, from the service's `/metrics`. */
async function outcomes(via: string, ingest: IngestProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`${ingest.metricsUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^monarch_ingest_requests_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries(
      [...(match[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]),
    );
    if (labels.via === via && labels.outcome !== undefined) counts[labels.outcome] = Number(match[2]);
  }
  return counts;
}

/** The counts that grew since `before`, by how much. */
const growth = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after).flatMap(([outcome, count]) => {
      const added = count - (before[outcome] ?? 0);
      return added > 0 ? [[outcome, added]] : [];
    }),
  );

describe("the inbox stream", () => {
  const ingest = sharedIngest(valkey);

  it("turns the platform's XADD into one request named after the entry, and acknowledges the entry", async () => {
    const entryId = addToInbox(LEGACY_PAYLOAD);
    await untilStoredAndAcknowledged(entryId);
    expect(await requestsWithId(`inbox-${entryId}`)).toEqual([
      {
        schemaVersion: 1,
        requestId: `inbox-${entryId}`,
        receivedAt: timeOf(entryId),
        via: "inbox",
        request: {
          source: { owner: "nss-group-projects", name: "cider-falls" },
          targets: [{ owner: "stevebrownlee", name: "rare-test" }],
          notificationChannel: "C06GHMZB3M3",
          options: { includeClosed: false, dryRun: false },
        },
      },
    ]);
  });

  const notJson = '{ "source_repo": "nss-group-projects/cider-falls", ';
  const schemaViolation = JSON.stringify({
    source_repo: "nss-group-projects/cider-falls",
    all_target_repositories: ["stevebrownlee/rare-test"],
  });
  const huge = JSON.stringify({ padding: "x".repeat(200 * 1024 - '{"padding":""}'.length) });
  // `refused` is the payload as ingest refuses it: an entry without `data` is kept whole, as JSON.
  it.each([
    { problem: "not JSON", field: "data", sent: notJson, refused: notJson, reason: /not JSON/ },
    {
      problem: "against the schema",
      field: "data",
      sent: schemaViolation,
      refused: schemaViolation,
      reason: /notification_channel: .*expected string/,
    },
    {
      problem: "without a data field",
      field: "payload",
      sent: LEGACY_PAYLOAD,
      refused: JSON.stringify({ payload: LEGACY_PAYLOAD }),
      reason: /no "data" field \(it has: payload\)/,
    },
    {
      problem: "of 200 KiB",
      field: "data",
      sent: huge,
      refused: huge,
      reason: new RegExp(`the request is ${200 * 1024} bytes; the limit is ${MAX_REQUEST_BYTES}`),
    },
  ])(
    "refuses an entry $problem into the dead-letter stream, acknowledges it and carries on",
    async ({ problem, field, sent, refused, reason }) => {
      const entryId = addToInbox(sent, field);
      const kept = refused.slice(0, MAX_DEAD_LETTER_PAYLOAD_BYTES);
      await until(async () => (await rejections()).some((rejection) => rejection.payload === kept));
      expect((await rejections()).filter((rejection) => rejection.payload === kept)).toEqual([
        {
          cause: "rejected",
          schema_version: "1",
          reason: expect.stringMatching(reason),
          via: "inbox",
          received_at: timeOf(entryId),
          payload: kept,
          payload_bytes: Buffer.byteLength(refused),
          truncated: kept !== refused,
        },
      ]);
      await until(async () => (await pending()) === 0);

      const next = addToInbox(payloadFor(`after-an-entry-${problem.replaceAll(" ", "-")}`));
      await untilStoredAndAcknowledged(next);
      expect(ingest().child.exitCode).toBeNull();
    },
  );

  it.each([
    { first: "pubsub", second: "inbox" },
    { first: "inbox", second: "pubsub" },
  ] as const)(
    "accepts the same request once when it comes by $first, then by $second within the window",
    async ({ first, second }) => {
      const target = `sent-by-${first}-then-by-${second}`;
      const send = { pubsub: publish, inbox: addToInbox };
      const [firstBefore, secondBefore] = [await outcomes(first, ingest()), await outcomes(second, ingest())];
      send[first](payloadFor(target));
      await until(async () => (await requestsFor(target)).length === 1);
      send[second](payloadFor(target));
      await until(async () => Object.keys(growth(await outcomes(second, ingest()), secondBefore)).length > 0);

      expect(growth(await outcomes(first, ingest()), firstBefore)).toEqual({ accepted: 1 });
      expect(growth(await outcomes(second, ingest()), secondBefore)).toEqual({ duplicate: 1 });
      expect(await requestsFor(target)).toMatchObject([{ via: first }]);
    },
  );

  it("takes back an entry that an instance read and never acknowledged, once that instance starts again", async () => {
    const instance = "ingest-died-holding-an-entry";
    // Added and read by the instance in one transaction, so that the running ingest cannot take it
    // first; then the instance dies without acknowledging it.
    const [[, entryId], [, read]] = (await valkey
      .client()
      .multi()
      .xadd(INGEST_INBOX_STREAM, "*", "data", payloadFor("taken-back"))
      .xreadgroup("GROUP", GROUP, instance, "COUNT", 10, "STREAMS", INGEST_INBOX_STREAM, ">")
      .exec()) as [[null, string], [null, [string, [string, string[]][]][]]];
    expect(read[0]?.[1].map(([id]) => id)).toEqual([entryId]);
    expect(await pending(instance)).toBe(1);

    await startIngest(valkey.server().url, { INSTANCE_ID: instance });
    await untilStoredAndAcknowledged(entryId);
    expect(await requestsFor("taken-back")).toMatchObject([{ requestId: `inbox-${entryId}`, via: "inbox" }]);
  });

  it("stores an entry once when it is delivered again after it was stored but not acknowledged", async () => {
    const entryId = addToInbox(payloadFor("delivered-twice"));
    await untilStoredAndAcknowledged(entryId);
    // As if the instance that stored it had died before acknowledging it: the entry is its again.
    const instance = "ingest-died-before-its-ack";
    await valkey.client().xclaim(INGEST_INBOX_STREAM, GROUP, instance, 0, entryId, "FORCE");
    expect(await pending(instance)).toBe(1);

    const restarted = await startIngest(valkey.server().url, { INSTANCE_ID: instance });
    await until(async () => (await pending()) === 0);
    expect(await outcomes("inbox", restarted)).toEqual({ known: 1 });
    expect(await requestsWithId(`inbox-${entryId}`)).toHaveLength(1);
    expect(restarted.output()).toContain("request seen before; answered as then");
  });

  it("dead-letters a refused entry once when it is delivered again after the dead letter but before the acknowledgement", async () => {
    const refused = JSON.stringify({ source_repo: "nss-group-projects/cider-falls", note: "refused-twice" });
    const deadLetters = async () => (await rejections()).filter((rejection) => rejection.payload === refused);
    const entryId = addToInbox(refused);
    await until(async () => (await deadLetters()).length === 1);
    await until(async () => (await pending()) === 0);
    // As if the instance that wrote the dead letter had died before acknowledging the entry.
    const instance = "ingest-died-after-its-dead-letter";
    await valkey.client().xclaim(INGEST_INBOX_STREAM, GROUP, instance, 0, entryId, "FORCE");

    const restarted = await startIngest(valkey.server().url, { INSTANCE_ID: instance });
    await until(async () => (await pending()) === 0);
    expect(await outcomes("inbox", restarted)).toEqual({ known: 1 });
    expect(await deadLetters()).toHaveLength(1);
    expect(restarted.output()).toContain("input refused before; its dead letter was written then");
  });

  it("retries a refused entry whose dead letter could not be written, and writes it once it can", async () => {
    const refused = JSON.stringify({
      source_repo: "nss-group-projects/cider-falls",
      note: "dead-letter-later",
    });
    const deadLetters = async () => (await rejections()).filter((rejection) => rejection.payload === refused);
    const existing = await valkey.client().dumpBuffer(INGEST_DEAD_LETTER_STREAM);
    // The dead-letter stream's key taken by a string: every append to it fails.
    await valkey.client().set(INGEST_DEAD_LETTER_STREAM, "not a stream");
    const entryId = addToInbox(refused);
    await until(() => ingest().output().includes(`"entryId":"${entryId}"`));
    expect(await pending()).toBe(1);
    await valkey.client().del(INGEST_DEAD_LETTER_STREAM);
    if (existing) await valkey.client().restore(INGEST_DEAD_LETTER_STREAM, 0, existing);

    await until(async () => (await deadLetters()).length === 1);
    await until(async () => (await pending()) === 0);
    expect(await deadLetters()).toHaveLength(1);
  });
});
