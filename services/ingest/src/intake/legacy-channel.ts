import { randomUUID } from "node:crypto";
import { capPayload, LEGACY_REQUEST_CHANNEL, MAX_DEAD_LETTER_PAYLOAD_BYTES } from "@monarch/contracts";
import { exponentialBackoff, Retry } from "@monarch/resilience";
import type { Logger } from "@monarch/runtime";
import { ChannelSubscriber, type ValkeyClient } from "@monarch/valkey-client";
import { SpanKind, trace } from "@opentelemetry/api";
import type { Receptionist } from "../reception.js";

const tracer = trace.getTracer("@monarch/ingest");

export interface LegacyChannelOptions {
  readonly client: ValkeyClient;
  readonly receptionist: Receptionist;
  readonly logger: Logger;
  /** How long to keep trying to store a message while Valkey is failing. Default 60 s. */
  readonly retryBudgetMs?: number;
}

/**
 * The platform's original way in: messages PUBLISHed on `channel_migrate_issue_tickets`. Pub/sub
 * keeps nothing for a subscriber that is away, so whatever is published while ingest is down (or
 * between a connection loss and the re-subscription) is lost: the inbox stream and HTTP are the
 * durable ways. A message that arrives is never dropped quietly: while Valkey fails to store it, it
 * is retried; if it still cannot be stored, the error log carries its payload for a manual replay.
 */
export class LegacyChannelIntake {
  private readonly subscriber: ChannelSubscriber;
  private readonly retry: Retry;
  private readonly inFlight = new Set<Promise<void>>();
  /** Aborted when a stop's deadline passes: retries end, and what is still unstored is logged. */
  private readonly giveUp = new AbortController();

  constructor(private readonly options: LegacyChannelOptions) {
    this.subscriber = new ChannelSubscriber({
      client: options.client,
      hooks: {
        // The bytes, not the text: a message that is not UTF-8 is refused as such, not read with U+FFFD.
        onMessage: (_channel, _text, bytes) => this.track(this.handle(bytes)),
        onSubscribed: () =>
          options.logger.info({ channel: LEGACY_REQUEST_CHANNEL }, "listening on the legacy channel"),
        onError: (error) => options.logger.warn({ err: error }, "legacy channel subscriber error"),
      },
    });
    this.retry = new Retry({
      maxAttempts: Number.POSITIVE_INFINITY,
      maxElapsedMs: options.retryBudgetMs ?? 60_000,
      backoff: exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 5_000, jitter: "full" }),
    });
    this.retry.on("retry", ({ attempt, delayMs, error }) =>
      options.logger.warn(
        { err: error, attempt, delayMs },
        "could not store a legacy channel message yet; retrying",
      ),
    );
  }

  start(): Promise<void> {
    return this.subscriber.subscribe(LEGACY_REQUEST_CHANNEL);
  }

  /**
   * Stops listening, then waits for the messages already received to be stored; those still failing
   * at `deadlineMs` are given up, their payloads logged.
   */
  async stop(deadlineMs: number): Promise<void> {
    await this.subscriber.close();
    const timer = setTimeout(() => this.giveUp.abort(new Error("ingest is stopping")), deadlineMs);
    await Promise.allSettled([...this.inFlight]);
    clearTimeout(timer);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private handle(message: Buffer): Promise<void> {
    const receivedAt = new Date();
    // One id for every attempt: an attempt whose reply was lost is found as "known", not stored twice.
    const requestId = randomUUID();
    return tracer.startActiveSpan(
      `receive ${LEGACY_REQUEST_CHANNEL}`,
      {
        kind: SpanKind.CONSUMER,
        root: true,
        attributes: { "messaging.system": "valkey", "messaging.destination.name": LEGACY_REQUEST_CHANNEL },
      },
      async (span) => {
        try {
          await this.retry.execute(
            () => this.options.receptionist.receive({ raw: message, via: "pubsub", requestId, receivedAt }),
            this.giveUp.signal,
          );
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          this.options.logger.error(
            { err: error, requestId, payload: capPayload(message, MAX_DEAD_LETTER_PAYLOAD_BYTES).text },
            "could not store a legacy channel message; replay its payload by hand",
          );
        } finally {
          span.end();
        }
      },
    );
  }
}
