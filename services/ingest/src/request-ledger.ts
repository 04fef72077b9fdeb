import {
  INGEST_DEAD_LETTER_STREAM,
  type Intake,
  ingestRejectionFields,
  ingestRejectionMarker,
  MIGRATIONS_STREAM,
  type MigrationRequested,
  MigrationStatus,
  migrationRecordKeys,
  type NormalisedRequest,
  type RejectedInput,
  requestFingerprint,
  SCHEMA_VERSION,
} from "@monarch/contracts";
import { timeout } from "@monarch/resilience";
import {
  DATA_FIELD,
  LuaScript,
  recordToFields,
  type ValkeyClient,
  withProducerSpan,
} from "@monarch/valkey-client";
import { AdmissionBatcher } from "./admission-batch.js";

/**
 * Appends a dead letter, unless the marker key (when given) says it was written before; the marker is
 * set only after the append, so an append that fails leaves no marker to hide the next attempt.
 * KEYS: the dead-letter stream, then the marker. ARGV: the stream's approximate length cap, the
 * marker's lifetime in ms, then the entry's fields. Returns 1 when written, 0 when written before.
 */
const deadLetterOnceScript = new LuaScript(`
if #KEYS == 2 and redis.call("EXISTS", KEYS[2]) == 1 then return 0 end
redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", unpack(ARGV, 3))
if #KEYS == 2 then redis.call("SET", KEYS[2], "1", "PX", ARGV[2]) end
return 1
`);

/** How long a read may wait for Valkey's answer; a key is read in well under a millisecond. */
const READ_TIMEOUT_MS = 2_000;
const readTimeout = timeout(READ_TIMEOUT_MS);

/** A request's records could not be read, because Valkey is away or failed; a retry may succeed. */
export class RecordsUnavailableError extends Error {
  override readonly name = "RecordsUnavailableError";
}

/** What admission did with a request. */
export type Admission =
  /** Appended to the migrations stream. */
  | { readonly outcome: "accepted"; readonly requestId: string }
  /** The same request was accepted within the duplicate window, as `requestId`. */
  | { readonly outcome: "duplicate"; readonly requestId: string }
  /** This very request id was accepted before: a redelivery. */
  | { readonly outcome: "known"; readonly requestId: string }
  /** The idempotency key was used before; what happened then, and whether the body was the same. */
  | {
      readonly outcome: "replayed";
      readonly first: "accepted" | "duplicate" | "known";
      readonly requestId: string;
      readonly sameBody: boolean;
    };

export interface AdmissionInput {
  readonly requestId: string;
  readonly request: NormalisedRequest;
  readonly via: Intake;
  readonly receivedAt: Date;
  /** The payload exactly as it arrived, kept for replay. */
  readonly raw: string | Buffer;
  /** An `Idempotency-Key`'s digest, and the digest of the body it came with. */
  readonly idempotency?: { readonly keyDigest: string; readonly bodyDigest: string };
  /** Set when an operator replays a stored payload: it is meant to run again, so no duplicate check. */
  readonly replayOf?: string;
}

export interface RequestLedgerOptions {
  readonly client: ValkeyClient;
  /** The same request within this time is accepted once. 0 turns the check off. */
  readonly duplicateWindowMs: number;
  /** How long an `Idempotency-Key`'s answer is kept; more than 0 (a key cannot be kept for no time). */
  readonly idempotencyTtlMs: number;
  /** How long raw payloads and statuses are kept. */
  readonly retentionMs: number;
  /** Rejections kept in the dead-letter stream (approximately). */
  readonly deadLetterMaxLength?: number;
}

/**
 * Ingest's records in Valkey: accepted requests (the stream entry, status, raw payload, fingerprint
 * and idempotency key, written together), rejections as dead letters, and what `GET` reads back.
 */
export class RequestLedger {
  private readonly client: ValkeyClient;
  private readonly batcher: AdmissionBatcher;

  constructor(private readonly options: RequestLedgerOptions) {
    this.client = options.client;
    this.batcher = new AdmissionBatcher(options.client, {
      stream: MIGRATIONS_STREAM,
      retentionMs: options.retentionMs,
      duplicateWindowMs: options.duplicateWindowMs,
      idempotencyTtlMs: options.idempotencyTtlMs,
    });
  }

