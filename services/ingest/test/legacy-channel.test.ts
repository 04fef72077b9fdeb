import { execFileSync } from "node:child_process";
import { MIGRATIONS_STREAM, MigrationRequested } from "@monarch/contracts";
import { findServerBinaries, until } from "@monarch/sandbox";
import { describe, expect, it } from "vitest";
import { LEGACY_PAYLOAD, startIngest, useValkey } from "./support/ingest.js";

const valkey = useValkey();

describe("the legacy pub/sub channel", () => {
  it("turns the platform's exact PUBLISH command into one request in the migrations stream", async () => {
    await startIngest(valkey.server().url);
    const { cli } = findServerBinaries();
    const receivers = execFileSync(cli, [
      "-p",
      String(valkey.server().port),
      "PUBLISH",
      "channel_migrate_issue_tickets",
      LEGACY_PAYLOAD,
    ]);
    expect(receivers.toString().trim()).toBe("1");
    await until(async () => (await valkey.client().xlen(MIGRATIONS_STREAM)) === 1);
    const [[, fields]] = (await valkey.client().xrange(MIGRATIONS_STREAM, "-", "+")) as [[string, string[]]];
    const record = Object.fromEntries(
      fields.flatMap((value, index) => (index % 2 === 0 ? [[value, fields[index + 1]]] : [])),
    );
    const message = MigrationRequested.parse(JSON.parse(record.data ?? "null"));
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
});
