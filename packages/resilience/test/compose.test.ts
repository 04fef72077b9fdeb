import { describe, expect, expectTypeOf, it } from "vitest";
import {
  BasePolicy,
  BrokenCircuitError,
  bulkhead,
  CancelledError,
  CircuitBreaker,
  consecutiveFailures,
  constantBackoff,
  type ExecutionContext,
  ManualClock,
  type Operation,
  Pipeline,
  type Policy,
  pipeline,
  type ResilientClient,
  resilient,
  retry,
  TimeoutError,
  timeout,
} from "../src/index.js";
import { deferred, flush, rejectionOf, track } from "./helpers.js";

/** A policy that logs when it is entered and left, and can hand the inner operation a context of its own. */
class Tag extends BasePolicy {
  constructor(
    private readonly name: string,
    private readonly log: string[],
    private readonly contextFor: (context: ExecutionContext) => ExecutionContext = (context) => context,
  ) {
    super();
  }

  async run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    this.log.push(`enter ${this.name}`);
    try {
      return await operation(this.contextFor(context));
    } finally {
      this.log.push(`exit ${this.name}`);
    }
  }
}

/** A policy that only counts the calls it runs. */
class Counting extends BasePolicy {
  runs = 0;
  run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
    this.runs++;
    return Promise.resolve().then(() => operation(context));
  }
}

describe("pipeline", () => {
  it("pipeline() builds a Pipeline holding the policies outermost first", () => {
    const a = new Counting();
    const b = new Counting();
    const composed = pipeline(a, b);
    expect(composed).toBeInstanceOf(Pipeline);
    expect(composed.policies).toEqual([a, b]);
  });

  it("runs the policies from outer to inner around the operation", async () => {
    const log: string[] = [];
    const composed = pipeline(new Tag("a", log), new Tag("b", log), new Tag("c", log));
    const result = await composed.execute(() => {
      log.push("operation");
      return "value";
    });
    expect(result).toBe("value");
    expect(log).toEqual(["enter a", "enter b", "enter c", "operation", "exit c", "exit b", "exit a"]);
  });

  it("hands each policy the context the policy outside it created", async () => {
    const log: string[] = [];
    const inner = new AbortController().signal;
    const composed = pipeline(
      new Tag("outer", log, (context) => ({ signal: inner, attempt: context.attempt + 10 })),
      new Tag("inner", log, (context) => ({ signal: context.signal, attempt: context.attempt * 2 })),
    );
    const seen = await composed.execute((context) => context);
    expect(seen.attempt).toBe(22);
    expect(seen.signal).toBe(inner);
  });

  it("with zero policies just runs the operation", async () => {
    await expect(pipeline().execute(() => "plain")).resolves.toBe("plain");
    await expect(pipeline().execute(async () => "async")).resolves.toBe("async");
    const boom = new Error("boom");
    await expect(pipeline().execute(() => Promise.reject(boom))).rejects.toBe(boom);
  });

  it("with zero policies passes the caller's signal and attempt 1 to the operation", async () => {
    const signal = new AbortController().signal;
    const seen = await pipeline().execute((context) => context, signal);
    expect(seen.signal).toBe(signal);
    expect(seen.attempt).toBe(1);
  });

  it("with zero policies turns a synchronously throwing operation into a rejection", async () => {
    const boom = new Error("sync");
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = pipeline().execute(() => {
        throw boom;
      });
    }).not.toThrow();
    await expect(result).rejects.toBe(boom);
  });

  it.each([
    ["one policy", () => pipeline(timeout(1000))],
    ["several policies", () => pipeline(timeout(1000), bulkhead({ maxConcurrent: 1 }), new Counting())],
    ["a pipeline inside a pipeline", () => pipeline(pipeline(timeout(1000)), pipeline(new Counting()))],
  ])("with %s turns a synchronously throwing operation into a rejection", async (_, build) => {
    const boom = new Error("sync");
    let result: Promise<unknown> | undefined;
    expect(() => {
      result = build().execute(() => {
        throw boom;
      });
    }).not.toThrow();
    await expect(result).rejects.toBe(boom);
  });

  it("a pipeline composes as a policy inside another pipeline", async () => {
    const log: string[] = [];
    const composed = pipeline(
      new Tag("a", log),
      pipeline(new Tag("b", log), new Tag("c", log)),
      new Tag("d", log),
    );
    await composed.execute(() => {
      log.push("operation");
    });
    expect(log).toEqual([
      "enter a",
      "enter b",
      "enter c",
      "enter d",
      "operation",
      "exit d",
      "exit c",
      "exit b",
      "exit a",
    ]);
  });

  it("a caller's abort reaches the operation through the policies and cancels the call", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const composed = pipeline(timeout(10_000, { clock }), bulkhead({ maxConcurrent: 1 }));
    let signal: AbortSignal | undefined;
    const call = track(
      composed.execute((context) => {
        signal = context.signal;
        return new Promise<never>(() => {});
      }, controller.signal),
    );
    await flush();
    const reason = new Error("stop");
    controller.abort(reason);
    await flush();
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(reason);
    expect(rejectionOf(call)).toBeInstanceOf(CancelledError);
  });
});

