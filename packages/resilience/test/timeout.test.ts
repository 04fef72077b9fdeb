import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CancelledError,
  type Clock,
  type ExecutionContext,
  ManualClock,
  pipeline,
  ResilienceError,
  systemClock,
  Timeout,
  TimeoutError,
  timeout,
} from "../src/index.js";
import { deadlineGranularityMs } from "../src/timeout.js";
import { deferred, flush, RecordingClock, rejectionOf, track } from "./helpers.js";

const never = <T>(): Promise<T> => new Promise<T>(() => {});

describe("Timeout options", () => {
  it("timeout() builds a Timeout of the given duration", () => {
    const policy = timeout(250);
    expect(policy).toBeInstanceOf(Timeout);
    expect(policy.timeoutMs).toBe(250);
  });

  it.each([0, -1, Number.NaN])("rejects timeoutMs %s with a RangeError naming the option", (value) => {
    expect(() => timeout(value)).toThrow(new RangeError(`timeoutMs must be a number > 0, got ${value}`));
  });

  it("an infinite timeout sets no timer and never expires", async () => {
    const clock = new ManualClock();
    const call = track(timeout(Number.POSITIVE_INFINITY, { clock }).execute(() => never<number>()));
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceAsync(1e12);
    expect(call.outcome.status).toBe("pending");
  });
});

