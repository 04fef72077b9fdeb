import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { FifoQueue } from "../src/logging/fifo-queue.js";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** How many of the items are still alive after a full collection. */
async function alive(refs: readonly WeakRef<object>[]): Promise<number> {
  // A WeakRef holds its target until the current job ends.
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

/** Pushes `count` new items, dropping the oldest past `bound`; returns a weak reference to each. */
function fill(queue: FifoQueue<object>, count: number, bound = Infinity): WeakRef<object>[] {
  return Array.from({ length: count }, (_, n) => {
    if (queue.length >= bound) queue.dropOldest();
    const item = { n };
    queue.push(item);
    return new WeakRef(item);
  });
}

describe("FifoQueue", () => {
  it("hands items out in the order they came, across takes, drops and put-backs", () => {
    const queue = new FifoQueue<number>();
    for (let n = 1; n <= 10; n++) queue.push(n);
    expect(queue.take(3)).toEqual([1, 2, 3]);
    queue.dropOldest();
    expect(queue.length).toBe(6);
    const batch = queue.take(4);
    expect(batch).toEqual([5, 6, 7, 8]);
    queue.putBack(batch.slice(2));
    queue.push(11);
    expect(queue.take(100)).toEqual([7, 8, 9, 10, 11]);
    expect(queue.length).toBe(0);
    queue.dropOldest();
    expect(queue.length).toBe(0);
    expect(queue.take(1)).toEqual([]);
  });

  it("lets go of what was taken: it never holds more taken items than waiting ones", async () => {
    const queue = new FifoQueue<object>();
    const refs = fill(queue, 3_000);
    // As a log stream takes its batches: small ones, until the queue is empty.
    const firstTaken = queue.take(500).length + queue.take(500).length;
    expect(firstTaken).toBe(1_000);
    expect(await alive(refs.slice(0, 1_000))).toBeLessThanOrEqual(queue.length);
    while (queue.length > 0) queue.take(500);
    expect(await alive(refs)).toBe(0);
  });

  it("lets go of dropped items too, while it is full and drops one for each that comes", async () => {
    const queue = new FifoQueue<object>();
    const refs = fill(queue, 4_000, 1_000);
    expect(queue.length).toBe(1_000);
    expect(await alive(refs.slice(0, 3_000))).toBeLessThanOrEqual(queue.length);
    expect(await alive(refs.slice(3_000))).toBe(1_000);
  });
});
