import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DeadlineEntry, DeadlineQueue } from "../src/deadline-queue.js";
import { RecordingClock } from "./helpers.js";

class Entry implements DeadlineEntry {
  deadline = 0;
  previous: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  constructor(readonly name: string) {}
}

interface Expiry {
  readonly name: string;
  readonly at: number;
  readonly deadline: number;
}

function setup(waitMs = 100) {
  const clock = new RecordingClock();
  const expired: Expiry[] = [];
  const queue = new DeadlineQueue<Entry>(clock, waitMs, (entry) => {
    expired.push({ name: entry.name, at: clock.now(), deadline: entry.deadline });
  });
  return { clock, queue, expired };
}

/** Adds entries named `names`, one every `gapMs`, starting now. */
function addSpaced(
  { clock, queue }: { clock: RecordingClock; queue: DeadlineQueue<Entry> },
  names: string[],
  gapMs: number,
): Entry[] {
  return names.map((name, index) => {
    if (index > 0) clock.advance(gapMs);
    const entry = new Entry(name);
    queue.add(entry);
    return entry;
  });
}

/** Empties the queue with shift(), returning the names in the order the queue holds them. */
function drain(queue: DeadlineQueue<Entry>): string[] {
  const names: string[] = [];
  for (let entry = queue.shift(); entry; entry = queue.shift()) names.push(entry.name);
  return names;
}

describe("DeadlineQueue expiry", () => {
  it("stamps each entry with now + waitMs as its deadline", () => {
    const { clock, queue } = setup(100);
    clock.advance(40);
    const entry = new Entry("a");
    queue.add(entry);
    expect(entry.deadline).toBe(140);
  });

  it("expires entries in FIFO order, each exactly at its own deadline", () => {
    const setupResult = setup(100);
    const { clock, expired } = setupResult;
    addSpaced(setupResult, ["a", "b", "c"], 10); // deadlines 100, 110, 120

    clock.advance(79); // now 99
    expect(expired).toEqual([]);
    clock.advance(1); // now 100
    expect(expired).toEqual([{ name: "a", at: 100, deadline: 100 }]);
    clock.advance(9);
    expect(expired.map((e) => e.name)).toEqual(["a"]);
    clock.advance(1000);
    expect(expired).toEqual([
      { name: "a", at: 100, deadline: 100 },
      { name: "b", at: 110, deadline: 110 },
      { name: "c", at: 120, deadline: 120 },
    ]);
  });

  it("expires entries added at the same moment together, in insertion order", () => {
    const { clock, queue, expired } = setup(50);
    for (const name of ["a", "b", "c", "d"]) queue.add(new Entry(name));
    clock.advance(50);
    expect(expired).toEqual(["a", "b", "c", "d"].map((name) => ({ name, at: 50, deadline: 50 })));
    expect(clock.callsOf("setTimeout")).toHaveLength(1); // all four expired in one firing
    expect(clock.pendingTimers).toBe(0);
  });

  it("takes an expired entry out of the queue before reporting it", () => {
    const clock = new RecordingClock();
    let queue!: DeadlineQueue<Entry>;
    const seenInQueue: (string | undefined)[] = [];
    queue = new DeadlineQueue<Entry>(clock, 10, (entry) => {
      expect(entry.previous).toBeUndefined();
      expect(entry.next).toBeUndefined();
      seenInQueue.push(queue.shift()?.name);
    });
    queue.add(new Entry("a"));
    clock.advance(5);
    queue.add(new Entry("b"));
    clock.advance(5); // a expires; b is the head now and is shifted by the callback
    expect(seenInQueue).toEqual(["b"]);
    clock.advance(100);
    expect(seenInQueue).toEqual(["b"]); // b was removed by shift, so it never expires
  });
});