describe("pipeline with the built-in policies", () => {
  it("timeout outside retry bounds all attempts together", async () => {
    const clock = new ManualClock();
    const attempts: [at: number, attempt: number][] = [];
    const composed = pipeline(
      timeout(1000, { clock }),
      retry({ maxAttempts: 10, backoff: constantBackoff(300), clock }),
    );
    const call = track(
      composed.execute((context) => {
        attempts.push([clock.now(), context.attempt]);
        return Promise.reject(new Error("down"));
      }),
    );
    await clock.advanceAsync(999);
    expect(call.outcome.status).toBe("pending");
    await clock.advanceAsync(1);
    const error = rejectionOf(call);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(1000);
    await clock.advanceAsync(10_000);
    expect(attempts).toEqual([
      [0, 1],
      [300, 2],
      [600, 3],
      [900, 4],
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("retry outside timeout gives every attempt a timeout of its own", async () => {
    const clock = new ManualClock();
    const attempts: [at: number, attempt: number][] = [];
    const composed = pipeline(
      retry({ maxAttempts: 3, backoff: constantBackoff(100), clock }),
      timeout(1000, { clock }),
    );
    const call = track(
      composed.execute((context) => {
        attempts.push([clock.now(), context.attempt]);
        return new Promise<never>(() => {});
      }),
    );
    await clock.advanceAsync(3199);
    expect(call.outcome.status).toBe("pending");
    expect(attempts).toEqual([
      [0, 1],
      [1100, 2],
      [2200, 3],
    ]);
    await clock.advanceAsync(1);
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
  });

  it("retry outside breaker makes each attempt pass the breaker", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ trip: consecutiveFailures(2), openDuration: 60_000, clock });
    const composed = pipeline(retry({ maxAttempts: 5, backoff: constantBackoff(10), clock }), breaker);
    let calls = 0;
    const call = track(
      composed.execute(() => {
        calls++;
        return Promise.reject(new Error("down"));
      }),
    );
    await clock.advanceAsync(1000);
    // Two failed attempts open the breaker; the third attempt is refused and not retried.
    expect(calls).toBe(2);
    expect(breaker.state).toBe("open");
    expect(rejectionOf(call)).toBeInstanceOf(BrokenCircuitError);
  });

  it("breaker outside retry sees one outcome per call, however many attempts it took", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ trip: consecutiveFailures(2), openDuration: 60_000, clock });
    const composed = pipeline(breaker, retry({ maxAttempts: 5, backoff: constantBackoff(10), clock }));
    let calls = 0;
    const down = new Error("down");
    const operation = () => {
      calls++;
      return Promise.reject(down);
    };
    const first = track(composed.execute(operation));
    await clock.advanceAsync(1000);
    expect(rejectionOf(first)).toBe(down);
    expect(calls).toBe(5);
    expect(breaker.state).toBe("closed");

    const second = track(composed.execute(operation));
    await clock.advanceAsync(1000);
    expect(rejectionOf(second)).toBe(down);
    expect(calls).toBe(10);
    expect(breaker.state).toBe("open");

    const third = track(composed.execute(operation));
    await flush();
    expect(rejectionOf(third)).toBeInstanceOf(BrokenCircuitError);
    expect(calls).toBe(10);
  });

  it("context.attempt seen by the operation counts up across retries, through inner policies", async () => {
    const clock = new ManualClock();
    const composed = pipeline(
      retry({ maxAttempts: 4, backoff: constantBackoff(50), clock }),
      timeout(1000, { clock }),
      bulkhead({ maxConcurrent: 1 }),
    );
    const seen: number[] = [];
    const call = track(
      composed.execute((context) => {
        seen.push(context.attempt);
        if (context.attempt < 3) throw new Error(`attempt ${context.attempt} failed`);
        return `succeeded on attempt ${context.attempt}`;
      }),
    );
    await clock.advanceAsync(1000);
    expect(seen).toEqual([1, 2, 3]);
    expect(call.outcome).toEqual({ status: "fulfilled", value: "succeeded on attempt 3" });
  });
});

