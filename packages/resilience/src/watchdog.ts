import { type Clock, systemClock, type TimerHandle } from "./clock.js";
import { CopyOnWriteList, EventHub, type Unsubscribe } from "./events.js";
import { runIsolated } from "./isolated.js";
import { requireInteger, requirePositive } from "./validate.js";

/** What a watchdog knows, as plain data: what a heartbeat sink stores and a status page shows. */
export interface WatchdogStatus {
  readonly name: string;
  readonly healthy: boolean;
  /** Epoch ms of the last heartbeat, or null before the first. */
  readonly lastHeartbeatAt: number | null;
  /** Checks in a row that found no heartbeat since the one before. */
  readonly missedChecks: number;
  /** Epoch ms since when the watchdog has been in its current health. */
  readonly since: number;
}

/** Where a watchdog reports its status at every check, e.g. a key with a TTL in a shared store. */
export interface HeartbeatSink {
  record(status: WatchdogStatus): void | Promise<void>;
}

export interface WatchdogOptions {
  /** Names the watched component in statuses and events. */
  readonly name: string;
  /** How often to check for heartbeats. */
  readonly checkIntervalMs: number;
  /** Checks in a row without a heartbeat after which the component is unhealthy. Default 3. */
  readonly maxMissedChecks?: number;
  readonly sink?: HeartbeatSink;
  readonly clock?: Clock;
}

/** A recovery action, run when the component turns unhealthy. */
export type RecoveryCallback = (status: WatchdogStatus) => void | Promise<void>;

export interface WatchdogEvents {
  unhealthy: WatchdogStatus;
  healthy: WatchdogStatus;
  /** A recovery callback threw or rejected; the other callbacks ran regardless. */
  recoveryError: { readonly error: unknown };
  sinkError: { readonly error: unknown };
}

const eventNames = ["unhealthy", "healthy", "recoveryError", "sinkError"] as const;

/**
 * Notices when a component stops making progress. The component calls {@link Watchdog.heartbeat} as it
 * works; a check every `checkIntervalMs` counts the checks that saw no heartbeat, and after
 * `maxMissedChecks` of them the watchdog turns unhealthy and runs its recovery callbacks, once per
 * episode. The next heartbeat makes it healthy again. Its timer never keeps the process alive, and
 * nothing runs after {@link Watchdog.stop}.
 */
export class Watchdog {
  readonly name: string;
  private readonly checkIntervalMs: number;
  private readonly maxMissedChecks: number;
  private readonly sink: HeartbeatSink | undefined;
  private readonly clock: Clock;
  private readonly events = new EventHub<WatchdogEvents>(eventNames);
  private readonly recoveryCallbacks = new CopyOnWriteList<RecoveryCallback>();
  private timer: TimerHandle | undefined;
  private healthy = true;
  private since: number;
  private lastHeartbeatAt: number | null = null;
  private beatSinceCheck = false;
  private missedChecks = 0;

  constructor(options: WatchdogOptions) {
    this.name = options.name;
    this.checkIntervalMs = options.checkIntervalMs;
    this.maxMissedChecks = options.maxMissedChecks ?? 3;
    requirePositive("checkIntervalMs", this.checkIntervalMs);
    requireInteger("maxMissedChecks", this.maxMissedChecks, 1);
    this.sink = options.sink;
    this.clock = options.clock ?? systemClock;
    this.since = this.clock.now();
  }

  on<K extends keyof WatchdogEvents>(event: K, listener: (event: WatchdogEvents[K]) => void): Unsubscribe {
    return this.events.on(event, listener);
  }

  /** Adds an action to run when the component turns unhealthy. Each is isolated from the others. */
  onRecovery(callback: RecoveryCallback): Unsubscribe {
    return this.recoveryCallbacks.add(callback);
  }

  /** Starts checking; a second call does nothing. */
  start(): void {
    if (this.timer === undefined) this.schedule();
  }

  /** Stops checking and cancels the pending check. */
  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Says the component made progress. */
  heartbeat(): void {
    const now = this.clock.now();
    this.lastHeartbeatAt = now;
    this.beatSinceCheck = true;
    this.missedChecks = 0;
    if (!this.healthy) {
      this.healthy = true;
      this.since = now;
      if (this.events.has("healthy")) this.events.emit("healthy", this.status());
    }
  }

  status(): WatchdogStatus {
    return {
      name: this.name,
      healthy: this.healthy,
      lastHeartbeatAt: this.lastHeartbeatAt,
      missedChecks: this.missedChecks,
      since: this.since,
    };
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(this.check, this.checkIntervalMs);
    this.clock.keepAlive(this.timer, false);
  }

  private readonly check = (): void => {
    this.schedule();
    if (this.beatSinceCheck) this.beatSinceCheck = false;
    else this.missedChecks++;
    if (this.healthy && this.missedChecks >= this.maxMissedChecks) this.turnUnhealthy();
    const sink = this.sink;
    if (sink) {
      const status = this.status();
      runIsolated(
        () => sink.record(status),
        (error) => this.events.emit("sinkError", { error }),
      );
    }
  };

  private turnUnhealthy(): void {
    this.healthy = false;
    this.since = this.clock.now();
    const status = this.status();
    if (this.events.has("unhealthy")) this.events.emit("unhealthy", status);
    for (const callback of this.recoveryCallbacks.items) {
      runIsolated(
        () => callback(status),
        (error) => this.events.emit("recoveryError", { error }),
      );
    }
  }
}
