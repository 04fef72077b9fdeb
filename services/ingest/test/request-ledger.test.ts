import { setTimeout as sleep } from "node:timers/promises";
import { MIGRATIONS_STREAM, parseMigrationRequest } from "@monarch/contracts";
import { DATA_FIELD, fieldsToRecord } from "@monarch/valkey-client";
import { describe, expect, it } from "vitest";
import { RequestLedger } from "../src/request-ledger.js";
import { payloadFor, useValkey } from "./support/ingest.js";

const valkey = useValkey();

describe("the request ledger", () => {
  it("keeps the migrations stream to the retention: older entries go as new ones come", async () => {
    const client = valkey.client();
    await client.ping();
    const retentionMs = 1_000;
    const ledger = new RequestLedger({ client, duplicateWindowMs: 0, idempotencyTtlMs: 0, retentionMs });
    const admit = (n: number) => {
      const raw = payloadFor(`retention-${n}`);
      return ledger.admit({
        requestId: `retention-${n}`,
        request: parseMigrationRequest(raw),
        via: "http",
        receivedAt: new Date(),
        raw,
      });
    };
    const requestIds = async () =>
      (await client.xrange(MIGRATIONS_STREAM, "-", "+")).map(
        ([, fields]) => JSON.parse(fieldsToRecord(fields)[DATA_FIELD] ?? "{}").requestId as string,
      );
    // Many nodes' worth (a stream node holds up to 100 entries or 4 KiB): trimming drops whole nodes.
    for (let n = 0; n < 250; n++) await admit(n);
    expect(await requestIds()).toHaveLength(250);

    await sleep(retentionMs + 100);
    await admit(250);
    const kept = await requestIds();
    // Every node wholly older than the retention went; the newest entry, and its node, stayed.
    expect(kept.length).toBeLessThan(100);
    expect(kept.at(-1)).toBe("retention-250");
    expect(kept).toEqual(
      Array.from({ length: kept.length }, (_, index) => `retention-${251 - kept.length + index}`),
    );
  });
});
