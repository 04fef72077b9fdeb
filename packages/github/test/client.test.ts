import { type GitHubSimulator, startGitHubSimulator } from "@monarch/sandbox";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createGitHubClient } from "../src/index.js";

let github: GitHubSimulator;

beforeAll(async () => {
  github = await startGitHubSimulator();
});

afterAll(async () => {
  await github.stop();
});

it("records the rate-limit state of every answer", async () => {
  github.grantToken("ghp_state", { login: "acme" });
  const client = createGitHubClient({
    credentials: { type: "token", token: "ghp_state" },
    baseUrl: github.url,
  });
  expect(client.rateLimit.snapshot()).toBeUndefined();
  await client.octokit.rest.users.getAuthenticated();
  expect(client.rateLimit.snapshot()).toMatchObject({
    limit: 5000,
    remaining: 4999,
    used: 1,
    resource: "core",
  });
});
