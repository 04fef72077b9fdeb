// Order statistics shared by the benchmarks.

/** The middle value (the upper one of an even count: no averaging). */
export const median = (/** @type {number[]} */ values) =>
  [...values].sort((a, b) => a - b)[values.length >> 1];

/**
 * The value below which a fraction `q` of the values lie (nearest rank), from values sorted ascending.
 * @param {ArrayLike<number>} sorted
 * @param {number} q between 0 and 1
 */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