class Api {
  base = "https://example.test";
  calls = 0;
  #secret = 42;

  add(a: number, b: number): number {
    this.calls++;
    return a + b;
  }

  async fetch(id: string): Promise<{ id: string; secret: number }> {
    this.calls++;
    return { id, secret: this.#secret };
  }

  double(n: number): number {
    return n * 2;
  }

  fail(message: string): never {
    throw new Error(message);
  }

  readSecret(): number {
    return this.#secret;
  }

  get secret(): number {
    return this.#secret;
  }
}

describe("aggressive timeout around a circuit breaker", () => {
  const boom = new Error("boom");
  const setup = (failures = 2) => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ trip: consecutiveFailures(failures), openDuration: 1000, clock });
    return { clock, breaker, timed: timeout(1000, { clock }) };
  };

  /** A promise that counts the reactions registered on it. */
  function counted<T>(promise: Promise<T>): { promise: Promise<T>; reactions: () => number } {
    let reactions = 0;
    const then = promise.then.bind(promise);
    // biome-ignore lint/suspicious/noThenProperty: it wraps the promise's own then, to count the calls
    Object.defineProperty(promise, "then", {
      value: (...args: Parameters<typeof then>) => {
        reactions++;
        return then(...args);
      },
    });
    return { promise, reactions: () => reactions };
  }

  it("watch the operation's promise with one reaction, and the breaker records every outcome before the caller resumes", async () => {
    const { breaker, timed } = setup(2);
    const composed = pipeline(timed, breaker);
    const first = counted(Promise.reject(boom));
    await expect(composed.execute(() => first.promise)).rejects.toBe(boom);
    expect(first.reactions()).toBe(1); // the timeout's, which reports to the breaker too
    await expect(composed.execute(() => "ok")).resolves.toBe("ok");
    await expect(composed.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe("closed"); // the success in between reset the count
    await expect(composed.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
    await expect(composed.execute(() => "refused")).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it("the breaker still judges results and errors with its predicates", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({
      trip: consecutiveFailures(2),
      clock,
      isFailure: (error) => error !== boom,
      isResultFailure: (result) => result === 503,
    });
    const composed = pipeline(timeout(1000, { clock }), breaker);
    await expect(composed.execute(() => Promise.reject(boom))).rejects.toBe(boom); // excused
    await expect(composed.execute(async () => 503)).resolves.toBe(503);
    expect(breaker.state).toBe("closed");
    await expect(composed.execute(async () => 503)).resolves.toBe(503);
    expect(breaker.state).toBe("open");
  });

  it("a synchronous throw inside the breaker is counted and reaches the caller", async () => {
    const { breaker, timed } = setup(1);
    const result = pipeline(timed, breaker).execute(() => {
      throw boom;
    });
    await expect(result).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
  });

  it("with a policy in between that hands back a promise of its own, the breaker records each outcome", async () => {
    const { breaker, timed } = setup(2);
    const log: string[] = [];
    const composed = pipeline(timed, new Tag("between", log), breaker);
    await expect(composed.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe("closed");
    await expect(composed.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
    expect(log).toEqual(["enter between", "exit between", "enter between", "exit between"]);
  });

  /** Turns every failure into the value "fallback", after waiting a turn first if `later`. */
  class Fallback extends BasePolicy {
    constructor(private readonly later: boolean) {
      super();
    }

    async run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
      if (this.later) await null;
      return Promise.resolve(operation(context)).catch(() => "fallback" as T);
    }
  }

  it.each([
    ["at once", false],
    ["after a turn of its own", true],
  ])(
    "a policy in between that turns failures into values (calling the breaker %s): the breaker still counts them",
    async (_, later) => {
      const { breaker, timed } = setup(1);
      const composed = pipeline(timed, new Fallback(later), breaker);
      await expect(composed.execute(() => Promise.reject(boom))).resolves.toBe("fallback");
      expect(breaker.state).toBe("open");
    },
  );

  it("a policy in between that throws after the breaker started: the caller gets the throw, the breaker the outcome", async () => {
    const { breaker, timed } = setup(1);
    const thrown = new Error("policy bug");
    class Throwing extends BasePolicy {
      run<T>(operation: Operation<T>, context: ExecutionContext): Promise<T> {
        void Promise.resolve(operation(context)).catch(() => {});
        throw thrown;
      }
    }
    const op = deferred<string>();
    const call = track(pipeline(timed, new Throwing(), breaker).execute(() => op.promise));
    await flush();
    expect(rejectionOf(call)).toBe(thrown);
    op.reject(boom);
    await flush();
    expect(breaker.state).toBe("open");
  });

  it("an outcome that arrives after the timeout fired: a failure is not counted, the caller got TimeoutError", async () => {
    const { clock, breaker, timed } = setup(1);
    const composed = pipeline(timed, breaker);
    const late = deferred<string>();
    const call = track(composed.execute(() => late.promise));
    await clock.advanceAsync(1000);
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
    late.reject(boom);
    await flush();
    expect(breaker.state).toBe("closed");
    await expect(composed.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
  });

  it("through a retry in between, the breaker records an attempt's outcome before the retry reacts to it", async () => {
    const { clock, breaker, timed } = setup(1);
    const events: string[] = [];
    breaker.on("stateChange", ({ to }) => events.push(`breaker ${to}`));
    const retrying = retry({ maxAttempts: 2, backoff: constantBackoff(10), clock });
    retrying.on("retry", ({ attempt }) => events.push(`retry after attempt ${attempt}`));
    const call = track(pipeline(timed, retrying, breaker).execute(() => Promise.reject(boom)));
    await clock.advanceAsync(10);
    expect(rejectionOf(call)).toBeInstanceOf(BrokenCircuitError);
    expect(events).toEqual(["breaker open", "retry after attempt 1"]);
  });

  it("two breakers inside one timeout both record the outcome", async () => {
    const { clock, timed } = setup();
    const outer = new CircuitBreaker({ trip: consecutiveFailures(1), clock });
    const inner = new CircuitBreaker({ trip: consecutiveFailures(1), clock });
    await expect(pipeline(timed, outer, inner).execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect([outer.state, inner.state]).toEqual(["open", "open"]);
  });

  it("a cooperative timeout leaves the breaker to watch for itself", async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ trip: consecutiveFailures(1), clock });
    const composed = pipeline(timeout(1000, { clock, strategy: "cooperative" }), breaker);
    await expect(composed.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe("open");
  });
});

describe("resilient", () => {
  it("wraps every method by default: each call runs through the policy and returns a promise", async () => {
    const api = new Api();
    const policy = new Counting();
    const client = resilient(api, policy);
    const sum = client.add(2, 3);
    expect(sum).toBeInstanceOf(Promise);
    await expect(sum).resolves.toBe(5);
    await expect(client.fetch("x")).resolves.toEqual({ id: "x", secret: 42 });
    await expect(client.double(4)).resolves.toBe(8);
    expect(policy.runs).toBe(3);
  });

  it("wraps only the named methods when given a list", async () => {
    const api = new Api();
    const policy = new Counting();
    const client = resilient(api, policy, ["add"]);
    await expect(client.add(1, 1)).resolves.toBe(2);
    expect(client.double(4)).toBe(8); // not wrapped: synchronous, as before
    expect(client.double).toBe(api.double);
    expect(policy.runs).toBe(1);
  });

  it("wraps nothing when given an empty list", () => {
    const api = new Api();
    const policy = new Counting();
    const client = resilient(api, policy, []);
    expect(client.add(1, 2)).toBe(3);
    expect(policy.runs).toBe(0);
  });

  it("keeps `this`: methods run on the target, private fields included", async () => {
    const api = new Api();
    const client = resilient(api, new Counting());
    await expect(client.readSecret()).resolves.toBe(42);
    await client.add(1, 1);
    await client.fetch("a");
    expect(api.calls).toBe(2);
  });

  it("passes the arguments through unchanged", async () => {
    const target = { join: (...parts: unknown[]) => parts };
    const client = resilient(target, new Counting());
    const object = { nested: true };
    const joined = await client.join(1, "two", object, undefined);
    expect(joined).toEqual([1, "two", object, undefined]);
    expect(joined[2]).toBe(object);
  });

  it("reads non-function properties through to the target, live", () => {
    const api = new Api();
    const client = resilient(api, new Counting());
    expect(client.base).toBe("https://example.test");
    api.base = "https://changed.test";
    expect(client.base).toBe("https://changed.test");
    expect(client.calls).toBe(0);
  });

  it("runs getters against the target, so getters using private fields work", () => {
    const client = resilient(new Api(), new Counting());
    expect(client.secret).toBe(42);
  });

  it("reads through getters of built-in objects", () => {
    const map = new Map([["a", 1]]);
    const client = resilient(map, new Counting(), ["get"]);
    expect(client.size).toBe(1);
  });

  it("caches wrapped functions: repeated access gives the same function", () => {
    const client = resilient(new Api(), new Counting());
    expect(client.add).toBe(client.add);
    expect(client.fetch).toBe(client.fetch);
    expect(client.add).not.toBe(client.fetch);
  });

  it("calls the method the target holds now, even after it was replaced", async () => {
    const api = new Api();
    const client = resilient(api, new Counting());
    await expect(client.double(2)).resolves.toBe(4);
    api.double = (n: number) => n * 3;
    await expect(client.double(2)).resolves.toBe(6);
  });

  it("turns a synchronous throw of a method into a rejection", async () => {
    const client = resilient(new Api(), timeout(1000));
    let result: Promise<never> | undefined;
    expect(() => {
      result = client.fail("bad input");
    }).not.toThrow();
    await expect(result).rejects.toThrow("bad input");
  });

  it("applies the policy's behaviour, e.g. a timeout, to method calls", async () => {
    const clock = new ManualClock();
    const slow = deferred<string>();
    const client = resilient({ load: () => slow.promise }, timeout(100, { clock }));
    const call = track(client.load());
    await clock.advanceAsync(100);
    expect(rejectionOf(call)).toBeInstanceOf(TimeoutError);
  });

  it("has types that make wrapped methods return promises and leave the rest alone", () => {
    const policy: Policy = new Counting();
    const client = resilient(new Api(), policy);
    expectTypeOf(client.add).parameters.toEqualTypeOf<[number, number]>();
    expectTypeOf(client.add).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(client.double).returns.toEqualTypeOf<Promise<number>>();
    // An async method is not wrapped twice.
    expectTypeOf(client.fetch).returns.toEqualTypeOf<Promise<{ id: string; secret: number }>>();
    expectTypeOf(client.base).toEqualTypeOf<string>();
    expectTypeOf<(typeof client)["secret"]>().toEqualTypeOf<number>(); // a type query: the getter is not run

    const partial = resilient(new Api(), policy, ["add"]);
    expectTypeOf(partial.add).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(partial.double).returns.toEqualTypeOf<number>();
    expectTypeOf(partial).toEqualTypeOf<ResilientClient<Api, "add">>();

    // @ts-expect-error only method names may be listed
    resilient(new Api(), policy, ["base"]);
    // @ts-expect-error names must exist on the target
    resilient(new Api(), policy, ["missing"]);
  });
});
