import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { sampleLatency } from "../src/github/faults.js";
import { ManualClock, type StartGitHubSimulatorOptions } from "../src/index.js";
import { octokitFor, simulatorsValidatedAfterEach, statusOf } from "./support/github.js";

const start = simulatorsValidatedAfterEach();

const TOKEN = "ghp_faults";
const ISSUES = "POST /repos/{owner}/{repo}/issues";

/** mulberry32: a small seeded generator, uniform on [0, 1), so that draws repeat. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function withRepository(options: StartGitHubSimulatorOptions = {}) {
  const simulator = await start(options);
  simulator.createRepository({ owner: "acme", name: "target" });
  simulator.grantToken(TOKEN, { login: "bot", repos: { "acme/target": "write" } });
  const octokit = octokitFor(simulator, TOKEN);
  const create = (title = "t", signal?: AbortSignal) =>
    octokit.rest.issues.create({
      owner: "acme",
      repo: "target",
      title,
      ...(signal ? { request: { signal } } : {}),
    });
  return { simulator, octokit, create };
}

describe("latency", () => {
  it("delays answers by a fixed latency", async () => {
    const { simulator, octokit } = await withRepository();
    simulator.faults.set("GET /user", { latency: 150 });
    const started = performance.now();
    await octokit.rest.users.getAuthenticated();
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });

  it("draws uniform and log-normal latencies", () => {
    const random = seeded(7);
    const uniform = Array.from({ length: 10_000 }, () => sampleLatency({ minMs: 10, maxMs: 20 }, random));
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...uniform)).toBeLessThan(20);
    const logNormal = Array.from({ length: 20_000 }, () =>
      sampleLatency({ medianMs: 50, p99Ms: 400 }, random),
    ).sort((a, b) => a - b);
    const quantile = (q: number) => logNormal[Math.floor(q * logNormal.length)] ?? Number.NaN;
    expect(quantile(0.5)).toBeGreaterThan(45);
    expect(quantile(0.5)).toBeLessThan(55);
    expect(quantile(0.99)).toBeGreaterThan(340);
    expect(quantile(0.99)).toBeLessThan(470);
  });
});

describe("failures", () => {
  it("answers a 5xx without handling the request, for as many requests as asked", async () => {
    const { simulator, create } = await withRepository();
    simulator.faults.set(ISSUES, { serverErrorRate: 1, serverErrorStatus: 503, requests: 2 });
    expect(await statusOf(create())).toBe(503);
    expect(await statusOf(create())).toBe(503);
    expect((await create()).status).toBe(201);
    expect(simulator.issuesIn("acme/target")).toHaveLength(1);
    expect(simulator.requests().map((request) => request.fault)).toEqual([
      "server-error",
      "server-error",
      undefined,
    ]);
  });

  it("fails the drawn fraction of requests, repeatably with a seeded random", async () => {
    const run = async () => {
      const { simulator, octokit } = await withRepository({ random: seeded(42) });
      simulator.faults.set("*", { serverErrorRate: 0.5 });
      const statuses: number[] = [];
      for (let index = 0; index < 40; index++) {
        statuses.push(
          await octokit.rest.users.getAuthenticated().then(
            (r) => r.status,
            (e: { status: number }) => e.status,
          ),
        );
      }
      return statuses;
    };
    const first = await run();
    expect(first.filter((status) => status === 502).length).toBeGreaterThan(10);
    expect(first.filter((status) => status === 200).length).toBeGreaterThan(10);
    expect(await run()).toEqual(first);
  });

  it("leaves a timed-out request unanswered and unhandled", async () => {
    const { simulator, create } = await withRepository();
    simulator.faults.set(ISSUES, { timeoutRate: 1, requests: 1 });
    await expect(create("lost", AbortSignal.timeout(200))).rejects.toThrow();
    expect((await create("kept")).status).toBe(201);
    expect(simulator.issuesIn("acme/target").map((issue) => issue.title)).toEqual(["kept"]);
    const [timedOut] = simulator.requests();
    expect(timedOut).toMatchObject({ fault: "timeout", status: undefined, answeredAt: undefined });
  });

  it("loses the answer of a request it handled, freeing its concurrency slot when the client gives up", async () => {
    const { simulator, octokit, create } = await withRepository({ limits: { maxConcurrent: 1 } });
    simulator.faults.set(ISSUES, { lostResponseRate: 1, requests: 1 });
    await expect(create("in doubt", AbortSignal.timeout(200))).rejects.toThrow();
    // The issue exists although the client never heard so: the one item a crash-safe client must look up.
    expect(simulator.issuesIn("acme/target").map((issue) => issue.title)).toEqual(["in doubt"]);
    await sleep(50); // for the server to see the aborted connection close
    expect((await octokit.rest.users.getAuthenticated()).status).toBe(200);
  });

  it("answers 502 to a create it performed: the duplicate trap", async () => {
    const { simulator, create } = await withRepository();
    simulator.faults.set(ISSUES, { errorAfterSuccessRate: 1, requests: 1 });
    expect(await statusOf(create("Set up CI"))).toBe(502);
    expect(simulator.issuesIn("acme/target").map((issue) => issue.title)).toEqual(["Set up CI"]);
    // A client that retries blindly creates it twice.
    await create("Set up CI");
    expect(simulator.issuesIn("acme/target").map((issue) => issue.title)).toEqual(["Set up CI", "Set up CI"]);
  });

  it("answers 503 to every request during an outage window, and serves again after it", async () => {
    const clock = new ManualClock();
    const { simulator, octokit, create } = await withRepository({ clock });
    simulator.faults.set("*", { outages: [{ from: clock.now() + 100, until: clock.now() + 400 }] });
    expect((await octokit.rest.users.getAuthenticated()).status).toBe(200);
    clock.advance(100);
    expect(await statusOf(create())).toBe(503);
    expect(await statusOf(octokit.rest.users.getAuthenticated())).toBe(503);
    clock.advance(300);
    expect((await octokit.rest.users.getAuthenticated()).status).toBe(200);
    expect(simulator.issuesIn("acme/target")).toEqual([]);
  });

  it("lets a route's own spec take precedence over *, and clears them", async () => {
    const { simulator, octokit } = await withRepository();
    simulator.faults.set("*", { serverErrorRate: 1 });
    simulator.faults.set("GET /user", { latency: 0 });
    expect((await octokit.rest.users.getAuthenticated()).status).toBe(200);
    expect(await statusOf(octokit.rest.rateLimit.get())).toBe(502);
    simulator.faults.clear("*");
    expect((await octokit.rest.rateLimit.get()).status).toBe(200);
    simulator.faults.clear();
  });

  it("refuses impossible specs", async () => {
    const { simulator } = await withRepository();
    expect(() => simulator.faults.set("*", { serverErrorRate: 0.7, timeoutRate: 0.5 })).toThrow(RangeError);
    expect(() => simulator.faults.set("*", { latency: { medianMs: 50, p99Ms: 10 } })).toThrow(RangeError);
    expect(() => simulator.faults.set("*", { requests: 0 })).toThrow(RangeError);
  });
});
