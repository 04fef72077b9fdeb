import { setTimeout as sleep } from "node:timers/promises";
import type { Octokit } from "@octokit/rest";
import { describe, expect, it } from "vitest";
import { ManualClock, type RateLimitOptions, type RequestRecord } from "../src/index.js";
import { octokitFor, simulatorsValidatedAfterEach, statusOf } from "./support/github.js";

const start = simulatorsValidatedAfterEach();

const TOKEN = "ghp_limits";
const SECONDARY = /You have exceeded a secondary rate limit/;
/** The default grace after a telling answer within which a request is not yet a violation. */
const GRACE_MS = 100;

async function withRepository(limits: RateLimitOptions, clock?: ManualClock) {
  const simulator = await start({ limits, ...(clock ? { clock } : {}) });
  simulator.createRepository({ owner: "acme", name: "target" });
  simulator.grantToken(TOKEN, { login: "bot", repos: { "acme/target": "write" } });
  const octokit = octokitFor(simulator, TOKEN);
  const create = (title = "t") => octokit.rest.issues.create({ owner: "acme", repo: "target", title });
  return { simulator, octokit, create };
}

interface Refused {
  readonly status: number;
  readonly message: string;
  readonly headers: Record<string, string | undefined>;
}

async function refusal(request: Promise<unknown>): Promise<Refused> {
  try {
    await request;
  } catch (error) {
    const { status, response } = error as {
      status: number;
      response: { data: { message: string }; headers: Refused["headers"] };
    };
    return { status, message: response.data.message, headers: response.headers };
  }
  throw new Error("the request was not refused");
}

