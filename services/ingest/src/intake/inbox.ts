import { CONSUMER_GROUPS, INGEST_DEAD_LETTER_STREAM, INGEST_INBOX_STREAM } from "@monarch/contracts";
import type { Logger } from "@monarch/runtime";
import { DATA_FIELD, StreamConsumer, type ValkeyClient } from "@monarch/valkey-client";
import { z } from "zod";
import type { Receptionist } from "../reception.js";

/** An inbox entry as stored: the platform's payload under `data`, judged by ingest itself. */
const InboxFields = z.record(z.string(), z.string());
type InboxFields = z.infer<typeof InboxFields>;

export interface InboxIntakeOptions {
  readonly client: ValkeyClient;
  readonly receptionist: Receptionist;
  readonly logger: Logger;
  /** This instance's consumer name in ingest's group. */
  readonly consumer: string;
  /** Entries older than this are trimmed from the inbox, handled or not. */
  readonly retentionMs: number;
}

/** How often the inbox is trimmed to the retention (and once at start). */
const TRIM_INTERVAL_MS = 3_600_000;

/**
 * The durable way in: the platform's one-line change from PUBLISH is
 * `XADD {monarch:ingest}:inbox * data '<payload>'`. Ingest's consumer group reads each entry and
 * acknowledges it only once it is accepted or refused, so nothing is lost while ingest is down or
 * crashes. A request takes its id from the entry's id: a redelivered entry is found as already
 * accepted, never appended twice. The platform's XADD does not trim, so ingest keeps the inbox to the
 * requests' retention.
 */
export class InboxIntake {
  private readonly consumer: StreamConsumer<InboxFields>;
  private readonly client: ValkeyClient;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private trimTimer: NodeJS.Timeout | undefined;

  constructor(options: InboxIntakeOptions) {
    this.client = options.client;
    this.logger = options.logger;
    this.retentionMs = options.retentionMs;
    const { receptionist, logger } = options;
    this.consumer = new StreamConsumer<InboxFields>({
      client: options.client,
      stream: INGEST_INBOX_STREAM,
      group: CONSUMER_GROUPS.ingest,
      consumer: options.consumer,
      deadLetterStream: INGEST_DEAD_LETTER_STREAM,
      schema: InboxFields,
      decode: (fields) => fields,
      handler: async ({ id, message }) => {
        // The entry's id holds the time it was added: the same on every delivery.
        const receivedAt = new Date(Number(id.split("-")[0]));
        const requestId = `inbox-${id}`;
        const text = message[DATA_FIELD];
        if (text === undefined) {
          const fields = Object.keys(message).join(", ") || "none";
          await receptionist.refuse({
            via: "inbox",
            reason: "no-payload",
            detail: `the inbox entry has no "${DATA_FIELD}" field (it has: ${fields}); send XADD ${INGEST_INBOX_STREAM} * ${DATA_FIELD} '<payload JSON>'`,
            raw: JSON.stringify(message),
            receivedAt,
            requestId,
          });
        } else {
          // The client read the entry as UTF-8, writing U+FFFD for bytes that are not: where one shows,
          // the entry's bytes are what gets judged, so that a payload that is not UTF-8 is refused.
          const raw = text.includes("\uFFFD") ? ((await this.payloadBytes(id)) ?? text) : text;
          await receptionist.receive({ raw, via: "inbox", requestId, receivedAt });
        }
      },
      hooks: {
        onFailed: (id, deliveries, error) =>
          logger.warn(
            { err: error, entryId: id, deliveries },
            "inbox entry not stored yet; it will be retried",
          ),
        onDeadLettered: (id, cause, reason) =>
          logger.error({ entryId: id, cause, reason }, "inbox entry moved to the dead-letter stream"),
        onError: (error) => logger.warn({ err: error }, "inbox consumer error"),
      },
    });
  }

  async start(): Promise<void> {
    await this.trim();
    this.trimTimer = setInterval(() => void this.trim(), TRIM_INTERVAL_MS).unref();
    await this.consumer.start();
  }

  /** The entry's payload exactly as added, or undefined when the entry is gone (trimmed or deleted). */
  private async payloadBytes(id: string): Promise<Buffer | undefined> {
    const [entry] = await this.client.xrangeBuffer(INGEST_INBOX_STREAM, id, id);
    const fields = entry?.[1] ?? [];
    for (let index = 0; index + 1 < fields.length; index += 2) {
      if (fields[index]?.toString() === DATA_FIELD) return fields[index + 1];
    }
    return undefined;
  }

  /** Stops reading; entries being stored get until `deadlineMs`, the rest stay pending for another instance. */
  stop(deadlineMs: number): Promise<void> {
    clearInterval(this.trimTimer);
    return this.consumer.stop(deadlineMs);
  }

  /** Drops the entries older than the retention (exactly: once an hour, that is a few at a time). */
  private async trim(): Promise<void> {
    try {
      const trimmed = await this.client.xtrim(INGEST_INBOX_STREAM, "MINID", Date.now() - this.retentionMs);
      if (trimmed > 0)
        this.logger.info({ trimmed, retentionMs: this.retentionMs }, "inbox trimmed to the retention");
    } catch (error) {
      this.logger.warn({ err: error }, "could not trim the inbox; trying again within the hour");
    }
  }
}
