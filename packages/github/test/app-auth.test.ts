import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import {
  type GitHubSimulator,
  ManualClock,
  type StartGitHubSimulatorOptions,
  startGitHubSimulator,
} from "@monarch/sandbox";
import { afterEach, expect, it } from "vitest";
import { createGitHubClient, type GitHubClient, PermanentGitHubError } from "../src/index.js";

const APP_ID = 42;
const INSTALLATION_ID = 7;
const BOT = "monarch-migrator[bot]";
const EXCHANGE = "/app/installations/{installation_id}/access_tokens";

/** An App's key pair as GitHub hands it out: the private key in PKCS#1 PEM. */
const keyPair = () =>
  generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
const KEYS = keyPair();
const WRONG_KEYS = keyPair();

const started: GitHubSimulator[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((simulator) => simulator.stop()));
});

/** A simulator where the App is installed on acme for the private `acme/team`, not `acme/secret`. */
async function withApp(options: StartGitHubSimulatorOptions = {}): Promise<GitHubSimulator> {
  const github = await startGitHubSimulator(options);
  started.push(github);
  github.createRepository({ owner: "acme", name: "team", private: true });
  github.createRepository({ owner: "acme", name: "secret", private: true });
  github.registerApp({ id: APP_ID, slug: "monarch-migrator", publicKey: KEYS.publicKey });
  github.installApp({ id: INSTALLATION_ID, appId: APP_ID, account: "acme", repositories: ["acme/team"] });
  return github;
}

function appClient(github: GitHubSimulator, privateKey = KEYS.privateKey): GitHubClient {
  return createGitHubClient({
    credentials: { type: "app", appId: APP_ID, privateKey, installationId: INSTALLATION_ID },
    baseUrl: github.url,
  });
}

async function failureOf(request: Promise<unknown>): Promise<unknown> {
  try {
    await request;
  } catch (error) {
    return error;
  }
  throw new Error("the request succeeded");
}

/** The installation token the client holds (auth-app keeps it for the hour). */
async function installationToken(client: GitHubClient): Promise<string> {
  const { token } = (await client.octokit.auth({ type: "installation" })) as { token: string };
  return token;
}

/** The lines of a PEM key that are key material, each of which must never be printed. */
const keyLines = (pem: string) => pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));

it("creates an issue as the installation's bot in a repository the installation grants", async () => {
  const github = await withApp();
  const client = appClient(github);
  await client.octokit.rest.issues.create({ owner: "acme", repo: "team", title: "Set up CI" });
  await client.octokit.rest.issues.listForRepo({ owner: "acme", repo: "team" });

  expect(github.issuesIn("acme/team")).toMatchObject([{ title: "Set up CI", author: BOT }]);
  // One exchange, whose token serves both requests, which count against the installation's own limit.
  expect(github.requests().map((request) => [request.route, request.login, request.status])).toEqual([
    [`POST ${EXCHANGE}`, "monarch-migrator", 201],
    ["POST /repos/{owner}/{repo}/issues", BOT, 201],
    ["GET /repos/{owner}/{repo}/issues", BOT, 200],
  ]);
  expect(client.rateLimit.snapshot()).toMatchObject({ limit: 5000, used: 2, resource: "core" });
});

it("finds a repository the installation does not grant not found, without its token anywhere", async () => {
  const github = await withApp();
  const client = appClient(github);
  const error = await failureOf(client.octokit.rest.issues.listForRepo({ owner: "acme", repo: "secret" }));
  expect(error).toBeInstanceOf(PermanentGitHubError);
  expect(error).toMatchObject({
    status: 404,
    reason: "repository not found or not visible",
    method: "GET",
    route: "/repos/{owner}/{repo}/issues",
  });
  const printed = inspect(error, { depth: 20 });
  expect(printed).not.toContain(await installationToken(client));
  for (const line of keyLines(KEYS.privateKey)) expect(printed).not.toContain(line);
});

it("fails the exchange of a wrong private key as a permanent 401 holding no key, JWT or token", async () => {
  const github = await withApp();
  const error = await failureOf(
    appClient(github, WRONG_KEYS.privateKey).octokit.rest.issues.create({
      owner: "acme",
      repo: "team",
      title: "never sent",
    }),
  );
  expect(error).toBeInstanceOf(PermanentGitHubError);
  expect(error).toMatchObject({
    status: 401,
    reason: "authentication failed: A JSON web token could not be decoded",
    method: "POST",
    route: EXCHANGE,
  });
  const printed = inspect(error, { depth: 20 });
  for (const line of [...keyLines(WRONG_KEYS.privateKey), ...keyLines(KEYS.privateKey)]) {
    expect(printed).not.toContain(line);
  }
  expect(printed).not.toMatch(/eyJ[\w-]*\.eyJ/); // a JWT's header and claims, base64url JSON
  expect(printed).not.toMatch(/ghs_/);
  expect(github.requests().map((request) => request.status)).toEqual([401]);
  expect(github.issuesIn("acme/team")).toEqual([]);
});

it("fails the exchange for an installation the App does not have as a permanent 404", async () => {
  const github = await withApp();
  const client = createGitHubClient({
    credentials: { type: "app", appId: APP_ID, privateKey: KEYS.privateKey, installationId: 8 },
    baseUrl: github.url,
  });
  const error = await failureOf(client.octokit.rest.issues.listForRepo({ owner: "acme", repo: "team" }));
  expect(error).toBeInstanceOf(PermanentGitHubError);
  expect(error).toMatchObject({ status: 404, reason: `not found: ${EXCHANGE}`, method: "POST" });
});

// The simulator echoes a rejected title, as GitHub echoes some values: that is how a token could get in.
it("scrubs an installation token, learnt at run time, from every message kept", async () => {
  const github = await withApp();
  const client = appClient(github);
  const token = await installationToken(client);
  const error = await failureOf(
    client.octokit.rest.issues.create({ owner: "acme", repo: "team", title: [token] as unknown as string }),
  );
  expect(error).toBeInstanceOf(PermanentGitHubError);
  const { message, reason, cause } = error as PermanentGitHubError & {
    cause: { message: string; response: { data: { message: string } } };
  };
  for (const text of [message, reason, cause.message, cause.response.data.message]) {
    expect(text).toContain("[REDACTED]");
    expect(text).not.toContain(token);
  }
});

it("corrects its JWT by GitHub's clock when the two disagree, as auth-app does", async () => {
  const github = await withApp({ clock: new ManualClock(Date.now() + 2 * 3_600_000) });
  await appClient(github).octokit.rest.issues.create({ owner: "acme", repo: "team", title: "Set up CI" });
  // The first JWT has expired by the simulator's clock; its `date` header tells auth-app by how much.
  expect(github.requests().map((request) => request.status)).toEqual([401, 201, 201]);
  expect(github.issuesIn("acme/team")).toMatchObject([{ author: BOT }]);
});
