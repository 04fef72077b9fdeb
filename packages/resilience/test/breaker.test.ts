import { describe, expect, it } from "vitest";
import {
  BrokenCircuitError,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  consecutiveFailures,
  countWindow,
  InMemoryCircuitStateStore,
  ManualClock,
  timeWindow,
} from "../src/index.js";

const boom = new Error("boom");
const fail = () => Promise.reject(boom);
const succeed = () => Promise.resolve("ok");

function setup(options: Omit<CircuitBreakerOptions, "clock"> = {}) {
  const clock = new ManualClock(1_000);
  const breaker = new CircuitBreaker({
    trip: consecutiveFailures(3),
    openDuration: 1_000,
    ...options,
    clock,
  });
  const changes: Array<[CircuitState, CircuitState, string]> = [];
  breaker.on("stateChange", ({ from, to, cause }) => changes.push([from, to, cause]));
  return { clock, breaker, changes };
}

async function failTimes(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await expect(breaker.execute(fail)).rejects.toBe(boom);
}

describe("closed", () => {
  it("passes results and errors through unchanged", async () => {
    const { breaker } = setup();
    await expect(breaker.execute(succeed)).resolves.toBe("ok");
    await expect(breaker.execute(fail)).rejects.toBe(boom);
    await expect(breaker.execute(() => 42)).resolves.toBe(42);
  });

  it("turns a synchronous throw into a rejection and counts it", async () => {
    const { breaker } = setup({ trip: consecutiveFailures(1) });
    await expect(
      breaker.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
  });

  it("opens after the configured consecutive failures, and a success resets the count", async () => {
    const { breaker, changes } = setup();
    await failTimes(breaker, 2);
    await breaker.execute(succeed);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe("closed");
    await failTimes(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(changes).toEqual([["closed", "open", "tripped"]]);
  });

  it("does not count errors the isFailure predicate excuses, and counts them as answers", async () => {
    const notFound = Object.assign(new Error("404"), { status: 404 });
    const { breaker } = setup({ isFailure: (error) => (error as { status?: number }).status !== 404 });
    await failTimes(breaker, 2);
    await expect(breaker.execute(() => Promise.reject(notFound))).rejects.toBe(notFound);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe("closed");
    expect(breaker.snapshot().window).toEqual({ kind: "consecutive-failures", consecutiveFailures: 2 });
  });

  it("counts results the isResultFailure predicate rejects", async () => {
    const { breaker } = setup({ isResultFailure: (result) => (result as { status: number }).status >= 500 });
    for (let i = 0; i < 3; i++)
      await expect(breaker.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    expect(breaker.state).toBe("open");
  });

  it("counts a call as failed when a predicate throws", async () => {
    const { breaker } = setup({
      trip: consecutiveFailures(1),
      isFailure: () => {
        throw new Error("bug in predicate");
      },
    });
    await expect(breaker.execute(fail)).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
  });

  it("does not count calls whose caller cancelled them", async () => {
    const { breaker } = setup({ trip: consecutiveFailures(1) });
    const controller = new AbortController();
    const running = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
        ),
      controller.signal,
    );
    controller.abort(new Error("caller gave up"));
    await expect(running).rejects.toThrow("caller gave up");
    expect(breaker.state).toBe("closed");
  });

  it("returns the operation's own promise, so the caller waits no extra step", async () => {
    const { breaker } = setup();
    const promise = Promise.resolve(1);
    expect(breaker.execute(() => promise)).toBe(promise);
  });
});

describe("open", () => {
  it("refuses calls without calling the operation, with the time until the next trial", async () => {
    const { clock, breaker } = setup();
    const rejected: string[] = [];
    breaker.on("rejected", ({ state }) => rejected.push(state));
    await failTimes(breaker, 3);
    clock.advance(400);
    let called = false;
    const error = await breaker
      .execute(() => {
        called = true;
        return "ok";
      })
      .catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error).toMatchObject({ state: "open", breaker: "default", retryAfterMs: 600 });
    expect((error as Error).message).toBe('circuit "default" is open; next trial in 600 ms');
    expect(rejected).toEqual(["open"]);
  });

  it("reports half-open once the open duration has passed", async () => {
    const { clock, breaker, changes } = setup();
    await failTimes(breaker, 3);
    clock.advance(999);
    expect(breaker.state).toBe("open");
    clock.advance(1);
    expect(breaker.state).toBe("half-open");
    expect(changes.at(-1)).toEqual(["open", "half-open", "open-elapsed"]);
  });

  it("grows the open duration with every trip in a row, up to the maximum, and resets it on close", async () => {
    const { clock, breaker } = setup({ openDuration: { initialMs: 100, multiplier: 3, maxMs: 500 } });
    await failTimes(breaker, 3);
    const openFor: number[] = [];
    for (let trip = 0; trip < 4; trip++) {
      const snapshot = breaker.snapshot();
      openFor.push((snapshot.openUntil ?? 0) - snapshot.changedAt);
      clock.advance(openFor.at(-1) ?? 0);
      await failTimes(breaker, 1); // the trial fails
    }
    expect(openFor).toEqual([100, 300, 500, 500]);
    clock.advance(500);
    await breaker.execute(succeed);
    await failTimes(breaker, 3);
    const snapshot = breaker.snapshot();
    expect((snapshot.openUntil ?? 0) - snapshot.changedAt).toBe(100);
  });
});

