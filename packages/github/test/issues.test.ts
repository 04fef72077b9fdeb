import { type GitHubSimulator, startGitHubSimulator } from "@monarch/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createGitHubClient,
  createMarkedIssue,
  ensureLabels,
  ensureMilestone,
  type GitHubClient,
  listSourceIssues,
  MarkedIssueFinder,
  repositoryRef,
  sourceKey,
  TransientGitHubError,
} from "../src/index.js";

const TOKEN = "ghp_issues_test_token";
let github: GitHubSimulator;
let client: GitHubClient;
let repoCount = 0;

/** A fresh source and target per test, so tests do not see each other's issues. */
function repositories() {
  repoCount += 1;
  const source = github.createRepository({ owner: "acme", name: `template-${repoCount}` });
  const target = github.createRepository({ owner: "acme", name: `team-${repoCount}`, private: true });
  return { source, target, sourceRef: repositoryRef(source), targetRef: repositoryRef(target) };
}

beforeAll(async () => {
  github = await startGitHubSimulator();
  github.grantToken(TOKEN, { login: "acme" });
  client = createGitHubClient({ credentials: { type: "token", token: TOKEN }, baseUrl: github.url });
});

afterAll(async () => {
  await github.stop();
});

describe("listSourceIssues", () => {
  it("returns 250 issues in ascending order without the 5 pull requests, in 3 pages of 100", async () => {
    const { source, sourceRef } = repositories();
    const seeds = Array.from({ length: 255 }, (_, index) => ({
      title: `Item ${index + 1}`,
      pullRequest: index % 51 === 50,
    }));
    github.seedIssues(source, seeds);
    const before = github.requests().length;

    const issues = await listSourceIssues(client.octokit, sourceRef);

    const expected = seeds.flatMap((seed, index) => (seed.pullRequest ? [] : [index + 1]));
    expect(expected).toHaveLength(250);
    expect(issues.map((issue) => issue.number)).toEqual(expected);
    const pages = github.requests().slice(before);
    expect(pages.map((request) => [request.route, request.status])).toEqual([
      ["GET /repos/{owner}/{repo}/issues", 200],
      ["GET /repos/{owner}/{repo}/issues", 200],
      ["GET /repos/{owner}/{repo}/issues", 200],
    ]);
    expect(pages.every((request) => request.path.includes("per_page=100"))).toBe(true);
  });

  it("lists open issues by default and closed ones too with state all", async () => {
    const { source, sourceRef } = repositories();
    github.seedIssues(source, [{ title: "open" }, { title: "closed", state: "closed" }]);
    expect((await listSourceIssues(client.octokit, sourceRef)).map((issue) => issue.title)).toEqual(["open"]);
    expect((await listSourceIssues(client.octokit, sourceRef, "all")).map((issue) => issue.title)).toEqual([
      "open",
      "closed",
    ]);
  });
});

describe("ensureLabels and ensureMilestone", () => {
  it("create what the target lacks with the source's properties and reuse what it has", async () => {
    const { source, targetRef } = repositories();
    const sourceRef = repositoryRef(source);
    github.seedLabels(source, [
      { name: "setup", color: "1d76db", description: "Getting started" },
      { name: "Bug", color: "123456", description: "source's bug" },
    ]);
    const [milestone = 0] = github.seedMilestones(source, [
      { title: "Sprint 1", description: "First sprint", dueOn: Date.UTC(2030, 0, 15) },
    ]);
    github.seedIssues(source, [{ title: "Set up CI", labels: ["setup", "Bug"], milestone }]);
    const [issue] = await listSourceIssues(client.octokit, sourceRef);
    if (!issue) throw new Error("no issue listed");

    const names = await ensureLabels(client.octokit, targetRef, issue.labels);
    const again = await ensureLabels(client.octokit, targetRef, issue.labels);
    if (!issue.milestone) throw new Error("no milestone listed");
    const number = await ensureMilestone(client.octokit, targetRef, issue.milestone);
    const sameNumber = await ensureMilestone(client.octokit, targetRef, issue.milestone);

    // The target's default "bug" label is reused as it is: not restyled, spelled as the target spells it.
    expect(names).toEqual(["setup", "bug"]);
    expect(again).toEqual(names);
    const labels = await client.octokit.paginate(client.octokit.rest.issues.listLabelsForRepo, {
      ...targetRef,
    });
    expect(labels.find((label) => label.name === "setup")).toMatchObject({
      color: "1d76db",
      description: "Getting started",
    });
    expect(labels.filter((label) => label.name.toLowerCase() === "bug")).toHaveLength(1);
    expect(labels.find((label) => label.name === "bug")?.color).not.toBe("123456");
    expect(sameNumber).toBe(number);
    const milestones = await client.octokit.paginate(client.octokit.rest.issues.listMilestones, {
      ...targetRef,
      state: "all",
    });
    expect(milestones).toHaveLength(1);
    expect(milestones[0]).toMatchObject({
      number,
      title: "Sprint 1",
      description: "First sprint",
      state: "open",
      due_on: new Date(Date.UTC(2030, 0, 15)).toISOString().replace(".000Z", "Z"),
    });
  });
});

