import type { components } from "@octokit/openapi-types";
import type { RateLimitStatus } from "./rate-limits.js";
import type {
  Account,
  InstallationToken,
  IssueRecord,
  LabelRecord,
  MilestoneRecord,
  RepoAccess,
  RepositoryRecord,
} from "./store.js";

type Schemas = components["schemas"];

/** GitHub's timestamps: ISO 8601 in UTC, to the second. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** GitHub's node ids are opaque strings with a type prefix; these only have to be unique and stable. */
function nodeId(prefix: string, id: number): string {
  return `${prefix}_kwDO${id.toString(36).toUpperCase().padStart(6, "0")}`;
}

const ACCOUNT_PREFIX: Readonly<Record<Account["type"], string>> = {
  User: "U",
  Organization: "O",
  Bot: "BOT",
};

/**
 * The JSON GitHub answers with, built from the store's records: every field the OpenAPI description
 * requires, typed by `@octokit/openapi-types` and checked at run time against `@octokit/openapi` by the
 * tests. API URLs point at the simulator; `html_url`s too, so that no link leads to a real repository.
 */
export class Representations {
  constructor(private readonly baseUrl: string) {}

  simpleUser(account: Account): Schemas["simple-user"] {
    // A bot's login has brackets (`slug[bot]`), which URLs escape; its page is its App's.
    const api = `${this.baseUrl}/users/${encodeURIComponent(account.login)}`;
    const page = account.type === "Bot" ? `apps/${account.login.replace(/\[bot\]$/, "")}` : account.login;
    return {
      login: account.login,
      id: account.id,
      node_id: nodeId(ACCOUNT_PREFIX[account.type], account.id),
      avatar_url: `${this.baseUrl}/avatars/u/${account.id}`,
      gravatar_id: "",
      url: api,
      html_url: `${this.baseUrl}/${page}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: account.type,
      user_view_type: "public",
      site_admin: false,
    };
  }

  /** `GET /user`: the authenticated user's own, fuller view. */
  privateUser(account: Account): Schemas["private-user"] {
    return {
      ...this.simpleUser(account),
      user_view_type: "private",
      name: account.login,
      company: null,
      blog: "",
      location: null,
      email: null,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: 0,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: timestamp(account.createdAt),
      updated_at: timestamp(account.createdAt),
      private_gists: 0,
      total_private_repos: 0,
      owned_private_repos: 0,
      disk_usage: 0,
      collaborators: 0,
      two_factor_authentication: true,
      plan: { name: "free", space: 976_562_499, collaborators: 0, private_repos: 10_000 },
    };
  }

  label(repository: RepositoryRecord, label: LabelRecord): Schemas["label"] {
    return {
      id: label.id,
      node_id: nodeId("LA", label.id),
      url: `${this.repoApi(repository)}/labels/${encodeURIComponent(label.name)}`,
      name: label.name,
      color: label.color,
      default: label.default,
      description: label.description,
    };
  }

  milestone(repository: RepositoryRecord, milestone: MilestoneRecord): Schemas["milestone"] {
    const url = `${this.repoApi(repository)}/milestones/${milestone.number}`;
    const issues = repository.issues.filter((issue) => issue.milestone === milestone);
    const closed = issues.filter((issue) => issue.state === "closed").length;
    return {
      url,
      html_url: `${this.repoHtml(repository)}/milestone/${milestone.number}`,
      labels_url: `${url}/labels`,
      id: milestone.id,
      node_id: nodeId("MI", milestone.id),
      number: milestone.number,
      state: milestone.state,
      title: milestone.title,
      description: milestone.description,
      creator: this.simpleUser(milestone.creator),
      open_issues: issues.length - closed,
      closed_issues: closed,
      created_at: timestamp(milestone.createdAt),
      updated_at: timestamp(milestone.createdAt),
      closed_at: milestone.state === "closed" ? timestamp(milestone.createdAt) : null,
      due_on: milestone.dueOn === null ? null : timestamp(milestone.dueOn),
    };
  }

  /** An issue, or a pull request as the issues endpoints show one (with `pull_request`). */
  issue(repository: RepositoryRecord, issue: IssueRecord): Schemas["issue"] {
    const url = `${this.repoApi(repository)}/issues/${issue.number}`;
    const kind = issue.pullRequest ? "pull" : "issues";
    const htmlUrl = `${this.repoHtml(repository)}/${kind}/${issue.number}`;
    const assignees = issue.assignees.map((assignee) => this.simpleUser(assignee));
    const created = timestamp(issue.createdAt);
    return {
      url,
      repository_url: this.repoApi(repository),
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: htmlUrl,
      id: issue.id,
      node_id: nodeId(issue.pullRequest ? "PR" : "I", issue.id),
      number: issue.number,
      title: issue.title,
      user: this.simpleUser(issue.user),
      labels: issue.labels.map((label) => this.label(repository, label)),
      state: issue.state,
      locked: false,
      assignee: assignees[0] ?? null,
      assignees,
      milestone: issue.milestone && this.milestone(repository, issue.milestone),
      comments: 0,
      created_at: created,
      updated_at: created,
      closed_at: issue.state === "closed" ? created : null,
      author_association: issue.authorAssociation,
      active_lock_reason: null,
      ...(issue.pullRequest
        ? {
            draft: false,
            pull_request: {
              url: `${this.repoApi(repository)}/pulls/${issue.number}`,
              html_url: htmlUrl,
              diff_url: `${htmlUrl}.diff`,
              patch_url: `${htmlUrl}.patch`,
              merged_at: null,
            },
          }
        : {}),
      body: issue.body,
      closed_by: null,
      reactions: {
        url: `${url}/reactions`,
        total_count: 0,
        "+1": 0,
        "-1": 0,
        laugh: 0,
        hooray: 0,
        confused: 0,
        heart: 0,
        rocket: 0,
        eyes: 0,
      },
      timeline_url: `${url}/timeline`,
      performed_via_github_app: null,
      state_reason: issue.state === "closed" ? "completed" : null,
    };
  }

  /**
   * `GET /repos/{owner}/{repo}`, with the token's `permissions`; also fit for the lists that use the
   * shorter `repository` schema.
   */
  repository(
    repository: RepositoryRecord,
    access: RepoAccess,
  ): Schemas["full-repository"] & Schemas["repository"] {
    const api = this.repoApi(repository);
    const html = this.repoHtml(repository);
    const push = access === "admin" || access === "write";
    const created = timestamp(repository.createdAt);
    const openIssues = repository.issues.filter((issue) => issue.state === "open").length;
    return {
      id: repository.id,
      node_id: nodeId("R", repository.id),
      name: repository.name,
      full_name: repository.fullName,
      private: repository.private,
      owner: this.simpleUser(repository.owner),
      html_url: html,
      description: repository.description,
      fork: false,
      url: api,
      archive_url: `${api}/{archive_format}{/ref}`,
      assignees_url: `${api}/assignees{/user}`,
      blobs_url: `${api}/git/blobs{/sha}`,
      branches_url: `${api}/branches{/branch}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      comments_url: `${api}/comments{/number}`,
      commits_url: `${api}/commits{/sha}`,
      compare_url: `${api}/compare/{base}...{head}`,
      contents_url: `${api}/contents/{+path}`,
      contributors_url: `${api}/contributors`,
      deployments_url: `${api}/deployments`,
      downloads_url: `${api}/downloads`,
      events_url: `${api}/events`,
      forks_url: `${api}/forks`,
      git_commits_url: `${api}/git/commits{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_url: `git://127.0.0.1/${repository.fullName}.git`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      issue_events_url: `${api}/issues/events{/number}`,
      issues_url: `${api}/issues{/number}`,
      keys_url: `${api}/keys{/key_id}`,
      labels_url: `${api}/labels{/name}`,
      languages_url: `${api}/languages`,
      merges_url: `${api}/merges`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      pulls_url: `${api}/pulls{/number}`,
      releases_url: `${api}/releases{/id}`,
      ssh_url: `git@127.0.0.1:${repository.fullName}.git`,
      stargazers_url: `${api}/stargazers`,
      statuses_url: `${api}/statuses/{sha}`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      tags_url: `${api}/tags`,
      teams_url: `${api}/teams`,
      trees_url: `${api}/git/trees{/sha}`,
      clone_url: `${html}.git`,
      mirror_url: null,
      hooks_url: `${api}/hooks`,
      svn_url: html,
      homepage: null,
      language: null,
      forks_count: 0,
      forks: 0,
      stargazers_count: 0,
      watchers_count: 0,
      watchers: 0,
      subscribers_count: 0,
      network_count: 0,
      size: 0,
      default_branch: "main",
      open_issues_count: openIssues,
      open_issues: openIssues,
      is_template: false,
      topics: [],
      has_issues: repository.hasIssues,
      has_projects: true,
      has_wiki: true,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      visibility: repository.private ? "private" : "public",
      pushed_at: created,
      created_at: created,
      updated_at: created,
      permissions: {
        admin: access === "admin",
        maintain: access === "admin",
        push,
        triage: push,
        pull: true,
      },
      license: null,
      allow_forking: true,
      web_commit_signoff_required: false,
    };
  }

  /** A new installation access token, with what it may reach. */
  installationToken({ token, installation, expiresAt }: InstallationToken): Schemas["installation-token"] {
    return {
      token,
      expires_at: timestamp(expiresAt),
      permissions: { ...installation.permissions },
      repository_selection: "selected",
      repositories: installation.repositories.map((repository) =>
        this.repository(repository, installation.access),
      ),
    };
  }

  /** `GET /rate_limit`: the user's core resource; the others, which the simulator does not use, full. */
  rateLimits(core: RateLimitStatus, now: number): Schemas["rate-limit-overview"] {
    const fresh = (limit: number, seconds: number) => ({
      limit,
      remaining: limit,
      used: 0,
      reset: Math.ceil(now / 1000) + seconds,
    });
    const coreResource = { limit: core.limit, remaining: core.remaining, used: core.used, reset: core.reset };
    return {
      resources: { core: coreResource, search: fresh(30, 60), graphql: fresh(5_000, 3_600) },
      rate: coreResource,
    };
  }

  private repoApi(repository: RepositoryRecord): string {
    return `${this.baseUrl}/repos/${repository.fullName}`;
  }

  private repoHtml(repository: RepositoryRecord): string {
    return `${this.baseUrl}/${repository.fullName}`;
  }
}
