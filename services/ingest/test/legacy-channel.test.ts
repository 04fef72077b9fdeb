import {
  type IngestRejection,
  LEGACY_REQUEST_CHANNEL,
  MIGRATIONS_STREAM,
  type MigrationRequested,
} from "@monarch/contracts";
import { until } from "@monarch/sandbox";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  LEGACY_PAYLOAD,
  payloadFor,
  startIngest,
  storedRejections,
  storedRequests,
  useValkey,
} from "./support/ingest.js";

const valkey = useValkey();

describe("the legacy pub/sub channel", () => {
  it("turns the platform's exact PUBLISH command into one request in the migrations stream", async () => {
    await startIngest(valkey.server().url);
    const receivers = valkey.cli(["PUBLISH", "channel_migrate_issue_tickets", LEGACY_PAYLOAD]);
    expect(receivers).toBe("1");
    await until(async () => (await valkey.client().xlen(MIGRATIONS_STREAM)) === 1);
    const [message] = await storedRequests(valkey.client());
    expect(message).toMatchObject({
      via: "pubsub",
      request: {
        source: { owner: "nss-group-projects", name: "cider-falls" },
        targets: [{ owner: "stevebrownlee", name: "rare-test" }],
        notificationChannel: "C06GHMZB3M3",
        options: { includeClosed: false, dryRun: false },
      },
    });
  });

  it.each([
    {
      problem: "not JSON",
      message: '{ "source_repo": "nss-group-projects/cider-falls", ',
      reason: /not JSON/,
    },
    {
      problem: "against the schema",
      message: JSON.stringify({
        source_repo: "nss-group-projects/cider-falls",
        all_target_repositories: [],
        notification_channel: "C06GHMZB3M3",
      }),
      reason: /all_target_repositories: at least one target repository is required/,
    },
  ])(
    "refuses a message $problem into the dead-letter stream, with its reason and payload",
    async ({ message, reason }) => {
      const ingest = await startIngest(valkey.server().url);
      expect(publish(message)).toBe(1);
      await until(async () => (await rejectionsOf(message)).length > 0);
      expect(await rejectionsOf(message)).toEqual([
        {
          cause: "rejected",
          schema_version: "1",
          reason: expect.stringMatching(reason),
          via: "pubsub",
          received_at: expect.any(String),
          payload: message,
          payload_bytes: Buffer.byteLength(message),
          truncated: false,
        },
      ]);
      expect(ingest.child.exitCode).toBeNull();
    },
  );

  it("logs the payload of a message it could not store yet when it is stopped, rather than drop it", async () => {
    const ingest = await startIngest(valkey.server().url, { SHUTDOWN_TIMEOUT_MS: "2000" });
    // A key of the wrong type where the migrations stream belongs: every append fails until it is gone.
    await valkey.client().set(MIGRATIONS_STREAM, "not a stream");
    onTestFinished(async () => {
      await valkey.client().del(MIGRATIONS_STREAM);
    });
    const failedBefore = await wrongTypeErrors();
    const message = payloadFor("unstored-at-stop");
    expect(publish(message)).toBe(1);
    await until(async () => (await wrongTypeErrors()) > failedBefore);

    ingest.child.kill("SIGTERM");
    await ingest.exited;
    const logged = ingest
      .output()
      .split("\n")
      .filter((line) => line.includes("replay its payload by hand"));
    expect(logged.map((line) => (JSON.parse(line) as { payload: string }).payload)).toEqual([message]);
    expect(messagesIn(ingest.output())).not.toContain("stop deadline passed");
  });

  it("subscribes again after Valkey restarts, and says so in its output", async () => {
    const ingest = await startIngest(valkey.server().url);
    await valkey.server().restart();
    const message = payloadFor("published-after-a-restart");
    // Pub/sub keeps nothing for a subscriber that is away: publish until ingest hears it.
    await until(() => publish(message) === 1);
    await until(async () => (await requestsFor("published-after-a-restart")).length === 1);
    expect(await requestsFor("published-after-a-restart")).toMatchObject([{ via: "pubsub" }]);
    const logged = messagesIn(ingest.output());
    const lost = logged.indexOf("valkey connection lost; reconnecting");
    expect(lost).toBeGreaterThan(logged.indexOf("listening on the legacy channel"));
    expect(logged.slice(lost)).toContain("listening on the legacy channel");
  });
});

/** PUBLISH on the legacy channel with the real redis-cli; returns how many subscribers received it. */
function publish(message: string): number {
  return Number(valkey.cli(["PUBLISH", LEGACY_REQUEST_CHANNEL, message]));
}

/** Commands Valkey refused with WRONGTYPE so far (ingest's failed attempts to append, here). */
async function wrongTypeErrors(): Promise<number> {
  const stats = await valkey.client().info("errorstats");
  return Number(/^errorstat_WRONGTYPE:count=(\d+)/m.exec(stats)?.[1] ?? 0);
}

/** The `msg` of each JSON log line the process wrote, in order. */
const messagesIn = (output: string): string[] =>
  output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);

async function requestsFor(target: string): Promise<MigrationRequested[]> {
  return (await storedRequests(valkey.client())).filter(
    (request) => request.request.targets[0]?.name === target,
  );
}

async function rejectionsOf(payload: string): Promise<IngestRejection[]> {
  return (await storedRejections(valkey.client())).filter((rejection) => rejection.payload === payload);
}