describe("createMarkedIssue and MarkedIssueFinder", () => {
  it("creates an issue with the marker, labels and milestone, through the body template", async () => {
    const { source, target, sourceRef, targetRef } = repositories();
    github.seedIssues(source, [{ title: "Write tests", body: "Use vitest." }]);
    const [issue] = await listSourceIssues(client.octokit, sourceRef);
    if (!issue) throw new Error("no issue listed");
    const labels = await ensureLabels(client.octokit, targetRef, [
      { name: "tests", color: "00ff00", description: null },
    ]);

    const number = await createMarkedIssue(client.octokit, targetRef, sourceRef, issue, {
      labels,
      bodyTemplate: (from) => `From the template:\n\n${from.body}`,
    });

    const [created] = github.issuesIn(target);
    expect(created?.number).toBe(number);
    expect(created?.body).toBe(`From the template:\n\nUse vitest.\n\n<!-- monarch:source=${source}#1 -->`);
    expect(created?.labels).toEqual(["tests"]);
  });

  it("finds the issue created before a lost answer (502 after success): no second create", async () => {
    const { source, target, sourceRef, targetRef } = repositories();
    github.seedIssues(source, [{ title: "First" }, { title: "Second" }]);
    const issues = await listSourceIssues(client.octokit, sourceRef);
    const finder = new MarkedIssueFinder(client.octokit);
    const [first, second] = issues;
    if (!first || !second) throw new Error("issues not listed");
    await createMarkedIssue(client.octokit, targetRef, sourceRef, first);

    github.faults.set("POST /repos/{owner}/{repo}/issues", { errorAfterSuccessRate: 1, requests: 1 });
    const failure = await createMarkedIssue(client.octokit, targetRef, sourceRef, second).catch(
      (error) => error,
    );
    expect(failure).toBeInstanceOf(TransientGitHubError);
    expect(failure).toMatchObject({ reason: "status", status: 502 });

    // The migrator's recovery: look the in-doubt item up before creating it again.
    const found = await finder.find(targetRef);
    expect(found).toEqual(
      new Map([
        [sourceKey(sourceRef, 1), 1],
        [sourceKey(sourceRef, 2), 2],
      ]),
    );
    expect(await finder.findOne(targetRef, sourceRef, 2)).toBe(2);
    expect(github.issuesIn(target).map((created) => created.title)).toEqual(["First", "Second"]);
  });

  it("sees closed marked issues, ignores unmarked ones, and re-checks with 304s", async () => {
    const { target, sourceRef, targetRef } = repositories();
    const seeds = Array.from({ length: 150 }, (_, index) => ({
      title: `Issue ${index + 1}`,
      body:
        index % 3 === 0
          ? "no marker"
          : `text\n\n<!-- monarch:source=${sourceRef.owner}/${sourceRef.repo}#${index + 1} -->`,
      state: index % 2 === 0 ? ("closed" as const) : ("open" as const),
    }));
    github.seedIssues(target, seeds);
    const finder = new MarkedIssueFinder(client.octokit);

    const found = await finder.find(targetRef);
    const before = github.requests().length;
    const again = await finder.find(targetRef);

    expect(found.size).toBe(100);
    expect(found.get(sourceKey(sourceRef, 2))).toBe(2);
    expect(found.get(sourceKey(sourceRef, 3))).toBe(3); // closed
    expect(found.has(sourceKey(sourceRef, 1))).toBe(false); // unmarked
    expect(again).toEqual(found);
    expect(
      github
        .requests()
        .slice(before)
        .map((request) => request.status),
    ).toEqual([304, 304]);
    expect(client.rateLimit.snapshot()?.resource).toBe("core");
  });
});
