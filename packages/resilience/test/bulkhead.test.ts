import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  Bulkhead,
  type BulkheadOptions,
  BulkheadRejectedError,
  type BulkheadRejection,
  bulkhead,
  CancelledError,
  ManualClock,
  ResilienceError,
} from "../src/index.js";
import { type Deferred, deferred, flush, rejectionOf, type Tracked, track } from "./helpers.js";

/** A bulkhead with hand-finished operations that records when each starts and how many run at once. */
function setup(options: Omit<BulkheadOptions, "clock">) {
  const clock = new ManualClock();
  const policy = bulkhead({ ...options, clock });
  const rejections: BulkheadRejection[] = [];
  policy.on("rejected", ({ reason }) => rejections.push(reason));
  const started: string[] = [];
  const finishers = new Map<string, Deferred<string>>();
  let active = 0;
  let maxActive = 0;
  const submit = (name: string, signal?: AbortSignal): Tracked<string> => {
    const op = deferred<string>();
    finishers.set(name, op);
    const operation = async () => {
      started.push(name);
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        return await op.promise;
      } finally {
        active--;
      }
    };
    return track(signal ? policy.execute(operation, signal) : policy.execute(operation));
  };
  const finish = async (name: string, error?: Error) => {
    const op = finishers.get(name);
    if (!op) throw new Error(`no operation ${name}`);
    if (error) op.reject(error);
    else op.resolve(name);
    await flush();
  };
  return {
    clock,
    policy,
    rejections,
    started,
    submit,
    finish,
    get maxActive() {
      return maxActive;
    },
  };
}

