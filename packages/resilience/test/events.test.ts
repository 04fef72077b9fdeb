import { afterEach, describe, expect, it, vi } from "vitest";
import { EventHub } from "../src/events.js";

interface TestEvents {
  tick: number;
  done: { readonly ok: boolean };
}

const hub = () => new EventHub<TestEvents>(["tick", "done"]);

/**
 * Captures what the hub defers with queueMicrotask instead of letting it run: a rethrown listener
 * error would otherwise reach vitest as an uncaught exception and fail the run.
 */
function captureMicrotasks(): (() => void)[] {
  const deferred: (() => void)[] = [];
  vi.spyOn(globalThis, "queueMicrotask").mockImplementation((callback) => {
    deferred.push(callback);
  });
  return deferred;
}

/** What running a deferred callback throws. */
function thrownBy(callback: (() => void) | undefined): unknown {
  if (!callback) throw new Error("no deferred callback");
  try {
    callback();
  } catch (error) {
    return error;
  }
  throw new Error("the deferred callback did not throw");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("EventHub", () => {
  it("has() is false until a listener is added, and false again once it unsubscribes", () => {
    const events = hub();
    expect(events.has("tick")).toBe(false);
    const unsubscribe = events.on("tick", () => {});
    expect(events.has("tick")).toBe(true);
    expect(events.has("done")).toBe(false);
    unsubscribe();
    expect(events.has("tick")).toBe(false);
  });

  it("emit() calls the event's listeners in registration order with the event", () => {
    const events = hub();
    const calls: string[] = [];
    events.on("tick", (n) => calls.push(`first ${n}`));
    events.on("tick", (n) => calls.push(`second ${n}`));
    events.on("done", ({ ok }) => calls.push(`done ${ok}`));
    events.emit("tick", 7);
    expect(calls).toEqual(["first 7", "second 7"]);
    events.emit("done", { ok: true });
    expect(calls).toEqual(["first 7", "second 7", "done true"]);
  });

  it("passes the very event object to every listener", () => {
    const events = hub();
    const seen: unknown[] = [];
    events.on("done", (event) => seen.push(event));
    events.on("done", (event) => seen.push(event));
    const event = { ok: false };
    events.emit("done", event);
    expect(seen).toEqual([event, event]);
    expect(seen[0]).toBe(event);
    expect(seen[1]).toBe(event);
  });

  it("emit() with no listeners does nothing", () => {
    const events = hub();
    expect(() => events.emit("tick", 1)).not.toThrow();
  });

  it("an unsubscribed listener is not called again", () => {
    const events = hub();
    const listener = vi.fn();
    const unsubscribe = events.on("tick", listener);
    events.emit("tick", 1);
    unsubscribe();
    events.emit("tick", 2);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener).toHaveBeenCalledWith(1);
  });

  it("a listener added twice is called twice, and each unsubscribe removes one registration", () => {
    const events = hub();
    const seen: number[] = [];
    const listener = (value: number) => seen.push(value);
    const first = events.on("tick", listener);
    events.on("tick", listener);
    events.emit("tick", 1);
    first();
    events.emit("tick", 2);
    expect(seen).toEqual([1, 1, 2]);
    expect(events.has("tick")).toBe(true);
  });

  it("unsubscribing twice is harmless and leaves other listeners registered", () => {
    const events = hub();
    const kept = vi.fn();
    const unsubscribe = events.on("tick", () => {});
    events.on("tick", kept);
    unsubscribe();
    unsubscribe();
    events.emit("tick", 1);
    expect(kept).toHaveBeenCalledTimes(1);
    expect(events.has("tick")).toBe(true);
  });

  it("a listener unsubscribing itself during emit does not make the next one skipped", () => {
    const events = hub();
    const calls: string[] = [];
    const unsubscribeFirst = events.on("tick", () => {
      calls.push("first");
      unsubscribeFirst();
    });
    events.on("tick", () => calls.push("second"));
    events.on("tick", () => calls.push("third"));
    events.emit("tick", 1);
    expect(calls).toEqual(["first", "second", "third"]);
    events.emit("tick", 2);
    expect(calls).toEqual(["first", "second", "third", "second", "third"]);
  });

  it("a listener unsubscribing an earlier one during emit does not make later ones skipped", () => {
    const events = hub();
    const calls: string[] = [];
    const unsubscribeFirst = events.on("tick", () => calls.push("first"));
    events.on("tick", () => {
      calls.push("second");
      unsubscribeFirst();
    });
    events.on("tick", () => calls.push("third"));
    events.emit("tick", 1);
    expect(calls).toEqual(["first", "second", "third"]);
    events.emit("tick", 2);
    expect(calls).toEqual(["first", "second", "third", "second", "third"]);
  });

  it("a listener added during emit is called from the next emit on", () => {
    const events = hub();
    const late = vi.fn();
    let added = false;
    events.on("tick", () => {
      if (!added) events.on("tick", late);
      added = true;
    });
    events.emit("tick", 1);
    expect(late).not.toHaveBeenCalled();
    events.emit("tick", 2);
    expect(late).toHaveBeenCalledTimes(1);
    expect(late).toHaveBeenCalledWith(2);
  });

  it("a throwing listener does not stop the other listeners, and emit() does not throw", () => {
    captureMicrotasks();
    const events = hub();
    const calls: string[] = [];
    events.on("tick", () => calls.push("before"));
    events.on("tick", () => {
      throw new Error("listener bug");
    });
    events.on("tick", () => calls.push("after"));
    expect(() => events.emit("tick", 1)).not.toThrow();
    expect(calls).toEqual(["before", "after"]);
  });

  it("rethrows a listener's error asynchronously, in a microtask, as is", () => {
    const deferred = captureMicrotasks();
    const events = hub();
    const bug = new Error("listener bug");
    events.on("tick", () => {
      throw bug;
    });
    events.on("tick", () => {
      throw "a string";
    });
    events.emit("tick", 1);
    expect(deferred).toHaveLength(2); // deferred, not thrown during emit
    expect(thrownBy(deferred[0])).toBe(bug);
    expect(thrownBy(deferred[1])).toBe("a string");
  });

  it("defers nothing when no listener throws", () => {
    const deferred = captureMicrotasks();
    const events = hub();
    events.on("tick", () => {});
    events.emit("tick", 1);
    expect(deferred).toEqual([]);
  });
});
