import { builtEntry as builtEntryOf } from "@monarch/sandbox";

/** This package's built entry point, built first if stale: child processes run the shipped code. */
export function builtEntry(): string {
  return builtEntryOf(new URL("../..", import.meta.url).pathname);
}
