import type { Unsubscribe } from "../events.js";

/** The part of a breaker's state that several processes share. Half-open trials stay local. */
export interface SharedCircuitState {
  readonly state: "closed" | "open" | "isolated";
  /** When this state was entered (epoch ms); the newer change wins. */
  readonly changedAt: number;
  /** While open: when trial calls may start (epoch ms). */
  readonly openUntil: number | null;
  /** Trips in a row without closing, which drives a growing open duration. */
  readonly trips: number;
}

/**
 * Lets breakers of the same name in several processes see each other's state changes, so all replicas
 * stop calling a failing dependency together. Errors from `publish` are reported through the breaker's
 * `storeError` event and never fail a call.
 */
export interface CircuitStateStore {
  publish(name: string, state: SharedCircuitState): void | Promise<void>;
  /** Delivers changes made by any process; should also deliver the latest known state at once. */
  subscribe(name: string, listener: (state: SharedCircuitState) => void): Unsubscribe;
}

/** A store shared by the breakers of one process; the reference for stores backed by a server. */
export class InMemoryCircuitStateStore implements CircuitStateStore {
  private readonly latest = new Map<string, SharedCircuitState>();
  private readonly listeners = new Map<string, Set<(state: SharedCircuitState) => void>>();

  publish(name: string, state: SharedCircuitState): void {
    const known = this.latest.get(name);
    if (known && known.changedAt > state.changedAt) return;
    this.latest.set(name, state);
    for (const listener of this.listeners.get(name) ?? []) queueMicrotask(() => listener(state));
  }

  subscribe(name: string, listener: (state: SharedCircuitState) => void): Unsubscribe {
    const listeners = this.listeners.get(name) ?? new Set();
    this.listeners.set(name, listeners);
    listeners.add(listener);
    const known = this.latest.get(name);
    if (known) queueMicrotask(() => listener(known));
    return () => {
      listeners.delete(listener);
    };
  }
}
