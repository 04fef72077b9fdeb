import { setTimeout as sleep } from "node:timers/promises";
import { MIGRATIONS_STREAM, parseMigrationRequest } from "@monarch/contracts";
import { DATA_FIELD, fieldsToRecord } from "@monarch/valkey-client";
import { describe, expect, it } from "vitest";
import { RequestLedger } from "../src/request-ledger.js";
import { payloadFor, storedRequests, useValkey } from "./support/ingest.js";

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

describe("an admission batch", () => {
  it("admits every kind of request gathered in one turn as if each came alone, in order", async () => {
    const client = valkey.client();
    const ledger = new RequestLedger({
      client,
      duplicateWindowMs: 60_000,
      idempotencyTtlMs: 3_600_000,
      retentionMs: 86_400_000,
    });
    const first = payloadFor("batch-first");
    const other = payloadFor("batch-other");
    const key = { keyDigest: "batch-key", bodyDigest: "digest-of-first" };
    const admit = (requestId: string, raw: string, extra: Partial<Parameters<typeof ledger.admit>[0]> = {}) =>
      ledger.admit({
        requestId,
        request: parseMigrationRequest(raw),
        via: "http",
        receivedAt: new Date(),
        raw,
        ...extra,
      });
    await client.config("RESETSTAT");
    // Started in one turn, so one script call takes them all, keyed and not, replays among them.
    const outcomes = await Promise.all([
      admit("batch-1", first, { idempotency: key }),
      admit("batch-2", other),
      admit("batch-3", first, { replayOf: "batch-1" }),
      admit("batch-4", first),
      admit("batch-5", first, { idempotency: key }),
      admit("batch-6", other, { idempotency: { keyDigest: "batch-key", bodyDigest: "another" } }),
    ]);
    const stats = await client.info("commandstats");
    const scriptCalls = [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+),.*failed_calls=(\d+)/g)].reduce(
      (sum, [, calls, failed]) => sum + Number(calls) - Number(failed),
      0,
    );
    expect(scriptCalls).toBe(1);

    expect(outcomes).toEqual([
      { outcome: "accepted", requestId: "batch-1" },
      { outcome: "accepted", requestId: "batch-2" },
      // A replay runs again: no duplicate check, and it is not the duplicate the next one is of.
      { outcome: "accepted", requestId: "batch-3" },
      { outcome: "duplicate", requestId: "batch-1" },
      { outcome: "replayed", first: "accepted", requestId: "batch-1", sameBody: true },
      { outcome: "replayed", first: "accepted", requestId: "batch-1", sameBody: false },
    ]);
    const stored = (await storedRequests(client)).filter(({ requestId }) => requestId.startsWith("batch-"));
    expect(stored.map(({ requestId }) => requestId)).toEqual(["batch-1", "batch-2", "batch-3"]);
    for (const [requestId, raw] of [
      ["batch-1", first],
      ["batch-2", other],
      ["batch-3", first],
    ] as const) {
      expect((await ledger.payload(requestId))?.toString()).toBe(raw);
      expect(await ledger.status(requestId)).toMatchObject({ requestId, stage: "accepted" });
    }
    expect(await ledger.status("batch-3")).toMatchObject({ replayOf: "batch-1" });
    for (const requestId of ["batch-4", "batch-5", "batch-6"]) {
      expect(await ledger.status(requestId)).toBeNull();
    }
  });
});
