import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type Backoff, exponentialBackoff } from "@monarch/resilience";
import { duplicateForBlocking, reconnectDelay, type ValkeyClient } from "../connection.js";
import { DATA_FIELD, fieldsToRecord, recordToFields } from "../entry.js";
import { requireSameSlot } from "../keys.js";
import { MessageValidationError, type StandardSchemaV1, validate } from "../schema.js";
import { withConsumerSpan } from "../tracing.js";
import { AckBatcher } from "./ack-batcher.js";
import { Cancellation } from "./cancellation.js";
import { claimIdleScript, deadLetterScript, reclaimOwnScript, renewLeaseScript } from "./scripts.js";

/** One message handed to a handler. */
export interface StreamEntry<T> {
  readonly id: string;
  readonly message: T;
  /** 1 on the first delivery; counts redeliveries after failures and crashes. */
  readonly deliveries: number;
  /** Aborted when the consumer stops past its deadline or lost the entry to another consumer. */
  readonly signal: AbortSignal;
}

export type StreamHandler<T> = (entry: StreamEntry<T>) => Promise<void>;

/** Why an entry went to the dead-letter stream. */
export type DeadLetterCause = "invalid" | "max-deliveries";

/** Events for logs and metrics. */
export interface ConsumerHooks {
  readonly onHandled?: (id: string, deliveries: number) => void;
  readonly onFailed?: (id: string, deliveries: number, error: unknown) => void;
  readonly onDeadLettered?: (id: string, cause: DeadLetterCause, reason: string) => void;
  /** A read, claim or ack failed (the consumer carries on, reconnecting as needed). */
  readonly onError?: (error: unknown) => void;
}

export interface StreamConsumerOptions<T> {
  /** For acknowledgements, claims and dead letters. The consumer never closes it. */
  readonly client: ValkeyClient;
  readonly stream: string;
  readonly group: string;
  /** Unique per process. Default: host, pid and a random suffix. */
  readonly consumer?: string;
  readonly schema: StandardSchemaV1<unknown, T>;
  /**
   * Turns an entry's fields into what `schema` checks; a throw makes the entry invalid. Default: the
   * JSON under `data`. A consumer that judges raw input itself (and writes its own rejections) takes
   * the fields as they are.
   */
  readonly decode?: (fields: Readonly<Record<string, string>>) => unknown;
  readonly handler: StreamHandler<T>;
  /**
   * Entries handled at once, never more; no more are read until one finishes (an entry claimed while a
   * read was waiting waits its turn). Default 8.
   */
  readonly concurrency?: number;
  /** How long one blocking read waits for new entries. Default 5 000 ms. */
  readonly blockMs?: number;
  /** Deliveries after which a failing entry goes to the dead-letter stream. Default 5. */
  readonly maxDeliveries?: number;
  /** Wait before retrying a failed entry, by delivery count. Default: exponential, 1 s to 60 s. */
  readonly retryBackoff?: Backoff;
  /**
   * How long an entry may stay unacknowledged without its owner renewing the lease before another
   * consumer takes it over (the owner is presumed dead). Default 30 000 ms.
   */
  readonly leaseMs?: number;
  /** Default: the stream name + ":dead"; must share the stream's hash tag. */
  readonly deadLetterStream?: string;
  /** Entries kept in the dead-letter stream (approximately). Default 100 000. */
  readonly deadLetterMaxLength?: number;
  readonly hooks?: ConsumerHooks;
}

export interface ConsumerStats {
  readonly handled: number;
  readonly failed: number;
  readonly deadLettered: number;
  readonly inFlight: number;
  /** Entries this consumer holds but has not started: read or claimed while every slot was busy. */
  readonly waiting: number;
}

export interface ConsumerBacklog {
  /** Entries delivered to the group and not yet acknowledged. */
  readonly pending: number;
  /** Entries not yet delivered to the group (null when the server cannot tell). */
  readonly lag: number | null;
}

interface Delivery {
  readonly id: string;
  readonly fields: Record<string, string>;
  readonly deliveries: number;
}

type StreamReply = Array<[string, Array<[string, string[] | null]>]> | null;

const CLAIM_BATCH = 100;

/**
 * A worker in a consumer group. On start it takes back its own unacknowledged entries, then reads
 * new ones with blocking reads. Each entry is acknowledged after its handler succeeds; a failing
 * entry stays pending and is retried with backoff, and after `maxDeliveries` it moves to the
 * dead-letter stream (atomically with its acknowledgement). Invalid messages go there at once.
 * Entries whose owner stopped renewing its lease are claimed. `stop()` stops reading, lets running
 * handlers finish until a deadline and leaves everything else pending for other consumers.
 */
