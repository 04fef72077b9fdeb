import { type OtlpReceiver, startOtlpReceiver, TRACES_PATH } from "./receiver.js";
import { type CollectedSpan, type CollectedTrace, groupByTrace } from "./span.js";

export interface StartTraceCollectorOptions {
  /** Default: any free port. 4318 is the OTLP/HTTP default that exporters use when given no URL. */
  readonly port?: number;
}

export interface WaitForSpansOptions {
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
}

export type SpansPredicate = (spans: readonly CollectedSpan[]) => boolean;

/** Thrown by {@link TraceCollector.waitForSpans} when the spans did not arrive in time. */
export class SpanWaitTimeoutError extends Error {
  override readonly name = "SpanWaitTimeoutError";
  constructor(
    readonly timeoutMs: number,
    /** What had arrived by then, to tell a missing span from a misnamed one. */
    readonly received: readonly CollectedSpan[],
  ) {
    const names = received.slice(0, 20).map((span) => `${span.name} (${span.kind})`);
    super(
      `the awaited spans did not arrive within ${timeoutMs} ms; ${received.length} spans received` +
        (names.length ? `: ${names.join(", ")}${received.length > names.length ? ", …" : ""}` : ""),
    );
  }
}

/** Thrown by {@link TraceCollector.waitForSpans} when the collector stops while it waits. */
export class TraceCollectorStoppedError extends Error {
  override readonly name = "TraceCollectorStoppedError";
  constructor() {
    super("the trace collector stopped while waiting for spans");
  }
}

interface Waiter {
  /** Settles the wait if its predicate now holds. */
  readonly check: () => void;
  readonly fail: (error: Error) => void;
}

/**
 * An OTLP/HTTP trace collector on a loopback port that keeps every span it receives, for tests that
 * check what a service traced. Point an exporter at {@link tracesUrl}, or set
 * `OTEL_EXPORTER_OTLP_ENDPOINT` to {@link url}, then {@link waitForSpans} for what should arrive.
 */
export class TraceCollector {
  /** Where exporters post: `${url}/v1/traces`. */
  readonly tracesUrl: string;
  private readonly received: CollectedSpan[] = [];
  private readonly waiters = new Set<Waiter>();
  private stopped = false;

  private constructor(private readonly receiver: OtlpReceiver) {
    this.tracesUrl = `${receiver.url}${TRACES_PATH}`;
  }

  static async start(options: StartTraceCollectorOptions = {}): Promise<TraceCollector> {
    // Nothing can send before the URL is known, so no span arrives before the collector exists.
    let collector: TraceCollector | undefined;
    const receiver = await startOtlpReceiver({
      port: options.port ?? 0,
      onSpans: (spans) => collector?.add(spans),
    });
    collector = new TraceCollector(receiver);
    return collector;
  }

  /** The base URL, `http://127.0.0.1:PORT`: the value for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  get url(): string {
    return this.receiver.url;
  }

  /** Every span received since the start or the last {@link clear}, in arrival order. */
  spans(): CollectedSpan[] {
    return [...this.received];
  }

  /** The received spans grouped by trace, traces in the order their first span arrived. */
  traces(): CollectedTrace[] {
    return groupByTrace(this.received);
  }

  /**
   * Resolves with all received spans as soon as `predicate` holds over them: at once if it already does,
   * otherwise when the export that makes it hold arrives. Rejects with {@link SpanWaitTimeoutError} after
   * `timeoutMs`, with {@link TraceCollectorStoppedError} on {@link stop}, or with what the predicate threw.
   */
  waitForSpans(predicate: SpansPredicate, options: WaitForSpansOptions = {}): Promise<CollectedSpan[]> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          try {
            if (!predicate(this.received)) return;
          } catch (error) {
            waiter.fail(error as Error);
            return;
          }
          settle();
          resolve(this.spans());
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      const timer = setTimeout(
        () => waiter.fail(new SpanWaitTimeoutError(timeoutMs, this.spans())),
        timeoutMs,
      );
      if (this.stopped) {
        waiter.fail(new TraceCollectorStoppedError());
        return;
      }
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Forgets every span received so far, as between tests. */
  clear(): void {
    this.received.length = 0;
  }

  /** Stops listening; pending waits reject. Spans received stay readable. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of [...this.waiters]) waiter.fail(new TraceCollectorStoppedError());
    await this.receiver.close();
  }

  private add(spans: readonly CollectedSpan[]): void {
    for (const span of spans) this.received.push(span);
    for (const waiter of [...this.waiters]) waiter.check();
  }
}

/** Starts a trace collector; see {@link TraceCollector}. */
export function startTraceCollector(options?: StartTraceCollectorOptions): Promise<TraceCollector> {
  return TraceCollector.start(options);
}
