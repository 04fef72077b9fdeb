import type { GitHubSimulator } from "./simulator.js";

export interface GitHubDemo {
  /** A token with write access to every demo repository. */
  readonly token: string;
  readonly login: string;
  /** The template repository whose issues a migration copies. */
  readonly source: string;
  /** Empty team repositories to copy them into. */
  readonly targets: readonly string[];
}

/** Shaped like a classic personal access token (`ghp_` and 36 characters); valid only here. */
export const DEMO_TOKEN = "ghp_monarchSandboxDemoToken0000000000000";

/**
 * Seeds a small migration scenario: a template repository with labelled issues in two milestones, a
 * closed issue and a pull request (which a migration must skip), three empty team repositories, and a
 * token that may write to all of them.
 */
export function seedGitHubDemo(simulator: GitHubSimulator): GitHubDemo {
  const owner = "monarch-demo";
  const source = simulator.createRepository({
    owner,
    name: "template",
    description: "Issue tickets for a cohort",
  });
  const targets = [1, 2, 3].map((team) =>
    simulator.createRepository({ owner, name: `team-${team}`, private: true }),
  );
  simulator.seedLabels(source, [
    { name: "setup", color: "1d76db", description: "Getting the project running" },
    { name: "feature", color: "0e8a16", description: "A user story" },
  ]);
  simulator.seedMilestones(source, [{ title: "Sprint 1" }, { title: "Sprint 2" }]); // numbers 1 and 2
  simulator.seedIssues(source, [
    {
      title: "Create the repository and invite the team",
      body: "Everyone can push.",
      labels: ["setup"],
      milestone: 1,
    },
    {
      title: "Set up the database",
      body: "Tables for users and orders.",
      labels: ["setup"],
      milestone: 1,
    },
    { title: "As a user, I can sign in", body: "Given an account…", labels: ["feature"], milestone: 1 },
    { title: "As a user, I can list my orders", labels: ["feature"], milestone: 2 },
    { title: "Fix the seed script", labels: ["bug"], state: "closed" },
    { title: "Add a README", body: "A pull request, not an issue.", pullRequest: true },
    { title: "As an admin, I can see every order", labels: ["feature", "enhancement"], milestone: 2 },
  ]);
  const login = "monarch-bot";
  simulator.grantToken(DEMO_TOKEN, {
    login,
    repos: Object.fromEntries([source, ...targets].map((repository) => [repository, "write"])),
  });
  return { token: DEMO_TOKEN, login, source, targets };
}