describe.each(["aggressive", "cooperative"] as const)("Timeout (%s), common behaviour", (strategy) => {
  const setup = (timeoutMs = 1000) => {
    const clock = new ManualClock();
    return { clock, policy: timeout(timeoutMs, { clock, strategy }) };
  };

  it("returns the value of an operation that finishes in time", async () => {
    const { clock, policy } = setup();
    const op = deferred<string>();
    const call = track(policy.execute(() => op.promise));
    await clock.advanceAsync(999);
    op.resolve("done");
    await flush();
    expect(call.outcome).toEqual({ status: "fulfilled", value: "done" });
  });

  it("passes on the error of an operation that fails in time, unwrapped", async () => {
    const { clock, policy } = setup();
    const boom = new Error("boom");
    const op = deferred<string>();
    const call = track(policy.execute(() => op.promise));
    await clock.advanceAsync(500);
    op.reject(boom);
    await flush();
    expect(rejectionOf(call)).toBe(boom);
  });

  it("accepts a synchronous operation and turns its throw into a rejection", async () => {
    const { policy } = setup();
    await expect(policy.execute(() => 42)).resolves.toBe(42);
    const boom = new Error("sync");
    const result = policy.execute(() => {
      throw boom;
    });
    await expect(result).rejects.toBe(boom);
  });

  it("aborts the context signal with a TimeoutError reason when time is up", async () => {
    const { clock, policy } = setup(1000);
    let signal: AbortSignal | undefined;
    const op = deferred<void>();
    const call = track(
      policy.execute((context) => {
        signal = context.signal;
        return op.promise;
      }),
    );
    clock.advance(999);
    expect(signal?.aborted).toBe(false);
    clock.advance(1);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    expect(signal?.reason).toMatchObject({ timeoutMs: 1000 });
    op.reject(signal?.reason);
    await flush();
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
  });

  it("does not abort the signal of a call that finished before its deadline", async () => {
    const { clock, policy } = setup(1000);
    let context: ExecutionContext | undefined;
    await policy.execute((ctx) => {
      context = ctx;
      return ctx.signal.aborted;
    });
    await clock.advanceAsync(5000);
    expect(context?.signal.aborted).toBe(false);
  });

  it("reads the same lazily created signal on every access", async () => {
    const { policy } = setup();
    const signals = await policy.execute((context) => [context.signal, context.signal]);
    expect(signals[0]).toBe(signals[1]);
  });

  it("a signal first read after the deadline is already aborted with a TimeoutError", async () => {
    const { clock, policy } = setup(100);
    const gate = deferred<void>();
    const call = track(
      policy.execute(async (context) => {
        await gate.promise;
        return { aborted: context.signal.aborted, reason: context.signal.reason as unknown };
      }),
    );
    await clock.advanceAsync(100);
    gate.resolve();
    await flush();
    if (strategy === "cooperative") {
      expect(call.outcome).toEqual({
        status: "fulfilled",
        value: { aborted: true, reason: expect.any(TimeoutError) },
      });
    } else {
      expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
    }
  });

  it("passes context.attempt through from the enclosing context", async () => {
    const { policy } = setup();
    const attempt = await policy.run((context) => context.attempt, {
      signal: new AbortController().signal,
      attempt: 4,
    });
    expect(attempt).toBe(4);
    await expect(policy.execute((context) => context.attempt)).resolves.toBe(1);
  });

  it("rejects at once with CancelledError, without calling the operation, if the caller's signal is already aborted", async () => {
    const { clock, policy } = setup();
    const controller = new AbortController();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    const op = vi.fn(() => 1);
    const call = track(policy.execute(op, controller.signal));
    await flush();
    const error = rejectionOf(call);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).cause).toBe(reason);
    expect(op).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it("propagates the caller's abort into the context signal, with the caller's reason", async () => {
    const { policy } = setup();
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const op = deferred<void>();
    const call = track(
      policy.execute((context) => {
        signal = context.signal;
        return op.promise;
      }, controller.signal),
    );
    expect(signal).not.toBe(controller.signal); // the policy's own signal, aborted by either cause
    const reason = new Error("stop");
    controller.abort(reason);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(reason);
    op.reject(reason);
    await flush();
    expect(call.outcome.status).toBe("rejected");
  });

  it("propagates a caller abort that came before the signal was first read", async () => {
    const { policy } = setup();
    const controller = new AbortController();
    const gate = deferred<void>();
    const reason = new Error("stop");
    const seen = track(
      policy.execute(async (context) => {
        await gate.promise;
        return context.signal.reason as unknown;
      }, controller.signal),
    );
    controller.abort(reason);
    gate.resolve();
    await flush();
    if (strategy === "cooperative") expect(seen.outcome).toEqual({ status: "fulfilled", value: reason });
    else expect(rejectionOf(seen)).toBeInstanceOf(CancelledError);
  });

  it("stops listening to the caller's signal once the call finished", async () => {
    const { policy } = setup();
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    await policy.execute((context) => {
      signal = context.signal;
      return "ok";
    }, controller.signal);
    controller.abort(new Error("too late"));
    expect(signal?.aborted).toBe(false);
  });

  it("leaves no pending timer once the leftover timer of finished calls fires", async () => {
    const { clock, policy } = setup(1000);
    await policy.execute(() => "a");
    await clock.advanceAsync(300);
    await policy.execute(async () => "b");
    expect(clock.pendingTimers).toBe(1); // the leftover timer, no longer keeping the process alive
    await clock.advanceAsync(700); // leftover fires at 1000 with nothing queued
    expect(clock.pendingTimers).toBe(0);
    await clock.advanceAsync(10_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it("many concurrent calls share one timer and each expires at its own deadline", async () => {
    const { clock, policy } = setup(1000);
    const expiredAt = new Map<number, number>();
    const ops = [0, 100, 250, 250, 900].map((startAt, index) => ({ startAt, index, op: deferred<never>() }));
    const calls: ReturnType<typeof track<never>>[] = [];
    for (const { startAt, index, op } of ops) {
      clock.advance(startAt - clock.now());
      calls.push(
        track(
          policy.execute((context) => {
            context.signal.addEventListener("abort", () => {
              expiredAt.set(index, clock.now());
              op.reject(context.signal.reason);
            });
            return op.promise;
          }),
        ),
      );
      expect(clock.pendingTimers).toBe(1);
    }
    await clock.advanceAsync(999 - clock.now()); // now 999: nothing is due yet
    expect(expiredAt.size).toBe(0);
    for (let now = 1000; now <= 1900; now += 50) {
      await clock.advanceAsync(now - clock.now());
      expect(clock.pendingTimers).toBeLessThanOrEqual(1);
    }
    expect([...expiredAt.entries()].sort(([a], [b]) => a - b)).toEqual([
      [0, 1000],
      [1, 1100],
      [2, 1250],
      [3, 1250],
      [4, 1900],
    ]);
    for (const call of calls) expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a call that finished early does not make a later call expire early", async () => {
    const { clock, policy } = setup(1000);
    const early = deferred<string>();
    const first = track(policy.execute(() => early.promise));
    await clock.advanceAsync(400);
    const second = track(policy.execute(() => never<string>()));
    early.resolve("early");
    await clock.advanceAsync(600); // now 1000: the first deadline, which belongs to a finished call
    expect(first.outcome).toEqual({ status: "fulfilled", value: "early" });
    expect(second.outcome.status).toBe("pending");
    if (strategy === "aggressive") {
      await clock.advanceAsync(400); // now 1400
      expect(rejectionOf(second)).toBeInstanceOf(TimeoutError);
    }
  });
});

describe("Timeout, aggressive strategy", () => {
  it("a caller's abort also ends the call's wait for the timer, so no timer keeps the process alive", async () => {
    const clock = new RecordingClock();
    const policy = timeout(1_000, { clock });
    const controller = new AbortController();
    const call = track(policy.execute(() => never<void>(), controller.signal));
    controller.abort(new Error("left"));
    await flush();
    expect(rejectionOf(call)).toBeInstanceOf(CancelledError);
    expect(clock.calls.at(-1)).toMatchObject({ op: "keepAlive", keepAlive: false });
  });

  it("rejects with TimeoutError at the deadline even if the operation ignores its signal", async () => {
    const clock = new ManualClock();
    const policy = timeout(500, { clock }); // aggressive is the default
    const call = track(policy.execute(() => never<string>()));
    await clock.advanceAsync(499);
    expect(call.outcome.status).toBe("pending");
    await clock.advanceAsync(1);
    const error = rejectionOf(call);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toMatchObject({ name: "TimeoutError", timeoutMs: 500 });
    expect((error as Error).message).toBe("operation timed out after 500 ms");
  });

  it("an operation that never reads context.signal still times out", async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock, strategy: "aggressive" });
    const call = track(policy.execute(() => never<void>()));
    await clock.advanceAsync(100);
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
  });

  it("ignores the late outcome of an operation that outlived its deadline", async () => {
    const clock = new ManualClock();
    const policy = timeout(100, { clock });
    const late = deferred<string>();
    const call = track(policy.execute(() => late.promise));
    await clock.advanceAsync(100);
    late.reject(new Error("late failure")); // must not surface as an unhandled rejection
    await flush();
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
  });

  it("rejects the caller at once with CancelledError when the caller aborts, even if the operation ignores the signal", async () => {
    const clock = new ManualClock();
    const policy = timeout(1000, { clock });
    const controller = new AbortController();
    const call = track(policy.execute(() => never<string>(), controller.signal));
    await flush();
    expect(call.outcome.status).toBe("pending");
    const reason = new Error("user navigated away");
    controller.abort(reason);
    await flush();
    const error = rejectionOf(call);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).cause).toBe(reason);
    expect(clock.now()).toBe(0);
  });
});

