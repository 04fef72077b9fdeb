import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ManualClock, SeedError, type StartGitHubSimulatorOptions } from "../src/index.js";
import { appJwt, octokitFor, simulatorsValidatedAfterEach, statusOf } from "./support/github.js";

const start = simulatorsValidatedAfterEach();

/** A key pair as a test holds it: the private key to sign with, the public one as GitHub takes it (PEM). */
function keyPair(type: "rsa" | "ec") {
  const { publicKey, privateKey } =
    type === "rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicKey: publicKey.export({ type: "spki", format: "pem" }).toString() };
}
const APP_KEYS = keyPair("rsa");
const OTHER_KEYS = keyPair("rsa");

const APP_ID = 42;
const INSTALLATION_ID = 7;
const BOT = "monarch-migrator[bot]";
const NOW = Date.parse("2024-05-01T10:00:00Z");
const HOUR_MS = 3_600_000;

const UNDECODABLE = "A JSON web token could not be decoded";
const EXPIRED =
  "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const TOO_FAR = "'Expiration time' claim ('exp') is too far in the future";
const ISSUED_LATER =
  "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/**
 * A simulator on a manual clock with private `acme/granted` and `acme/secret` and public
 * `acme/public`, the App installed on acme for `acme/granted` only; `exchange` asks for a token.
 */
