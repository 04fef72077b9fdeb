import { describe, expect, it } from "vitest";
import { ManualClock, RetryBudget } from "../src/index.js";

describe("RetryBudget", () => {
  it("allows retries up to the ratio of calls plus the per-second reserve", () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 1, windowMs: 2_000, clock });
    for (let i = 0; i < 10; i++) budget.recordCall();
    // 2 reserved (1 per second over 2 s) + 20 % of 10 calls.
    const granted = Array.from({ length: 6 }, () => budget.tryAcquireRetry()).filter(Boolean).length;
    expect(granted).toBe(4);
    expect(budget.snapshot()).toEqual({ calls: 10, retries: 4, allowed: 4 });
  });

  it("refills as old calls and retries leave the window", () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 1_000, buckets: 10, clock });
    expect(budget.tryAcquireRetry()).toBe(true);
    expect(budget.tryAcquireRetry()).toBe(false);
    clock.advance(999);
    expect(budget.tryAcquireRetry()).toBe(false);
    clock.advance(1);
    expect(budget.tryAcquireRetry()).toBe(true);
  });

  it("rejects options that make no sense, naming them", () => {
    expect(() => new RetryBudget({ ratio: -0.1 })).toThrow("ratio must be a number >= 0, got -0.1");
    expect(() => new RetryBudget({ windowMs: 0 })).toThrow("windowMs must be a number > 0, got 0");
    expect(() => new RetryBudget({ buckets: 1.5 })).toThrow("buckets must be an integer >= 1, got 1.5");
  });
});