describe("Bulkhead options", () => {
  it("bulkhead() builds a Bulkhead", () => {
    expect(bulkhead({ maxConcurrent: 1 })).toBeInstanceOf(Bulkhead);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    "rejects maxConcurrent %s with a message naming the option",
    (value) => {
      expect(() => bulkhead({ maxConcurrent: value })).toThrow(
        new RangeError(`maxConcurrent must be an integer >= 1, got ${value}`),
      );
    },
  );

  it.each([-1, 0.5, Number.NaN])("rejects maxQueued %s with a message naming the option", (value) => {
    expect(() => bulkhead({ maxConcurrent: 1, maxQueued: value })).toThrow(
      new RangeError(`maxQueued must be an integer >= 0, got ${value}`),
    );
  });

  it.each([0, -5, Number.NaN])("rejects queueTimeoutMs %s with a message naming the option", (value) => {
    expect(() => bulkhead({ maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: value })).toThrow(
      new RangeError(`queueTimeoutMs must be a number > 0, got ${value}`),
    );
  });

  it("accepts the smallest valid options", () => {
    expect(() => bulkhead({ maxConcurrent: 1, maxQueued: 0, queueTimeoutMs: 0.5 })).not.toThrow();
  });
});

describe("Bulkhead concurrency", () => {
  it("returns the operation's value and passes its error through", async () => {
    const policy = bulkhead({ maxConcurrent: 2 });
    await expect(policy.execute(() => 7)).resolves.toBe(7);
    const boom = new Error("boom");
    await expect(policy.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });

  it("never runs more than maxConcurrent operations at once", async () => {
    const b = setup({ maxConcurrent: 3, maxQueued: 10 });
    const names = ["a", "b", "c", "d", "e", "f", "g"];
    const calls = names.map((name) => b.submit(name));
    await flush();
    expect(b.started).toEqual(["a", "b", "c"]);
    expect(b.policy.snapshot()).toEqual({ running: 3, queued: 4 });
    for (const name of names) await b.finish(name);
    expect(b.maxActive).toBe(3);
    expect(b.started).toEqual(names);
    for (const [index, call] of calls.entries()) {
      expect(call.outcome).toEqual({ status: "fulfilled", value: names[index] });
    }
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });

  it("starts queued calls in arrival order as slots free, whichever running call finishes", async () => {
    const b = setup({ maxConcurrent: 2, maxQueued: 3 });
    for (const name of ["a", "b", "c", "d", "e"]) b.submit(name);
    await flush();
    expect(b.started).toEqual(["a", "b"]);
    await b.finish("b");
    expect(b.started).toEqual(["a", "b", "c"]);
    await b.finish("c");
    expect(b.started).toEqual(["a", "b", "c", "d"]);
    await b.finish("a");
    expect(b.started).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("keeps the bound and the arrival order for any order in which calls finish", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 12 }),
        fc.infiniteStream(fc.nat()),
        async (maxConcurrent, callCount, picks) => {
          const b = setup({ maxConcurrent, maxQueued: callCount });
          const names = Array.from({ length: callCount }, (_, index) => `c${index}`);
          for (const name of names) b.submit(name);
          await flush();
          const pick = picks[Symbol.iterator]();
          const finished = new Set<string>();
          while (finished.size < callCount) {
            const running = b.started.filter((name) => !finished.has(name));
            expect(running.length).toBe(Math.min(maxConcurrent, callCount - finished.size));
            const name = running[(pick.next().value as number) % running.length] as string;
            finished.add(name);
            await b.finish(name);
          }
          expect(b.started).toEqual(names);
          expect(b.maxActive).toBe(Math.min(maxConcurrent, callCount));
          expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a failing operation frees its slot for the next call", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 1 });
    const failing = b.submit("a");
    const queued = b.submit("b");
    await flush();
    const boom = new Error("boom");
    await b.finish("a", boom);
    expect(rejectionOf(failing)).toBe(boom);
    expect(b.started).toEqual(["a", "b"]);
    await b.finish("b");
    expect(queued.outcome).toEqual({ status: "fulfilled", value: "b" });
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });

  it("a synchronously throwing operation frees its slot and rejects", async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const boom = new Error("sync");
    await expect(
      policy.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(policy.snapshot()).toEqual({ running: 0, queued: 0 });
    await expect(policy.execute(() => "next")).resolves.toBe("next");
  });

  it("passes the caller's context on to the operation", async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const controller = new AbortController();
    const seen = await policy.run((context) => context, { signal: controller.signal, attempt: 3 });
    expect(seen.signal).toBe(controller.signal);
    expect(seen.attempt).toBe(3);
  });
});

describe("Bulkhead queue-full rejection", () => {
  it("rejects at once with BulkheadRejectedError 'queue-full' when no slot and no queue room is left", async () => {
    const b = setup({ maxConcurrent: 2, maxQueued: 1 });
    b.submit("a");
    b.submit("b");
    b.submit("c");
    const op = vi.fn(() => "never");
    const refused = track(b.policy.execute(op));
    await flush();
    const error = rejectionOf(refused) as BulkheadRejectedError;
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error).toBeInstanceOf(ResilienceError);
    expect(error).toMatchObject({
      name: "BulkheadRejectedError",
      reason: "queue-full",
      maxConcurrent: 2,
      maxQueued: 1,
      message: "bulkhead full: 2 running and 1 queued",
    });
    expect(op).not.toHaveBeenCalled();
    expect(b.policy.snapshot()).toEqual({ running: 2, queued: 1 });
  });

  it("with the default maxQueued of 0 rejects whenever every slot is taken", async () => {
    const b = setup({ maxConcurrent: 1 });
    b.submit("a");
    const refused = b.submit("b");
    await flush();
    expect((rejectionOf(refused) as BulkheadRejectedError).reason).toBe("queue-full");
    expect(b.started).toEqual(["a"]);
  });

  it("carries no stack trace frames, only the message line", async () => {
    const b = setup({ maxConcurrent: 1 });
    b.submit("a");
    const refused = b.submit("b");
    await flush();
    const error = rejectionOf(refused) as Error;
    expect(error.stack).toBe("BulkheadRejectedError: bulkhead full: 1 running and 0 queued");
    expect(error.stack?.split("\n")).toHaveLength(1);
  });

  it("restores Error.stackTraceLimit for other errors", async () => {
    const before = Error.stackTraceLimit;
    const b = setup({ maxConcurrent: 1 });
    b.submit("a");
    b.submit("b");
    await flush();
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error("ordinary").stack?.split("\n").length).toBeGreaterThan(1);
  });

  it("emits 'rejected' with reason 'queue-full'", async () => {
    const b = setup({ maxConcurrent: 1 });
    b.submit("a");
    b.submit("b");
    b.submit("c");
    await flush();
    expect(b.rejections).toEqual(["queue-full", "queue-full"]);
  });

  it("stops calling a 'rejected' listener after it unsubscribes", async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const listener = vi.fn();
    const unsubscribe = policy.on("rejected", listener);
    const hold = deferred<void>();
    const running = policy.execute(() => hold.promise);
    await expect(policy.execute(() => 1)).rejects.toBeInstanceOf(BulkheadRejectedError);
    unsubscribe();
    await expect(policy.execute(() => 1)).rejects.toBeInstanceOf(BulkheadRejectedError);
    expect(listener).toHaveBeenCalledTimes(1);
    hold.resolve();
    await running;
  });
});

