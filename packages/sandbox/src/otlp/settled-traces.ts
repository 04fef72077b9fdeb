import { type CollectedSpan, type CollectedTrace, groupByTrace } from "./span.js";

interface Pending {
  readonly spans: CollectedSpan[];
  readonly timer: NodeJS.Timeout;
}

/**
 * Gathers spans by trace and hands a trace on once it looks complete: its root span has arrived and no
 * span of it has come for `quietMs`. Exporters send spans as they end, a root last, and batch them,
 * so only quiet tells that a trace is done. A trace whose root never comes here (its caller was traced
 * elsewhere, or not at all) is handed on after `rootlessQuietMs` instead.
 */
export class SettledTraces {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly onSettled: (trace: CollectedTrace) => void,
    private readonly quietMs = 1_000,
    private readonly rootlessQuietMs = 10_000,
  ) {}

  add(spans: readonly CollectedSpan[]): void {
    for (const { traceId, spans: arrived } of groupByTrace(spans)) {
      const pending = this.pending.get(traceId);
      clearTimeout(pending?.timer);
      const gathered = pending?.spans ?? [];
      for (const span of arrived) gathered.push(span);
      const delay = gathered.some((span) => span.parentSpanId === undefined)
        ? this.quietMs
        : this.rootlessQuietMs;
      this.pending.set(traceId, { spans: gathered, timer: setTimeout(() => this.settle(traceId), delay) });
    }
  }

  /** Hands on every pending trace now, as when the collector stops. */
  flush(): void {
    for (const traceId of [...this.pending.keys()]) this.settle(traceId);
  }

  private settle(traceId: string): void {
    const pending = this.pending.get(traceId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(traceId);
    this.onSettled({ traceId, spans: pending.spans });
  }
}
