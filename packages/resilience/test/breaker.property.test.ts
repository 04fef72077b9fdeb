import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BrokenCircuitError,
  CircuitBreaker,
  consecutiveFailures,
  countWindow,
  ManualClock,
  type TripPolicy,
  timeWindow,
} from "../src/index.js";

/** One step a random scenario takes. */
type Step =
  | { readonly kind: "start" } // start a call that stays pending
  | { readonly kind: "settle"; readonly pick: number; readonly fail: boolean } // finish one pending call
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "isolate" }
  | { readonly kind: "reset" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "start" as const }) },
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(), fail: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 400 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "isolate" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reset" as const }) },
);

const tripPolicy: fc.Arbitrary<TripPolicy> = fc.oneof(
  fc.integer({ min: 1, max: 4 }).map(consecutiveFailures),
  fc
    .record({
      size: fc.integer({ min: 1, max: 6 }),
      failureRateThreshold: fc.double({ min: 0.1, max: 0.6, noNaN: true }),
    })
    .map((options) => countWindow({ ...options, minimumCalls: 1 })),
  fc
    .record({
      buckets: fc.integer({ min: 1, max: 5 }),
      failureRateThreshold: fc.double({ min: 0.1, max: 0.6, noNaN: true }),
    })
    .map((options) => timeWindow({ ...options, durationMs: 500, minimumCalls: 2 })),
);

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("circuit breaker invariants", () => {
  it("never calls the operation while open or isolated, and never admits more trials than allowed", async () => {
    // Counted across runs, to prove the scenarios really reach the states the property is about.
    const reached = { refused: 0, trials: 0 };
    await fc.assert(
      fc.asyncProperty(
        tripPolicy,
        fc.integer({ min: 1, max: 3 }),
        fc.array(step, { minLength: 20, maxLength: 100, size: "max" }),
        async (trip, trialCalls, steps) => {
          const clock = new ManualClock();
          const breaker = new CircuitBreaker({ trip, openDuration: 300, halfOpen: { trialCalls }, clock });
          const pending: Array<{ resolve: () => void; reject: () => void; settled: Promise<unknown> }> = [];
          let trialsThisPeriod = 0;
          breaker.on("stateChange", ({ to }) => {
            if (to === "half-open") trialsThisPeriod = 0;
          });

          for (const next of steps) {
            if (next.kind === "start") {
              const before = breaker.state;
              let called = false;
              let resolve = () => {};
              let reject = () => {};
              const settled = breaker
                .execute(() => {
                  called = true;
                  return new Promise<void>((res, rej) => {
                    resolve = res;
                    reject = () => rej(new Error("failed"));
                  });
                })
                .catch((error: unknown) => error);
              if (before === "open" || before === "isolated") {
                expect(called).toBe(false);
                expect(await settled).toBeInstanceOf(BrokenCircuitError);
                reached.refused++;
              } else if (called) {
                if (before === "half-open") {
                  trialsThisPeriod++;
                  reached.trials++;
                }
                pending.push({ resolve: () => resolve(), reject: () => reject(), settled });
              }
              expect(trialsThisPeriod).toBeLessThanOrEqual(trialCalls);
            } else if (next.kind === "settle" && pending.length > 0) {
              const [call] = pending.splice(next.pick % pending.length, 1);
              if (next.fail) call?.reject();
              else call?.resolve();
              await call?.settled;
              await flush();
            } else if (next.kind === "advance") {
              clock.advance(next.ms);
            } else if (next.kind === "isolate") {
              breaker.isolate();
            } else if (next.kind === "reset") {
              breaker.reset();
            }
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(reached.refused).toBeGreaterThan(500);
    expect(reached.trials).toBeGreaterThan(100);
  });

  it("keeps count-window totals equal to a recount of the last calls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ fail: fc.boolean(), slow: fc.boolean() }), { maxLength: 200, size: "max" }),
        async (size, calls) => {
          const clock = new ManualClock();
          const breaker = new CircuitBreaker({
            // Thresholds it can never reach, so the window only records.
            trip: countWindow({ size, minimumCalls: Number.MAX_SAFE_INTEGER, slowCallDurationMs: 10 }),
            clock,
          });
          for (const call of calls) {
            await breaker
              .execute(async () => {
                if (call.slow) clock.advance(10);
                if (call.fail) throw new Error("failed");
              })
              .catch(() => {});
          }
          const last = calls.slice(-size);
          expect(breaker.snapshot().window).toEqual({
            kind: "count-window",
            calls: last.length,
            failures: last.filter((call) => call.fail).length,
            slowCalls: last.filter((call) => call.slow).length,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps time-window totals equal to a recount of the calls in the live buckets", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.record({ waitMs: fc.integer({ min: 0, max: 700 }), fail: fc.boolean() }), {
          maxLength: 150,
          size: "max",
        }),
        async (buckets, calls) => {
          const durationMs = 1_000;
          const bucketMs = durationMs / buckets;
          const clock = new ManualClock();
          const breaker = new CircuitBreaker({
            trip: timeWindow({ durationMs, buckets, minimumCalls: Number.MAX_SAFE_INTEGER }),
            clock,
          });
          const recorded: Array<{ at: number; fail: boolean }> = [];
          for (const call of calls) {
            clock.advance(call.waitMs);
            recorded.push({ at: clock.now(), fail: call.fail });
            await breaker
              .execute(() => (call.fail ? Promise.reject(new Error("failed")) : 1))
              .catch(() => {});
          }
          const currentBucket = Math.floor(clock.now() / bucketMs);
          const live = recorded.filter(({ at }) => Math.floor(at / bucketMs) > currentBucket - buckets);
          expect(breaker.snapshot().window).toEqual({
            kind: "time-window",
            calls: live.length,
            failures: live.filter((call) => call.fail).length,
            slowCalls: 0,
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