describe("Timeout, cooperative strategy", () => {
  const setup = (timeoutMs: number) => {
    const clock = new ManualClock();
    return { clock, policy: timeout(timeoutMs, { clock, strategy: "cooperative" }) };
  };

  it("waits for the operation after the deadline and wraps its error in a TimeoutError with it as cause", async () => {
    const { clock, policy } = setup(200);
    const op = deferred<string>();
    const call = track(policy.execute(() => op.promise));
    await clock.advanceAsync(5000);
    expect(call.outcome.status).toBe("pending"); // the caller waits for the operation to settle
    const own = new Error("connection reset");
    op.reject(own);
    await flush();
    const error = rejectionOf(call);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(200);
    expect((error as TimeoutError).cause).toBe(own);
  });

  it("an operation that never reads context.signal still gets a TimeoutError when it fails late", async () => {
    const { clock, policy } = setup(200);
    const op = deferred<string>();
    const call = track(policy.execute(() => op.promise));
    await clock.advanceAsync(200);
    op.reject(new Error("late"));
    await flush();
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
  });

  it("wraps the operation's rejection with the signal's reason as cause when it honours the abort", async () => {
    const { clock, policy } = setup(200);
    const call = track(
      policy.execute(
        (context) =>
          new Promise<never>((_, reject) => {
            context.signal.addEventListener("abort", () => reject(context.signal.reason));
          }),
      ),
    );
    await clock.advanceAsync(200);
    const error = rejectionOf(call) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.cause).toBeInstanceOf(TimeoutError);
  });

  it("returns the value of an operation that succeeds after the deadline", async () => {
    const { clock, policy } = setup(200);
    const op = deferred<string>();
    const call = track(policy.execute(() => op.promise));
    await clock.advanceAsync(300);
    op.resolve("slow but fine");
    await flush();
    expect(call.outcome).toEqual({ status: "fulfilled", value: "slow but fine" });
  });

  it("a caller abort aborts the context signal and the caller gets the operation's own error", async () => {
    const { policy } = setup(1000);
    const controller = new AbortController();
    const reason = new Error("stop");
    const call = track(
      policy.execute(
        (context) =>
          new Promise<never>((_, reject) => {
            context.signal.addEventListener("abort", () => reject(new Error("aborted by caller")));
          }),
        controller.signal,
      ),
    );
    controller.abort(reason);
    await flush();
    const error = rejectionOf(call);
    expect(error).not.toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe("aborted by caller");
  });
});

