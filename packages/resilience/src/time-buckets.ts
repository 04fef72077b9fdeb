/**
 * Counters over a sliding time window, split into equal buckets. Totals are kept incrementally: moving
 * the window subtracts only the buckets that expire, so recording and reading cost O(1) amortised; the
 * window covers the current bucket and the `buckets - 1` before it.
 */
export class TimeBuckets {
  private readonly bucketMs: number;
  private readonly counts: Float64Array;
  private readonly totals: Float64Array;
  private headEpoch = Number.NEGATIVE_INFINITY;

  constructor(
    readonly windowMs: number,
    private readonly buckets: number,
    private readonly counters: number,
  ) {
    this.bucketMs = windowMs / buckets;
    this.counts = new Float64Array(buckets * counters);
    this.totals = new Float64Array(counters);
  }

  add(now: number, counter: number, amount = 1): void {
    this.advance(now);
    const bucket = this.headEpoch % this.buckets;
    const slot = bucket * this.counters + counter;
    this.counts[slot] = (this.counts[slot] ?? 0) + amount;
    this.totals[counter] = (this.totals[counter] ?? 0) + amount;
  }

  total(now: number, counter: number): number {
    this.advance(now);
    return this.totals[counter] ?? 0;
  }

  clear(): void {
    this.counts.fill(0);
    this.totals.fill(0);
  }

  private advance(now: number): void {
    const epoch = Math.floor(now / this.bucketMs);
    // A clock that steps back keeps counting into the current bucket.
    if (epoch <= this.headEpoch) return;
    if (epoch - this.headEpoch >= this.buckets) {
      this.clear();
    } else {
      for (let expired = this.headEpoch + 1; expired <= epoch; expired++)
        this.clearBucket(expired % this.buckets);
    }
    this.headEpoch = epoch;
  }

  private clearBucket(bucket: number): void {
    const offset = bucket * this.counters;
    for (let counter = 0; counter < this.counters; counter++) {
      this.totals[counter] = (this.totals[counter] ?? 0) - (this.counts[offset + counter] ?? 0);
      this.counts[offset + counter] = 0;
    }
  }
}
