import { LuaScript, type ValkeyClient } from "@monarch/valkey-client";

/** Keys one admission touches: the stream, then status, payload, fingerprint and idempotency key. */
export const KEYS_PER_ADMISSION = 5;

/**
 * Admits a batch of requests in one call, each exactly as if alone and in order (a later request in
 * the batch sees what an earlier one wrote), so that no crash can leave a request without its records:
 * an idempotency key or a fingerprint never points at a request that is not in the stream. Per
 * request: an `Idempotency-Key` seen before answers with what was recorded for it; a request id seen
 * before (a redelivered inbox entry) is `known`; a fingerprint within the window is a `duplicate`.
 * The stream keeps the entries of the retention (the payload's): older ones go, by whole nodes,
 * as new ones come, measured by the server's clock as the entry ids are.
 * ARGV holds, per request, its argument count and then: request id, status JSON, raw payload,
 * retention, duplicate window, idempotency TTL (0: no key), body digest, entry fields.
 */
const admitBatchScript = new LuaScript(`
local replies = {}
local at = 1
local time = redis.call("TIME")
local nowMs = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for request = 0, #KEYS / ${KEYS_PER_ADMISSION} - 1 do
  local k = request * ${KEYS_PER_ADMISSION}
  local count = tonumber(ARGV[at])
  local requestId = ARGV[at + 1]
  local windowMs = tonumber(ARGV[at + 5])
  local idempotencyTtlMs = tonumber(ARGV[at + 6])
  local outcome, id = "accepted", requestId
  local recorded = idempotencyTtlMs > 0 and redis.call("GET", KEYS[k + 5])
  if recorded then
    outcome, id = "replayed", recorded
  else
    if redis.call("EXISTS", KEYS[k + 2]) == 1 then
      outcome = "known"
    else
      local original = windowMs > 0 and redis.call("GET", KEYS[k + 4])
      if original then
        outcome, id = "duplicate", original
      else
        local oldestKept = string.format("%.0f", nowMs - tonumber(ARGV[at + 4]))
        redis.call("XADD", KEYS[k + 1], "MINID", "~", oldestKept, "*", unpack(ARGV, at + 8, at + count))
        redis.call("SET", KEYS[k + 2], ARGV[at + 2], "PX", ARGV[at + 4])
        redis.call("SET", KEYS[k + 3], ARGV[at + 3], "PX", ARGV[at + 4])
        if windowMs > 0 then redis.call("SET", KEYS[k + 4], requestId, "PX", windowMs) end
      end
    end
    if idempotencyTtlMs > 0 then
      redis.call("SET", KEYS[k + 5], outcome .. " " .. id .. " " .. ARGV[at + 7], "PX", idempotencyTtlMs)
    end
  end
  replies[#replies + 1] = outcome
  replies[#replies + 1] = id
  at = at + count + 1
end
return replies
`);

/** Most admissions in one script call, so that one call never holds the server for long. */
const MAX_BATCH = 64;

/** How long an admission waits for Valkey's answer before the caller is told it is not confirmed. */
const ANSWER_TIMEOUT_MS = 5_000;

/**
 * Valkey did not confirm an admission: it is not connected (nothing was sent), or did not answer in
 * time (the request may still be stored when it does: a resend with the same request id, idempotency
 * key or fingerprint finds it rather than storing it twice).
 */
export class AdmissionUnconfirmedError extends Error {
  override readonly name = "AdmissionUnconfirmedError";
}

interface Pending {
  readonly keys: readonly string[];
  readonly args: ReadonlyArray<string | number | Buffer>;
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

  constructor(private readonly client: ValkeyClient) {}

  /** Resolves with the request's outcome and the request id it names. */
  admit(keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<[string, string]> {
    // Commands sent while disconnected would wait in the client's queue for as long as Valkey is away.
    if (this.client.status !== "ready") {
      return Promise.reject(new AdmissionUnconfirmedError(`Valkey is not connected (${this.client.status})`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ keys, args, resolve, reject });
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
    const keys: string[] = [];
    const args: Array<string | number | Buffer> = [];
    for (const pending of batch) {
      keys.push(...pending.keys);
      args.push(pending.args.length, ...pending.args);
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new AdmissionUnconfirmedError(`Valkey did not answer within ${ANSWER_TIMEOUT_MS} ms`)),
        ANSWER_TIMEOUT_MS,
      );
    });
    try {
      const replies = (await Promise.race([
        admitBatchScript.run(this.client, keys, args),
        timedOut,
      ])) as string[];
      batch.forEach((pending, index) => {
        pending.resolve([replies[2 * index] as string, replies[2 * index + 1] as string]);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      clearTimeout(timer);
    }
  }
}
