import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newestFile(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestFile(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The path of a workspace package's built entry point (`dist/index.js`), building it first when it is
 * missing or older than its sources. Tests that run a package in a child process use it, so that the
 * child runs the package as it ships rather than through the test runner's transform.
 */
export function builtEntry(packageDir: string): string {
  const entry = join(packageDir, "dist/index.js");
  let builtAt = 0;
  try {
    builtAt = statSync(entry).mtimeMs;
  } catch {
    // not built yet
  }
  if (builtAt < newestFile(join(packageDir, "src"))) {
    execFileSync("pnpm", ["exec", "tsc", "-p", "tsconfig.build.json"], { cwd: packageDir, stdio: "inherit" });
  }
  return entry;
}
