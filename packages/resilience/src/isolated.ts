/** Calls `action`, routing a throw or a rejection to `onError`, so a side task never fails its caller. */
export function runIsolated(action: () => unknown, onError: (error: unknown) => void): void {
  try {
    const outcome = action();
    if (isThenable(outcome)) Promise.resolve(outcome).catch(onError);
  } catch (error) {
    onError(error);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}
