import { describe, expect, it } from "vitest";
import { ManualClock, SeedError, type StartGitHubSimulatorOptions } from "../src/index.js";
import { octokitFor, simulatorsValidatedAfterEach, statusOf } from "./support/github.js";

const start = simulatorsValidatedAfterEach();

const WRITER = "ghp_writer";

/** A simulator with `acme/template` and a token of `alice` that may write to it. */
async function withTemplate(options: StartGitHubSimulatorOptions = {}) {
  const simulator = await start(options);
  const repo = simulator.createRepository({ owner: "acme", name: "template" });
  simulator.grantToken(WRITER, { login: "alice", repos: { [repo]: "write" } });
  return { simulator, octokit: octokitFor(simulator, WRITER), owner: "acme", repo: "template" };
}

describe("listing issues", () => {
  it("pages 250 issues and 5 pull requests by 100 with link headers, pull requests marked", async () => {
    const { simulator, octokit, owner, repo } = await withTemplate();
    simulator.seedIssues(
      "acme/template",
      Array.from({ length: 255 }, (_, index) => ({
        title: `Ticket ${index + 1}`,
        body: `Body ${index + 1}`,
        pullRequest: (index + 1) % 51 === 0,
      })),
    );

    const first = await octokit.rest.issues.listForRepo({ owner, repo, per_page: 100 });
    expect(first.data).toHaveLength(100);
    expect(first.data[0]?.number).toBe(255); // newest first by default
    const link = first.headers.link ?? "";
    expect(link).toContain(`<${simulator.url}/repos/acme/template/issues?per_page=100&page=2>; rel="next"`);
    expect(link).toContain(`<${simulator.url}/repos/acme/template/issues?per_page=100&page=3>; rel="last"`);

    const all = await octokit.paginate(octokit.rest.issues.listForRepo, {
      owner,
      repo,
      per_page: 100,
      direction: "asc",
    });
    expect(all.map((issue) => issue.number)).toEqual(Array.from({ length: 255 }, (_, index) => index + 1));
    const pulls = all.filter((issue) => issue.pull_request);
    expect(pulls.map((pull) => pull.number)).toEqual([51, 102, 153, 204, 255]);
    expect(pulls[0]?.pull_request?.html_url).toBe(`${simulator.url}/acme/template/pull/51`);
    expect(all.filter((issue) => !issue.pull_request)).toHaveLength(250);
    const pages = simulator.requests().filter((request) => request.path.includes("direction=asc"));
    expect(pages.map((request) => request.status)).toEqual([200, 200, 200]);
  });

  it("clamps per_page at 100 and links back from later pages", async () => {
    const { simulator, octokit, owner, repo } = await withTemplate();
    simulator.seedIssues(
      "acme/template",
      Array.from({ length: 130 }, (_, index) => ({ title: `T${index}` })),
    );
    const clamped = await octokit.rest.issues.listForRepo({ owner, repo, per_page: 500 });
    expect(clamped.data).toHaveLength(100);
    const second = await octokit.rest.issues.listForRepo({ owner, repo, per_page: 100, page: 2 });
    expect(second.data).toHaveLength(30);
    expect(second.headers.link).toContain('page=1>; rel="prev"');
    expect(second.headers.link).toContain('page=1>; rel="first"');
    expect(second.headers.link).not.toContain('rel="next"');
    const defaults = await octokit.rest.issues.listForRepo({ owner, repo });
    expect(defaults.data).toHaveLength(30);
  });

  it("filters by state, labels, milestone, creator, assignee and since", async () => {
    const clock = new ManualClock(Date.parse("2024-05-01T10:00:00Z"));
    const { simulator, octokit, owner, repo } = await withTemplate({ clock });
    simulator.seedMilestones("acme/template", [{ title: "Sprint 1" }]);
    simulator.seedIssues("acme/template", [
      { title: "open bug", labels: ["bug", "UI"], milestone: 1, author: "bob", assignees: ["carol"] },
      { title: "closed bug", labels: ["bug"], state: "closed" },
    ]);
    clock.advance(60_000);
    simulator.seedIssues("acme/template", [{ title: "later", labels: ["ui"] }]);
    const titles = async (filters: Record<string, string>) =>
      (await octokit.rest.issues.listForRepo({ owner, repo, direction: "asc", ...filters })).data.map(
        (issue) => issue.title,
      );

    expect(await titles({})).toEqual(["open bug", "later"]);
    expect(await titles({ state: "closed" })).toEqual(["closed bug"]);
    expect(await titles({ state: "all", labels: "bug" })).toEqual(["open bug", "closed bug"]);
    expect(await titles({ labels: "bug,ui" })).toEqual(["open bug"]);
    expect(await titles({ milestone: "1" })).toEqual(["open bug"]);
    expect(await titles({ milestone: "none" })).toEqual(["later"]);
    expect(await titles({ milestone: "*" })).toEqual(["open bug"]);
    expect(await titles({ creator: "BOB" })).toEqual(["open bug"]);
    expect(await titles({ assignee: "carol" })).toEqual(["open bug"]);
    expect(await titles({ assignee: "none" })).toEqual(["later"]);
    expect(await titles({ since: "2024-05-01T10:00:30Z" })).toEqual(["later"]);
    expect(await statusOf(titles({ state: "shut" }))).toBe(422);
    expect(await statusOf(titles({ since: "yesterday" }))).toBe(422);
  });
});

