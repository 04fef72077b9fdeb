import { type Clock, systemClock } from "../clock.js";
import { BrokenCircuitError, type RefusingCircuitState } from "../errors.js";
import { EventHub, type Unsubscribe } from "../events.js";
import { runIsolated } from "../isolated.js";
import {
  BasePolicy,
  type ExecutionContext,
  isCancelled,
  LazySignalContext,
  type Operation,
  rootContext,
  type SettleObserver,
} from "../policy.js";
import { requireInteger, requireNonNegative, requirePositive } from "../validate.js";
import type { CircuitStateStore, SharedCircuitState } from "./state-store.js";
import {
  consecutiveFailures,
  createTripState,
  type TripPolicy,
  type TripState,
  type WindowSnapshot,
} from "./trip-policies.js";

export type CircuitState = "closed" | "open" | "half-open" | "isolated";

/** An open duration that multiplies with every trip in a row, up to `maxMs`. */
export interface GrowingOpenDuration {
  readonly initialMs: number;
  /** Default 2. */
  readonly multiplier?: number;
  readonly maxMs: number;
}

export interface CircuitBreakerOptions {
  /** Names the breaker in errors, snapshots and the shared store. Default "default". */
  readonly name?: string;
  /** When a closed breaker opens. Default: 5 consecutive failures. */
  readonly trip?: TripPolicy;
  /** How long the breaker stays open before admitting trial calls. Default 30 000 ms. */
  readonly openDuration?: number | GrowingOpenDuration;
  /** Trial calls admitted per half-open period (default 1), and successes among them that close it. */
  readonly halfOpen?: { readonly trialCalls?: number; readonly successesToClose?: number };
  /**
   * Whether a thrown error counts against the dependency. Default: every error. Errors that do not
   * count (a 404, say) still reach the caller, and count as a success: the dependency answered.
   */
  readonly isFailure?: (error: unknown) => boolean;
  /** Whether a returned value counts as a failure (a 503 response object, say). Default: never. */
  readonly isResultFailure?: (result: unknown) => boolean;
  /** Shares open/closed state with breakers of the same name in other processes. */
  readonly store?: CircuitStateStore;
  readonly clock?: Clock;
}

/** Why the breaker changed state. */
export type StateChangeCause =
  | "tripped"
  | "open-elapsed"
  | "trial-failed"
  | "trials-succeeded"
  | "manual"
  | "shared";

export interface CircuitBreakerEvents {
  stateChange: { readonly from: CircuitState; readonly to: CircuitState; readonly cause: StateChangeCause };
  /** A call that counted as a success. `durationMs` is measured only while someone listens. */
  success: { readonly durationMs: number };
  failure: { readonly error: unknown; readonly result: unknown; readonly durationMs: number };
  rejected: { readonly state: RefusingCircuitState };
  storeError: { readonly error: unknown };
}

/** Everything a breaker knows, as plain data. */
export interface CircuitSnapshot {
  readonly name: string;
  readonly state: CircuitState;
  readonly changedAt: number;
  readonly openUntil: number | null;
  readonly trips: number;
  readonly halfOpen: { readonly admitted: number; readonly successes: number } | null;
  readonly window: WindowSnapshot;
}

const eventNames = ["stateChange", "success", "failure", "rejected", "storeError"] as const;

/** A call admitted while closed; trial calls carry the half-open period they belong to (>= 1). */
const REGULAR_CALL = 0;

/**
 * Stops calling a dependency that keeps failing, and probes it again after a while.
 *
 * Closed: calls pass and their outcomes feed the trip policy. Open: calls are refused with
 * {@link BrokenCircuitError} until the open duration has passed. Half-open: a limited number of trial
 * calls pass; enough successes close the breaker, any failure opens it again (for longer, with a
 * growing open duration). Isolated: refused until {@link CircuitBreaker.reset}.
 */
export class CircuitBreaker extends BasePolicy {
  readonly name: string;
  private readonly clock: Clock;
  private readonly trip: TripState;
  private readonly openDuration: Required<GrowingOpenDuration>;
  private readonly trialCalls: number;
  private readonly successesToClose: number;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;
  private readonly isResultFailure: ((result: unknown) => boolean) | undefined;
  private readonly events = new EventHub<CircuitBreakerEvents>(eventNames);
  private readonly store: CircuitStateStore | undefined;
  private readonly unsubscribeStore: Unsubscribe | undefined;

