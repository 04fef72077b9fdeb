import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it, vi } from "vitest";
import {
  type HeartbeatSink,
  ManualClock,
  Watchdog,
  type WatchdogOptions,
  type WatchdogStatus,
} from "../src/index.js";
import { flush, RecordingClock } from "./helpers.js";

const INTERVAL = 1000;

function setup(options: Partial<Omit<WatchdogOptions, "clock">> = {}, startAt = 10_000) {
  const clock = new ManualClock(startAt);
  const watchdog = new Watchdog({ name: "worker", checkIntervalMs: INTERVAL, ...options, clock });
  const events: string[] = [];
  const unhealthy: WatchdogStatus[] = [];
  const healthy: WatchdogStatus[] = [];
  const recoveryErrors: unknown[] = [];
  const sinkErrors: unknown[] = [];
  watchdog.on("unhealthy", (status) => {
    events.push(`unhealthy@${clock.now()}`);
    unhealthy.push(status);
  });
  watchdog.on("healthy", (status) => {
    events.push(`healthy@${clock.now()}`);
    healthy.push(status);
  });
  watchdog.on("recoveryError", ({ error }) => recoveryErrors.push(error));
  watchdog.on("sinkError", ({ error }) => sinkErrors.push(error));
  /** Runs `count` checks from now, the first one check interval away. */
  const checks = (count: number) => clock.advance(count * INTERVAL);
  return { clock, watchdog, events, unhealthy, healthy, recoveryErrors, sinkErrors, checks };
}

describe("Watchdog options", () => {
  it.each([0, -1, Number.NaN])("rejects checkIntervalMs %s", (value) => {
    expect(() => new Watchdog({ name: "w", checkIntervalMs: value })).toThrow(
      new RangeError(`checkIntervalMs must be a number > 0, got ${value}`),
    );
  });

  it.each([0, 1.5, -2])("rejects maxMissedChecks %s", (value) => {
    expect(() => new Watchdog({ name: "w", checkIntervalMs: 10, maxMissedChecks: value })).toThrow(
      new RangeError(`maxMissedChecks must be an integer >= 1, got ${value}`),
    );
  });

  it("defaults maxMissedChecks to 3", () => {
    const w = setup();
    w.watchdog.start();
    w.checks(2);
    expect(w.watchdog.status().healthy).toBe(true);
    w.checks(1);
    expect(w.watchdog.status().healthy).toBe(false);
  });
});

describe("Watchdog status", () => {
  it("is healthy at start, with no heartbeat yet and since = construction time", () => {
    const { watchdog } = setup({}, 5_000);
    expect(watchdog.name).toBe("worker");
    expect(watchdog.status()).toEqual({
      name: "worker",
      healthy: true,
      lastHeartbeatAt: null,
      missedChecks: 0,
      since: 5_000,
    });
  });

  it("does not check before start(), however much time passes", () => {
    const w = setup({ maxMissedChecks: 1 });
    expect(w.watchdog.running).toBe(false);
    expect(w.clock.pendingTimers).toBe(0);
    w.checks(100);
    expect(w.watchdog.status()).toMatchObject({ healthy: true, missedChecks: 0 });
  });

  it("reports the last heartbeat time and counts missed checks", () => {
    const w = setup({ maxMissedChecks: 5 });
    w.watchdog.start();
    w.clock.advance(300);
    w.watchdog.heartbeat();
    expect(w.watchdog.status()).toEqual({
      name: "worker",
      healthy: true,
      lastHeartbeatAt: 10_300,
      missedChecks: 0,
      since: 10_000,
    });
    w.clock.advance(700); // check at 11_000 sees the heartbeat
    expect(w.watchdog.status().missedChecks).toBe(0);
    w.checks(2); // 12_000 and 13_000 see none
    expect(w.watchdog.status()).toMatchObject({ lastHeartbeatAt: 10_300, missedChecks: 2, healthy: true });
  });
});

