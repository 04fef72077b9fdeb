import { describe, expect, it } from "vitest";
import {
  BrokenCircuitError,
  CancelledError,
  constantBackoff,
  type GiveUpReason,
  ManualClock,
  RetryBudget,
  type RetryOptions,
  retry,
  retryAfterHint,
} from "../src/index.js";

function setup(options: Omit<RetryOptions, "clock"> = {}) {
  const clock = new ManualClock();
  const policy = retry({ backoff: constantBackoff(100), ...options, clock });
  const waits: number[] = [];
  const gaveUp: GiveUpReason[] = [];
  policy.on("retry", ({ delayMs }) => waits.push(delayMs));
  policy.on("giveUp", ({ reason }) => gaveUp.push(reason));
  return { clock, policy, waits, gaveUp };
}

/** An operation that fails `failures` times, then returns "done"; records when each attempt started. */
function flaky(clock: ManualClock, failures: number, error: unknown = new Error("flaky")) {
  const attempts: Array<{ attempt: number; at: number }> = [];
  const operation = async ({ attempt }: { attempt: number }) => {
    attempts.push({ attempt, at: clock.now() });
    if (attempts.length <= failures) throw error;
    return "done";
  };
  return { attempts, operation };
}

describe("retry", () => {
  it("returns the first success without waiting", async () => {
    const { policy, waits } = setup();
    await expect(policy.execute(() => "first")).resolves.toBe("first");
    expect(waits).toEqual([]);
  });

  it("retries failures after the backoff, numbering attempts, until one succeeds", async () => {
    const { clock, policy, waits } = setup();
    const { attempts, operation } = flaky(clock, 2);
    const result = policy.execute(operation);
    await clock.advanceAsync(200);
    await expect(result).resolves.toBe("done");
    expect(attempts).toEqual([
      { attempt: 1, at: 0 },
      { attempt: 2, at: 100 },
      { attempt: 3, at: 200 },
    ]);
    expect(waits).toEqual([100, 100]);
  });

  it("gives up after maxAttempts with the last attempt's own error", async () => {
    const { clock, policy, gaveUp } = setup({ maxAttempts: 2 });
    const last = new Error("still failing");
    let calls = 0;
    const result = policy
      .execute(async () => {
        calls++;
        throw calls === 2 ? last : new Error("first");
      })
      .catch((error: unknown) => error);
    await clock.advanceAsync(1_000);
    expect(await result).toBe(last);
    expect(calls).toBe(2);
    expect(gaveUp).toEqual(["attempts"]);
  });

  it("retries synchronous throws like rejections", async () => {
    const { clock, policy } = setup();
    let calls = 0;
    const result = policy.execute(() => {
      if (++calls === 1) throw new Error("sync");
      return "ok";
    });
    await clock.advanceAsync(100);
    await expect(result).resolves.toBe("ok");
  });

  it("does not retry what shouldRetry refuses", async () => {
    const notFound = Object.assign(new Error("404"), { status: 404 });
    const { clock, policy, gaveUp } = setup({
      shouldRetry: (error) => (error as { status: number }).status >= 500,
    });
    const { attempts, operation } = flaky(clock, 5, notFound);
    await expect(policy.execute(operation)).rejects.toBe(notFound);
    expect(attempts).toHaveLength(1);
    expect(gaveUp).toEqual(["not-retryable"]);
  });

  it("by default fails fast on an open circuit instead of waiting for it", async () => {
    const { policy } = setup();
    const open = new BrokenCircuitError("github", "open", 30_000);
    await expect(policy.execute(() => Promise.reject(open))).rejects.toBe(open);
  });

  it("retries results that shouldRetryResult refuses, and returns the last one when out of attempts", async () => {
    const { clock, policy } = setup({ maxAttempts: 3, shouldRetryResult: (result) => result === 503 });
    const responses = [503, 503, 200];
    const result = policy.execute(() => responses.shift());
    await clock.advanceAsync(200);
    await expect(result).resolves.toBe(200);

    const always = policy.execute(() => 503);
    await clock.advanceAsync(200);
    await expect(always).resolves.toBe(503);
  });

  it("waits exactly as long as the server's retryAfterMs hint says, instead of the backoff", async () => {
    const { clock, policy, waits } = setup();
    const limited = Object.assign(new Error("rate limited"), { retryAfterMs: 2_500 });
    const { attempts, operation } = flaky(clock, 1, limited);
    const result = policy.execute(operation);
    await clock.advanceAsync(2_499);
    expect(attempts).toHaveLength(1);
    await clock.advanceAsync(1);
    await expect(result).resolves.toBe("done");
    expect(waits).toEqual([2_500]);
  });

  it("does not start a wait that would end past the time budget", async () => {
    const { clock, policy, gaveUp } = setup({ maxAttempts: Number.POSITIVE_INFINITY, maxElapsedMs: 250 });
    const { attempts, operation } = flaky(clock, 10);
    const result = policy.execute(operation).catch((error: unknown) => error);
    await clock.advanceAsync(1_000);
    expect(await result).toBeInstanceOf(Error);
    expect(attempts.map(({ at }) => at)).toEqual([0, 100, 200]);
    expect(gaveUp).toEqual(["elapsed"]);
  });

  it("cancels the backoff wait at once when the caller aborts", async () => {
    const { clock, policy, gaveUp } = setup();
    const controller = new AbortController();
    const { attempts, operation } = flaky(clock, 5);
    const result = policy.execute(operation, controller.signal).catch((error: unknown) => error);
    await clock.advanceAsync(50);
    controller.abort(new Error("shutting down"));
    const error = await result;
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).cause).toEqual(new Error("shutting down"));
    expect(attempts).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
    expect(gaveUp).toEqual([]);
  });

  it("passes the caller's signal to the attempt and answers CancelledError once it aborted", async () => {
    const { clock, policy, gaveUp } = setup();
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const result = policy
      .execute(({ signal }) => {
        seen.push(signal);
        controller.abort();
        return Promise.reject(new Error("aborted"));
      }, controller.signal)
      .catch((error: unknown) => error);
    await clock.advanceAsync(1_000);
    expect(await result).toBeInstanceOf(CancelledError);
    expect(seen).toEqual([controller.signal]);
    expect(gaveUp).toEqual(["cancelled"]);
  });

  it("answers CancelledError at once when the caller aborts during an attempt that ignores its signal", async () => {
    const { policy } = setup();
    const controller = new AbortController();
    const result = policy
      .execute(() => new Promise(() => {}), controller.signal)
      .catch((error: unknown) => error);
    controller.abort(new Error("user left"));
    const error = await result;
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).cause).toEqual(new Error("user left"));
  });

  it("stops retrying when the shared retry budget is spent", async () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, windowMs: 1_000, clock });
    const policy = retry({ budget, maxAttempts: 2, backoff: constantBackoff(0), clock });
    const gaveUp: GiveUpReason[] = [];
    policy.on("giveUp", ({ reason }) => gaveUp.push(reason));
    const failing = () => Promise.reject(new Error("down"));
    const settled = Promise.allSettled(Array.from({ length: 4 }, () => policy.execute(failing)));
    await clock.advanceAsync(0);
    const results = await settled;
    expect(results.every(({ status }) => status === "rejected")).toBe(true);
    expect(budget.snapshot()).toEqual({ calls: 4, retries: 2, allowed: 2 });
    expect(gaveUp.filter((reason) => reason === "budget")).toHaveLength(2);
  });

  it("rejects options that could retry forever or make no sense", () => {
    expect(() => retry({ maxAttempts: Number.POSITIVE_INFINITY })).toThrow(
      "retry needs a finite maxAttempts or maxElapsedMs, or it could retry forever",
    );
    expect(() => retry({ maxAttempts: 0 })).toThrow("maxAttempts must be an integer >= 1, got 0");
    expect(() => retry({ maxElapsedMs: -1 })).toThrow("maxElapsedMs must be a number >= 0, got -1");
  });
});

describe("retryAfterHint", () => {
  it.each([
    [{ retryAfterMs: 1200 }, 1200],
    [{ retryAfterMs: 0 }, 0],
    [{ retryAfterMs: -5 }, undefined],
    [{ retryAfterMs: "10" }, undefined],
    [new Error("plain"), undefined],
    [null, undefined],
    ["text", undefined],
  ])("reads %j as %s", (error, hint) => {
    expect(retryAfterHint(error)).toBe(hint);
  });
});