  async admit(input: AdmissionInput): Promise<Admission> {
    const { requestId, request, via, receivedAt } = input;
    const message: MigrationRequested = {
      schemaVersion: SCHEMA_VERSION,
      requestId,
      receivedAt: receivedAt.toISOString(),
      via,
      request,
    };
    const status: MigrationStatus = {
      schemaVersion: SCHEMA_VERSION,
      requestId,
      stage: "accepted",
      via,
      receivedAt: message.receivedAt,
      updatedAt: message.receivedAt,
      source: request.source,
      targetCount: request.targets.length,
      dryRun: request.options.dryRun,
      ...(input.replayOf === undefined ? {} : { replayOf: input.replayOf }),
    };
    const { idempotency } = input;
    const reply = await withProducerSpan(MIGRATIONS_STREAM, (traceFields) =>
      this.batcher.admit({
        requestId,
        statusKey: migrationRecordKeys.status(requestId),
        status: JSON.stringify(status),
        payloadKey: migrationRecordKeys.payload(requestId),
        // The contract refused anything but UTF-8, so this text is the bytes that arrived.
        payload: typeof input.raw === "string" ? input.raw : input.raw.toString("utf8"),
        fingerprintKey: migrationRecordKeys.fingerprint(requestFingerprint(request)),
        checksDuplicates: input.replayOf === undefined,
        ...(idempotency === undefined
          ? {}
          : {
              idempotency: {
                key: migrationRecordKeys.idempotency(idempotency.keyDigest),
                bodyDigest: idempotency.bodyDigest,
              },
            }),
        entry: [DATA_FIELD, JSON.stringify(message), ...recordToFields(traceFields)],
      }),
    );
    return toAdmission(reply, idempotency?.bodyDigest);
  }

  /**
   * Writes a rejected input to the dead-letter stream with its reason and size-capped payload. Given
   * `onceAs` (the request id of input that can come again), only once for that id while its marker
   * lives, as long as an idempotency key: long enough for any redelivery but one after a day-long
   * outage. Resolves with false when the dead letter was written before.
   */
  async reject(input: RejectedInput, onceAs?: string): Promise<boolean> {
    const fields = ingestRejectionFields(input);
    const written = await withProducerSpan(INGEST_DEAD_LETTER_STREAM, (traceFields) =>
      deadLetterOnceScript.run(
        this.client,
        [INGEST_DEAD_LETTER_STREAM, ...(onceAs === undefined ? [] : [ingestRejectionMarker(onceAs)])],
        [
          this.options.deadLetterMaxLength ?? 100_000,
          this.options.idempotencyTtlMs,
          ...recordToFields({ ...fields, ...traceFields }),
        ],
      ),
    );
    return written === 1;
  }

  /** The request's status, or null when it is unknown or past retention. */
  async status(requestId: string): Promise<MigrationStatus | null> {
    const stored = await this.read(() => this.client.get(migrationRecordKeys.status(requestId)));
    return stored === null ? null : MigrationStatus.parse(JSON.parse(stored));
  }

  /** The request's raw payload as it arrived, or null when it is unknown or past retention. */
  payload(requestId: string): Promise<Buffer | null> {
    return this.read(() => this.client.getBuffer(migrationRecordKeys.payload(requestId)));
  }

  /**
   * Reads at once, or fails at once while Valkey is away (a command would wait for its return), and
   * within READ_TIMEOUT_MS when the connection drops with the command on it (the client would send it
   * again after the reconnection, however long that takes).
   */
  private async read<T>(command: () => Promise<T>): Promise<T> {
    if (this.client.status !== "ready") {
      throw new RecordsUnavailableError(`Valkey is not connected (${this.client.status})`);
    }
    try {
      return await readTimeout.execute(command);
    } catch (error) {
      throw new RecordsUnavailableError(`Valkey did not answer: ${String(error)}`, { cause: error });
    }
  }
}

function toAdmission([outcome, detail]: [string, string], bodyDigest: string | undefined): Admission {
  if (outcome === "replayed") {
    const [first, requestId, recordedDigest] = detail.split(" ");
    return {
      outcome,
      first: first as "accepted" | "duplicate" | "known",
      requestId: requestId ?? "",
      sameBody: recordedDigest === bodyDigest,
    };
  }
  return { outcome: outcome as "accepted" | "duplicate" | "known", requestId: detail };
}