describe("DeadlineQueue remove", () => {
  it("removing the head: the head never expires and the rest keep their deadlines", () => {
    const s = setup(100);
    const [a] = addSpaced(s, ["a", "b", "c"], 10);
    s.queue.remove(a as Entry);
    s.clock.advance(1000);
    expect(s.expired).toEqual([
      { name: "b", at: 110, deadline: 110 },
      { name: "c", at: 120, deadline: 120 },
    ]);
  });

  it("removing a middle entry keeps the list linked around it", () => {
    const s = setup(100);
    const [, b] = addSpaced(s, ["a", "b", "c"], 10);
    s.queue.remove(b as Entry);
    expect(b?.previous).toBeUndefined();
    expect(b?.next).toBeUndefined();
    s.clock.advance(1000);
    expect(s.expired.map((e) => e.name)).toEqual(["a", "c"]);
  });

  it("removing the tail lets later entries link after the new tail", () => {
    const s = setup(100);
    const [, , c] = addSpaced(s, ["a", "b", "c"], 10);
    s.queue.remove(c as Entry);
    s.queue.add(new Entry("d"));
    expect(drain(s.queue)).toEqual(["a", "b", "d"]);
  });

  it("removing every entry one by one, in any position, leaves a queue that still works", () => {
    const s = setup(100);
    const [a, b, c, d] = addSpaced(s, ["a", "b", "c", "d"], 0);
    s.queue.remove(c as Entry);
    s.queue.remove(a as Entry);
    s.queue.remove(d as Entry);
    s.queue.remove(b as Entry);
    expect(s.queue.shift()).toBeUndefined();
    s.queue.add(new Entry("e"));
    s.queue.add(new Entry("f"));
    expect(drain(s.queue)).toEqual(["e", "f"]);
  });

  it("removing an entry that was never added is a no-op", () => {
    const s = setup(100);
    addSpaced(s, ["a", "b"], 10);
    s.clock.clearRecord();
    s.queue.remove(new Entry("stranger"));
    expect(s.clock.calls).toEqual([]);
    expect(drain(s.queue)).toEqual(["a", "b"]);
  });

  it("removing an entry twice, or after it expired, is a no-op", () => {
    const s = setup(100);
    const [a, b] = addSpaced(s, ["a", "b", "c"], 10);
    s.queue.remove(b as Entry);
    s.clock.clearRecord();
    s.queue.remove(b as Entry);
    s.clock.advance(90); // a expires
    expect(s.expired.map((e) => e.name)).toEqual(["a"]);
    s.queue.remove(a as Entry);
    expect(s.clock.callsOf("clearTimeout")).toEqual([]);
    expect(s.clock.callsOf("keepAlive")).toEqual([]);
    expect(drain(s.queue)).toEqual(["c"]);
  });

  it("removing from an empty queue is a no-op", () => {
    const s = setup(100);
    s.queue.remove(new Entry("a"));
    expect(s.clock.calls).toEqual([]);
    expect(s.queue.shift()).toBeUndefined();
  });
});

describe("DeadlineQueue shift", () => {
  it("takes the oldest entry, and undefined once empty", () => {
    const s = setup(100);
    addSpaced(s, ["a", "b"], 1);
    expect(s.queue.shift()?.name).toBe("a");
    expect(s.queue.shift()?.name).toBe("b");
    expect(s.queue.shift()).toBeUndefined();
    s.clock.advance(1000);
    expect(s.expired).toEqual([]);
  });
});

