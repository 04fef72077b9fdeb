// Builds the ESM and CommonJS flavours side by side. The marker package.json in each folder tells
// Node (and TypeScript) which module system the .js and .d.ts files inside use.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
rmSync("dist", { recursive: true, force: true });
for (const [config, type] of [
  ["tsconfig.build.json", "module"],
  ["tsconfig.cjs.json", "commonjs"],
]) {
  try {
    execFileSync(process.execPath, [tsc, "-p", config], { stdio: "inherit" });
  } catch {
    process.exit(1); // tsc has printed the errors
  }
  const folder = type === "module" ? "dist/esm" : "dist/cjs";
  mkdirSync(folder, { recursive: true });
  writeFileSync(`${folder}/package.json`, `${JSON.stringify({ type })}\n`);
}
