import {
  CONSUMER_GROUPS,
  HEARTBEAT_KEY_PREFIX,
  INGEST_INBOX_STREAM,
  MIGRATIONS_STREAM,
  migrationRecordKeys,
} from "@monarch/contracts";
import { until } from "@monarch/sandbox";
import { describe, expect, it } from "vitest";
import {
  API_TOKEN,
  type IngestProcess,
  payloadFor,
  postMigration,
  startIngest,
  storedRequests,
  useValkey,
} from "./support/ingest.js";

const valkey = useValkey();
const DAY_MS = 86_400_000;

const requests = () => storedRequests(valkey.client());

/** The request id a 202 names, from its `Location` (readable even when the process died mid-body). */
const requestIdOf = (response: Response): string => response.headers.get("location")?.split("/").pop() ?? "";

/** Inbox entries one consumer of ingest's group holds without having acknowledged them. */
async function pendingOf(consumer: string): Promise<number> {
  const [, , , consumers] = (await valkey.client().xpending(INGEST_INBOX_STREAM, CONSUMER_GROUPS.ingest)) as [
    number,
    unknown,
    unknown,
    [string, string][] | null,
  ];
  return Number(consumers?.find(([name]) => name === consumer)?.[1] ?? 0);
}

/** Whether the instance's status is in the heartbeat sink's hash (what the status page lists). */
const heartbeatRecorded = async (instance: string): Promise<boolean> =>
  (await valkey.client().hexists(`${HEARTBEAT_KEY_PREFIX}:status`, `ingest/${instance}`)) === 1;

async function stopWithSigterm(ingest: IngestProcess): Promise<{ code: number | null; tookMs: number }> {
  const started = Date.now();
  ingest.child.kill("SIGTERM");
  const { code } = await ingest.exited;
  return { code, tookMs: Date.now() - started };
}

