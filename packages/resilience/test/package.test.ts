import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Packs the package as it would be published, installs the tarball into a project outside the
// workspace, and uses it the ways a consumer would: import, require, and TypeScript in both modes.
const packageDir = new URL("..", import.meta.url).pathname;
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
let consumer: string;
let tarball: string;

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

beforeAll(() => {
  if (!existsSync(join(packageDir, "dist/esm/index.js")))
    run(process.execPath, ["scripts/build.mjs"], packageDir);
  consumer = mkdtempSync(join(tmpdir(), "monarch-resilience-consumer-"));
  run("pnpm", ["pack", "--pack-destination", consumer], packageDir);
  const packed = readdirSync(consumer).find((name) => name.endsWith(".tgz"));
  if (!packed) throw new Error("pnpm pack wrote no tarball");
  tarball = join(consumer, packed);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", tarball], consumer);
}, 120_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

const usage = (load: string) => `${load}
const breaker = new CircuitBreaker({ trip: consecutiveFailures(2) });
const policy = pipeline(timeout(1000), retry({ maxAttempts: 2, backoff: () => 0 }), breaker);
let calls = 0;
policy.execute(async ({ attempt }) => { calls++; if (attempt === 1) throw new Error("first"); return attempt; })
  .then(async (attempt) => {
    const state = breaker.state;
    breaker.isolate();
    const refused = await breaker.execute(() => 1).catch((error) => error);
    const watchdog = new Watchdog({ name: "w", checkIntervalMs: 60000 });
    watchdog.start();
    watchdog.stop();
    console.log(JSON.stringify({ attempt, calls, state, refused: refused instanceof BrokenCircuitError }));
  });
`;

const expected = { attempt: 2, calls: 2, state: "closed", refused: true };

describe("the published package", () => {
  it("contains the built code, types and docs, and no sources or tests", () => {
    const files = run("tar", ["-tzf", tarball], consumer).split("\n").filter(Boolean);
    expect(files).toContain("package/dist/esm/index.js");
    expect(files).toContain("package/dist/esm/index.d.ts");
    expect(files).toContain("package/dist/cjs/index.js");
    expect(files).toContain("package/dist/cjs/index.d.ts");
    expect(files).toContain("package/dist/cjs/package.json");
    expect(files).toContain("package/README.md");
    expect(files).toContain("package/CHANGELOG.md");
    expect(files).toContain("package/LICENSE");
    expect(files.filter((file) => file.includes("/src/") || file.includes("/test/"))).toEqual([]);
  });

  it("works through import", () => {
    writeFileSync(
      join(consumer, "use.mjs"),
      usage(
        'import { BrokenCircuitError, CircuitBreaker, Watchdog, consecutiveFailures, pipeline, retry, timeout } from "@monarch/resilience";',
      ),
    );
    expect(JSON.parse(run(process.execPath, ["use.mjs"], consumer))).toEqual(expected);
  });

  it("works through require, loading the CommonJS build", () => {
    writeFileSync(
      join(consumer, "use.cjs"),
      usage(`const { BrokenCircuitError, CircuitBreaker, Watchdog, consecutiveFailures, pipeline, retry, timeout } = require("@monarch/resilience");
if (!require.resolve("@monarch/resilience").includes("/dist/cjs/")) throw new Error("require did not load the CommonJS build");`),
    );
    expect(JSON.parse(run(process.execPath, ["use.cjs"], consumer))).toEqual(expected);
  });

  it("type-checks for TypeScript consumers of both module systems", () => {
    const source = `import { CircuitBreaker, retry, type CircuitState } from "@monarch/resilience";
const state: CircuitState = new CircuitBreaker().state;
const result: Promise<number> = retry().execute(async ({ signal, attempt }) => (signal.aborted ? 0 : attempt));
export { state, result };
`;
    writeFileSync(join(consumer, "esm.mts"), source);
    writeFileSync(join(consumer, "cjs.cts"), source);
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "node16", strict: true, noEmit: true, types: [], lib: ["ES2022", "DOM"] },
        files: ["esm.mts", "cjs.cts"],
      }),
    );
    expect(() => run(process.execPath, [tsc, "-p", "tsconfig.json"], consumer)).not.toThrow();
  });
});