describe("Timeout inside another timeout", () => {
  it("the shorter outer timeout wins over a longer inner one", async () => {
    const clock = new ManualClock();
    const call = track(pipeline(timeout(1000, { clock }), timeout(5000, { clock })).execute(() => never()));
    await clock.advanceAsync(1000);
    expect(rejectionOf(call)).toMatchObject({ name: "TimeoutError", timeoutMs: 1000 });
  });

  it("the shorter inner timeout wins over a longer outer one", async () => {
    const clock = new ManualClock();
    const call = track(pipeline(timeout(5000, { clock }), timeout(1000, { clock })).execute(() => never()));
    await clock.advanceAsync(1000);
    expect(rejectionOf(call)).toMatchObject({ name: "TimeoutError", timeoutMs: 1000 });
  });

  it("the outer deadline aborts the signal the operation sees through the inner timeout", async () => {
    const clock = new ManualClock();
    let signal: AbortSignal | undefined;
    const call = track(
      pipeline(timeout(1000, { clock }), timeout(5000, { clock })).execute((context) => {
        signal = context.signal;
        return never();
      }),
    );
    await clock.advanceAsync(1000);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ name: "TimeoutError", timeoutMs: 1000 });
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
  });

  it.each([
    ["aggressive", "aggressive"],
    ["aggressive", "cooperative"],
    ["cooperative", "aggressive"],
  ] as const)(
    "a caller abort reaches the operation's signal through %s outside %s timeouts, and the caller gets CancelledError at once",
    async (outer, inner) => {
      const clock = new ManualClock();
      const controller = new AbortController();
      let signal: AbortSignal | undefined;
      const composed = pipeline(
        timeout(1000, { clock, strategy: outer }),
        timeout(2000, { clock, strategy: inner }),
      );
      const call = track(
        composed.execute((context) => {
          signal = context.signal;
          return never();
        }, controller.signal),
      );
      const reason = new Error("caller left");
      controller.abort(reason);
      await flush();
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBe(reason);
      const error = rejectionOf(call);
      expect(error).toBeInstanceOf(CancelledError);
      expect((error as CancelledError).cause).toBe(reason);
    },
  );

  it("a caller abort cancels at once through an outer cooperative timeout when the inner one is aggressive, even if the operation ignores its signal", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const composed = pipeline(
      timeout(1000, { clock, strategy: "cooperative" }),
      timeout(2000, { clock, strategy: "aggressive" }),
    );
    const call = track(composed.execute(() => never(), controller.signal));
    controller.abort(new Error("caller left"));
    await flush();
    expect(rejectionOf(call)).toBeInstanceOf(CancelledError);
    expect(clock.now()).toBe(0);
  });

  it("running a timeout inside a call that already timed out rejects with CancelledError without calling the operation", async () => {
    const clock = new ManualClock();
    const outer = timeout(100, { clock, strategy: "cooperative" });
    const inner = timeout(1000, { clock });
    const gate = deferred<void>();
    const innerOperation = vi.fn(() => "never runs");
    const call = track(
      outer.execute(async (context) => {
        await gate.promise;
        return inner.run(innerOperation, context);
      }),
    );
    await clock.advanceAsync(100);
    gate.resolve();
    await flush();
    const error = rejectionOf(call) as TimeoutError;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.cause).toBeInstanceOf(CancelledError);
    expect((error.cause as CancelledError).cause).toBeInstanceOf(TimeoutError);
    expect(innerOperation).not.toHaveBeenCalled();
  });
});