describe("creating issues", () => {
  it("creates with labels and milestone, creating missing labels, and serves it back", async () => {
    const { simulator, octokit, owner, repo } = await withTemplate();
    const [sprint] = simulator.seedMilestones("acme/template", [{ title: "Sprint 1" }]);
    const created = await octokit.rest.issues.create({
      owner,
      repo,
      title: "Set up CI",
      body: "<!-- monarch:source=acme/source#1 -->",
      labels: ["bug", "brand new", "BUG"],
      ...(sprint === undefined ? {} : { milestone: sprint }),
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${simulator.url}/repos/acme/template/issues/1`);
    expect(created.data).toMatchObject({
      number: 1,
      title: "Set up CI",
      state: "open",
      user: { login: "alice" },
      author_association: "COLLABORATOR",
      milestone: { number: 1, title: "Sprint 1", open_issues: 1 },
    });
    expect(created.data.labels).toEqual([
      expect.objectContaining({ name: "bug", color: "d73a4a", default: true }),
      expect.objectContaining({ name: "brand new", color: "ededed", default: false }),
    ]);
    const fetched = await octokit.rest.issues.get({ owner, repo, issue_number: 1 });
    expect(fetched.data).toEqual(created.data);
    expect(await statusOf(octokit.rest.issues.get({ owner, repo, issue_number: 2 }))).toBe(404);
    expect(simulator.issuesIn("acme/template")).toEqual([
      expect.objectContaining({
        number: 1,
        labels: ["bug", "brand new"],
        milestone: { number: 1, title: "Sprint 1" },
        author: "alice",
        pullRequest: false,
      }),
    ]);
  });

  it("keeps issues in creation order, numbered after the pull requests they share numbers with", async () => {
    const { simulator, octokit, owner, repo } = await withTemplate();
    simulator.seedIssues("acme/template", [{ title: "a pull request", pullRequest: true }]);
    for (const title of ["first", "second", "third"])
      await octokit.rest.issues.create({ owner, repo, title });
    expect(simulator.issuesIn("acme/template").map(({ number, title }) => `${number} ${title}`)).toEqual([
      "1 a pull request",
      "2 first",
      "3 second",
      "4 third",
    ]);
  });

  it("silently drops labels, milestone and assignees without push access, and opens the issue anyway", async () => {
    const simulator = await start();
    simulator.createRepository({ owner: "acme", name: "public" });
    simulator.seedMilestones("acme/public", [{ title: "Sprint 1" }]);
    simulator.grantToken("ghp_reader", { login: "reader" });
    const octokit = octokitFor(simulator, "ghp_reader");
    const created = await octokit.rest.issues.create({
      owner: "acme",
      repo: "public",
      title: "From a reader",
      labels: ["bug"],
      milestone: 1,
      assignees: ["reader"],
    });
    expect(created.data).toMatchObject({
      labels: [],
      milestone: null,
      assignees: [],
      author_association: "NONE",
    });
    expect(
      await statusOf(octokit.rest.issues.createLabel({ owner: "acme", repo: "public", name: "x" })),
    ).toBe(404);
    expect(
      await statusOf(octokit.rest.issues.createMilestone({ owner: "acme", repo: "public", title: "x" })),
    ).toBe(404);
  });

  it("answers 403 to a read-only token, 404 for missing or invisible repositories, 410 when issues are off", async () => {
    const simulator = await start();
    simulator.createRepository({ owner: "acme", name: "readable" });
    simulator.createRepository({ owner: "acme", name: "secret", private: true });
    simulator.createRepository({ owner: "acme", name: "hidden" });
    simulator.createRepository({ owner: "acme", name: "no-issues", hasIssues: false });
    simulator.grantToken("ghp_limited", {
      login: "limited",
      repos: { "acme/readable": "read-only", "acme/hidden": "none", "acme/no-issues": "write" },
    });
    const octokit = octokitFor(simulator, "ghp_limited");
    const create = (repo: string) => octokit.rest.issues.create({ owner: "acme", repo, title: "t" });

    expect(await statusOf(create("readable"))).toBe(403);
    expect((await octokit.rest.issues.listForRepo({ owner: "acme", repo: "readable" })).status).toBe(200);
    for (const repo of ["secret", "hidden", "missing"]) {
      expect(await statusOf(create(repo))).toBe(404);
      expect(await statusOf(octokit.rest.issues.listForRepo({ owner: "acme", repo }))).toBe(404);
      expect(await statusOf(octokit.rest.repos.get({ owner: "acme", repo }))).toBe(404);
    }
    expect(await statusOf(create("no-issues"))).toBe(410);
    expect(await statusOf(octokit.rest.issues.listForRepo({ owner: "acme", repo: "no-issues" }))).toBe(410);
    expect(
      await statusOf(octokit.rest.issues.get({ owner: "acme", repo: "no-issues", issue_number: 1 })),
    ).toBe(410);
    // Labels and milestones belong to pull requests too, so they outlive disabled issues.
    expect((await octokit.rest.issues.listLabelsForRepo({ owner: "acme", repo: "no-issues" })).status).toBe(
      200,
    );
    expect(simulator.issuesIn("acme/readable")).toEqual([]);
    const refusal = simulator.requests().find((request) => request.status === 403);
    expect(JSON.parse(refusal?.responseBody ?? "{}")).toMatchObject({
      message: "Resource not accessible by personal access token",
      status: "403",
    });
  });

  it("answers 422 with GitHub's validation errors", async () => {
    const { simulator, octokit, owner, repo } = await withTemplate();
    simulator.grantToken("ghp_other", { login: "other" });
    const errorOf = async (request: Promise<unknown>) => {
      try {
        await request;
      } catch (error) {
        return error as { status: number; response: { data: unknown } };
      }
      throw new Error("the request succeeded");
    };
    // A path without placeholders is not type-checked against the endpoint, so that a test can send what it is not to.
    const create = (fields: Record<string, unknown>) =>
      octokit.request(`POST /repos/${owner}/${repo}/issues`, fields);

    const noTitle = await errorOf(create({ body: "no title" }));
    expect(noTitle.status).toBe(422);
    expect(noTitle.response.data).toMatchObject({ message: 'Invalid request.\n\n"title" wasn\'t supplied.' });
    expect((await errorOf(create({ title: " " }))).response.data).toMatchObject({
      message: "Validation Failed",
      errors: [{ resource: "Issue", field: "title", code: "missing_field" }],
    });
    expect((await errorOf(create({ title: "t", milestone: 7 }))).response.data).toMatchObject({
      errors: [{ resource: "Issue", field: "milestone", code: "invalid", value: 7 }],
    });
    expect((await errorOf(create({ title: "t", body: "x".repeat(65_537) }))).status).toBe(422);
    expect((await errorOf(create({ title: "t", assignees: ["nobody"] }))).status).toBe(422);
    expect((await errorOf(create({ title: "t", body: 42 }))).status).toBe(422);
    expect((await create({ title: 42, assignees: ["other"] })).data).toMatchObject({
      title: "42",
      assignees: [{ login: "other" }],
    });
    expect(simulator.issuesIn("acme/template")).toHaveLength(1);

    const response = await fetch(`${simulator.url}/repos/acme/template/issues`, {
      method: "POST",
      headers: { authorization: `token ${WRITER}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: "Problems parsing JSON" });
    const huge = await fetch(`${simulator.url}/repos/acme/template/issues`, {
      method: "POST",
      headers: { authorization: `token ${WRITER}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "t", body: "x".repeat(1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
  });
});

describe("labels and milestones", () => {
  it("lists GitHub's default labels and creates new ones, names unique in any case", async () => {
    const { octokit, owner, repo } = await withTemplate();
    const defaults = await octokit.paginate(octokit.rest.issues.listLabelsForRepo, {
      owner,
      repo,
      per_page: 4,
    });
    expect(defaults.map((label) => label.name)).toEqual([
      "bug",
      "documentation",
      "duplicate",
      "enhancement",
      "good first issue",
      "help wanted",
      "invalid",
      "question",
      "wontfix",
    ]);
    const created = await octokit.rest.issues.createLabel({
      owner,
      repo,
      name: "Week 1",
      color: "FF0000",
      description: "First week",
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      name: "Week 1",
      color: "ff0000",
      description: "First week",
      default: false,
    });
    expect(await statusOf(octokit.rest.issues.createLabel({ owner, repo, name: "week 1" }))).toBe(422);
    expect(
      await statusOf(octokit.rest.issues.createLabel({ owner, repo, name: "red", color: "#ff0000" })),
    ).toBe(422);
  });

  it("creates milestones, refuses a second with the same title, lists them by state and due date", async () => {
    const { octokit, owner, repo } = await withTemplate();
    const later = await octokit.rest.issues.createMilestone({
      owner,
      repo,
      title: "Sprint 2",
      due_on: "2030-02-01T00:00:00Z",
    });
    expect(later.status).toBe(201);
    expect(later.data).toMatchObject({
      number: 1,
      title: "Sprint 2",
      state: "open",
      creator: { login: "alice" },
    });
    await octokit.rest.issues.createMilestone({
      owner,
      repo,
      title: "Sprint 1",
      due_on: "2030-01-01T00:00:00Z",
    });
    await octokit.rest.issues.createMilestone({ owner, repo, title: "Done", state: "closed" });
    expect(await statusOf(octokit.rest.issues.createMilestone({ owner, repo, title: "Sprint 1" }))).toBe(422);
    const titles = async (state: "open" | "closed" | "all") =>
      (await octokit.rest.issues.listMilestones({ owner, repo, state })).data.map(
        (milestone) => milestone.title,
      );
    expect(await titles("open")).toEqual(["Sprint 1", "Sprint 2"]);
    expect(await titles("closed")).toEqual(["Done"]);
    expect(await titles("all")).toEqual(["Sprint 1", "Sprint 2", "Done"]);
  });
});

describe("accounts and repositories", () => {
  it("tells the token's user, its permissions per repository, and refuses bad credentials", async () => {
    const simulator = await start();
    simulator.createRepository({ owner: "acme", name: "mine" });
    simulator.createRepository({ owner: "acme", name: "theirs", private: true });
    simulator.createRepository({ owner: "acme", name: "public" });
    simulator.grantToken("ghp_admin", {
      login: "dana",
      repos: { "acme/mine": "admin", "acme/theirs": "write" },
    });
    const octokit = octokitFor(simulator, "ghp_admin");

    const user = await octokit.rest.users.getAuthenticated();
    expect(user.data).toMatchObject({ login: "dana", type: "User" });
    const permissions = async (repo: string) =>
      (await octokit.rest.repos.get({ owner: "acme", repo })).data.permissions;
    expect(await permissions("mine")).toMatchObject({ admin: true, push: true, pull: true });
    expect(await permissions("theirs")).toMatchObject({ admin: false, push: true, pull: true });
    expect(await permissions("public")).toMatchObject({ admin: false, push: false, pull: true });
    // GitHub's repository names are case-insensitive.
    expect((await octokit.rest.repos.get({ owner: "ACME", repo: "Mine" })).data.full_name).toBe("acme/mine");

    expect(await statusOf(octokitFor(simulator, "ghp_unknown").rest.users.getAuthenticated())).toBe(401);
    const anonymous = await fetch(`${simulator.url}/user`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ message: "Requires authentication" });
    const unknown = await fetch(`${simulator.url}/gists`, { headers: { authorization: "token ghp_admin" } });
    expect(unknown.status).toBe(404);
  });

  it("refuses seeding that GitHub could not hold", async () => {
    const simulator = await start();
    simulator.createRepository({ owner: "acme", name: "template" });
    expect(() => simulator.createRepository({ owner: "ACME", name: "Template" })).toThrow(SeedError);
    expect(() => simulator.seedIssues("acme/missing", [{ title: "t" }])).toThrow(SeedError);
    expect(() => simulator.seedIssues("acme/template", [{ title: "t", milestone: 3 }])).toThrow(SeedError);
    expect(() => simulator.seedLabels("acme/template", [{ name: "x", color: "red" }])).toThrow(SeedError);
  });
});

describe("conditional requests", () => {
  it("answers 304 to a matching If-None-Match without counting it, and 200 once the list changed", async () => {
    const { octokit, owner, repo } = await withTemplate();
    const first = await octokit.rest.issues.listForRepo({ owner, repo });
    const etag = first.headers.etag ?? "";
    expect(etag).toMatch(/^W\/"[0-9a-f]{64}"$/);
    const used = Number(first.headers["x-ratelimit-used"]);

    const conditional = () =>
      octokit.rest.issues
        .listForRepo({ owner, repo, headers: { "if-none-match": etag } })
        .catch((error) => error);
    const notModified = await conditional();
    expect(notModified.status).toBe(304);
    expect(notModified.response.headers["x-ratelimit-used"]).toBe(String(used));

    await octokit.rest.issues.create({ owner, repo, title: "changes the list" });
    const changed = await conditional();
    expect(changed.status).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});
