import { inspect } from "node:util";
import { type GitHubSimulator, startGitHubSimulator } from "@monarch/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyFailure, credentialScrubber } from "../src/classify.js";
import {
  createGitHubClient,
  type GitHubClient,
  type GitHubClientOptions,
  PermanentGitHubError,
  RateLimitedError,
  type RateLimitSnapshot,
  TransientGitHubError,
} from "../src/index.js";

const TOKEN = "ghp_errors_test_token_0123456789";
const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);
let github: GitHubSimulator;
let client: GitHubClient;

beforeAll(async () => {
  github = await startGitHubSimulator();
  github.createRepository({ owner: "acme", name: "template" });
  github.createRepository({ owner: "acme", name: "no-issues", hasIssues: false });
  github.createRepository({ owner: "acme", name: "team", private: true });
  github.grantToken(TOKEN, { login: "acme" });
  github.grantToken("ghp_read_only", { login: "reader", repos: { "acme/team": "read-only" } });
  client = clientFor(github, TOKEN);
});

afterAll(async () => {
  await github.stop();
});

function clientFor(
  simulator: GitHubSimulator,
  token: string,
  options: Partial<GitHubClientOptions> = {},
): GitHubClient {
  return createGitHubClient({ credentials: { type: "token", token }, baseUrl: simulator.url, ...options });
}

async function failureOf(request: Promise<unknown>): Promise<unknown> {
  try {
    await request;
  } catch (error) {
    expect(inspect(error, { depth: 20 })).not.toContain(TOKEN);
    return error;
  }
  throw new Error("the request succeeded");
}

const createIssue = (github: GitHubClient, repo: string) =>
  github.octokit.rest.issues.create({ owner: "acme", repo, title: "x" });

describe("permanent errors", () => {
  it("404: a repository that does not exist or is not visible", async () => {
    const error = await failureOf(client.octokit.rest.issues.listForRepo({ owner: "acme", repo: "nope" }));
    expect(error).toBeInstanceOf(PermanentGitHubError);
    expect(error).toMatchObject({
      status: 404,
      reason: "repository not found or not visible",
      method: "GET",
      route: "/repos/{owner}/{repo}/issues",
      message: "GET /repos/{owner}/{repo}/issues: repository not found or not visible (404)",
    });
  });

  it("410: issues are disabled", async () => {
    const error = await failureOf(createIssue(client, "no-issues"));
    expect(error).toMatchObject({ status: 410, reason: "issues are disabled", method: "POST" });
    expect(error).toBeInstanceOf(PermanentGitHubError);
  });

  it("422: validation failed, with GitHub's field errors", async () => {
    const error = await failureOf(
      client.octokit.rest.issues.createLabel({ owner: "acme", repo: "team", name: "x", color: "nothex" }),
    );
    expect(error).toBeInstanceOf(PermanentGitHubError);
    expect(error).toMatchObject({ status: 422, reason: "validation failed: Label color invalid" });
  });

  it("401: bad credentials, without the token anywhere", async () => {
    const error = await failureOf(createIssue(clientFor(github, `${TOKEN}-wrong`), "team"));
    expect(error).toBeInstanceOf(PermanentGitHubError);
    expect(error).toMatchObject({ status: 401, reason: "authentication failed: Bad credentials" });
  });

  it("403 without a rate limit: forbidden, with GitHub's message", async () => {
    const error = await failureOf(createIssue(clientFor(github, "ghp_read_only"), "team"));
    expect(error).toBeInstanceOf(PermanentGitHubError);
    expect(error).toMatchObject({
      status: 403,
      reason: "forbidden: Resource not accessible by personal access token",
    });
  });
});

describe("transient errors", () => {
  it("5xx", async () => {
    github.faults.set("GET /repos/{owner}/{repo}/issues", {
      serverErrorRate: 1,
      serverErrorStatus: 503,
      requests: 1,
    });
    const error = await failureOf(
      client.octokit.rest.issues.listForRepo({ owner: "acme", repo: "template" }),
    );
    expect(error).toBeInstanceOf(TransientGitHubError);
    expect(error).toMatchObject({ reason: "status", status: 503 });
  });

  it("no answer in time", async () => {
    github.faults.set("GET /repos/{owner}/{repo}/issues", { timeoutRate: 1, requests: 1 });
    const impatient = clientFor(github, TOKEN, { timeoutMs: 200 });
    const error = await failureOf(
      impatient.octokit.rest.issues.listForRepo({ owner: "acme", repo: "template" }),
    );
    expect(error).toBeInstanceOf(TransientGitHubError);
    expect(error).toMatchObject({ reason: "timeout", status: undefined });
  });

  it("no answer at all (connection refused)", async () => {
    const stopped = await startGitHubSimulator();
    await stopped.stop();
    const error = await failureOf(clientFor(stopped, TOKEN).octokit.rest.users.getAuthenticated());
    expect(error).toBeInstanceOf(TransientGitHubError);
    expect(error).toMatchObject({ reason: "network", status: undefined });
  });
});

