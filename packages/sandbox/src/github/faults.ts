import type { RouteKey } from "./route.js";

/** A route, or `*` for every request that its own route's spec does not cover. */
export type FaultRoute = RouteKey | "*";

/**
 * Real milliseconds (never scaled) a request waits before it is handled: a fixed delay, a uniform range,
 * or a log-normal distribution given by its median and 99th percentile, as service latencies are.
 */
export type Latency =
  | number
  | { readonly minMs: number; readonly maxMs: number }
  | { readonly medianMs: number; readonly p99Ms: number };

/** Clock milliseconds (`from` inclusive, `until` exclusive) during which GitHub is down. */
export interface Outage {
  readonly from: number;
  readonly until: number;
}

export type ServerErrorStatus = 500 | 502 | 503 | 504;

/**
 * What goes wrong on a route. The rates are fractions of its requests (together at most 1); one draw per
 * request picks at most one of them.
 */
export interface FaultSpec {
  readonly latency?: Latency;
  /** Answered `serverErrorStatus` without being handled. */
  readonly serverErrorRate?: number;
  /** Default 502. */
  readonly serverErrorStatus?: ServerErrorStatus;
  /** Never answered and not handled: the client times out, and nothing happened. */
  readonly timeoutRate?: number;
  /** Handled (an issue is created), then answered 502: the duplicate trap for a client that retries. */
  readonly errorAfterSuccessRate?: number;
  /** Handled, then never answered: the client times out not knowing that it succeeded. */
  readonly lostResponseRate?: number;
  /** Every request during one is answered 503 without being handled. */
  readonly outages?: readonly Outage[];
  /** Applies to this many requests of the route, then is removed. Default: until cleared. */
  readonly requests?: number;
}

/** How a request was failed on purpose. */
export type FaultKind = "outage" | "server-error" | "timeout" | "error-after-success" | "lost-response";

export interface FaultPlan {
  readonly latencyMs: number;
  readonly fault?: FaultKind;
  /** The status answered instead, for the faults that answer. */
  readonly status?: ServerErrorStatus;
}

const Z_99 = 2.326_347_874;
const NO_FAULT: FaultPlan = { latencyMs: 0 };

interface ActiveSpec {
  readonly spec: FaultSpec;
  left: number;
}

function checkSpec(spec: FaultSpec): void {
  const rates = [spec.serverErrorRate, spec.timeoutRate, spec.errorAfterSuccessRate, spec.lostResponseRate];
  for (const rate of rates) {
    if (rate !== undefined && !(rate >= 0 && rate <= 1))
      throw new RangeError(`a fault rate must be in [0, 1], got ${rate}`);
  }
  const total = rates.reduce<number>((sum, rate) => sum + (rate ?? 0), 0);
  if (total > 1 + 1e-9) throw new RangeError(`fault rates add up to ${total}, more than 1`);
  if (spec.requests !== undefined && !(Number.isInteger(spec.requests) && spec.requests >= 1)) {
    throw new RangeError(`fault requests must be a whole number >= 1, got ${spec.requests}`);
  }
  for (const outage of spec.outages ?? []) {
    if (!(outage.from <= outage.until)) throw new RangeError(`an outage must not end before it starts`);
  }
  const { latency } = spec;
  if (latency === undefined) return;
  const valid =
    typeof latency === "number"
      ? latency >= 0
      : "minMs" in latency
        ? latency.minMs >= 0 && latency.maxMs >= latency.minMs
        : latency.medianMs > 0 && latency.p99Ms >= latency.medianMs;
  if (!valid) throw new RangeError(`invalid latency ${JSON.stringify(latency)}`);
}

/** Draws a latency in milliseconds from `latency` with `random` (uniform on [0, 1)). */
export function sampleLatency(latency: Latency, random: () => number): number {
  if (typeof latency === "number") return latency;
  if ("minMs" in latency) return latency.minMs + random() * (latency.maxMs - latency.minMs);
  // Box–Muller: a standard normal from two uniforms; 1 - u keeps the logarithm finite.
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const sigma = Math.log(latency.p99Ms / latency.medianMs) / Z_99;
  return latency.medianMs * Math.exp(sigma * normal);
}

/** The faults injected per route, and the draw that decides what happens to each request. */
export class Faults {
  private readonly specs = new Map<FaultRoute, ActiveSpec>();

  /** `random`: uniform on [0, 1); inject a seeded one for repeatable runs. */
  constructor(private readonly random: () => number = Math.random) {}

  /** Replaces the spec of `route`; a route's own spec takes precedence over `*`. */
  set(route: FaultRoute, spec: FaultSpec): void {
    checkSpec(spec);
    this.specs.set(route, { spec, left: spec.requests ?? Number.POSITIVE_INFINITY });
  }

  /** Removes the spec of `route`, or every spec. */
  clear(route?: FaultRoute): void {
    if (route === undefined) this.specs.clear();
    else this.specs.delete(route);
  }

  /** What happens to a request of `route` (undefined: no route matched) arriving `now`. */
  plan(route: RouteKey | undefined, now: number): FaultPlan {
    const key: FaultRoute | undefined =
      route && this.specs.has(route) ? route : this.specs.has("*") ? "*" : undefined;
    const active = key && this.specs.get(key);
    if (!key || !active) return NO_FAULT;
    active.left -= 1;
    if (active.left <= 0) this.specs.delete(key);
    const { spec } = active;
    const latencyMs = spec.latency === undefined ? 0 : sampleLatency(spec.latency, this.random);
    if (spec.outages?.some((outage) => outage.from <= now && now < outage.until)) {
      return { latencyMs, fault: "outage", status: 503 };
    }
    const outcomes: [number | undefined, FaultPlan][] = [
      [spec.serverErrorRate, { latencyMs, fault: "server-error", status: spec.serverErrorStatus ?? 502 }],
      [spec.timeoutRate, { latencyMs, fault: "timeout" }],
      [spec.errorAfterSuccessRate, { latencyMs, fault: "error-after-success", status: 502 }],
      [spec.lostResponseRate, { latencyMs, fault: "lost-response" }],
    ];
    let draw = this.random();
    for (const [rate, plan] of outcomes) {
      draw -= rate ?? 0;
      if (draw < 0) return plan;
    }
    return { latencyMs };
  }
}