describe("Timeout, lazy signal", () => {
  let created = 0;
  class CountingAbortController extends AbortController {
    constructor() {
      super();
      created++;
    }
  }

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it.each(["aggressive", "cooperative"] as const)(
    "creates no AbortController for a %s call that never reads context.signal",
    async (strategy) => {
      const clock = new ManualClock();
      const policy = timeout(100, { clock, strategy });
      const controller = new AbortController(); // a caller signal, made before counting starts
      created = 0;
      vi.stubGlobal("AbortController", CountingAbortController);
      await policy.execute(() => "plain");
      await policy.execute(() => "with caller signal", controller.signal);
      const late = track(policy.execute(() => never<string>()));
      await clock.advanceAsync(100);
      if (strategy === "aggressive") expect(rejectionOf(late)).toBeInstanceOf(TimeoutError);
      expect(created).toBe(0);

      await policy.execute((context) => context.signal.aborted);
      expect(created).toBe(1);
    },
  );

  it("creates no AbortController for nested aggressive timeouts whose operation never reads the signal", async () => {
    const clock = new ManualClock();
    const composed = pipeline(timeout(1000, { clock }), timeout(500, { clock }));
    const caller = new AbortController();
    created = 0;
    vi.stubGlobal("AbortController", CountingAbortController);
    await composed.execute(() => "plain");
    await composed.execute(() => "with caller signal", caller.signal);
    const late = track(composed.execute(() => never<string>(), caller.signal));
    await clock.advanceAsync(500);
    expect(rejectionOf(late)).toMatchObject({ name: "TimeoutError", timeoutMs: 500 });
    expect(created).toBe(0);
  });
});

describe("Timeout on a clock with coarse deadlines", () => {
  it("the system clock has coarse deadlines, ManualClock exact ones", () => {
    expect(systemClock.coarseDeadlines).toBe(true);
    const manual: Clock = new ManualClock();
    expect(manual.coarseDeadlines).toBeUndefined();
  });

  it("may be late by 1 % of the timeout, at least 1 ms and at most 10 ms", () => {
    expect([10, 50, 100, 250, 1000, 5000, 60_000].map(deadlineGranularityMs)).toEqual([
      1, 1, 1, 2, 10, 10, 10,
    ]);
  });

  it.each(["aggressive", "cooperative"] as const)(
    "(%s) never times a call out early, nor later than the granularity, and reads the clock once per burst",
    async (strategy) => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3000 }),
          fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 25 }),
          async (timeoutMs, gaps) => {
            const clock = new RecordingClock(new ManualClock(), { coarseDeadlines: true });
            const policy = timeout(timeoutMs, { clock, strategy });
            const granularity = deadlineGranularityMs(timeoutMs);
            const startedAt: number[] = [];
            const abortedAt: number[] = [];
            const calls = gaps.map((gap, index) => {
              clock.advance(gap);
              startedAt.push(clock.inner.now());
              return track(
                policy.execute(({ signal }) => {
                  const op = deferred<never>();
                  signal.addEventListener("abort", () => {
                    abortedAt[index] = clock.inner.now();
                    op.reject(signal.reason);
                  });
                  return op.promise;
                }),
              );
            });
            await clock.advanceAsync(timeoutMs + granularity);
            for (const [index, call] of calls.entries()) {
              expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
              const waited = (abortedAt[index] ?? Number.NaN) - (startedAt[index] ?? Number.NaN);
              expect(waited).toBeGreaterThanOrEqual(timeoutMs);
              expect(waited).toBeLessThanOrEqual(timeoutMs + granularity);
            }
            expect(clock.pendingTimers).toBe(0);
          },
        ),
        { numRuns: 150 },
      );
    },
  );

  it("sequential calls in a burst read the clock and touch the timer only at its start", async () => {
    const clock = new RecordingClock(new ManualClock(), { coarseDeadlines: true });
    const policy = timeout(1000, { clock });
    for (let i = 0; i < 100; i++) await policy.execute(async () => i);
    expect(clock.reads).toBe(2);
    expect(clock.calls.map(({ op }) => op)).toEqual([
      "setTimeout",
      "keepAlive",
      "clearTimeout",
      "setTimeout",
    ]);
    await clock.advanceAsync(10); // the burst's timer goes, and no other is left
    expect(clock.pendingTimers).toBe(0);
  });

  it("with the system clock, times out no earlier than its time, calls started in a burst included", async () => {
    const timeoutMs = 30;
    const policy = timeout(timeoutMs);
    const waits = await Promise.all(
      [0, 1, 2, 3, 5, 8].map(async (delayMs) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        const startedAt = Date.now();
        await expect(policy.execute(() => never<never>())).rejects.toBeInstanceOf(TimeoutError);
        return Date.now() - startedAt;
      }),
    );
    for (const waited of waits) {
      expect(waited).toBeGreaterThanOrEqual(timeoutMs);
      expect(waited).toBeLessThan(timeoutMs + 1000); // a loose bound: this machine may be busy
    }
  });
});
