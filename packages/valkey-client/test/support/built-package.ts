import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const packageDir = new URL("../..", import.meta.url).pathname;

function newestSource(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The path of the built entry point, building it first when it is missing or older than the sources:
 * child processes in tests run the package as it ships, not through vitest's transform.
 */
export function builtEntry(): string {
  const entry = join(packageDir, "dist/index.js");
  let builtAt = 0;
  try {
    builtAt = statSync(entry).mtimeMs;
  } catch {
    // not built yet
  }
  if (builtAt < newestSource(join(packageDir, "src"))) {
    execFileSync("pnpm", ["exec", "tsc", "-p", "tsconfig.build.json"], { cwd: packageDir, stdio: "inherit" });
  }
  return entry;
}