describe("durability", () => {
  it("has stored every request it answered 202 to when it is killed right after the answer", async () => {
    const ingest = await startIngest(valkey.server().url);
    const targets = Array.from({ length: 20 }, (_, index) => `killed-after-202-${index}`);
    let killed = false;
    const answers = await Promise.allSettled(
      targets.map(async (target) => {
        const response = await postMigration(ingest.url, payloadFor(target));
        if (response.status === 202 && !killed) {
          killed = true;
          ingest.child.kill("SIGKILL");
        }
        return response;
      }),
    );
    expect(await ingest.exited).toEqual({ code: null, signal: "SIGKILL" });
    const accepted = answers.flatMap((answer) =>
      answer.status === "fulfilled" && answer.value.status === 202 ? [requestIdOf(answer.value)] : [],
    );
    expect(accepted.length).toBeGreaterThan(0);

    const stored = (await requests()).filter(({ request }) =>
      targets.includes(request.targets[0]?.name ?? ""),
    );
    const storedIds = stored.map(({ requestId }) => requestId);
    expect(storedIds).toEqual(expect.arrayContaining(accepted));
    // Each request has a target of its own: one stored twice would show it twice.
    expect(new Set(stored.map(({ request }) => request.targets[0]?.name)).size).toBe(stored.length);
    for (const requestId of accepted) {
      const keys = [migrationRecordKeys.status(requestId), migrationRecordKeys.payload(requestId)];
      expect(await valkey.client().exists(...keys), requestId).toBe(2);
    }
  });

  it("answers 503 at once while Valkey is away, and stores the request sent again once it is back", async () => {
    const ingest = await startIngest(valkey.server().url);
    const body = payloadFor("while-valkey-is-away");
    await valkey.server().kill();
    const refused = await postMigration(ingest.url, body);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({ title: "Not confirmed" });
    await valkey.server().relaunch();
    await until(async () => (await postMigration(ingest.url, body)).status !== 503);
    await until(async () => (await requests()).length > 0);
    expect(
      (await requests()).filter((request) => request.request.targets[0]?.name === "while-valkey-is-away"),
    ).toHaveLength(1);
  });

  it("answers GET and replay with 503 at once while Valkey is away, and GET again once it is back", async () => {
    const ingest = await startIngest(valkey.server().url);
    const accepted = await postMigration(ingest.url, payloadFor("read-while-valkey-is-away"));
    const requestId = requestIdOf(accepted);
    const asOperator = { headers: { authorization: `Bearer ${API_TOKEN}` } };
    await valkey.server().kill();
    for (const [path, method] of [
      [`/v1/migrations/${requestId}`, "GET"],
      [`/v1/migrations/${requestId}/replay`, "POST"],
    ] as const) {
      const refused = await fetch(`${ingest.url}${path}`, { method, ...asOperator });
      expect(refused.status, path).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(await refused.json()).toMatchObject({
        title: "Records unavailable",
        detail: "the request's records could not be read, because Valkey is away or failing; try again",
      });
    }
    await valkey.server().relaunch();
    // Without AOF the relaunched server is empty: the request is unknown now, and said so.
    await until(
      async () => (await fetch(`${ingest.url}/v1/migrations/${requestId}`, asOperator)).status === 404,
    );
  });

  it("answers 503 when Valkey holds a read or an admission past its timeout, and stores the resent request once", async () => {
    const ingest = await startIngest(valkey.server().url);
    const requestId = requestIdOf(await postMigration(ingest.url, payloadFor("read-while-valkey-stalls")));
    const body = payloadFor("admitted-while-valkey-stalls");
    // Connected but silent, as with a connection that dropped under a command: the client would send
    // it again after reconnecting, and the caller would wait all that time. Paused for longer than a
    // read (2 s) and an admission (5 s) may wait; the pause holds every client, so it ends by itself.
    await valkey.client().call("CLIENT", "PAUSE", "7000", "ALL");
    const [read, admission] = await Promise.all([
      fetch(`${ingest.url}/v1/migrations/${requestId}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      }),
      postMigration(ingest.url, body),
    ]);
    expect(read.status).toBe(503);
    expect(await read.json()).toMatchObject({ title: "Records unavailable" });
    expect(admission.status).toBe(503);
    expect(await admission.json()).toMatchObject({
      title: "Not confirmed",
      detail: expect.stringContaining("could not be confirmed as stored"),
    });
    // Stored once the pause ends after all, then found by the duplicate window when sent again.
    expect((await postMigration(ingest.url, body)).status).toBeLessThan(300);
    const stored = (await requests()).filter(
      (request) => request.request.targets[0]?.name === "admitted-while-valkey-stalls",
    );
    expect(stored).toHaveLength(1);
  });

  it("keeps the raw payload exactly as posted for REQUEST_RETENTION_DAYS", async () => {
    const ingest = await startIngest(valkey.server().url, { REQUEST_RETENTION_DAYS: "3" });
    // Laid out and annotated as no serialiser would redo it: only the bytes as sent can match.
    const body = Buffer.from(
      '{\n  "source_repo": "nss-group-projects/cider-falls",\n  "all_target_repositories": ["stevebrownlee/kept-as-sent"],\n  "notification_channel": "C06GHMZB3M3",\n  "dry_run": null,\n  "note": "café ☕"\n}\n',
    );
    const response = await postMigration(ingest.url, body);
    expect(response.status).toBe(202);
    const requestId = requestIdOf(response);

    const payloadKey = migrationRecordKeys.payload(requestId);
    expect(await valkey.client().getBuffer(payloadKey)).toEqual(body);
    for (const key of [payloadKey, migrationRecordKeys.status(requestId)]) {
      const ttl = await valkey.client().pttl(key);
      expect(ttl, key).toBeLessThanOrEqual(3 * DAY_MS);
      expect(ttl, key).toBeGreaterThan(3 * DAY_MS - 60_000);
    }
  });

  it("stops on SIGTERM with code 0 within the deadline, holding no inbox entry and leaving no heartbeat", async () => {
    const instance = "ingest-stopped-by-sigterm";
    const ingest = await startIngest(valkey.server().url, {
      INSTANCE_ID: instance,
      WATCHDOG_INTERVAL_MS: "200",
      SHUTDOWN_TIMEOUT_MS: "4000",
    });
    const entryId = await valkey
      .client()
      .xadd(INGEST_INBOX_STREAM, "*", "data", payloadFor("before-sigterm"));
    await until(async () => (await requests()).some(({ requestId }) => requestId === `inbox-${entryId}`));
    await until(() => heartbeatRecorded(instance));

    const { code, tookMs } = await stopWithSigterm(ingest);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(4_000);
    expect(await pendingOf(instance)).toBe(0);
    expect(await heartbeatRecorded(instance)).toBe(false);
  });

  it("leaves an inbox entry it could not store yet pending at SIGTERM, for the consumer after it", async () => {
    const instance = "ingest-stopped-while-valkey-refused";
    const first = await startIngest(valkey.server().url, { INSTANCE_ID: instance });
    // A key of the wrong type where the migrations stream belongs: every append fails until it is gone.
    await valkey.client().del(MIGRATIONS_STREAM);
    await valkey.client().set(MIGRATIONS_STREAM, "not a stream");
    const entryId = await valkey.client().xadd(INGEST_INBOX_STREAM, "*", "data", payloadFor("stored-later"));
    await until(() => first.output().includes("inbox entry not stored yet; it will be retried"));

    expect((await stopWithSigterm(first)).code).toBe(0);
    expect(await pendingOf(instance)).toBe(1);

    await valkey.client().del(MIGRATIONS_STREAM);
    // Another instance would claim the entry once its owner's lease (30 s) ran out; the same instance,
    // started again, takes it back at once.
    await startIngest(valkey.server().url, { INSTANCE_ID: instance });
    await until(async () => (await pendingOf(instance)) === 0);
    expect(await requests()).toMatchObject([{ requestId: `inbox-${entryId}`, via: "inbox" }]);
  });
});