describe("rate limits", () => {
  it("primary: waits exactly until x-ratelimit-reset", async () => {
    const limited = await startGitHubSimulator({ limits: { primaryPerHour: 2 } });
    limited.createRepository({ owner: "acme", name: "template" });
    limited.grantToken(TOKEN, { login: "acme" });
    const limitedClient = clientFor(limited, TOKEN, { now: () => NOW });
    const seen: RateLimitSnapshot[] = [];
    limitedClient.rateLimit.onChange((snapshot) => seen.push(snapshot));
    try {
      await limitedClient.octokit.rest.users.getAuthenticated();
      await limitedClient.octokit.rest.users.getAuthenticated();
      const error = await failureOf(limitedClient.octokit.rest.users.getAuthenticated());
      const snapshot = limitedClient.rateLimit.snapshot();
      expect(snapshot).toMatchObject({ limit: 2, remaining: 0, used: 2, resource: "core" });
      expect(seen.map((state) => state.remaining)).toEqual([1, 0, 0]);
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({
        kind: "primary",
        status: 403,
        retryAfterMs: (snapshot?.resetAt ?? 0) - NOW,
        resetAt: snapshot?.resetAt,
      });
    } finally {
      await limited.stop();
    }
  });

  it.each([403, 429])("secondary %i with retry-after: waits exactly its seconds", async (status) => {
    const limited = await startGitHubSimulator({
      limits: { contentPerMinute: 1, secondaryStatus: status as 403 | 429, timeScale: 100 },
    });
    limited.createRepository({ owner: "acme", name: "team" });
    limited.grantToken(TOKEN, { login: "acme" });
    const limitedClient = clientFor(limited, TOKEN, { now: () => NOW });
    try {
      await createIssue(limitedClient, "team");
      const error = await failureOf(createIssue(limitedClient, "team"));
      // At timeScale 100 the minute's window lasts 600 ms, which GitHub's whole seconds round up to 1.
      expect(
        (error as { cause: { response: { headers: Record<string, string> } } }).cause.response.headers,
      ).toMatchObject({
        "retry-after": "1",
      });
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({ kind: "secondary", status, retryAfterMs: 1000, resetAt: NOW + 1000 });
    } finally {
      await limited.stop();
    }
  });

  it("secondary without retry-after while requests remain: at least a minute", async () => {
    const limited = await startGitHubSimulator({
      limits: { contentPerMinute: 1, secondaryRetryAfter: false, timeScale: 100 },
    });
    limited.createRepository({ owner: "acme", name: "team" });
    limited.grantToken(TOKEN, { login: "acme" });
    const limitedClient = clientFor(limited, TOKEN, { now: () => NOW });
    try {
      await createIssue(limitedClient, "team");
      const error = await failureOf(createIssue(limitedClient, "team"));
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({
        kind: "secondary",
        status: 403,
        retryAfterMs: 60_000,
        resetAt: NOW + 60_000,
      });
    } finally {
      await limited.stop();
    }
  });

  // The simulator never sends a secondary refusal with no requests left, so this answer is handcrafted.
  it("secondary without retry-after and none remaining: waits until x-ratelimit-reset", () => {
    const answer = (headers: Record<string, string>, status = 403) => ({
      status,
      message: "You have exceeded a secondary rate limit",
      response: { headers, data: { message: "You have exceeded a secondary rate limit. Please wait." } },
    });
    const target = { method: "POST", route: "/repos/{owner}/{repo}/issues" };
    const scrub = (text: string) => text;
    const reset = NOW / 1000 + 42;
    expect(
      classifyFailure(
        answer({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }),
        target,
        NOW,
        scrub,
      ),
    ).toMatchObject({ kind: "secondary", retryAfterMs: 42_000, resetAt: NOW + 42_000 });
    expect(
      classifyFailure(answer({ "retry-after": "7", "x-ratelimit-remaining": "0" }, 429), target, NOW, scrub),
    ).toMatchObject({ kind: "secondary", status: 429, retryAfterMs: 7_000 });
    expect(classifyFailure(answer({}), target, NOW, scrub)).toMatchObject({
      kind: "secondary",
      retryAfterMs: 60_000,
    });
  });
});

describe("secrets", () => {
  it("are scrubbed from reasons and messages even when an answer echoes them", () => {
    const echo = {
      status: 401,
      message: `Bad credentials: ${TOKEN}`,
      response: { headers: {}, data: { message: `Bad credentials: ${TOKEN}` } },
    };
    const error = classifyFailure(
      echo,
      { method: "GET", route: "/user" },
      NOW,
      credentialScrubber(new Set([TOKEN])),
    );
    expect(error).toMatchObject({ reason: "authentication failed: Bad credentials: [REDACTED]" });
    expect(inspect(error, { depth: 20 })).not.toContain(TOKEN);
  });
});
