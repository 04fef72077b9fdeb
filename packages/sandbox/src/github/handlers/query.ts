import { validationFailed } from "../errors.js";

/** A query parameter that must be one of `allowed`: the fallback when absent, 422 when it is another value. */
export function choice<const T extends string>(
  url: URL,
  name: string,
  allowed: readonly T[],
  fallback: T,
  resource: string,
): T {
  const value = url.searchParams.get(name);
  if (value === null) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw validationFailed({ resource, field: name, code: "invalid", value });
}

/** A comparison of two items for the given direction of a sort; ties fall back to `tiebreak`. */
export function ordered<T>(
  direction: "asc" | "desc",
  key: (item: T) => number,
  tiebreak: (item: T) => number,
): (a: T, b: T) => number {
  const sign = direction === "asc" ? 1 : -1;
  return (a, b) => sign * (key(a) - key(b) || tiebreak(a) - tiebreak(b));
}
