import { INGEST_INBOX_STREAM } from "@monarch/contracts";
import { until } from "@monarch/sandbox";
import { describe, expect, it } from "vitest";
import { LEGACY_PAYLOAD, startIngest, useValkey } from "./support/ingest.js";

// A server of its own: entries can only be added with old ids to a stream that has no newer ones.
const valkey = useValkey();

describe("the inbox's retention", () => {
  it("trims entries older than the retention, and keeps the newer ones", async () => {
    const client = valkey.client();
    // Added with the ids of two and one days ago; the retention is one day.
    const day = 86_400_000;
    const old = `${Date.now() - 2 * day}-0`;
    const recent = `${Date.now() - day + 60_000}-0`;
    for (const id of [old, recent]) await client.xadd(INGEST_INBOX_STREAM, id, "data", LEGACY_PAYLOAD);

    const ingest = await startIngest(valkey.server().url, { REQUEST_RETENTION_DAYS: "1" });
    await until(() => ingest.output().includes("inbox trimmed to the retention"));
    const ids = (await client.xrange(INGEST_INBOX_STREAM, "-", "+")).map(([id]) => id);
    expect(ids).not.toContain(old);
    expect(ids).toContain(recent);
  });
});
