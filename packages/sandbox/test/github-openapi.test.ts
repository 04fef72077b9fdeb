import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ROUTES } from "../src/github/routes.js";
import {
  appJwt,
  gitHubOpenApi,
  octokitFor,
  simulatorsValidatedAfterEach,
  statusOf,
} from "./support/github.js";

const start = simulatorsValidatedAfterEach();

describe("OpenAPI validation", () => {
  it("catches answers that break GitHub's description, so that passing it means something", async () => {
    const simulator = await start();
    simulator.createRepository({ owner: "acme", name: "target" });
    simulator.grantToken("ghp_t", { login: "bot", repos: { "acme/target": "write" } });
    await octokitFor(simulator, "ghp_t").rest.issues.create({ owner: "acme", repo: "target", title: "t" });
    const body = JSON.parse(simulator.requests()[0]?.responseBody ?? "{}") as Record<string, unknown>;
    const openApi = gitHubOpenApi();
    const problems = (patch: Record<string, unknown>, status = 201) =>
      openApi.problems("POST /repos/{owner}/{repo}/issues", status, JSON.stringify({ ...body, ...patch }));

    expect(problems({})).toEqual([]);
    expect(problems({ milestone: null, body: null })).toEqual([]); // nullable in the description
    expect(problems({ number: undefined })).toEqual(["/ must have required property 'number'"]);
    expect(problems({ title: null }).length).toBeGreaterThan(0);
    expect(problems({ labels: "bug" }).length).toBeGreaterThan(0);
    expect(problems({ created_at: "yesterday" }).length).toBeGreaterThan(0);
    expect(problems({ author_association: "FRIEND" }).length).toBeGreaterThan(0);
    expect(problems({ user: { login: "bot" } }).length).toBeGreaterThan(0);
    expect(
      openApi.problems("POST /repos/{owner}/{repo}/issues", 422, '{"message": 1}').length,
    ).toBeGreaterThan(0);
    expect(openApi.problems("GET /repos/{owner}/{repo}/issues", 304, "{}").length).toBeGreaterThan(0);
  });

  it("validates an answer of every route, successes and errors alike", async () => {
    const simulator = await start();
    simulator.createRepository({ owner: "acme", name: "target" });
    simulator.seedIssues("acme/target", [
      { title: "seeded", labels: ["bug"] },
      { title: "pr", pullRequest: true },
    ]);
    simulator.grantToken("ghp_t", { login: "bot", repos: { "acme/target": "write" } });
    const octokit = octokitFor(simulator, "ghp_t");
    const at = { owner: "acme", repo: "target" };
    await octokit.rest.rateLimit.get();
    await octokit.rest.users.getAuthenticated();
    await octokit.rest.repos.get(at);
    await octokit.rest.issues.listForRepo({ ...at, state: "all" });
    await octokit.rest.issues.create({ ...at, title: "created", labels: ["bug"] });
    await octokit.rest.issues.get({ ...at, issue_number: 2 });
    await octokit.rest.issues.listLabelsForRepo(at);
    await octokit.rest.issues.createLabel({ ...at, name: "new" });
    await octokit.rest.issues.createMilestone({ ...at, title: "m", due_on: "2030-01-01T00:00:00Z" });
    await octokit.rest.issues.listMilestones(at);
    await octokit.rest.issues.create({ ...at, title: "in milestone", milestone: 1 });
    expect(await statusOf(octokit.rest.issues.get({ ...at, issue_number: 99 }))).toBe(404);
    expect(await statusOf(octokit.rest.issues.createLabel({ ...at, name: "new" }))).toBe(422);
    expect(await statusOf(octokit.rest.issues.createMilestone({ ...at, title: "m" }))).toBe(422);
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    simulator.registerApp({
      id: 1,
      slug: "app",
      publicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
    });
    simulator.installApp({ id: 2, appId: 1, account: "acme", repositories: ["acme/target"] });
    const now = Math.floor(Date.now() / 1000);
    const app = octokitFor(simulator, appJwt(privateKey, { iss: 1, iat: now - 60, exp: now + 540 }));
    await app.rest.apps.createInstallationAccessToken({ installation_id: 2 });
    expect(await statusOf(app.rest.apps.createInstallationAccessToken({ installation_id: 3 }))).toBe(404);

    const served = new Set(simulator.requests().map((request) => request.route));
    expect([...served].sort()).toEqual(ROUTES.map((route) => route.key).sort());
    // The validation itself runs after each test, over every answer.
  });
});
