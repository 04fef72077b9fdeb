import type { Logger } from "pino";

/** A piece of a service that starts and stops: a connection, a consumer, a server. */
export interface ServicePart {
  readonly name: string;
  start?(): void | Promise<void>;
  /** Finishes or releases in-flight work; `deadline` aborts when the stop is out of time. */
  stop?(deadline: AbortSignal): void | Promise<void>;
}

export interface LifecycleOptions {
  readonly logger: Logger;
  /** How long stopping may take in all before the process exits anyway. Default 10 000 ms. */
  readonly shutdownTimeoutMs?: number;
  /** Ends the process; replaced in tests. */
  readonly exit?: (code: number) => void;
}

/** Exit codes, so an orchestrator or an operator can tell how a process ended. */
export const ExitCode = {
  stopped: 0,
  failed: 1,
  /** A second SIGINT, or SIGTERM, while stopping: stopped without finishing. */
  forcedBySigint: 130,
  forcedBySigterm: 143,
} as const;

/**
 * Starts a service's parts in order and stops them in reverse on SIGTERM or SIGINT, within a
 * deadline; a second signal ends the process at once. An uncaught error is logged and stops the
 * service with a failure code. Stopping always ends with the logs flushed: the log stream is the first
 * part started, so the last stopped, and it gets a moment of its own even past the deadline.
 */
export class Lifecycle {
  private readonly parts: ServicePart[] = [];
  private readonly started: ServicePart[] = [];
  private readonly logger: Logger;
  private readonly shutdownTimeoutMs: number;
  private readonly exit: (code: number) => void;
  private stopping: Promise<number> | undefined;
  private failing = false;

  constructor(options: LifecycleOptions) {
    this.logger = options.logger;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  add(...parts: ServicePart[]): this {
    this.parts.push(...parts);
    return this;
  }

  /** Starts every part, handles signals and fatal errors, and exits when stopped. */
  async run(): Promise<void> {
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => this.onSignal(signal));
    process.on("uncaughtException", (error) => this.fail("uncaught exception", error));
    process.on("unhandledRejection", (reason) => this.fail("unhandled promise rejection", reason));
    try {
      for (const part of this.parts) {
        await part.start?.();
        this.started.push(part);
        this.logger.debug({ part: part.name }, "started");
      }
      this.logger.info({ parts: this.parts.map(({ name }) => name) }, "service started");
    } catch (error) {
      this.fail("start failed", error);
    }
  }

  /** True from the moment a stop begins: the service should get no new work (`/readyz` says so). */
  get stopRequested(): boolean {
    return this.stopping !== undefined;
  }

  /** Stops the started parts in reverse order; resolves with the exit code. */
  stop(reason: string): Promise<number> {
    this.stopping ??= this.stopParts(reason);
    return this.stopping;
  }

  private onSignal(signal: "SIGTERM" | "SIGINT"): void {
    if (this.stopping) {
      this.logger.warn({ signal }, "second signal: exiting without finishing the stop");
      this.exit(signal === "SIGINT" ? ExitCode.forcedBySigint : ExitCode.forcedBySigterm);
      return;
    }
    void this.stop(`received ${signal}`).then((code) => this.exit(code));
  }

  private fail(what: string, error: unknown): void {
    // Only the first failure is logged: when stdout itself is what fails (its reader went away),
    // logging each failure would fail again and keep the process spinning instead of exiting.
    if (this.failing) return;
    this.failing = true;
    this.logger.fatal({ err: error }, what);
    void this.stop(what).then(() => this.exit(ExitCode.failed));
  }

  private async stopParts(reason: string): Promise<number> {
    const deadline = AbortSignal.timeout(this.shutdownTimeoutMs);
    const startedAt = Date.now();
    // The logger's own part stops last; say it before it goes.
    this.logger.info({ reason, deadlineMs: this.shutdownTimeoutMs }, "stopping");
    let code: number = ExitCode.stopped;
    const [logs, ...rest] = this.started;
    for (const part of rest.reverse()) {
      if (deadline.aborted) break;
      try {
        await Promise.race([part.stop?.(deadline), whenAborted(deadline)]);
        if (deadline.aborted) {
          this.logger.error({ part: part.name }, "stop deadline passed");
          code = ExitCode.failed;
        }
      } catch (error) {
        this.logger.error({ err: error, part: part.name }, "part failed to stop");
        code = ExitCode.failed;
      }
    }
    this.logger.info({ tookMs: Date.now() - startedAt, code }, "stopped");
    // The logs stop last, and even past the deadline get a moment of their own to flush: they are
    // what explains a slow stop.
    try {
      await Promise.race([
        logs?.stop?.(AbortSignal.timeout(LOG_FLUSH_ALLOWANCE_MS)),
        delay(LOG_FLUSH_ALLOWANCE_MS),
      ]);
    } catch {
      code = ExitCode.failed;
    }
    return code;
  }
}

/** Time the logs get to flush after the other parts stopped, even when the stop deadline passed. */
const LOG_FLUSH_ALLOWANCE_MS = 2_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
