/**
 * The value of a `Retry-After` header for a wait of `ms`: whole seconds, as HTTP allows no fraction,
 * rounded up so that a client that waits that long finds room; at least 1.
 */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
