import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { CancelledError } from "@monarch/resilience";
import { Redis } from "iovalkey";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  githubContentCreationWindows,
  type RatePermit,
  type RateWindow,
  SharedRateLimiter,
  type ValkeyEndpoint,
} from "../src/index.js";
import { builtEntry } from "./support/built-package.js";
import { connect, deployments, uniqueName } from "./support/endpoints.js";
import { serverNow } from "./support/server-side.js";

const workerScript = fileURLToPath(new URL("./fixtures/rate-limit-worker.mjs", import.meta.url));

function granted(permit: RatePermit): number {
  if (!permit.granted) throw new Error(`expected a permit, was told to wait ${permit.waitMs} ms`);
  return permit.at;
}

function refused(permit: RatePermit): number {
  if (permit.granted) throw new Error(`expected a refusal, was granted at ${permit.at}`);
  return permit.waitMs;
}

async function grantAll(limiter: SharedRateLimiter, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index++) times.push(granted(await limiter.tryAcquire()));
  return times;
}

describe.each(deployments)("SharedRateLimiter on a $name", ({ endpoint }) => {
  it("grants what the tightest window allows, counts each permit in every window, and lets keys expire", async () => {
    const client = connect(endpoint());
    const name = uniqueName("github-app");
    const limiter = new SharedRateLimiter({ client, name, windows: githubContentCreationWindows });

    await grantAll(limiter, 80);
    const waitMs = refused(await limiter.tryAcquire());

    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(60_000);
    const snapshot = await limiter.snapshot();
    expect(snapshot.windows.map(({ used }) => used)).toEqual([80, 80]);
    expect(snapshot.blockedUntil).toBeNull();
    const minuteTtl = await client.pttl(`monarch:ratelimit:${name}:w60000`);
    const hourTtl = await client.pttl(`monarch:ratelimit:${name}:w3600000`);
    expect(minuteTtl).toBeGreaterThan(50_000);
    expect(minuteTtl).toBeLessThanOrEqual(60_000);
    expect(hourTtl).toBeGreaterThan(3_590_000);
    expect(hourTtl).toBeLessThanOrEqual(3_600_000);
  });

  it("says exactly how long until the oldest permit leaves a full window", async () => {
    const client = connect(endpoint());
    const limiter = new SharedRateLimiter({
      client,
      name: uniqueName("exact"),
      windows: [{ limit: 5, windowMs: 400 }],
    });

    const times = await grantAll(limiter, 5);
    const waitMs = refused(await limiter.tryAcquire());
    const after = await serverNow(client);

    // The refusal happened at (first grant + 400 - wait): between the last grant and now.
    const refusedAt = (times[0] as number) + 400 - waitMs;
    expect(refusedAt).toBeGreaterThanOrEqual(times[4] as number);
    expect(refusedAt).toBeLessThanOrEqual(after);
    await sleep(waitMs);
    expect(granted(await limiter.tryAcquire())).toBeGreaterThanOrEqual((times[0] as number) + 400);
  });

  it("waits for the window that frees up last when several are full", async () => {
    const client = connect(endpoint());
    const windows = [
      { limit: 2, windowMs: 200 },
      { limit: 3, windowMs: 1_000 },
    ];
    const limiter = new SharedRateLimiter({ client, name: uniqueName("longest"), windows });

    const [first, second] = (await grantAll(limiter, 2)) as [number, number];
    const shortWait = refused(await limiter.tryAcquire());
    const refusedAt = first + 200 - shortWait;
    expect(refusedAt).toBeGreaterThanOrEqual(second);
    expect(refusedAt).toBeLessThanOrEqual(await serverNow(client));

    await sleep(shortWait);
    const third = granted(await limiter.tryAcquire());
    const longWait = refused(await limiter.tryAcquire());
    const refusedAgainAt = first + 1_000 - longWait;
    expect(refusedAgainAt).toBeGreaterThanOrEqual(third);
    expect(refusedAgainAt).toBeLessThanOrEqual(await serverNow(client));
  });

  it("takes nothing from any window when one of them refuses", async () => {
    const client = connect(endpoint());
    const name = uniqueName("all-or-none");
    const minute = { limit: 5, windowMs: 60_000 };
    const limiter = new SharedRateLimiter({
      client,
      name,
      windows: [minute, { limit: 3, windowMs: 3_600_000 }],
    });

    await grantAll(limiter, 3);
    for (let attempt = 0; attempt < 3; attempt++) refused(await limiter.tryAcquire());

    expect((await limiter.snapshot()).windows.map(({ used }) => used)).toEqual([3, 3]);
    // A limiter on the minute window alone still finds the 2 permits the refusals did not take.
    const minuteOnly = new SharedRateLimiter({ client, name, windows: [minute] });
    await grantAll(minuteOnly, 2);
    refused(await minuteOnly.tryAcquire());
  });

  it("refuses every permit until a block ends, and never shortens a block", async () => {
    const client = connect(endpoint());
    const name = uniqueName("blocked");
    const limiter = new SharedRateLimiter({ client, name, windows: [{ limit: 10, windowMs: 1_000 }] });
    const blockedUntil = (await serverNow(client)) + 60_000;

    await limiter.blockUntil(blockedUntil);
    await limiter.blockUntil(blockedUntil - 59_000);
    await limiter.blockUntil(blockedUntil - 120_000);
    const before = await serverNow(client);
    const waitMs = refused(await limiter.tryAcquire());
    const after = await serverNow(client);

    expect(blockedUntil - waitMs).toBeGreaterThanOrEqual(before);
    expect(blockedUntil - waitMs).toBeLessThanOrEqual(after);
    const snapshot = await limiter.snapshot();
    expect(snapshot.blockedUntil).toBe(blockedUntil);
    expect(snapshot.windows[0]?.used).toBe(0);
    const ttl = await client.pttl(`monarch:ratelimit:${name}:blocked`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("acquire waits out a block set by another replica", async () => {
    const client = connect(endpoint());
    const name = uniqueName("acquire");
    const windows = [{ limit: 1, windowMs: 60_000 }];
    const blockedUntil = (await serverNow(client)) + 300;
    await new SharedRateLimiter({ client: connect(endpoint()), name, windows }).blockUntil(blockedUntil);

    const at = await new SharedRateLimiter({ client, name, windows }).acquire();

    expect(at).toBeGreaterThanOrEqual(blockedUntil);
  });

  it("acquire stops waiting when its signal aborts", async () => {
    const client = connect(endpoint());
    const limiter = new SharedRateLimiter({
      client,
      name: uniqueName("abort"),
      windows: [{ limit: 1, windowMs: 1_000 }],
    });
    await limiter.blockUntil((await serverNow(client)) + 60_000);
    const controller = new AbortController();

    const acquiring = limiter.acquire(controller.signal);
    setTimeout(() => controller.abort(new Error("shutting down")), 50);

    await expect(acquiring).rejects.toBeInstanceOf(CancelledError);
    await expect(acquiring).rejects.toHaveProperty("cause.message", "shutting down");
  });
});

describe("SharedRateLimiter options", () => {
  const client = new Redis({ lazyConnect: true });
  const create = (windows: RateWindow[], name = "credential") =>
    new SharedRateLimiter({ client, name, windows });

  it.each([
    [[], "windows must list at least one window"],
    [[{ limit: 0, windowMs: 1_000 }], "windows[0].limit must be an integer >= 1, got 0"],
    [
      [
        { limit: 1, windowMs: 1_000 },
        { limit: 2, windowMs: 2.5 },
      ],
      "windows[1].windowMs must be an integer >= 1, got 2.5",
    ],
    [
      [
        { limit: 1, windowMs: 1_000 },
        { limit: 2, windowMs: 1_000 },
      ],
      "windows[1].windowMs (1000) repeats windows[0]",
    ],
  ])("rejects windows %j", (windows, message) => {
    expect(() => create(windows)).toThrow(RangeError);
    expect(() => create(windows)).toThrow(message);
  });

  it("rejects an empty name and a block time that is not a number", async () => {
    expect(() => create([{ limit: 1, windowMs: 1 }], "")).toThrow(new RangeError("name must not be empty"));
    await expect(create([{ limit: 1, windowMs: 1 }]).blockUntil(Number.NaN)).rejects.toThrow(RangeError);
  });
});

/** The most permits any sliding window of `windowMs` holds, a permit at t counting in [t, t + windowMs). */
function busiestWindow(sortedTimes: readonly number[], windowMs: number): number {
  let busiest = 0;
  let start = 0;
  sortedTimes.forEach((time, end) => {
    while ((sortedTimes[start] as number) <= time - windowMs) start++;
    busiest = Math.max(busiest, end - start + 1);
  });
  return busiest;
}

/** The most permits grantable in [from, to): granting each as early as allowed is optimal. */
function theoreticalMaximum(windows: readonly RateWindow[], from: number, to: number): number {
  const grants: number[] = [];
  let now = from;
  while (now < to) {
    const waits = windows.map(({ limit, windowMs }) => {
      const inWindow = grants.filter((time) => time > now - windowMs);
      return inWindow.length < limit ? 0 : (inWindow[inWindow.length - limit] as number) + windowMs - now;
    });
    const wait = Math.max(...waits);
    if (wait === 0) grants.push(now);
    else now += wait;
  }
  return grants.length;
}

interface WorkerReport {
  readonly grants: number[];
  readonly refusals: number;
}

describe.each(deployments)("SharedRateLimiter across processes on a $name", ({ endpoint }) => {
  const workers: ChildProcess[] = [];
  beforeAll(() => {
    builtEntry();
  }, 120_000);
  afterEach(() => {
    for (const worker of workers.splice(0)) worker.kill();
  });

  function startWorker(config: {
    endpoint: ValkeyEndpoint;
    name: string;
    windows: RateWindow[];
    runMs: number;
  }): { ready: Promise<void>; report: Promise<WorkerReport>; go(): void } {
    const worker = spawn(process.execPath, [workerScript, JSON.stringify(config)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    workers.push(worker);
    const lines = createInterface({ input: worker.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => {
      const line = await lines.next();
      if (line.done) throw new Error(`worker ${worker.pid} ended early (exit code ${worker.exitCode})`);
      return line.value;
    };
    const ready = next().then((line) => expect(line).toBe("ready"));
    return {
      ready,
      report: ready.then(async () => JSON.parse(await next()) as WorkerReport),
      go: () => worker.stdin?.write("go\n"),
    };
  }

  it("never admits more than each window allows across 4 processes hammering it", {
    timeout: 60_000,
  }, async () => {
    const windows = [
      { limit: 8, windowMs: 300 },
      { limit: 20, windowMs: 1_200 },
    ];
    const config = { endpoint: endpoint(), name: uniqueName("hammered"), windows, runMs: 1_500 };
    const started = Array.from({ length: 4 }, () => startWorker(config));
    await Promise.all(started.map(({ ready }) => ready));

    for (const worker of started) worker.go();
    const reports = await Promise.all(started.map(({ report }) => report));

    const times = reports.flatMap(({ grants }) => grants).sort((a, b) => a - b);
    for (const { limit, windowMs } of windows)
      expect(busiestWindow(times, windowMs)).toBeLessThanOrEqual(limit);
    const first = times[0] as number;
    const last = times[times.length - 1] as number;
    expect(last - first).toBeGreaterThanOrEqual(1_000);
    // Close to the maximum, to prove it is not just refusing: at least what a perfect limiter grants in
    // a span 100 ms shorter, the slack for the processes to notice each freed permit.
    expect(times.length).toBeGreaterThanOrEqual(theoreticalMaximum(windows, first, last - 100));
    expect(reports.reduce((sum, { refusals }) => sum + refusals, 0)).toBeGreaterThan(0);
  });
});