/** The most of `records` received within any `windowMs`. */
function mostWithin(records: readonly RequestRecord[], windowMs: number): number {
  const times = records.map((record) => record.receivedAt).sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < times.length; last++) {
    while ((times[first] ?? 0) <= (times[last] ?? 0) - windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe("primary rate limit", () => {
  it("tells the core resource on every answer; /rate_limit does not count", async () => {
    const clock = new ManualClock(Date.parse("2024-05-01T10:00:00.250Z"));
    const { octokit } = await withRepository({ primaryPerHour: 10, timeScale: 100 }, clock);
    const user = await octokit.rest.users.getAuthenticated();
    expect(user.headers).toMatchObject({
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "9",
      "x-ratelimit-used": "1",
      "x-ratelimit-resource": "core",
    });
    // An hour at time scale 100 is 36 s; the reset is told in whole epoch seconds, rounded up.
    expect(user.headers["x-ratelimit-reset"]).toBe(String(Math.ceil((clock.now() + 36_000) / 1000)));
    expect(await statusOf(octokit.rest.repos.get({ owner: "acme", repo: "missing" }))).toBe(404);
    const status = await octokit.rest.rateLimit.get();
    expect(status.data.resources.core).toMatchObject({ limit: 10, used: 2, remaining: 8 });
    expect(status.data.rate).toEqual(status.data.resources.core);
    expect(status.headers["x-ratelimit-used"]).toBe("2");
  });

  it("refuses with 403 once used up, counts requests after the remaining-0 answer as violations, resets", async () => {
    const clock = new ManualClock(Date.parse("2024-05-01T10:00:00Z"));
    const { simulator, octokit } = await withRepository({ primaryPerHour: 3 }, clock);
    await octokit.rest.users.getAuthenticated();
    await octokit.rest.users.getAuthenticated();
    const last = await octokit.rest.users.getAuthenticated();
    expect(last.headers["x-ratelimit-remaining"]).toBe("0");
    const reset = Number(last.headers["x-ratelimit-reset"]);

    clock.advance(GRACE_MS); // later than a request in flight with the last answer could be
    const refused = await refusal(octokit.rest.users.getAuthenticated());
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/^API rate limit exceeded for user ID \d+\./);
    expect(refused.headers).toMatchObject({
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String(reset),
    });
    expect(refused.headers["retry-after"]).toBeUndefined();
    expect((await octokit.rest.rateLimit.get()).data.resources.core.remaining).toBe(0);
    expect(simulator.violations()).toEqual([
      expect.objectContaining({ limit: "primary", login: "bot", route: "GET /user", until: reset * 1000 }),
    ]);

    clock.advance(reset * 1000 - clock.now());
    const renewed = await octokit.rest.users.getAuthenticated();
    expect(renewed.headers["x-ratelimit-remaining"]).toBe("2");
    expect(simulator.violations()).toHaveLength(1);
  });

  it("answers 429 when so configured", async () => {
    const { octokit } = await withRepository({ primaryPerHour: 1, primaryStatus: 429 }, new ManualClock());
    await octokit.rest.users.getAuthenticated();
    expect((await refusal(octokit.rest.users.getAuthenticated())).status).toBe(429);
  });
});

describe("secondary rate limits", () => {
  it("refuses content creation past the per-minute limit with retry-after; an honouring client never violates", async () => {
    // 8 per minute at time scale 30: 8 per 2 s, and retry-after rounds the wait up to whole seconds.
    const { simulator, create } = await withRepository({ contentPerMinute: 8, timeScale: 30 });
    let refusals = 0;
    for (let index = 0; index < 12; index++) {
      for (;;) {
        try {
          await create(`issue ${index}`);
          break;
        } catch (error) {
          const { status, response } = error as {
            status: number;
            response: { data: { message: string }; headers: Record<string, string> };
          };
          expect(status).toBe(403);
          expect(response.data.message).toMatch(SECONDARY);
          expect(response.data.message).toContain("content creation");
          expect(response.headers["retry-after"]).toMatch(/^[12]$/);
          refusals += 1;
          await sleep(Number(response.headers["retry-after"]) * 1000);
        }
      }
    }
    expect(refusals).toBeGreaterThanOrEqual(1);
    expect(simulator.violations()).toEqual([]);
    expect(simulator.issuesIn("acme/target").map((issue) => issue.title)).toEqual(
      Array.from({ length: 12 }, (_, index) => `issue ${index}`),
    );
    const accepted = simulator.requests().filter((request) => request.status === 201);
    expect(mostWithin(accepted, 2_000)).toBeLessThanOrEqual(8);
  });

  it("refuses a client that comes back before its retry-after, even once the window has room", async () => {
    const clock = new ManualClock();
    const { simulator, create } = await withRepository({ contentPerMinute: 2, timeScale: 100 }, clock);
    await create();
    await create();
    const refused = await refusal(create());
    expect(refused.headers["retry-after"]).toBe("1");
    clock.advance(GRACE_MS - 1);
    expect((await refusal(create())).status).toBe(403); // in flight with the refusal: no violation yet
    expect(simulator.violations()).toEqual([]);
    clock.advance(601); // the 600 ms window has room again, but the client was told 1 s
    const again = await refusal(create());
    expect(again.status).toBe(403);
    expect(again.headers["retry-after"]).toBe("1"); // the 300 ms left, rounded up; no new wait starts
    expect(simulator.violations()).toEqual([
      expect.objectContaining({ limit: "content", route: "POST /repos/{owner}/{repo}/issues" }),
    ]);
    clock.advance(300);
    expect((await create()).status).toBe(201);
    expect(simulator.violations()).toHaveLength(1);
  });

  it("limits content creation per hour too", async () => {
    const clock = new ManualClock();
    const { create } = await withRepository({ contentPerHour: 3 }, clock);
    for (let index = 0; index < 3; index++) await create();
    clock.advance(10 * 60_000);
    const refused = await refusal(create());
    expect(refused.message).toMatch(SECONDARY);
    expect(refused.headers["retry-after"]).toBe(String(50 * 60));
    clock.advance(50 * 60_000);
    expect((await create()).status).toBe(201);
  });

  it("counts points per endpoint: a GET costs 1, a mutation 5", async () => {
    const clock = new ManualClock();
    const { simulator, octokit, create } = await withRepository({ pointsPerMinute: 10 }, clock);
    const list = () => octokit.rest.issues.listForRepo({ owner: "acme", repo: "target" });
    for (let index = 0; index < 10; index++) await list();
    const refused = await refusal(list());
    expect(refused.message).toMatch(SECONDARY);
    expect(refused.message).not.toContain("content creation");
    expect(refused.headers["retry-after"]).toBe("60");
    expect((await octokit.rest.users.getAuthenticated()).status).toBe(200); // another endpoint
    await create();
    await create();
    expect((await refusal(create())).status).toBe(403);
    expect(simulator.requests().map((request) => request.refusedBy)).toEqual([
      ...Array(10).fill(undefined),
      "points",
      undefined,
      undefined,
      undefined,
      "points",
    ]);
  });

  it("without retry-after, counts a request within a scaled minute as a violation", async () => {
    const clock = new ManualClock();
    const { simulator, create } = await withRepository(
      { contentPerMinute: 1, timeScale: 10, secondaryRetryAfter: false, secondaryStatus: 429 },
      clock,
    );
    await create();
    const refused = await refusal(create());
    expect(refused.status).toBe(429);
    expect(refused.headers["retry-after"]).toBeUndefined();
    clock.advance(5_999);
    await refusal(create()); // came within the scaled minute it should have waited
    expect(simulator.violations()).toHaveLength(1);
    clock.advance(6_001);
    expect((await create()).status).toBe(201);
  });

  it("refuses requests beyond the concurrency limit", async () => {
    const { simulator, octokit } = await withRepository({ maxConcurrent: 3, timeScale: 100 });
    simulator.faults.set("GET /user", { latency: 300 });
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () =>
        octokit.rest.users.getAuthenticated().then(
          (response) => response.status,
          (error: { status: number }) => error.status,
        ),
      ),
    );
    expect(statuses.sort()).toEqual([200, 200, 200, 403, 403]);
    const records = simulator.requests();
    expect(records.filter((record) => record.refusedBy === "concurrency")).toHaveLength(2);
    expect(Math.max(...records.map((record) => record.concurrent ?? 0))).toBe(3);
  });
});

