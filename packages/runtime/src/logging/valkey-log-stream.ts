import {
  becomesReady,
  closeClient,
  createClient,
  LuaScript,
  type ValkeyClient,
  type ValkeyConnectionOptions,
} from "@monarch/valkey-client";
import { FifoQueue } from "./fifo-queue.js";

const DAY_MS = 86_400_000;

/** How long the first batch waits for the first connection (no outage yet) before it is tried. */
const FIRST_CONNECTION_GRACE_MS = 2_000;

/**
 * Appends each line as its own entry and sets the stream's expiry, in one command per batch: sending
 * hundreds of XADD commands costs the client far more than one script with hundreds of arguments.
 * KEYS: the day's stream. ARGV: expire-at epoch ms, lines...
 */
const appendLinesScript = new LuaScript(`
for index = 2, #ARGV do redis.call('XADD', KEYS[1], '*', 'data', ARGV[index]) end
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return #ARGV - 1
`);

export interface ValkeyLogStreamOptions {
  readonly connection: ValkeyConnectionOptions;
  /** The stream for the day that starts at `dayStart` (UTC), e.g. `monarch:logs:2026-11-23`. */
  readonly streamFor: (dayStart: Date) => string;
  /** Days a daily stream is kept after its day ends. Default 30. */
  readonly retentionDays?: number;
  /** Lines kept while Valkey is unreachable or behind; older ones are dropped (and counted) past it. Default 50 000. */
  readonly maxBufferedLines?: number;
  /** Lines sent in one round trip. Default 500. */
  readonly batchSize?: number;
  /** How long lines may wait to be batched. Default 20 ms. */
  readonly flushDelayMs?: number;
  readonly hooks?: ValkeyLogStreamHooks;
}

/** Changes in whether lines reach Valkey, each said once, so the stdout copy of the log can tell. */
export interface ValkeyLogStreamHooks {
  /** A batch failed after the last one was stored (Valkey away, out of memory, a wrong key type…). */
  readonly onFailing?: (error: unknown) => void;
  /** A batch was stored after failures; `dropped` lines were lost to the full buffer meanwhile. */
  readonly onRecovered?: (dropped: number) => void;
}

interface BufferedLine {
  readonly dayStart: number;
  readonly line: string;
}

/**
 * A pino destination that appends every line to a daily Valkey stream. Writing only buffers the line,
 * so logging never waits for the network; batches go out shortly after, one command each. While Valkey is
 * unreachable the lines wait in a bounded buffer (the oldest are dropped and counted past it), and are
 * sent when it is back. The connection is its own, without an offline queue, so nothing piles up
 * unbounded inside the client either.
 */
export class ValkeyLogStream {
  private readonly client: ValkeyClient;
  private readonly streamFor: (dayStart: Date) => string;
  private readonly retentionMs: number;
  private readonly maxBufferedLines: number;
  private readonly batchSize: number;
  private readonly flushDelayMs: number;
  private readonly buffer = new FifoQueue<BufferedLine>();
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private droppedLines = 0;
  private failures = 0;
  private readonly firstConnectionMade: Promise<void>;
  /** `droppedLines` when a batch was last stored: what the buffer dropped since is the outage's loss. */
  private droppedWhenLastStored = 0;
  private readonly hooks: ValkeyLogStreamHooks;

  constructor(options: ValkeyLogStreamOptions) {
    this.client = createClient(options.connection, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.streamFor = options.streamFor;
    this.retentionMs = (options.retentionDays ?? 30) * DAY_MS;
    this.maxBufferedLines = options.maxBufferedLines ?? 50_000;
    this.batchSize = options.batchSize ?? 500;
    this.flushDelayMs = options.flushDelayMs ?? 20;
    this.hooks = options.hooks ?? {};
    this.firstConnectionMade = this.firstConnection();
  }

  /** Lines dropped because the buffer was full while Valkey was unreachable. */
  get dropped(): number {
    return this.droppedLines;
  }

  /** Lines waiting to be sent. */
  get pending(): number {
    return this.buffer.length;
  }

  write(line: string): void {
    if (this.buffer.length >= this.maxBufferedLines) {
      this.buffer.dropOldest();
      this.droppedLines++;
    }
    const now = Date.now();
    this.buffer.push({
      dayStart: now - (now % DAY_MS),
      line: line.endsWith("\n") ? line.slice(0, -1) : line,
    });
    this.schedule(this.flushDelayMs);
  }

  /** Sends everything buffered; resolves when it is stored, or when Valkey could not take it in time. */
  async flush(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length > 0 && Date.now() < deadline) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.send();
      if (this.failures > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Flushes, then closes the connection. */
  async close(timeoutMs = 5_000): Promise<void> {
    await this.flush(timeoutMs);
    clearTimeout(this.timer);
    await closeClient(this.client, 1_000);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.sending) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send();
    }, delayMs);
    this.timer.unref();
  }

  private send(): Promise<void> {
    this.sending ??= this.sendBatch().finally(() => {
      this.sending = undefined;
      if (this.buffer.length > 0)
        this.schedule(this.failures === 0 ? 0 : Math.min(5_000, 100 * 2 ** this.failures));
    });
    return this.sending;
  }

  private async sendBatch(): Promise<void> {
    // The first connection may still be on its way, which is no outage. Reconnects wait for nothing.
    await this.firstConnectionMade;
    const batch = this.buffer.take(this.batchSize);
    if (batch.length === 0) return;
    let stored = 0;
    try {
      for (const [dayStart, lines] of groupByDay(batch)) {
        const stream = this.streamFor(new Date(dayStart));
        await appendLinesScript.run(this.client, [stream], [dayStart + DAY_MS + this.retentionMs, ...lines]);
        stored += lines.length;
      }
    } catch (error) {
      // Put back what was not stored, in order, within the bound; the stdout copy of each line is
      // already out, so an operator still sees them.
      const unsent = batch.slice(stored);
      const room = Math.max(0, this.maxBufferedLines - this.buffer.length);
      const kept = unsent.slice(Math.max(0, unsent.length - room));
      this.droppedLines += unsent.length - kept.length;
      this.buffer.putBack(kept);
      if (this.failures++ === 0) this.tell(() => this.hooks.onFailing?.(error));
      return;
    }
    if (this.failures > 0) {
      this.failures = 0;
      const dropped = this.droppedLines - this.droppedWhenLastStored;
      this.tell(() => this.hooks.onRecovered?.(dropped));
    }
    this.droppedWhenLastStored = this.droppedLines;
  }

  /** Resolves when the connection is first ready, or after the grace period, whichever comes first. */
  private async firstConnection(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FIRST_CONNECTION_GRACE_MS).unref();
    });
    await Promise.race([becomesReady(this.client), grace]);
    clearTimeout(timer);
  }

  /** Runs a hook; one that throws must not stop the lines from flowing, nor pass for a failed send. */
  private tell(hook: () => void): void {
    try {
      hook();
    } catch {
      // The hook's own problem: the stream carries on regardless.
    }
  }
}

function groupByDay(batch: readonly BufferedLine[]): Map<number, string[]> {
  const days = new Map<number, string[]>();
  for (const { dayStart, line } of batch) {
    const lines = days.get(dayStart) ?? [];
    lines.push(line);
    days.set(dayStart, lines);
  }
  return days;
}
