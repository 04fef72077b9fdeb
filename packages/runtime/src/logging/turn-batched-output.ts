import type { DestinationStream } from "pino";

/**
 * A pino destination that hands the lines of one event-loop turn to its target in one write. Under
 * load a service logs many lines a turn, and a system call per line was a good part of its time; a
 * line now waits for the end of its turn at the most.
 */
export class TurnBatchedOutput implements DestinationStream {
  private lines: string[] = [];

  constructor(private readonly target: { write(text: string): unknown }) {}

  write(line: string): void {
    this.lines.push(line);
    if (this.lines.length === 1) setImmediate(() => this.flushSync());
  }

  /** Writes what is waiting, now (pino's multistream calls this when it is flushed). */
  flushSync(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join("");
    this.lines = [];
    this.target.write(text);
  }
}

let stdout: TurnBatchedOutput | undefined;

/**
 * The one batched output on the process's stdout, shared by every logger so that their lines keep
 * their order. What waits is written when the process exits, also through `process.exit`; a process
 * killed outright (SIGKILL, a signal it does not handle) loses the lines of its last turn.
 */
export function batchedStdout(): TurnBatchedOutput {
  if (stdout === undefined) {
    const output = new TurnBatchedOutput(process.stdout);
    process.on("exit", () => output.flushSync());
    stdout = output;
  }
  return stdout;
}