describe("DeadlineQueue timer", () => {
  it("uses a single timer for many entries, armed for the head", () => {
    const s = setup(100);
    addSpaced(s, ["a", "b", "c", "d"], 10);
    expect(s.clock.callsOf("setTimeout")).toEqual([
      { op: "setTimeout", handle: expect.anything(), delayMs: 100, at: 0 },
    ]);
    expect(s.clock.pendingTimers).toBe(1);
  });

  it("re-arms one timer for the next head each time one fires", () => {
    const s = setup(100);
    addSpaced(s, ["a", "b", "c"], 10); // deadlines 100, 110, 120; now 20
    s.clock.clearRecord();

    s.clock.advance(80); // now 100: a expires, timer re-armed for b
    expect(s.clock.callsOf("setTimeout")).toEqual([
      { op: "setTimeout", handle: expect.anything(), delayMs: 10, at: 100 },
    ]);
    expect(s.clock.pendingTimers).toBe(1);

    s.clock.advance(10); // now 110: b expires, timer re-armed for c
    expect(s.clock.callsOf("setTimeout").map((call) => [call.at, call.delayMs])).toEqual([
      [100, 10],
      [110, 10],
    ]);
    expect(s.clock.pendingTimers).toBe(1);

    s.clock.advance(10); // now 120: c expires, nothing left
    expect(s.clock.callsOf("setTimeout")).toHaveLength(2);
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("after the head is removed, the leftover timer re-arms for the new head when it fires", () => {
    const s = setup(100);
    const [a] = addSpaced(s, ["a", "b"], 30); // deadlines 100, 130
    s.queue.remove(a as Entry);
    s.clock.clearRecord();
    s.clock.advance(70); // now 100: leftover timer fires, b is not due yet
    expect(s.expired).toEqual([]);
    expect(s.clock.callsOf("setTimeout")).toEqual([
      { op: "setTimeout", handle: expect.anything(), delayMs: 30, at: 100 },
    ]);
    s.clock.advance(30);
    expect(s.expired).toEqual([{ name: "b", at: 130, deadline: 130 }]);
  });

  it("sets no timer for an infinite wait, and never expires its entries", () => {
    const s = setup(Number.POSITIVE_INFINITY);
    addSpaced(s, ["a", "b"], 10);
    s.clock.advance(Number.MAX_SAFE_INTEGER);
    expect(s.expired).toEqual([]);
    expect(s.clock.calls).toEqual([]);
    expect(drain(s.queue)).toEqual(["a", "b"]);
    expect(s.clock.calls).toEqual([]);
  });

  it("lets the leftover timer stop keeping the process alive once the queue empties", () => {
    const s = setup(100);
    const [a, b] = addSpaced(s, ["a", "b"], 10);
    const [armed] = s.clock.callsOf("setTimeout");
    s.queue.remove(a as Entry);
    expect(s.clock.callsOf("keepAlive")).toEqual([]); // b still waits
    s.queue.remove(b as Entry);
    expect(s.clock.callsOf("keepAlive")).toEqual([
      { op: "keepAlive", handle: armed?.handle, keepAlive: false, at: 10 },
    ]);
    expect(s.clock.callsOf("clearTimeout")).toEqual([]);
  });

  it("also unrefs the timer when shift() empties the queue", () => {
    const s = setup(100);
    s.queue.add(new Entry("a"));
    const [armed] = s.clock.callsOf("setTimeout");
    s.queue.shift();
    expect(s.clock.callsOf("keepAlive")).toEqual([
      { op: "keepAlive", handle: armed?.handle, keepAlive: false, at: 0 },
    ]);
  });

  it("reuses an earlier leftover timer for a new entry, making it keep the process alive again", () => {
    const s = setup(100);
    const [a] = addSpaced(s, ["a"], 0);
    const [armed] = s.clock.callsOf("setTimeout");
    s.queue.remove(a as Entry);
    s.clock.advance(50);
    s.clock.clearRecord();
    s.queue.add(new Entry("b")); // deadline 150, leftover timer due at 100
    expect(s.clock.calls).toEqual([{ op: "keepAlive", handle: armed?.handle, keepAlive: true, at: 50 }]);
    s.clock.advance(50); // leftover fires at 100 and re-arms for 150
    expect(s.expired).toEqual([]);
    s.clock.advance(50);
    expect(s.expired).toEqual([{ name: "b", at: 150, deadline: 150 }]);
    expect(s.clock.pendingTimers).toBe(0);
  });

  it("leaves no timer behind once the leftover timer fires on an empty queue", () => {
    const s = setup(100);
    const [a] = addSpaced(s, ["a"], 0);
    s.queue.remove(a as Entry);
    expect(s.clock.pendingTimers).toBe(1);
    s.clock.clearRecord();
    s.clock.advance(100);
    expect(s.clock.pendingTimers).toBe(0);
    expect(s.clock.callsOf("setTimeout")).toEqual([]);
    expect(s.expired).toEqual([]);
  });

  it("arms correctly when an expiry callback adds a new entry", () => {
    const clock = new RecordingClock();
    const expired: string[] = [];
    let queue!: DeadlineQueue<Entry>;
    queue = new DeadlineQueue<Entry>(clock, 100, (entry) => {
      expired.push(`${entry.name}@${clock.now()}`);
      if (entry.name === "a") queue.add(new Entry("b"));
    });
    queue.add(new Entry("a"));
    clock.advance(100);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100);
    expect(expired).toEqual(["a@100", "b@200"]);
    expect(clock.pendingTimers).toBe(0);
  });
});

/** A queue that stamps bursts, on a clock that counts its reads. */
function coarseSetup(waitMs = 1000, granularityMs = 10) {
  const clock = new RecordingClock();
  const expired: Expiry[] = [];
  const queue = new DeadlineQueue<Entry>(
    clock,
    waitMs,
    (entry) => expired.push({ name: entry.name, at: clock.inner.now(), deadline: entry.deadline }),
    granularityMs,
  );
  return { clock, queue, expired };
}

describe("DeadlineQueue with a granularity (bursts share a clock reading)", () => {
  it("reads the clock for an entry apart from any burst, and expires it exactly", () => {
    const { clock, queue, expired } = coarseSetup(1000, 10);
    clock.inner.advance(500);
    const a = new Entry("a");
    queue.add(a);
    expect(a.deadline).toBe(1500);
    expect(clock.reads).toBe(1);
    expect(clock.callsOf("setTimeout")).toEqual([
      { op: "setTimeout", handle: expect.anything(), delayMs: 1000, at: 500 },
    ]);
    clock.advance(999);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual([{ name: "a", at: 1500, deadline: 1500 }]);
  });

  it("an entry within granularityMs of the last reading opens a burst: later entries read no clock", () => {
    const { clock, queue } = coarseSetup(1000, 10);
    queue.add(new Entry("a")); // reads: 0 + 1000
    clock.inner.advance(3);
    const b = new Entry("b");
    queue.add(b); // reads again, 3 ms after a: a burst; a timer within 10 ms will stamp what follows
    expect(b.deadline).toBe(1003);
    expect(clock.reads).toBe(2);
    expect(clock.callsOf("setTimeout").map(({ at, delayMs }) => [at, delayMs])).toEqual([
      [0, 1000],
      [3, 10],
    ]);
    clock.inner.advance(2);
    const c = new Entry("c");
    queue.add(c);
    clock.inner.advance(6);
    const d = new Entry("d");
    queue.add(d);
    expect(clock.reads).toBe(2);
    expect([c.deadline, d.deadline]).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    clock.advance(2); // now 13: the burst's timer reads the clock once and stamps c and d
    expect(clock.reads).toBe(3);
    expect([c.deadline, d.deadline]).toEqual([1013, 1013]);
  });

  it("expires every entry of a burst at least waitMs and at most granularityMs + waitMs after it was added", () => {
    const { clock, queue, expired } = coarseSetup(100, 10);
    const addedAt = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const name = `e${i}`;
      addedAt.set(name, clock.inner.now());
      queue.add(new Entry(name));
      clock.advance(i % 4); // 0 to 3 ms apart
    }
    clock.advance(1000);
    expect(expired).toHaveLength(30);
    for (const { name, at } of expired) {
      const waited = at - (addedAt.get(name) ?? Number.NaN);
      expect(waited).toBeGreaterThanOrEqual(100);
      expect(waited).toBeLessThanOrEqual(110);
    }
    expect(clock.reads).toBeLessThan(30);
  });

  it("never expires an entry early, nor more than granularityMs late, whatever the adds, removes and waits", () => {
    type Op =
      | { readonly kind: "add" }
      | { readonly kind: "remove"; readonly pick: number }
      | { readonly kind: "advance"; readonly ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.constant({ kind: "add" as const }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant("advance" as const),
          ms: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 300 })),
        }),
      },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(op, { maxLength: 80 }),
        (waitMs, granularityMs, ops) => {
          const { clock, queue, expired } = coarseSetup(waitMs, granularityMs);
          const addedAt = new Map<string, number>();
          const queued: Entry[] = [];
          let count = 0;
          for (const step of ops) {
            if (step.kind === "add") {
              const entry = new Entry(`e${count++}`);
              addedAt.set(entry.name, clock.inner.now());
              queued.push(entry);
              queue.add(entry);
            } else if (step.kind === "remove") {
              const [entry] = queued.splice(step.pick % Math.max(1, queued.length), 1);
              if (entry) queue.remove(entry);
            } else {
              clock.advance(step.ms);
            }
            for (const { name } of expired) {
              const index = queued.findIndex((entry) => entry.name === name);
              if (index >= 0) queued.splice(index, 1);
            }
          }
          clock.advance(waitMs + granularityMs);
          const expiredNames = new Set(expired.map(({ name }) => name));
          // Everything still queued has expired by now, and nothing removed ever did.
          for (const entry of queued) expect(expiredNames.has(entry.name)).toBe(true);
          expect(expired.length).toBe(expiredNames.size);
          for (const { name, at } of expired) {
            const waited = at - (addedAt.get(name) ?? Number.NaN);
            expect(waited).toBeGreaterThanOrEqual(waitMs);
            expect(waited).toBeLessThanOrEqual(waitMs + granularityMs);
          }
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("never stamps or expires an entry removed before the burst's timer fired", () => {
    const { clock, queue, expired } = coarseSetup(100, 10);
    queue.add(new Entry("a"));
    clock.inner.advance(1);
    queue.add(new Entry("b")); // the burst starts
    const [c, , e] = ["c", "d", "e"].map((name) => {
      const entry = new Entry(name);
      queue.add(entry);
      return entry;
    });
    queue.remove(c as Entry); // the first unstamped entry
    queue.remove(e as Entry); // the last
    clock.advance(200);
    expect(expired.map(({ name, at }) => [name, at])).toEqual([
      ["a", 100],
      ["b", 101],
      ["d", 111],
    ]);
    expect([c?.deadline, e?.deadline]).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
  });

  it("leaves the burst's timer keeping the process alive when the queue empties, and it goes within granularityMs", () => {
    const { clock, queue } = coarseSetup(1000, 10);
    const entries = ["a", "b", "c"].map((name) => new Entry(name));
    for (const entry of entries) queue.add(entry);
    for (const entry of entries) queue.remove(entry);
    for (const entry of entries) queue.add(entry); // sequential calls: no ref/unref in between
    for (const entry of entries) queue.remove(entry);
    expect(clock.callsOf("keepAlive")).toEqual([]);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10);
    expect(clock.pendingTimers).toBe(0); // fired on an empty queue and was not set again
    expect(clock.callsOf("setTimeout")).toHaveLength(2); // for a's deadline, then for the burst
  });

  it("unrefs the timer at once when the queue empties and no burst's timer is due soon", () => {
    const { clock, queue } = coarseSetup(1000, 10);
    const a = new Entry("a");
    queue.add(a);
    queue.remove(a);
    const [armed] = clock.callsOf("setTimeout");
    expect(clock.callsOf("keepAlive")).toEqual([
      { op: "keepAlive", handle: armed?.handle, keepAlive: false, at: 0 },
    ]);
  });

  it("keeps firing every granularityMs while a burst goes on, then goes back to the head's deadline", () => {
    const { clock, queue } = coarseSetup(1000, 10);
    queue.add(new Entry("a"));
    clock.inner.advance(1);
    queue.add(new Entry("b"));
    for (let t = 2; t < 40; t++) {
      clock.advance(1);
      queue.add(new Entry(`e${t}`));
    }
    // Stamping timers at 11, 21, 31; each stamped entries, so each set the next within 10 ms.
    expect(clock.callsOf("setTimeout").map(({ at, delayMs }) => [at, delayMs])).toEqual([
      [0, 1000],
      [1, 10],
      [11, 10],
      [21, 10],
      [31, 10],
    ]);
    clock.advance(10); // now 49: the timer at 41 stamped e31 to e39 and set one more
    clock.advance(10); // now 59: the timer at 51 found nothing to stamp: back to a's deadline, 1000
    expect(
      clock
        .callsOf("setTimeout")
        .slice(-2)
        .map(({ at, delayMs }) => [at, delayMs]),
    ).toEqual([
      [41, 10],
      [51, 949],
    ]);
    expect(clock.reads).toBe(2 + 5); // a, b, and one per timer: 40 entries
    expect(clock.callsOf("keepAlive")).toEqual([]);
  });

  it("stamps entries added by an expiry callback with a reading of their own", () => {
    const clock = new RecordingClock();
    const expired: string[] = [];
    let queue!: DeadlineQueue<Entry>;
    queue = new DeadlineQueue<Entry>(
      clock,
      100,
      (entry) => {
        expired.push(`${entry.name}@${clock.inner.now()}`);
        if (entry.name === "a") queue.add(new Entry("again"));
      },
      10,
    );
    queue.add(new Entry("a"));
    clock.advance(100);
    clock.advance(100);
    expect(expired).toEqual(["a@100", "again@200"]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("reads no clock and sets no timer for an infinite wait", () => {
    const clock = new RecordingClock();
    const queue = new DeadlineQueue<Entry>(clock, Number.POSITIVE_INFINITY, () => {}, 10);
    for (const name of ["a", "b", "c"]) queue.add(new Entry(name));
    expect(clock.reads).toBe(0);
    expect(clock.calls).toEqual([]);
    expect(drain(queue)).toEqual(["a", "b", "c"]);
  });
});