describe("Bulkhead queue timeout", () => {
  it("rejects a call that waited queueTimeoutMs with 'queue-timeout', without running it", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 2, queueTimeoutMs: 500 });
    b.submit("a");
    await b.clock.advanceAsync(100);
    const waiting = b.submit("b");
    await b.clock.advanceAsync(499);
    expect(waiting.outcome.status).toBe("pending");
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 1 });
    await b.clock.advanceAsync(1);
    const error = rejectionOf(waiting) as BulkheadRejectedError;
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error.reason).toBe("queue-timeout");
    expect(error.message).toBe("bulkhead queue wait timed out");
    expect(error.stack).toBe("BulkheadRejectedError: bulkhead queue wait timed out");
    expect(b.rejections).toEqual(["queue-timeout"]);
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 0 });
    await b.finish("a");
    expect(b.started).toEqual(["a"]);
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });

  it("expires queued calls one by one at their own deadlines", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 3, queueTimeoutMs: 300 });
    b.submit("a");
    const b1 = b.submit("b");
    await b.clock.advanceAsync(100);
    const c1 = b.submit("c");
    await b.clock.advanceAsync(200); // now 300: b expires
    expect(rejectionOf(b1)).toBeInstanceOf(BulkheadRejectedError);
    expect(c1.outcome.status).toBe("pending");
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 1 });
    await b.clock.advanceAsync(100); // now 400: c expires
    expect(rejectionOf(c1)).toBeInstanceOf(BulkheadRejectedError);
    expect(b.rejections).toEqual(["queue-timeout", "queue-timeout"]);
    expect(b.clock.pendingTimers).toBe(0);
  });

  it("a call admitted before its queue timeout is not rejected later, and no timer is left behind", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 500 });
    b.submit("a");
    const queued = b.submit("b");
    await b.clock.advanceAsync(200);
    await b.finish("a");
    expect(b.started).toEqual(["a", "b"]);
    await b.clock.advanceAsync(1000);
    expect(queued.outcome.status).toBe("pending");
    expect(b.rejections).toEqual([]);
    await b.finish("b");
    expect(queued.outcome).toEqual({ status: "fulfilled", value: "b" });
    expect(b.clock.pendingTimers).toBe(0);
  });

  it("without queueTimeoutMs a queued call waits as long as it takes and sets no timer", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 1 });
    b.submit("a");
    const queued = b.submit("b");
    expect(b.clock.pendingTimers).toBe(0);
    await b.clock.advanceAsync(1e9);
    expect(queued.outcome.status).toBe("pending");
    await b.finish("a");
    await b.finish("b");
    expect(queued.outcome).toEqual({ status: "fulfilled", value: "b" });
  });
});

