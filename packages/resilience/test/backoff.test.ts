import { describe, expect, it } from "vitest";
import { constantBackoff, exponentialBackoff } from "../src/index.js";

const sequence = (values: number[]) => {
  let index = 0;
  return () => values[index++ % values.length] ?? 0;
};

describe("backoff", () => {
  it("constant waits the same each time", () => {
    const backoff = constantBackoff(250);
    expect([1, 2, 3].map((attempt) => backoff(attempt, 0, Math.random))).toEqual([250, 250, 250]);
  });

  it("exponential without jitter doubles up to the cap", () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: "none" });
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoff(attempt, 0, Math.random))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it("full jitter scales the exponential value by the random draw", () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, multiplier: 3, jitter: "full" });
    const random = sequence([0, 0.5, 0.999]);
    expect([1, 2, 3].map((attempt) => backoff(attempt, 0, random))).toEqual([0, 150, 899.1]);
  });

  it("decorrelated jitter draws between the initial delay and three times the previous wait, capped", () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: "decorrelated" });
    expect(backoff(1, 0, () => 0.5)).toBe(100);
    expect(backoff(2, 200, () => 0)).toBe(100);
    expect(backoff(2, 200, () => 0.5)).toBe(350);
    expect(backoff(5, 900, () => 0.99)).toBe(1_000);
  });

  it("rejects options that make no sense, naming them", () => {
    expect(() => constantBackoff(-1)).toThrow("delayMs must be a number >= 0, got -1");
    expect(() => exponentialBackoff({ initialDelayMs: 0 })).toThrow(
      "initialDelayMs must be a number > 0, got 0",
    );
    expect(() => exponentialBackoff({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(
      "maxDelayMs (5) must be >= initialDelayMs (10)",
    );
  });
});
