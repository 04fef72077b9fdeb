import type { DestinationStream } from "pino";

/** Outputs with lines waiting, flushed when the process exits (one listener for them all). */
const waiting = new Set<TurnBatchedOutput>();
process.on("exit", () => {
  for (const output of waiting) output.flush();
});

/**
 * A pino destination that hands the lines of one event-loop turn to its target in one write. Under
 * load a service logs many lines a turn, and a system call per line was a good part of its time; a
 * line now waits for the end of its turn at the most, and is written before the process exits.
 */
export class TurnBatchedOutput implements DestinationStream {
  private lines: string[] = [];

  constructor(private readonly target: { write(text: string): unknown }) {}

  write(line: string): void {
    this.lines.push(line);
    if (this.lines.length === 1) {
      waiting.add(this);
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is waiting, now. */
  flush(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join("");
    this.lines = [];
    waiting.delete(this);
    this.target.write(text);
  }
}