/**
 * 50 clients of one token create issues for `durationMs`, each honouring what it is told but not what the
 * others were told, so that together they violate; then the inspection API must show the limits held.
 */
async function fiftyClients(limits: RateLimitOptions, latency: { minMs: number; maxMs: number }) {
  const { simulator } = await withRepository(limits);
  simulator.faults.set("POST /repos/{owner}/{repo}/issues", { latency });
  const deadline = Date.now() + 2_000;
  const client = async (octokit: Octokit, id: number) => {
    await sleep(id * 10); // staggered, so that some come while others were told to wait
    let created = 0;
    while (Date.now() < deadline) {
      try {
        await octokit.rest.issues.create({
          owner: "acme",
          repo: "target",
          title: `client ${id} #${created}`,
        });
        created += 1;
      } catch (error) {
        const { status, response } = error as {
          status: number;
          response: { headers: Record<string, string> };
        };
        expect(status).toBe(403);
        await sleep(Number(response.headers["retry-after"] ?? "1") * 1000);
      }
    }
    return created;
  };
  const created = await Promise.all(
    Array.from({ length: 50 }, (_, id) => client(octokitFor(simulator, TOKEN), id)),
  );

  const records = simulator.requests();
  const accepted = records.filter((record) => record.status === 201);
  expect(accepted.length).toBe(created.reduce((sum, count) => sum + count, 0));
  expect(simulator.issuesIn("acme/target")).toHaveLength(accepted.length);
  // Every violation was refused, and came while the wait it ignored was in force.
  const violations = simulator.violations();
  expect(violations.length).toBeGreaterThan(0);
  const refused = new Set(records.filter((record) => record.status === 403).map((record) => record.id));
  for (const violation of violations) {
    expect(refused.has(violation.request)).toBe(true);
    expect(violation.at).toBeGreaterThanOrEqual(violation.toldAt + 100);
    expect(violation.at).toBeLessThan(violation.until);
  }
  return { records, accepted };
}

describe("50 concurrent clients", () => {
  it("never get more creates accepted in any scaled minute than the content limit", async () => {
    const { records, accepted } = await fiftyClients(
      { contentPerMinute: 8, timeScale: 100 },
      { minMs: 5, maxMs: 20 },
    );
    expect(records.some((record) => record.refusedBy === "content")).toBe(true);
    expect(accepted.length).toBeGreaterThanOrEqual(8);
    expect(mostWithin(accepted, 600)).toBeLessThanOrEqual(8);
  });

  it("never have more requests in flight than the concurrency limit", async () => {
    const { records } = await fiftyClients(
      { maxConcurrent: 5, contentPerMinute: 10_000, contentPerHour: 10_000, timeScale: 100 },
      { minMs: 100, maxMs: 150 },
    );
    expect(records.some((record) => record.refusedBy === "concurrency")).toBe(true);
    expect(Math.max(...records.map((record) => record.concurrent ?? 0))).toBe(5);
  });
});