describe("half-open", () => {
  it("admits only the configured trial calls and closes after enough successes", async () => {
    const { clock, breaker, changes } = setup({ halfOpen: { trialCalls: 2, successesToClose: 2 } });
    await failTimes(breaker, 3);
    clock.advance(1_000);
    const releases: Array<() => void> = [];
    const trial = () => new Promise<string>((resolve) => releases.push(() => resolve("ok")));
    const first = breaker.execute(trial);
    const second = breaker.execute(trial);
    await expect(breaker.execute(succeed)).rejects.toMatchObject({
      state: "half-open",
      retryAfterMs: undefined,
    });
    expect(releases).toHaveLength(2);
    releases[0]?.();
    await first;
    expect(breaker.state).toBe("half-open");
    releases[1]?.();
    await second;
    expect(breaker.state).toBe("closed");
    expect(changes.at(-1)).toEqual(["half-open", "closed", "trials-succeeded"]);
  });

  it("opens again when a trial fails", async () => {
    const { clock, breaker, changes } = setup();
    await failTimes(breaker, 3);
    clock.advance(1_000);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(changes.at(-1)).toEqual(["half-open", "open", "trial-failed"]);
  });

  it("ignores a late trial from an earlier half-open period", async () => {
    const { clock, breaker } = setup({ halfOpen: { trialCalls: 2, successesToClose: 2 } });
    await failTimes(breaker, 3);
    clock.advance(1_000);
    let releaseLate: () => void = () => {};
    const late = breaker.execute(
      () => new Promise<string>((resolve) => (releaseLate = () => resolve("late"))),
    );
    await failTimes(breaker, 1); // second trial fails: open again
    clock.advance(2_000);
    expect(breaker.state).toBe("half-open");
    await breaker.execute(succeed);
    releaseLate();
    await late;
    expect(breaker.snapshot().halfOpen).toEqual({ admitted: 1, successes: 1 });
  });

  it("gives a cancelled trial's slot back", async () => {
    const { clock, breaker } = setup();
    await failTimes(breaker, 3);
    clock.advance(1_000);
    const controller = new AbortController();
    const trial = breaker.execute(() => Promise.reject(new Error("aborted")), controller.signal);
    controller.abort();
    await expect(trial).rejects.toThrow("aborted");
    expect(breaker.snapshot().halfOpen).toEqual({ admitted: 0, successes: 0 });
    await breaker.execute(succeed);
    expect(breaker.state).toBe("closed");
  });
});

describe("by hand", () => {
  it("isolate refuses every call until reset, and reset forgets recorded outcomes", async () => {
    const { clock, breaker, changes } = setup();
    await failTimes(breaker, 2);
    breaker.isolate();
    clock.advance(1_000_000);
    await expect(breaker.execute(succeed)).rejects.toMatchObject({
      state: "isolated",
      retryAfterMs: undefined,
    });
    breaker.reset();
    await failTimes(breaker, 2);
    expect(breaker.state).toBe("closed");
    expect(changes).toEqual([
      ["closed", "isolated", "manual"],
      ["isolated", "closed", "manual"],
    ]);
  });
});