describe("Watchdog health", () => {
  it("turns unhealthy after maxMissedChecks checks with no heartbeat, emitting the status", () => {
    const w = setup({ maxMissedChecks: 3 });
    w.watchdog.start();
    w.checks(2);
    expect(w.events).toEqual([]);
    expect(w.watchdog.status().missedChecks).toBe(2);
    w.checks(1);
    expect(w.events).toEqual(["unhealthy@13000"]);
    const expected: WatchdogStatus = {
      name: "worker",
      healthy: false,
      lastHeartbeatAt: null,
      missedChecks: 3,
      since: 13_000,
    };
    expect(w.unhealthy).toEqual([expected]);
    expect(w.watchdog.status()).toEqual(expected);
  });

  it("stays unhealthy without re-announcing while checks keep missing", () => {
    const w = setup({ maxMissedChecks: 2 });
    w.watchdog.start();
    w.checks(10);
    expect(w.events).toEqual(["unhealthy@12000"]);
    expect(w.watchdog.status()).toMatchObject({ healthy: false, missedChecks: 10, since: 12_000 });
  });

  it("stays healthy while heartbeats arrive between checks", () => {
    const w = setup({ maxMissedChecks: 1 });
    w.watchdog.start();
    for (let i = 0; i < 20; i++) {
      w.clock.advance(INTERVAL - 1);
      w.watchdog.heartbeat();
      w.clock.advance(1);
    }
    expect(w.events).toEqual([]);
    expect(w.watchdog.status()).toMatchObject({ healthy: true, missedChecks: 0 });
  });

  it("a heartbeat resets the count of missed checks", () => {
    const w = setup({ maxMissedChecks: 3 });
    w.watchdog.start();
    w.checks(2); // 11_000 and 12_000 missed
    w.clock.advance(500);
    w.watchdog.heartbeat(); // 12_500
    w.clock.advance(500); // 13_000 sees the heartbeat
    w.checks(2); // 14_000 and 15_000 missed
    expect(w.events).toEqual([]);
    w.checks(1); // 16_000: third miss in a row
    expect(w.events).toEqual(["unhealthy@16000"]);
  });

  it("a heartbeat makes an unhealthy watchdog healthy again, emitting 'healthy'", () => {
    const w = setup({ maxMissedChecks: 1 });
    w.watchdog.start();
    w.checks(1);
    w.clock.advance(250);
    w.watchdog.heartbeat();
    const expected: WatchdogStatus = {
      name: "worker",
      healthy: true,
      lastHeartbeatAt: 11_250,
      missedChecks: 0,
      since: 11_250,
    };
    expect(w.events).toEqual(["unhealthy@11000", "healthy@11250"]);
    expect(w.healthy).toEqual([expected]);
    expect(w.watchdog.status()).toEqual(expected);
  });

  it("a heartbeat while healthy emits nothing and keeps 'since'", () => {
    const w = setup();
    w.watchdog.start();
    w.clock.advance(100);
    w.watchdog.heartbeat();
    w.watchdog.heartbeat();
    expect(w.events).toEqual([]);
    expect(w.watchdog.status().since).toBe(10_000);
  });
});

describe("Watchdog recovery callbacks", () => {
  it("run once per unhealthy episode, with the unhealthy status", () => {
    const w = setup({ maxMissedChecks: 2 });
    const recover = vi.fn();
    w.watchdog.onRecovery(recover);
    w.watchdog.start();
    w.checks(6);
    expect(recover).toHaveBeenCalledTimes(1);
    expect(recover).toHaveBeenCalledWith({
      name: "worker",
      healthy: false,
      lastHeartbeatAt: null,
      missedChecks: 2,
      since: 12_000,
    });

    w.watchdog.heartbeat(); // episode over
    w.checks(1); // sees the heartbeat
    w.checks(1);
    expect(recover).toHaveBeenCalledTimes(1);
    w.checks(1); // second miss in a row: a new episode
    expect(recover).toHaveBeenCalledTimes(2);
    w.checks(5);
    expect(recover).toHaveBeenCalledTimes(2);
  });

  it("run in registration order, after the 'unhealthy' event", () => {
    const w = setup({ maxMissedChecks: 1 });
    const order: string[] = [];
    w.watchdog.on("unhealthy", () => order.push("event"));
    w.watchdog.onRecovery(() => {
      order.push("first");
    });
    w.watchdog.onRecovery(() => {
      order.push("second");
    });
    w.watchdog.start();
    w.checks(1);
    expect(order).toEqual(["event", "first", "second"]);
  });

  it("are isolated: throwing and rejecting callbacks are reported via 'recoveryError' and the others still run", async () => {
    const w = setup({ maxMissedChecks: 1 });
    const thrown = new Error("sync failure");
    const rejected = new Error("async failure");
    const ran: string[] = [];
    w.watchdog.onRecovery(() => {
      ran.push("throws");
      throw thrown;
    });
    w.watchdog.onRecovery(async () => {
      ran.push("rejects");
      throw rejected;
    });
    w.watchdog.onRecovery(() => {
      ran.push("works");
    });
    w.watchdog.start();
    expect(() => w.checks(1)).not.toThrow();
    expect(ran).toEqual(["throws", "rejects", "works"]);
    await flush();
    expect(w.recoveryErrors).toEqual([thrown, rejected]);
    expect(w.watchdog.status().healthy).toBe(false);
    expect(w.watchdog.running).toBe(true); // a failing callback does not stop the checks
  });

  it("stop being called once unsubscribed", () => {
    const w = setup({ maxMissedChecks: 1 });
    const recover = vi.fn();
    const unsubscribe = w.watchdog.onRecovery(recover);
    unsubscribe();
    w.watchdog.start();
    w.checks(1);
    expect(w.events).toEqual(["unhealthy@11000"]);
    expect(recover).not.toHaveBeenCalled();
  });
});