async function withApp(options: StartGitHubSimulatorOptions = {}) {
  const clock = new ManualClock(NOW);
  const simulator = await start({ clock, ...options });
  for (const name of ["granted", "secret"])
    simulator.createRepository({ owner: "acme", name, private: true });
  simulator.createRepository({ owner: "acme", name: "public" });
  const bot = simulator.registerApp({ id: APP_ID, slug: "monarch-migrator", publicKey: APP_KEYS.publicKey });
  simulator.installApp({
    id: INSTALLATION_ID,
    appId: APP_ID,
    account: "acme",
    repositories: ["acme/granted"],
  });
  /** A JWT of the App valid now: issued a minute ago, as GitHub advises, expiring in nine. */
  const validJwt = (privateKey: KeyObject = APP_KEYS.privateKey, iss: unknown = APP_ID) => {
    const now = clock.now() / 1000;
    return appJwt(privateKey, { iss, iat: now - 60, exp: now + 540 });
  };
  const exchange = async (
    authorization = `Bearer ${validJwt()}`,
    installationId: number | string = INSTALLATION_ID,
    body?: unknown,
  ): Promise<Answer> => {
    const response = await fetch(`${simulator.url}/app/installations/${installationId}/access_tokens`, {
      method: "POST",
      headers: { authorization, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };
  const token = async () => String((await exchange()).body.token);
  return { simulator, clock, bot, validJwt, exchange, token };
}

async function refusal(request: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await request;
  } catch (error) {
    const { status, response } = error as { status: number; response: { data: { message: string } } };
    return { status, message: response.data.message };
  }
  throw new Error("the request was not refused");
}

describe("installation access tokens", () => {
  it("exchanges the App's JWT for an hour's token that acts as its bot in the installation's repositories", async () => {
    const { simulator, bot, exchange } = await withApp();
    expect(bot).toBe(BOT);

    const answer = await exchange();
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      token: expect.stringMatching(/^ghs_[0-9a-f]{36}$/),
      expires_at: "2024-05-01T11:00:00Z",
      permissions: { issues: "write", metadata: "read" },
      repository_selection: "selected",
      repositories: [{ full_name: "acme/granted", private: true, permissions: { push: true } }],
    });
    // GitHub counts an App's own requests against no limit, and tells none.
    expect(answer.headers.get("x-ratelimit-limit")).toBeNull();
    expect(Date.parse(answer.headers.get("date") ?? "")).toBe(NOW);

    const octokit = octokitFor(simulator, String(answer.body.token));
    const created = await octokit.rest.issues.create({ owner: "acme", repo: "granted", title: "Migrated" });
    expect(created.data.user).toMatchObject({
      login: BOT,
      type: "Bot",
      url: `${simulator.url}/users/monarch-migrator%5Bbot%5D`,
      html_url: `${simulator.url}/apps/monarch-migrator`,
    });
    expect(created.headers["x-ratelimit-limit"]).toBe("5000");
    expect(simulator.issuesIn("acme/granted")).toMatchObject([{ title: "Migrated", author: BOT }]);

    expect(await statusOf(octokit.rest.repos.get({ owner: "acme", repo: "secret" }))).toBe(404);
    expect((await octokit.rest.repos.get({ owner: "acme", repo: "public" })).data.permissions).toMatchObject({
      push: false,
      pull: true,
    });
    const integration = { status: 403, message: "Resource not accessible by integration" };
    expect(await refusal(octokit.rest.issues.create({ owner: "acme", repo: "public", title: "x" }))).toEqual(
      integration,
    );
    expect(await refusal(octokit.rest.users.getAuthenticated())).toEqual(integration);
    expect(simulator.requests().map((request) => [request.route, request.login, request.status])).toEqual([
      ["POST /app/installations/{installation_id}/access_tokens", "monarch-migrator", 201],
      ["POST /repos/{owner}/{repo}/issues", BOT, 201],
      ["GET /repos/{owner}/{repo}", BOT, 404],
      ["GET /repos/{owner}/{repo}", BOT, 200],
      ["POST /repos/{owner}/{repo}/issues", BOT, 403],
      ["GET /user", BOT, 403],
    ]);
  });

  it("gives an installation granted issues: read a token that only reads", async () => {
    const { simulator, validJwt } = await withApp();
    simulator.installApp({
      id: 8,
      appId: APP_ID,
      account: "acme",
      repositories: ["acme/secret"],
      permissions: { issues: "read", metadata: "read" },
    });
    const token = await octokitFor(simulator, validJwt()).rest.apps.createInstallationAccessToken({
      installation_id: 8,
    });
    expect(token.data.permissions).toEqual({ issues: "read", metadata: "read" });
    const octokit = octokitFor(simulator, token.data.token);
    expect((await octokit.rest.issues.listForRepo({ owner: "acme", repo: "secret" })).status).toBe(200);
    expect(
      await refusal(octokit.rest.issues.createLabel({ owner: "acme", repo: "secret", name: "x" })),
    ).toEqual({
      status: 403,
      message: "Resource not accessible by integration",
    });
  });

  it("refuses a token from the hour after it was issued, by the simulator's clock", async () => {
    const { simulator, clock, token } = await withApp();
    const octokit = octokitFor(simulator, await token());
    clock.advance(HOUR_MS - 1000);
    expect((await octokit.rest.repos.get({ owner: "acme", repo: "granted" })).status).toBe(200);
    clock.advance(1000);
    expect(await refusal(octokit.rest.repos.get({ owner: "acme", repo: "granted" }))).toEqual({
      status: 401,
      message: "Bad credentials",
    });
  });

  it("counts an installation's tokens together, against the installation's own limits", async () => {
    const { simulator, token } = await withApp({ limits: { primaryPerHour: 2 } });
    simulator.grantToken("ghp_alice", { login: "alice", repos: { "acme/granted": "write" } });
    const first = octokitFor(simulator, await token());
    const second = octokitFor(simulator, await token()); // the exchanges count against nothing
    const get = { owner: "acme", repo: "granted" };
    expect((await first.rest.repos.get(get)).headers["x-ratelimit-used"]).toBe("1");
    expect((await second.rest.repos.get(get)).headers["x-ratelimit-used"]).toBe("2");
    expect((await refusal(first.rest.repos.get(get))).message).toMatch(
      /^API rate limit exceeded for installation ID 7\. /,
    );
    const alice = await octokitFor(simulator, "ghp_alice").rest.repos.get(get);
    expect(alice.headers["x-ratelimit-used"]).toBe("1");
  });
});