export class StreamConsumer<T> {
  readonly stream: string;
  readonly group: string;
  readonly consumer: string;
  readonly deadLetterStream: string;
  private readonly client: ValkeyClient;
  private readonly blocking: ValkeyClient;
  private readonly schema: StandardSchemaV1<unknown, T>;
  private readonly decode: (fields: Readonly<Record<string, string>>) => unknown;
  private readonly handler: StreamHandler<T>;
  private readonly concurrency: number;
  private readonly blockMs: number;
  private readonly maxDeliveries: number;
  private readonly retryBackoff: Backoff;
  private readonly leaseMs: number;
  private readonly deadLetterMaxLength: number;
  private readonly hooks: ConsumerHooks;

  private readonly inFlight = new Map<string, { cancellation: Cancellation; done: Promise<void> }>();
  /**
   * Entries taken (pending to this consumer) while every slot was busy, started in order as slots
   * free: a claim and a blocking read can each take the slots that were free when they began.
   */
  private waiting: Delivery[] = [];
  private readonly acks: AckBatcher;
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  /**
   * Its own entries being taken back (a retry whose backoff is over, or one left pending by an
   * earlier run under this name), until they are dispatched or let go.
   */
  private readonly reclaiming = new Set<string>();
  /** Waiters for a free handler slot: the read loop, claims and retries. */
  private slotWaiters: Array<() => void> = [];
  private leaseTimer: NodeJS.Timeout | undefined;
  /** Set while lease upkeep runs, so a slow server never stacks up overlapping rounds. */
  private maintaining = false;
  private readLoop: Promise<void> | undefined;
  private stopping = false;
  private counts = { handled: 0, failed: 0, deadLettered: 0 };

  constructor(options: StreamConsumerOptions<T>) {
    this.client = options.client;
    this.stream = options.stream;
    this.group = options.group;
    this.consumer = options.consumer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.schema = options.schema;
    this.decode = options.decode ?? decodeData;
    this.handler = options.handler;
    this.concurrency = options.concurrency ?? 8;
    this.blockMs = options.blockMs ?? 5_000;
    this.maxDeliveries = options.maxDeliveries ?? 5;
    this.retryBackoff =
      options.retryBackoff ??
      exponentialBackoff({ initialDelayMs: 1_000, maxDelayMs: 60_000, jitter: "full" });
    this.leaseMs = options.leaseMs ?? 30_000;
    this.deadLetterStream = options.deadLetterStream ?? `${this.stream}:dead`;
    this.deadLetterMaxLength = options.deadLetterMaxLength ?? 100_000;
    this.hooks = options.hooks ?? {};
    requireSameSlot("dead-lettering", [this.stream, this.deadLetterStream]);
    this.acks = new AckBatcher(this.client, this.stream, this.group, this.consumer);
    this.blocking = duplicateForBlocking(this.client);
    this.blocking.on("error", (error: unknown) => this.hooks.onError?.(error));
  }

  /** Creates the group if needed, takes back this consumer's own pending entries, and starts reading. */
  async start(): Promise<void> {
    await this.ensureGroup();
    this.readLoop = this.run();
    this.leaseTimer = setInterval(() => void this.maintainLeases(), Math.max(50, this.leaseMs / 3));
  }