  private current: CircuitState = "closed";
  private changedAt: number;
  /** Whether the state ever changed, here or by adoption; `changedAt` is the creation time until then. */
  private hasChanged = false;
  private openUntil = 0;
  private trips = 0;
  /** Counts half-open periods, so a late trial from an earlier period is not counted in this one. */
  private period = 0;
  private trialsAdmitted = 0;
  private trialSuccesses = 0;
  private timed: boolean;

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.name = options.name ?? "default";
    this.clock = options.clock ?? systemClock;
    this.trip = createTripState(options.trip ?? consecutiveFailures(5));
    this.timed = this.trip.needsDuration;
    this.openDuration = normaliseOpenDuration(options.openDuration ?? 30_000);
    this.trialCalls = options.halfOpen?.trialCalls ?? 1;
    this.successesToClose = options.halfOpen?.successesToClose ?? this.trialCalls;
    requireInteger("halfOpen.trialCalls", this.trialCalls, 1);
    requireInteger("halfOpen.successesToClose", this.successesToClose, 1);
    if (this.successesToClose > this.trialCalls) {
      throw new RangeError(
        `halfOpen.successesToClose (${this.successesToClose}) cannot exceed halfOpen.trialCalls (${this.trialCalls})`,
      );
    }
    this.isFailure = options.isFailure;
    this.isResultFailure = options.isResultFailure;
    this.changedAt = this.clock.now();
    this.store = options.store;
    this.unsubscribeStore = this.store?.subscribe(this.name, (shared) => this.adopt(shared));
  }

  /** The current state; an open breaker whose duration has passed reports half-open. */
  get state(): CircuitState {
    if (this.current === "open" && this.clock.now() >= this.openUntil) this.enterHalfOpen();
    return this.current;
  }

  on<K extends keyof CircuitBreakerEvents>(
    event: K,
    listener: (event: CircuitBreakerEvents[K]) => void,
  ): Unsubscribe {
    const unsubscribe = this.events.on(event, listener);
    this.updateTimed();
    return () => {
      unsubscribe();
      this.updateTimed();
    };
  }

  /** Calls are timed only when the trip policy or a listener needs their duration. */
  private updateTimed(): void {
    this.timed = this.trip.needsDuration || this.events.has("success") || this.events.has("failure");
  }

  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    const permit = this.admit();
    if (permit instanceof BrokenCircuitError) return Promise.reject(permit);
    const startedAt = this.timed ? this.clock.now() : undefined;
    if (permit === REGULAR_CALL && startedAt === undefined) return this.runPlain(operation, context);
    const onResult = (result: unknown) =>
      this.settle(permit, this.isBadResult(result), startedAt, undefined, result);
    const onError = (error: unknown) => {
      if (isCancelled(context)) this.release(permit);
      else this.settle(permit, this.countsAsFailure(error), startedAt, error, undefined);
    };
    let outcome: PromiseLike<T> | T;
    try {
      outcome = operation(context);
    } catch (error) {
      onError(error);
      return Promise.reject(error);
    }
    // The outcome is recorded by a reaction registered before the caller's, and the caller gets the
    // operation's own promise: watching costs no extra promise hop on the caller's path.
    const promise = outcome instanceof Promise ? (outcome as Promise<T>) : Promise.resolve(outcome);
    promise.then(onResult, onError);
    return promise;
  }

  /**
   * A regular, untimed call: it needs nothing of its own to record its outcome but its context (to
   * tell whether its caller cancelled it, which cannot happen without a signal). A policy just outside
   * that watches the same promise (an aggressive timeout) reports the outcome from its own reaction.
   */
  private runPlain<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    let outcome: PromiseLike<T> | T;
    try {
      outcome = operation(context);
    } catch (error) {
      this.plainObserver.settledWithError(error, context);
      return Promise.reject(error);
    }
    const promise = outcome instanceof Promise ? (outcome as Promise<T>) : Promise.resolve(outcome);
    if (context === rootContext) promise.then(this.onPlainResult, this.onPlainError);
    else if (!(context instanceof LazySignalContext && context.observeSettle(promise, this.plainObserver))) {
      promise.then(this.onPlainResult, (error: unknown) =>
        this.plainObserver.settledWithError(error, context),
      );
    }
    return promise;
  }

  private readonly onPlainResult = (result: unknown): void =>
    this.settle(REGULAR_CALL, this.isBadResult(result), undefined, undefined, result);

  private readonly onPlainError = (error: unknown): void =>
    this.settle(REGULAR_CALL, this.countsAsFailure(error), undefined, error, undefined);

  /** Records the outcomes of regular, untimed calls. */
  private readonly plainObserver: SettleObserver = {
    settledWithResult: this.onPlainResult,
    settledWithError: (error, context) => {
      if (!isCancelled(context)) this.onPlainError(error);
    },
  };

  /** Refuses every call until {@link reset}, for operators taking a dependency out by hand. */
  isolate(): void {
    this.change("isolated", "manual", this.clock.now());
  }

  /** Closes the breaker and forgets recorded outcomes. */
  reset(): void {
    this.change("closed", "manual", this.clock.now());
  }

  snapshot(): CircuitSnapshot {
    const now = this.clock.now();
    const state = this.state;
    return {
      name: this.name,
      state,
      changedAt: this.changedAt,
      openUntil: state === "open" ? this.openUntil : null,
      trips: this.trips,
      halfOpen:
        state === "half-open" ? { admitted: this.trialsAdmitted, successes: this.trialSuccesses } : null,
      window: this.trip.snapshot(now),
    };
  }

  /** Stops following the shared store. */
  dispose(): void {
    this.unsubscribeStore?.();
  }

  /** Returns the permit for a call, or the error to refuse it with. */
  private admit(): number | BrokenCircuitError {
    if (this.current === "closed") return REGULAR_CALL;
    if (this.current === "open" && this.clock.now() >= this.openUntil) this.enterHalfOpen();
    if (this.current === "half-open" && this.trialsAdmitted < this.trialCalls) {
      this.trialsAdmitted++;
      return this.period;
    }
    const state = this.current as RefusingCircuitState;
    if (this.events.has("rejected")) this.events.emit("rejected", { state });
    return new BrokenCircuitError(
      this.name,
      state,
      state === "open" ? this.openUntil - this.clock.now() : undefined,
    );
  }

  private settle(
    permit: number,
    failed: boolean,
    startedAt: number | undefined,
    error: unknown,
    result: unknown,
  ): void {
    const now = startedAt !== undefined || this.trip.needsNow ? this.clock.now() : 0;
    const durationMs = startedAt === undefined ? 0 : now - startedAt;
    if (failed) {
      if (this.events.has("failure")) this.events.emit("failure", { error, result, durationMs });
    } else if (this.events.has("success")) {
      this.events.emit("success", { durationMs });
    }

    if (permit === REGULAR_CALL) {
      // Outcomes of calls admitted before the breaker left "closed" are stale.
      if (this.current === "closed" && this.trip.record(failed, durationMs, now)) this.open("tripped");
    } else if (permit === this.period && this.current === "half-open") {
      if (failed) this.open("trial-failed");
      else if (++this.trialSuccesses >= this.successesToClose)
        this.change("closed", "trials-succeeded", this.clock.now());
    }
  }

  /** A predicate that throws is a bug in the caller's code; counting its call as failed is the safe side. */
  private countsAsFailure(error: unknown): boolean {
    try {
      return this.isFailure ? this.isFailure(error) : true;
    } catch {
      return true;
    }
  }

  private isBadResult(result: unknown): boolean {
    try {
      return this.isResultFailure ? this.isResultFailure(result) : false;
    } catch {
      return true;
    }
  }

  /** Gives back the slot of a call the caller cancelled: it says nothing about the dependency. */
  private release(permit: number): void {
    if (permit !== REGULAR_CALL && permit === this.period && this.current === "half-open")
      this.trialsAdmitted--;
  }

  private open(cause: StateChangeCause): void {
    this.change("open", cause, this.clock.now());
  }

  private enterHalfOpen(): void {
    this.change("half-open", "open-elapsed", this.openUntil);
  }

  private change(to: CircuitState, cause: StateChangeCause, at: number): void {
    const from = this.current;
    this.current = to;
    this.changedAt = at;
    this.hasChanged = true;
    if (to === "open") {
      this.trips = from === "open" ? this.trips : this.trips + 1;
      this.openUntil = at + this.openDurationFor(this.trips);
    } else if (to === "half-open") {
      this.period++;
      this.trialsAdmitted = this.trialSuccesses = 0;
    } else if (to === "closed") {
      this.trips = 0;
      this.trip.reset();
    }
    if (to !== "half-open") this.publish(to);
    if (from !== to && this.events.has("stateChange")) this.events.emit("stateChange", { from, to, cause });
  }

  private openDurationFor(trips: number): number {
    const { initialMs, multiplier, maxMs } = this.openDuration;
    return Math.min(maxMs, initialMs * multiplier ** (trips - 1));
  }

  private publish(state: SharedCircuitState["state"]): void {
    if (!this.store) return;
    const shared: SharedCircuitState = {
      state,
      changedAt: this.changedAt,
      openUntil: state === "open" ? this.openUntil : null,
      trips: this.trips,
    };
    const store = this.store;
    runIsolated(
      () => store.publish(this.name, shared),
      (error) => this.events.emit("storeError", { error }),
    );
  }

  /**
   * Takes on a newer state published by another process, without publishing it again. Until this
   * breaker has changed state itself, any shared state is newer: a replica started while the others
   * see the dependency down must not call it.
   */
  private adopt(shared: SharedCircuitState): void {
    if (this.hasChanged && shared.changedAt <= this.changedAt) return;
    this.hasChanged = true;
    const from = this.current;
    this.current = shared.state;
    this.changedAt = shared.changedAt;
    this.trips = shared.trips;
    if (shared.state === "open") this.openUntil = shared.openUntil ?? shared.changedAt;
    if (shared.state === "closed") this.trip.reset();
    if (from !== shared.state && this.events.has("stateChange")) {
      this.events.emit("stateChange", { from, to: shared.state, cause: "shared" });
    }
  }
}

function normaliseOpenDuration(duration: number | GrowingOpenDuration): Required<GrowingOpenDuration> {
  const growing =
    typeof duration === "number"
      ? { initialMs: duration, multiplier: 1, maxMs: duration }
      : { multiplier: 2, ...duration };
  requireNonNegative("openDuration.initialMs", growing.initialMs);
  requirePositive("openDuration.multiplier", growing.multiplier);
  if (growing.maxMs < growing.initialMs) {
    throw new RangeError(`openDuration.maxMs (${growing.maxMs}) must be >= initialMs (${growing.initialMs})`);
  }
  return growing;
}