describe("Watchdog heartbeat sink", () => {
  it("records the status at every check, including the check that turns it unhealthy", () => {
    const recorded: WatchdogStatus[] = [];
    const w = setup({ maxMissedChecks: 2, sink: { record: (status) => void recorded.push(status) } });
    w.watchdog.start();
    w.clock.advance(100);
    w.watchdog.heartbeat();
    w.checks(3); // checks at 11_000 (beat seen), 12_000, 13_000
    expect(recorded).toEqual([
      { name: "worker", healthy: true, lastHeartbeatAt: 10_100, missedChecks: 0, since: 10_000 },
      { name: "worker", healthy: true, lastHeartbeatAt: 10_100, missedChecks: 1, since: 10_000 },
      { name: "worker", healthy: false, lastHeartbeatAt: 10_100, missedChecks: 2, since: 13_000 },
    ]);
  });

  it("reports a throwing sink via 'sinkError' and keeps checking", () => {
    const failure = new Error("store down");
    const record = vi.fn(() => {
      throw failure;
    });
    const w = setup({ sink: { record } });
    w.watchdog.start();
    expect(() => w.checks(2)).not.toThrow();
    expect(record).toHaveBeenCalledTimes(2);
    expect(w.sinkErrors).toEqual([failure, failure]);
    expect(w.watchdog.running).toBe(true);
  });

  it("reports a rejecting sink via 'sinkError'", async () => {
    const failure = new Error("write timed out");
    const sink: HeartbeatSink = { record: () => Promise.reject(failure) };
    const w = setup({ sink });
    w.watchdog.start();
    w.checks(1);
    await flush();
    expect(w.sinkErrors).toEqual([failure]);
  });

  it("a failing sink does not keep the watchdog from turning unhealthy and running recovery", () => {
    const recover = vi.fn();
    const w = setup({
      maxMissedChecks: 1,
      sink: {
        record: () => {
          throw new Error("nope");
        },
      },
    });
    w.watchdog.onRecovery(recover);
    w.watchdog.start();
    w.checks(1);
    expect(recover).toHaveBeenCalledTimes(1);
    expect(w.events).toEqual(["unhealthy@11000"]);
  });
});