describe("App authentication", () => {
  it("refuses a JWT it cannot verify as one of a registered App's: 401, could not be decoded", async () => {
    const { validJwt, exchange } = await withApp();
    const [header = "", claims = "", signature = ""] = validJwt().split(".");
    const otherClaims = validJwt(APP_KEYS.privateKey, String(APP_ID)).split(".")[1];
    const now = NOW / 1000;
    const undecodable = [
      validJwt(OTHER_KEYS.privateKey), // signed with another key
      `${header}.${otherClaims}.${signature}`, // claims changed after signing
      validJwt(APP_KEYS.privateKey, 99), // no such App
      appJwt(APP_KEYS.privateKey, { iat: now - 60, exp: now + 540 }), // no issuer
      appJwt(APP_KEYS.privateKey, { iss: APP_ID, iat: now - 60, exp: now + 540 }, { alg: "HS256" }),
      `${Buffer.from('{"alg":"none"}').toString("base64url")}.${claims}.`,
      "ghp_personal_token",
    ];
    for (const jwt of undecodable) {
      expect(await exchange(`Bearer ${jwt}`)).toMatchObject({ status: 401, body: { message: UNDECODABLE } });
    }
    // An `iss` may be the id as a string.
    expect((await exchange(`Bearer ${validJwt(APP_KEYS.privateKey, String(APP_ID))}`)).status).toBe(201);
  });

  it("refuses a JWT outside its time by the simulator's clock, as GitHub words it", async () => {
    const { clock, validJwt, exchange } = await withApp();
    const now = NOW / 1000;
    const sent = (claims: Record<string, unknown>) =>
      exchange(`Bearer ${appJwt(APP_KEYS.privateKey, { iss: APP_ID, ...claims })}`);
    const refused = async (claims: Record<string, unknown>) => (await sent(claims)).body.message;
    expect(await refused({ iat: now - 120, exp: now - 1 })).toBe(EXPIRED);
    expect(await refused({ iat: now - 120 })).toBe(EXPIRED);
    expect(await refused({ iat: now - 120, exp: String(now + 60) })).toBe(EXPIRED);
    expect(await refused({ iat: now - 60, exp: now + 601 })).toBe(TOO_FAR);
    expect(await refused({ iat: now + 30, exp: now + 540 })).toBe(ISSUED_LATER);
    expect(await refused({ iat: now - 0.5, exp: now + 540 })).toBe(ISSUED_LATER);
    expect(await refused({ exp: now + 540 })).toBe(ISSUED_LATER);
    // GitHub's own example: issued a minute back, expiring ten minutes ahead.
    expect((await sent({ iat: now - 60, exp: now + 600 })).status).toBe(201);

    const jwt = validJwt();
    clock.advance(9 * 60_000);
    expect((await exchange(`Bearer ${jwt}`)).body.message).toBe(EXPIRED);
  });

  it("finds only the App's own installations: 404 for a missing one and another App's", async () => {
    const { simulator, validJwt, exchange } = await withApp();
    simulator.registerApp({ id: 43, slug: "other", publicKey: OTHER_KEYS.publicKey });
    simulator.installApp({ id: 9, appId: 43, account: "acme", repositories: [] });
    for (const installation of [9, 999, "x7"]) {
      expect(await exchange(`Bearer ${validJwt()}`, installation)).toMatchObject({
        status: 404,
        body: { message: "Not Found" },
      });
    }
    const other = await exchange(`Bearer ${validJwt(OTHER_KEYS.privateKey, 43)}`, 9);
    expect(other).toMatchObject({ status: 201, body: { repositories: [] } });
  });

  it("takes JWTs only at the App's endpoints, and tokens only elsewhere", async () => {
    const { simulator, validJwt, exchange, token } = await withApp();
    simulator.grantToken("ghp_alice", { login: "alice" });
    for (const credential of ["token ghp_alice", `token ${await token()}`]) {
      expect((await exchange(credential)).body.message).toBe(UNDECODABLE);
    }
    expect(
      await refusal(octokitFor(simulator, validJwt()).rest.repos.get({ owner: "acme", repo: "public" })),
    ).toEqual({ status: 401, message: "Bad credentials" });
    const anonymous = await fetch(`${simulator.url}/app/installations/7/access_tokens`, { method: "POST" });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ message: "Requires authentication" });
  });

  it("says so rather than narrow a token, which it cannot", async () => {
    const { exchange, validJwt } = await withApp();
    const answer = await exchange(`Bearer ${validJwt()}`, INSTALLATION_ID, { repositories: ["granted"] });
    expect(answer).toMatchObject({ status: 422, body: { message: expect.stringContaining("repositories") } });
  });

  it("refuses App seeding that GitHub could not hold", async () => {
    const { simulator } = await withApp();
    const app = { id: 43, slug: "other", publicKey: OTHER_KEYS.publicKey };
    expect(() => simulator.registerApp({ ...app, id: APP_ID })).toThrow(SeedError);
    expect(() => simulator.registerApp({ ...app, slug: "monarch-migrator" })).toThrow(SeedError);
    expect(() => simulator.registerApp({ ...app, publicKey: "not a key" })).toThrow(SeedError);
    expect(() => simulator.registerApp({ ...app, publicKey: keyPair("ec").publicKey })).toThrow(SeedError);
    const installation = { id: 8, appId: APP_ID, account: "acme", repositories: ["acme/public"] };
    expect(() => simulator.installApp({ ...installation, id: INSTALLATION_ID })).toThrow(SeedError);
    expect(() => simulator.installApp({ ...installation, appId: 43 })).toThrow(SeedError);
    expect(() => simulator.installApp({ ...installation, repositories: ["acme/missing"] })).toThrow(
      SeedError,
    );
    expect(() => simulator.installApp({ ...installation, account: "globex" })).toThrow(SeedError);
  });
});