describe("windows", () => {
  it("count window trips on the failure rate once the minimum calls were made", async () => {
    const { breaker } = setup({ trip: countWindow({ size: 4, minimumCalls: 4, failureRateThreshold: 0.5 }) });
    await failTimes(breaker, 1);
    await breaker.execute(succeed);
    await breaker.execute(succeed);
    expect(breaker.state).toBe("closed");
    await failTimes(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("count window forgets the oldest outcome as new ones arrive", async () => {
    const { breaker } = setup({ trip: countWindow({ size: 3, failureRateThreshold: 1 }) });
    await failTimes(breaker, 2);
    await breaker.execute(succeed);
    await breaker.execute(succeed);
    await breaker.execute(succeed);
    expect(breaker.snapshot().window).toEqual({ kind: "count-window", calls: 3, failures: 0, slowCalls: 0 });
  });

  it("slow calls trip the breaker by their rate, whether they succeed or fail", async () => {
    const { clock, breaker } = setup({
      trip: countWindow({
        size: 4,
        slowCallDurationMs: 100,
        slowCallRateThreshold: 0.75,
        failureRateThreshold: 1,
      }),
    });
    const slow = async () => {
      clock.advance(150);
      return "slow";
    };
    await breaker.execute(slow);
    await breaker.execute(succeed);
    await breaker.execute(slow);
    expect(breaker.state).toBe("closed");
    await breaker.execute(slow);
    expect(breaker.snapshot().window).toMatchObject({ calls: 4, slowCalls: 3, failures: 0 });
    expect(breaker.state).toBe("open");
  });

  it("time window drops outcomes older than its duration", async () => {
    const { clock, breaker } = setup({
      trip: timeWindow({ durationMs: 1_000, buckets: 10, minimumCalls: 3, failureRateThreshold: 0.9 }),
    });
    await failTimes(breaker, 2);
    clock.advance(1_000);
    await failTimes(breaker, 1);
    expect(breaker.snapshot().window).toEqual({ kind: "time-window", calls: 1, failures: 1, slowCalls: 0 });
    await failTimes(breaker, 2);
    expect(breaker.state).toBe("open");
  });
});

describe("events", () => {
  it("measures durations only while someone listens, and reports them", async () => {
    const { clock, breaker } = setup();
    const durations: number[] = [];
    const stop = breaker.on("success", ({ durationMs }) => durations.push(durationMs));
    breaker.on("failure", ({ error, durationMs }) =>
      durations.push(error === boom ? -durationMs : Number.NaN),
    );
    await breaker.execute(async () => {
      clock.advance(25);
      return 1;
    });
    await expect(
      breaker.execute(async () => {
        clock.advance(5);
        throw boom;
      }),
    ).rejects.toBe(boom);
    stop();
    await breaker.execute(succeed);
    expect(durations).toEqual([25, -5]);
  });
});

describe("shared state", () => {
  it("breakers of one name in different processes open and close together", async () => {
    const store = new InMemoryCircuitStateStore();
    const clock = new ManualClock(5_000);
    const options = {
      name: "github",
      trip: consecutiveFailures(2),
      openDuration: 1_000,
      store,
      clock,
    } as const;
    const here = new CircuitBreaker(options);
    const there = new CircuitBreaker(options);
    const other = new CircuitBreaker({ ...options, name: "slack" });
    clock.advance(1);
    await failTimes(here, 2);
    await Promise.resolve();
    expect(there.state).toBe("open");
    expect(there.snapshot().openUntil).toBe(here.snapshot().openUntil);
    expect(other.state).toBe("closed");
    clock.advance(1_000);
    await here.execute(succeed);
    await Promise.resolve();
    expect(there.state).toBe("closed");
    there.dispose();
    clock.advance(1);
    await failTimes(here, 2);
    await Promise.resolve();
    expect(there.state).toBe("closed");
  });

  it("a breaker created after the shared state changed adopts it", async () => {
    const store = new InMemoryCircuitStateStore();
    const clock = new ManualClock(5_000);
    const first = new CircuitBreaker({ name: "api", store, clock, trip: consecutiveFailures(1) });
    await failTimes(first, 1);
    clock.advance(10);
    const late = new CircuitBreaker({ name: "api", store, clock });
    await Promise.resolve();
    expect(late.state).toBe("open");
    expect(late.snapshot().openUntil).toBe(first.snapshot().openUntil);
  });

  it("reports store failures as events and never fails the call", async () => {
    const errors: unknown[] = [];
    const broken = new Error("store down");
    const breaker = new CircuitBreaker({
      trip: consecutiveFailures(1),
      store: { publish: () => Promise.reject(broken), subscribe: () => () => {} },
    });
    breaker.on("storeError", ({ error }) => errors.push(error));
    await expect(breaker.execute(fail)).rejects.toBe(boom);
    await new Promise((resolve) => setImmediate(resolve));
    expect(breaker.state).toBe("open");
    expect(errors).toEqual([broken]);
  });
});

describe("options", () => {
  it.each([
    [{ trip: consecutiveFailures(0) }, "threshold must be an integer >= 1, got 0"],
    [
      { trip: countWindow({ size: 10, failureRateThreshold: 1.5 }) },
      "failureRateThreshold must be in (0, 1], got 1.5",
    ],
    [{ trip: timeWindow({ durationMs: 0 }) }, "durationMs must be a number > 0, got 0"],
    [
      { halfOpen: { trialCalls: 1, successesToClose: 2 } },
      "halfOpen.successesToClose (2) cannot exceed halfOpen.trialCalls (1)",
    ],
    [{ openDuration: { initialMs: 10, maxMs: 5 } }, "openDuration.maxMs (5) must be >= initialMs (10)"],
  ] as const)("rejects %j with a message naming the option", (options, message) => {
    expect(() => new CircuitBreaker(options as CircuitBreakerOptions)).toThrow(new RangeError(message));
  });
});
