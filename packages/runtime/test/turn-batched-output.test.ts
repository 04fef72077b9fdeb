import { execFile } from "node:child_process";
import { setImmediate as nextTurn } from "node:timers/promises";
import { promisify } from "node:util";
import { builtEntry } from "@monarch/sandbox";
import { beforeAll, describe, expect, it } from "vitest";
import { TurnBatchedOutput } from "../src/logging/turn-batched-output.js";

const run = promisify(execFile);

function recorder() {
  const writes: string[] = [];
  return { writes, output: new TurnBatchedOutput({ write: (text: string) => writes.push(text) }) };
}

describe("stdout's lines, written once a turn", () => {
  let runtimeEntry: string;
  beforeAll(() => {
    runtimeEntry = builtEntry(new URL("..", import.meta.url).pathname);
  }, 120_000);

  it("hands the lines of one turn to the target in one write, in order, at the end of the turn", async () => {
    const { writes, output } = recorder();
    output.write("a\n");
    output.write("b\n");
    output.write("c\n");
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(["a\nb\nc\n"]);
    output.write("d\n");
    await nextTurn();
    expect(writes).toEqual(["a\nb\nc\n", "d\n"]);
    await nextTurn();
    expect(writes).toHaveLength(2);
  });

  it("writes what waits when flushed, and nothing twice", async () => {
    const { writes, output } = recorder();
    output.write("a\n");
    output.flushSync();
    expect(writes).toEqual(["a\n"]);
    await nextTurn();
    expect(writes).toEqual(["a\n"]);
  });

  it("keeps the order of several loggers' lines, and loses none when the process exits in their turn", async () => {
    // Loggers on the real stdout, exiting at once, as after a fatal error.
    const script = `
      const { createLogger } = await import(${JSON.stringify(runtimeEntry)});
      const logger = (service) => createLogger({ service, instance: service + "-1", version: "0.0.1" });
      const one = logger("one");
      const other = logger("other");
      one.info("first");
      setImmediate(() => {
        one.info("second");
        other.info("third");
        one.fatal("fourth, then exit");
        process.exit(3);
      });
    `;
    const exited = await run(process.execPath, ["--input-type=module", "-e", script]).catch(
      (error: { code: number; stdout: string }) => error,
    );
    expect("code" in exited ? exited.code : 0).toBe(3);
    const messages = exited.stdout
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual(["first", "second", "third", "fourth, then exit"]);
  });
});