  /**
   * Stops reading, waits up to `deadlineMs` for running handlers, then aborts the rest, which stay
   * pending for another consumer. Never throws.
   */
  async stop(deadlineMs = 10_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.leaseTimer);
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    // Never started: they stay pending for another consumer, like the entries nobody read yet.
    this.waiting = [];
    this.wakeSlotWaiters();
    this.blocking.disconnect();
    await this.readLoop?.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([Promise.allSettled([...this.inFlight.values()].map(({ done }) => done)), deadline]);
    clearTimeout(timer);
    for (const { cancellation } of this.inFlight.values()) cancellation.abort(new Error("consumer stopped"));
  }

  stats(): ConsumerStats {
    return { ...this.counts, inFlight: this.inFlight.size, waiting: this.waiting.length };
  }

  /** The group's pending count and lag, from the server. */
  async backlog(): Promise<ConsumerBacklog> {
    const groups = (await this.client.xinfo("GROUPS", this.stream)) as unknown[][];
    for (const fields of groups) {
      const info = new Map<string, unknown>();
      for (let index = 0; index + 1 < fields.length; index += 2)
        info.set(String(fields[index]), fields[index + 1]);
      if (info.get("name") !== this.group) continue;
      const lag = info.get("lag");
      return { pending: Number(info.get("pending") ?? 0), lag: typeof lag === "number" ? lag : null };
    }
    return { pending: 0, lag: null };
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.client.xgroup("CREATE", this.stream, this.group, "0", "MKSTREAM");
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("BUSYGROUP"))) throw error;
    }
  }

  private async run(): Promise<void> {
    await this.settle(() => this.recoverOwnPending());
    let failures = 0;
    while (!this.stopping) {
      await this.freeSlot();
      if (this.stopping) break;
      try {
        const reply = (await this.blocking.xreadgroup(
          "GROUP",
          this.group,
          this.consumer,
          "COUNT",
          this.freeSlots,
          "BLOCK",
          this.blockMs,
          "STREAMS",
          this.stream,
          ">",
        )) as StreamReply;
        failures = 0;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            if (fields) this.dispatch({ id, fields: fieldsToRecord(fields), deliveries: 1 });
          }
        }
      } catch (error) {
        if (this.stopping) break;
        this.hooks.onError?.(error);
        // A server restarted without persistence has lost the stream and the group: make them again.
        if (error instanceof Error && error.message.startsWith("NOGROUP"))
          await this.settle(() => this.ensureGroup());
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(++failures, 2_000)));
      }
    }
  }

  /** After a restart under the same name, this consumer's unacknowledged entries come first. */
  private async recoverOwnPending(): Promise<void> {
    for (;;) {
      const pending = (await this.client.xpending(
        this.stream,
        this.group,
        "-",
        "+",
        CLAIM_BATCH,
        this.consumer,
      )) as Array<[string, string, number, number]>;
      if (pending.length === 0 || this.stopping) return;
      for (const [id] of pending) {
        await this.freeSlot();
        if (this.stopping) return;
        if (this.holds(id)) continue;
        this.reclaiming.add(id);
        try {
          const delivery = await this.reclaimOwn(id);
          if (delivery) this.dispatchOrBury(delivery);
        } finally {
          this.reclaiming.delete(id);
        }
      }
      if (pending.length < CLAIM_BATCH) return;
    }
  }

  private async reclaimOwn(id: string): Promise<Delivery | undefined> {
    const reply = (await reclaimOwnScript.run(this.client, [this.stream], [this.group, this.consumer, id])) as
      | [string[], number]
      | "gone"
      | "taken";
    return typeof reply === "string"
      ? undefined
      : { id, fields: fieldsToRecord(reply[0]), deliveries: reply[1] };
  }

  /** Slots for entries not taken yet: neither running nor waiting for a slot. */
  private get freeSlots(): number {
    return this.concurrency - this.inFlight.size - this.waiting.length;
  }

  /** Resolves when a slot is free for a new entry (or the consumer stops). */
  private async freeSlot(): Promise<void> {
    while (this.freeSlots <= 0 && !this.stopping) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
  }

  private wakeSlotWaiters(): void {
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Dispatches an entry taken back after its owner stopped, unless it already had every delivery it
   * may: an entry that every consumer died on (a poison pill that crashes its worker) is not handed to
   * another worker to crash it too.
   */
  private dispatchOrBury(delivery: Delivery): void {
    if (delivery.deliveries <= this.maxDeliveries) {
      this.dispatch(delivery);
      return;
    }
    const attempts = delivery.deliveries - 1;
    const reason = `every consumer that took it stopped before finishing (${attempts} deliveries)`;
    void this.deadLetter(delivery.id, delivery.fields, attempts, "max-deliveries", reason);
  }

  /**
   * Entries this consumer holds: running, waiting for a slot, or failed and due for a retry. Their
   * leases are renewed, and a claim of its own never starts them a second time.
   */
  private heldIds(): string[] {
    return [
      ...this.inFlight.keys(),
      ...this.waiting.map(({ id }) => id),
      ...this.retryTimers.keys(),
      ...this.reclaiming,
    ];
  }

  private holds(id: string): boolean {
    return (
      this.inFlight.has(id) ||
      this.retryTimers.has(id) ||
      this.reclaiming.has(id) ||
      this.waiting.some((entry) => entry.id === id)
    );
  }

  /** Starts the entry, or queues it behind the others waiting when every slot is running one. */
  private dispatch(delivery: Delivery): void {
    // Never twice at once, whichever way it came back.
    if (this.inFlight.has(delivery.id) || this.waiting.some(({ id }) => id === delivery.id)) return;
    if (this.waiting.length > 0 || this.inFlight.size >= this.concurrency) this.waiting.push(delivery);
    else this.startHandling(delivery);
  }

  private startHandling(delivery: Delivery): void {
    const cancellation = new Cancellation();
    const done = this.handle(delivery, cancellation).finally(() => {
      if (this.inFlight.get(delivery.id)?.cancellation === cancellation) this.inFlight.delete(delivery.id);
      const next = this.stopping ? undefined : this.waiting.shift();
      if (next) this.startHandling(next);
      this.wakeSlotWaiters();
    });
    this.inFlight.set(delivery.id, { cancellation, done });
  }

  private async handle({ id, fields, deliveries }: Delivery, cancellation: Cancellation): Promise<void> {
    let message: T;
    try {
      message = await validate(this.schema, this.decode(fields), "invalid message");
    } catch (error) {
      const reason =
        error instanceof MessageValidationError ? error.message : `invalid message: ${String(error)}`;
      await this.deadLetter(id, fields, deliveries, "invalid", reason);
      return;
    }
    try {
      await withConsumerSpan(this.stream, this.group, id, fields, () =>
        this.handler({
          id,
          message,
          deliveries,
          get signal() {
            return cancellation.signal;
          },
        }),
      );
    } catch (error) {
      this.counts.failed++;
      this.hooks.onFailed?.(id, deliveries, error);
      if (deliveries >= this.maxDeliveries) {
        await this.deadLetter(id, fields, deliveries, "max-deliveries", describeError(error));
      } else if (!this.stopping) {
        this.scheduleRetry(id, deliveries);
      }
      return;
    }
    // Counted as handled only once acknowledged: an entry whose ack failed, or that another consumer
    // took over meanwhile, will be handled again.
    if (!(await this.settle(() => this.acks.ack(id)))) return;
    this.counts.handled++;
    this.hooks.onHandled?.(id, deliveries);
  }

  /** Retries one of this consumer's failed entries after the backoff, unless another took it. */
  private scheduleRetry(id: string, deliveries: number): void {
    const delayMs = this.retryBackoff(deliveries, 0, Math.random);
    const timer = setTimeout(async () => {
      this.retryTimers.delete(id);
      if (this.stopping || this.inFlight.has(id)) return;
      // Still held while it waits for a slot: its lease is renewed and no claim of ours starts it.
      this.reclaiming.add(id);
      try {
        await this.freeSlot();
        if (this.stopping) return;
        const delivery = await this.settle(() => this.reclaimOwn(id));
        if (delivery && !this.stopping) this.dispatch(delivery);
      } finally {
        this.reclaiming.delete(id);
      }
    }, delayMs);
    this.retryTimers.set(id, timer);
  }

  private async deadLetter(
    id: string,
    fields: Record<string, string>,
    deliveries: number,
    cause: DeadLetterCause,
    reason: string,
  ): Promise<void> {
    const record = {
      ...fields,
      source_stream: this.stream,
      source_id: id,
      group: this.group,
      consumer: this.consumer,
      deliveries: String(deliveries),
      cause,
      reason: reason.slice(0, 2_000),
      failed_at: new Date().toISOString(),
    };
    const moved = await this.settle(() =>
      deadLetterScript.run(
        this.client,
        [this.stream, this.deadLetterStream],
        [this.group, id, this.deadLetterMaxLength, ...recordToFields(record)],
      ),
    );
    if (moved) {
      this.counts.deadLettered++;
      this.hooks.onDeadLettered?.(id, cause, reason);
    }
  }

  /**
   * Renews the leases of entries being handled, so that a slow handler is not mistaken for a dead
   * consumer, and claims entries whose owners stopped renewing theirs.
   */
  private async maintainLeases(): Promise<void> {
    if (this.stopping || this.maintaining) return;
    this.maintaining = true;
    try {
      const handling = this.heldIds();
      if (handling.length > 0) {
        const lost = new Set(
          ((await this.settle(() =>
            renewLeaseScript.run(this.client, [this.stream], [this.group, this.consumer, ...handling]),
          )) as string[] | undefined) ?? [],
        );
        for (const id of lost) this.inFlight.get(id)?.cancellation.abort(new Error("lease lost"));
        const waited = this.waiting.length;
        this.waiting = this.waiting.filter(({ id }) => !lost.has(id));
        if (this.waiting.length < waited) this.wakeSlotWaiters();
      }
      await this.claimIdle();
    } finally {
      this.maintaining = false;
    }
  }

  private async claimIdle(): Promise<void> {
    let start = "0-0";
    while (!this.stopping) {
      const room = this.freeSlots;
      if (room <= 0) return;
      const reply = (await this.settle(() =>
        claimIdleScript.run(
          this.client,
          [this.stream],
          [this.group, this.consumer, this.leaseMs, start, room],
        ),
      )) as [string, Array<[string, string[], number]>] | undefined;
      if (!reply) return;
      const [next, entries] = reply;
      for (const [id, fields, deliveries] of entries) {
        if (this.holds(id)) continue;
        this.dispatchOrBury({ id, fields: fieldsToRecord(fields), deliveries });
      }
      if (next === "0-0") return;
      start = next;
    }
  }

  /** Runs a Valkey call whose failure must not break the consumer: it is reported, and the entry stays pending. */
  private async settle<R>(call: () => Promise<R>): Promise<R | undefined> {
    try {
      return await call();
    } catch (error) {
      this.hooks.onError?.(error);
      return undefined;
    }
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** valkey-client's own layout: the message as JSON under `data`. */
function decodeData(fields: Readonly<Record<string, string>>): unknown {
  return JSON.parse(fields[DATA_FIELD] ?? "null");
}
