import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import { type GitHubSimulator, startGitHubSimulator } from "@monarch/sandbox";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createGitHubClient, PermanentGitHubError } from "../src/index.js";

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

// The simulator has no App endpoints: this shows the App path signs its JWT and asks for an
// installation token at the configured base URL, and that failures are typed without the key.
it("authenticates as an App installation through the base URL", async () => {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const client = createGitHubClient({
    credentials: { type: "app", appId: 1, privateKey, installationId: 7 },
    baseUrl: github.url,
  });
  const error = await client.octokit.rest.users.getAuthenticated().catch((failure: unknown) => failure);
  expect(github.requests().at(-1)?.path).toBe("/app/installations/7/access_tokens");
  expect(error).toBeInstanceOf(PermanentGitHubError);
  expect(error).toMatchObject({
    status: 404,
    method: "POST",
    route: "/app/installations/{installation_id}/access_tokens",
  });
  expect(inspect(error, { depth: 20 })).not.toContain(privateKey.split("\n")[1]);
});