describe("Watchdog start and stop", () => {
  it("start() twice is harmless: one timer, one check per interval", () => {
    const record = vi.fn();
    const w = setup({ sink: { record } });
    w.watchdog.start();
    w.watchdog.start();
    expect(w.watchdog.running).toBe(true);
    expect(w.clock.pendingTimers).toBe(1);
    w.checks(1);
    expect(record).toHaveBeenCalledTimes(1);
    w.watchdog.start();
    w.checks(3);
    expect(record).toHaveBeenCalledTimes(4);
    expect(w.clock.pendingTimers).toBe(1);
  });

  it("stop() leaves no pending timer and no further checks run", () => {
    const record = vi.fn();
    const w = setup({ maxMissedChecks: 1, sink: { record } });
    const recover = vi.fn();
    w.watchdog.onRecovery(recover);
    w.watchdog.start();
    w.clock.advance(INTERVAL / 2);
    w.watchdog.stop();
    expect(w.watchdog.running).toBe(false);
    expect(w.clock.pendingTimers).toBe(0);
    w.checks(50);
    expect(record).not.toHaveBeenCalled();
    expect(recover).not.toHaveBeenCalled();
    expect(w.events).toEqual([]);
    expect(w.watchdog.status()).toMatchObject({ healthy: true, missedChecks: 0 });
  });

  it("stop() from inside a check (an 'unhealthy' listener) ends the checks", () => {
    const record = vi.fn();
    const w = setup({ maxMissedChecks: 1, sink: { record } });
    w.watchdog.on("unhealthy", () => w.watchdog.stop());
    w.watchdog.start();
    w.checks(1);
    expect(w.watchdog.running).toBe(false);
    expect(w.clock.pendingTimers).toBe(0);
    w.checks(10);
    expect(record).toHaveBeenCalledTimes(1);
    expect(w.watchdog.status().missedChecks).toBe(1);
  });

  it("stop() before start() and stop() twice are harmless", () => {
    const w = setup();
    w.watchdog.stop();
    w.watchdog.start();
    w.watchdog.stop();
    w.watchdog.stop();
    expect(w.clock.pendingTimers).toBe(0);
    expect(w.watchdog.running).toBe(false);
  });

  it("can start again after stop(), checking a full interval after the restart", () => {
    const record = vi.fn();
    const w = setup({ sink: { record } });
    w.watchdog.start();
    w.checks(1);
    w.watchdog.stop();
    w.clock.advance(5_555);
    w.watchdog.start();
    w.clock.advance(INTERVAL - 1);
    expect(record).toHaveBeenCalledTimes(1);
    w.clock.advance(1);
    expect(record).toHaveBeenCalledTimes(2);
  });

  it("asks the clock not to keep the process alive for any of its timers", () => {
    const clock = new RecordingClock(new ManualClock());
    const watchdog = new Watchdog({ name: "w", checkIntervalMs: INTERVAL, clock });
    watchdog.start();
    clock.advance(3 * INTERVAL);
    const timers = clock.callsOf("setTimeout");
    expect(timers).toHaveLength(4); // the first check and the three re-arms
    expect(clock.callsOf("keepAlive")).toEqual(
      timers.map(({ handle, at }) => ({ op: "keepAlive", handle, keepAlive: false, at })),
    );
    watchdog.stop();
  });
});

describe("Watchdog on the system clock", () => {
  const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const builtEntry = resolve(packageRoot, "dist/esm/index.js");

  beforeAll(async () => {
    if (existsSync(builtEntry)) return;
    const code = await new Promise<number | null>((done, fail) => {
      const build = spawn(process.execPath, ["scripts/build.mjs"], { cwd: packageRoot, stdio: "inherit" });
      build.on("error", fail);
      build.on("exit", done);
    });
    if (code !== 0 || !existsSync(builtEntry)) throw new Error(`build failed with exit code ${code}`);
  }, 180_000);

  it("does not keep the process alive: a process whose only timer is a started watchdog exits promptly", async () => {
    const script = `
      import { Watchdog } from ${JSON.stringify(pathToFileURL(builtEntry).href)};
      const watchdog = new Watchdog({ name: "idle", checkIntervalMs: 60_000 });
      watchdog.start();
      console.log(JSON.stringify({ running: watchdog.running, healthy: watchdog.status().healthy }));
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const limitMs = 15_000; // far below the 60 s check interval, generous for a loaded machine
    const result = await new Promise<{ code: number | null; timedOut: boolean }>((done, fail) => {
      const guard = setTimeout(() => {
        child.kill("SIGKILL");
        done({ code: null, timedOut: true });
      }, limitMs);
      child.on("error", (error) => {
        clearTimeout(guard);
        fail(error);
      });
      child.on("exit", (code) => {
        clearTimeout(guard);
        done({ code, timedOut: false });
      });
    });
    expect(result.timedOut, `child still running after ${limitMs} ms; stderr: ${stderr}`).toBe(false);
    expect(result.code, `child failed; stderr: ${stderr}`).toBe(0);
    expect(JSON.parse(stdout.trim())).toEqual({ running: true, healthy: true });
  }, 30_000);
});