describe("Bulkhead cancellation", () => {
  it("refuses a call whose signal already aborted, even with a free slot", async () => {
    const b = setup({ maxConcurrent: 1 });
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    const call = b.submit("a", controller.signal);
    await flush();
    expect(rejectionOf(call)).toBeInstanceOf(CancelledError);
    expect(b.started).toEqual([]);
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });

  it("an abort while queued rejects with CancelledError and frees the queue place", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 2 });
    b.submit("a");
    const controller = new AbortController();
    const cancelled = b.submit("b", controller.signal);
    const kept = b.submit("c");
    await flush();
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 2 });

    const reason = new Error("caller left");
    controller.abort(reason);
    await flush();
    const error = rejectionOf(cancelled);
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as CancelledError).cause).toBe(reason);
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 1 });

    // The freed queue place can be taken again.
    const d = b.submit("d");
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 2 });

    await b.finish("a");
    expect(b.started).toEqual(["a", "c"]);
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 1 });
    await b.finish("c");
    await b.finish("d");
    expect(b.started).toEqual(["a", "c", "d"]);
    expect(kept.outcome.status).toBe("fulfilled");
    expect(d.outcome.status).toBe("fulfilled");
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });

  it("cancelling the only queued call lets the slot free normally when the running call ends", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 1 });
    b.submit("a");
    const controller = new AbortController();
    const cancelled = b.submit("b", controller.signal);
    controller.abort();
    await flush();
    expect(rejectionOf(cancelled)).toBeInstanceOf(CancelledError);
    await b.finish("a");
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
    const next = b.submit("c");
    await flush();
    expect(b.started).toEqual(["a", "c"]);
    await b.finish("c");
    expect(next.outcome.status).toBe("fulfilled");
  });

  it("a queued call whose signal is already aborted is rejected without queueing", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 1 });
    b.submit("a");
    const reason = new Error("already gone");
    const cancelled = b.submit("b", AbortSignal.abort(reason));
    await flush();
    expect((rejectionOf(cancelled) as CancelledError).cause).toBe(reason);
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 0 });
  });

  it("an abort after the queued call was admitted does not disturb it", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 1 });
    b.submit("a");
    const controller = new AbortController();
    const admitted = b.submit("b", controller.signal);
    await b.finish("a");
    expect(b.started).toEqual(["a", "b"]);
    controller.abort();
    await flush();
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 0 });
    await b.finish("b");
    expect(admitted.outcome).toEqual({ status: "fulfilled", value: "b" });
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });

  it("an abort after the queue timeout fired changes no counts", async () => {
    const b = setup({ maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 100 });
    b.submit("a");
    const controller = new AbortController();
    const timedOut = b.submit("b", controller.signal);
    await b.clock.advanceAsync(100);
    expect((rejectionOf(timedOut) as BulkheadRejectedError).reason).toBe("queue-timeout");
    controller.abort();
    await flush();
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 0 });
  });
});

describe("Bulkhead snapshot", () => {
  it("counts running and queued calls through a call's life", async () => {
    const b = setup({ maxConcurrent: 2, maxQueued: 2 });
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
    b.submit("a");
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 0 });
    b.submit("b");
    b.submit("c");
    expect(b.policy.snapshot()).toEqual({ running: 2, queued: 1 });
    b.submit("d");
    b.submit("e"); // refused
    await flush();
    expect(b.policy.snapshot()).toEqual({ running: 2, queued: 2 });
    await b.finish("a");
    expect(b.policy.snapshot()).toEqual({ running: 2, queued: 1 });
    await b.finish("b");
    await b.finish("c");
    expect(b.policy.snapshot()).toEqual({ running: 1, queued: 0 });
    await b.finish("d");
    expect(b.policy.snapshot()).toEqual({ running: 0, queued: 0 });
  });
});
