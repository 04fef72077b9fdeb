import calculateSlot from "cluster-key-slot";

/** Thrown when keys that one script or transaction touches would live on different cluster nodes. */
export class CrossSlotKeysError extends Error {
  override readonly name = "CrossSlotKeysError";
}

/**
 * Wraps a name in a hash tag unless it has one, so that keys derived from it (`{name}:dead`, ...)
 * land in the same cluster slot as the name itself.
 */
export function withHashTag(name: string): string {
  return /\{[^}]+\}/.test(name) ? name : `{${name}}`;
}

/** Throws unless all `keys` hash to one cluster slot; `purpose` says what needs them together. */
export function requireSameSlot(purpose: string, keys: readonly string[]): void {
  const slots = new Set(keys.map((key) => calculateSlot(key)));
  if (slots.size > 1) {
    throw new CrossSlotKeysError(
      `${purpose} needs ${keys.map((key) => `"${key}"`).join(", ")} in one cluster slot; ` +
        "give them a common hash tag, e.g. {monarch:migrations} and {monarch:migrations}:dead",
    );
  }
}
