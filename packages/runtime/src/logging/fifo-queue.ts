/**
 * A first-in first-out queue with O(1) amortised take from the front (`Array#shift` on a large array
 * moves every element). Taken items are let go of soon: the array is cut down as soon as half of it
 * has been taken, so it never holds more taken items than waiting ones. Held any longer, a busy
 * service's sent log lines (thousands of them) would survive garbage collections as if alive, each
 * one copied and then promoted to the old generation, at a cost to every request.
 */
export class FifoQueue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  dropOldest(): void {
    if (this.length === 0) return;
    this.head++;
    this.compact();
  }

  /** Takes up to `count` items from the front, in order. */
  take(count: number): T[] {
    const taken = this.items.slice(this.head, this.head + count);
    this.head += taken.length;
    this.compact();
    return taken;
  }

  /** Puts items that could not be handled back at the front, in order. */
  putBack(items: readonly T[]): void {
    this.items = [...items, ...this.items.slice(this.head)];
    this.head = 0;
  }

  private compact(): void {
    if (this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
