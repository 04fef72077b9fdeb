import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, expect, it } from "vitest";
import { findServerBinaries, startValkey } from "../src/index.js";

// Its own file: the signal emitted here uses up the sandbox's one-time SIGTERM handler in this process.
const run = promisify(execFile);
const ownHandler = () => {};

afterEach(() => {
  process.off("SIGTERM", ownHandler);
});

it("leaves its servers running on a signal that the process handles itself, to stop in its own order", async () => {
  const server = await startValkey();
  try {
    process.on("SIGTERM", ownHandler);
    process.emit("SIGTERM", "SIGTERM");
    const { stdout } = await run(findServerBinaries().cli, ["-p", String(server.port), "PING"]);
    expect(stdout.trim()).toBe("PONG");
    expect(server.running).toBe(true);
  } finally {
    await server.stop();
  }
});
