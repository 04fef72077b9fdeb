import { TimeoutError, timeout } from "@monarch/resilience";
import { LuaScript, type ValkeyClient } from "@monarch/valkey-client";

/**
 * Admits a batch of requests in one call, each exactly as if alone and in order (a later request in
 * the batch sees what an earlier one wrote), so that no crash can leave a request without its records:
 * an idempotency key or a fingerprint never points at a request that is not in the stream. Per
 * request: an `Idempotency-Key` seen before answers with what was recorded for it; a request id seen
 * before (a redelivered inbox entry) is `known`; a fingerprint within the window is a `duplicate`.
 * The stream keeps the entries of the retention (the payload's): older ones go, by whole nodes,
 * as new ones come, measured by the server's clock as the entry ids are.
 * What every request of a batch shares is sent once (the stream, the retention, the duplicate window
 * and the idempotency TTL), and a key only when the request has one: under load the arguments'
 * encoding is a good part of ingest's time.
 * KEYS: the stream, then per request its status, payload and fingerprint keys, and its idempotency
 * key when it has one. ARGV: retention, duplicate window (0: off), idempotency TTL, then per request
 * its entry's field count, its options (`k`: has an idempotency key, `r`: a replay, so no duplicate
 * check), request id, status JSON, raw payload, the body's digest when keyed, and the entry's fields.
 */
const admitBatchScript = new LuaScript(`
local replies = {}
local time = redis.call("TIME")
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local retentionMs, windowMs, idempotencyTtlMs = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local oldestKept = string.format("%.0f", nowMs - tonumber(retentionMs))
local key, at = 2, 4
while at <= #ARGV do
  local fieldCount, options, requestId = tonumber(ARGV[at]), ARGV[at + 1], ARGV[at + 2]
  local keyed = string.find(options, "k", 1, true) ~= nil
  local checksDuplicates = windowMs > 0 and string.find(options, "r", 1, true) == nil
  local statusKey, payloadKey, fingerprintKey = KEYS[key], KEYS[key + 1], KEYS[key + 2]
  local idempotencyKey = keyed and KEYS[key + 3]
  local fields = at + (keyed and 6 or 5)
  local outcome, id = "accepted", requestId
  local recorded = keyed and redis.call("GET", idempotencyKey)
  if recorded then
    outcome, id = "replayed", recorded
  else
    if redis.call("EXISTS", statusKey) == 1 then
      outcome = "known"
    else
      local original = checksDuplicates and redis.call("GET", fingerprintKey)
      if original then
        outcome, id = "duplicate", original
      else
        redis.call("XADD", KEYS[1], "MINID", "~", oldestKept, "*", unpack(ARGV, fields, fields + fieldCount - 1))
        redis.call("SET", statusKey, ARGV[at + 3], "PX", retentionMs)
        redis.call("SET", payloadKey, ARGV[at + 4], "PX", retentionMs)
        if checksDuplicates then redis.call("SET", fingerprintKey, requestId, "PX", windowMs) end
      end
    end
    if keyed then
      redis.call("SET", idempotencyKey, outcome .. " " .. id .. " " .. ARGV[at + 5], "PX", idempotencyTtlMs)
    end
  end
  replies[#replies + 1] = outcome
  replies[#replies + 1] = id
  key = key + (keyed and 4 or 3)
  at = fields + fieldCount
end
return replies
`);

/** One request to admit: its records' keys and contents, and its stream entry. */
export interface AdmissionRecord {
  readonly requestId: string;
  readonly statusKey: string;
  readonly status: string;
  readonly payloadKey: string;
  /** The raw payload as text (accepted payloads are UTF-8, and text costs the client less to send). */
  readonly payload: string;
  readonly fingerprintKey: string;
  /** Whether the fingerprint is looked up and recorded; a replay is meant to run again. */
  readonly checksDuplicates: boolean;
  readonly idempotency?: { readonly key: string; readonly bodyDigest: string };
  /** The stream entry's fields, names and values in turn. */
  readonly entry: readonly string[];
}

/** What every admission shares. */
export interface AdmissionSettings {
  readonly stream: string;
  readonly retentionMs: number;
  /** 0 turns the duplicate check off. */
  readonly duplicateWindowMs: number;
  /** How long an `Idempotency-Key`'s answer is kept; more than 0 (a key cannot be kept for no time). */
  readonly idempotencyTtlMs: number;
}

/** Most admissions in one script call, so that one call never holds the server for long. */
const MAX_BATCH = 64;

/** How long an admission waits for Valkey's answer before the caller is told it is not confirmed. */
const ANSWER_TIMEOUT_MS = 5_000;
const answerTimeout = timeout(ANSWER_TIMEOUT_MS);

/**
 * Valkey did not confirm an admission: it is not connected (nothing was sent), did not answer in time
 * (the request may still be stored when it does), or refused the script (a script is not undone, so a
 * part may be stored). A resend with the same request id, idempotency key or fingerprint finds what
 * was stored rather than storing it twice.
 */
export class AdmissionUnconfirmedError extends Error {
  override readonly name = "AdmissionUnconfirmedError";
}

interface Pending {
  readonly record: AdmissionRecord;
  readonly resolve: (reply: [string, string]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the admissions of one event-loop turn into one script call: under load this saves a round
 * trip and a script start per request (about a quarter of the server's time), and alone a request
 * waits for nothing but the end of the current turn.
 */
export class AdmissionBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly client: ValkeyClient,
    private readonly settings: AdmissionSettings,
  ) {}

  /** Resolves with the request's outcome and the request id it names. */
  admit(record: AdmissionRecord): Promise<[string, string]> {
    // Commands sent while disconnected would wait in the client's queue for as long as Valkey is away.
    if (this.client.status !== "ready") {
      return Promise.reject(new AdmissionUnconfirmedError(`Valkey is not connected (${this.client.status})`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    for (let start = 0; start < queued.length; start += MAX_BATCH) {
      void this.run(queued.slice(start, start + MAX_BATCH));
    }
  }

  private async run(batch: readonly Pending[]): Promise<void> {
    const { stream, retentionMs, duplicateWindowMs, idempotencyTtlMs } = this.settings;
    const keys: string[] = [stream];
    const args: Array<string | number> = [retentionMs, duplicateWindowMs, idempotencyTtlMs];
    for (const { record } of batch) {
      const { idempotency, entry } = record;
      keys.push(record.statusKey, record.payloadKey, record.fingerprintKey);
      const options = `${idempotency ? "k" : ""}${record.checksDuplicates ? "" : "r"}`;
      args.push(entry.length, options, record.requestId, record.status, record.payload);
      if (idempotency) {
        keys.push(idempotency.key);
        args.push(idempotency.bodyDigest);
      }
      args.push(...entry);
    }
    try {
      const replies = (await answerTimeout.execute(() =>
        admitBatchScript.run(this.client, keys, args),
      )) as string[];
      batch.forEach((pending, index) => {
        pending.resolve([replies[2 * index] as string, replies[2 * index + 1] as string]);
      });
    } catch (error) {
      const unconfirmed =
        error instanceof TimeoutError
          ? new AdmissionUnconfirmedError(`Valkey did not answer within ${ANSWER_TIMEOUT_MS} ms`, {
              cause: error,
            })
          : new AdmissionUnconfirmedError(`Valkey refused the admission: ${String(error)}`, { cause: error });
      for (const pending of batch) pending.reject(unconfirmed);
    }
  }
}
