import type { Clock } from "./clock.js";
import { SeedError } from "./errors.js";

/**
 * What a token may do in a repository:
 * - `admin`, `write`: push access, so everything the simulator serves;
 * - `read`: the read role (anyone, on a public repository): may open issues, but GitHub silently drops
 *   their labels, milestone and assignees, and refuses to create labels and milestones (404);
 * - `read-only`: a token whose issues permission is read-only: every mutation is refused (403);
 * - `none`: the repository is invisible to the token (404), public or not.
 */
export type RepoAccess = "admin" | "write" | "read" | "read-only" | "none";

export type IssueState = "open" | "closed";

/** How GitHub relates an issue's author to its repository (`author_association`). */
export type AuthorAssociation = "OWNER" | "COLLABORATOR" | "NONE";

export interface Account {
  readonly id: number;
  readonly login: string;
  readonly type: "User" | "Organization";
  readonly createdAt: number;
}

export interface LabelRecord {
  readonly id: number;
  readonly name: string;
  color: string;
  description: string | null;
  /** One of the labels GitHub gives every new repository. */
  readonly default: boolean;
}

export interface MilestoneRecord {
  readonly id: number;
  readonly number: number;
  readonly title: string;
  readonly description: string | null;
  readonly state: IssueState;
  readonly dueOn: number | null;
  readonly creator: Account;
  readonly createdAt: number;
}

/** An issue or, with `pullRequest`, a pull request: they share one sequence of numbers. */
export interface IssueRecord {
  readonly id: number;
  readonly number: number;
  readonly title: string;
  readonly body: string | null;
  readonly state: IssueState;
  readonly user: Account;
  readonly authorAssociation: AuthorAssociation;
  readonly labels: readonly LabelRecord[];
  readonly milestone: MilestoneRecord | null;
  readonly assignees: readonly Account[];
  readonly pullRequest: boolean;
  readonly createdAt: number;
}

export interface RepositoryRecord {
  readonly id: number;
  readonly owner: Account;
  readonly name: string;
  readonly fullName: string;
  readonly private: boolean;
  readonly hasIssues: boolean;
  readonly description: string | null;
  readonly createdAt: number;
  readonly labels: LabelRecord[];
  readonly milestones: MilestoneRecord[];
  /** In creation order, which is number order. */
  readonly issues: IssueRecord[];
}

/** A token and the user it authenticates as. */
export interface Credential {
  readonly user: Account;
  readonly grants: ReadonlyMap<string, RepoAccess>;
}

export interface RepositorySeed {
  readonly owner: string;
  readonly name: string;
  readonly private?: boolean;
  /** False: issues are disabled, so the issue endpoints answer 410. Default true. */
  readonly hasIssues?: boolean;
  readonly description?: string;
  /** GitHub gives every new repository nine labels (bug, enhancement, …). Default true. */
  readonly defaultLabels?: boolean;
}

export interface LabelSeed {
  readonly name: string;
  /** Six hex digits without `#`. Default `ededed`, GitHub's colour for labels created in passing. */
  readonly color?: string;
  readonly description?: string | null;
}

export interface MilestoneSeed {
  readonly title: string;
  readonly description?: string | null;
  readonly state?: IssueState;
  /** Epoch milliseconds. */
  readonly dueOn?: number | null;
}

export interface IssueSeed {
  readonly title: string;
  readonly body?: string | null;
  /** Label names; labels the repository lacks are created, as GitHub does for a pusher. */
  readonly labels?: readonly string[];
  /** The number of one of the repository's milestones. */
  readonly milestone?: number;
  readonly state?: IssueState;
  readonly pullRequest?: boolean;
  /** Default: the repository's owner. */
  readonly author?: string;
  readonly assignees?: readonly string[];
}

export interface TokenGrant {
  readonly login: string;
  /**
   * Access per repository (`owner/name`). Repositories not listed: `admin` for those the login owns, `read`
   * for public ones, `none` for private ones.
   */
  readonly repos?: Readonly<Record<string, RepoAccess>>;
}

/** What {@link GitHubStore.createIssue} needs once a request has been validated and its fields resolved. */
export interface NewIssue {
  readonly title: string;
  readonly body: string | null;
  readonly state: IssueState;
  readonly user: Account;
  readonly labels: readonly LabelRecord[];
  readonly milestone: MilestoneRecord | null;
  readonly assignees: readonly Account[];
  readonly pullRequest: boolean;
}

/** An issue as a test sees it through the inspection API. */
export interface SimulatedIssue {
  readonly number: number;
  readonly title: string;
  readonly body: string | null;
  readonly state: IssueState;
  readonly labels: readonly string[];
  readonly milestone: { readonly number: number; readonly title: string } | null;
  readonly assignees: readonly string[];
  readonly author: string;
  readonly pullRequest: boolean;
  readonly createdAt: number;
}

export const LABEL_COLOR = /^[0-9a-fA-F]{6}$/;
const CREATED_IN_PASSING_COLOR = "ededed";

const DEFAULT_LABELS: readonly Required<LabelSeed>[] = [
  { name: "bug", color: "d73a4a", description: "Something isn't working" },
  { name: "documentation", color: "0075ca", description: "Improvements or additions to documentation" },
  { name: "duplicate", color: "cfd3d7", description: "This issue or pull request already exists" },
  { name: "enhancement", color: "a2eeef", description: "New feature or request" },
  { name: "good first issue", color: "7057ff", description: "Good for newcomers" },
  { name: "help wanted", color: "008672", description: "Extra attention is needed" },
  { name: "invalid", color: "e4e669", description: "This doesn't seem right" },
  { name: "question", color: "d876e3", description: "Further information is requested" },
  { name: "wontfix", color: "ffffff", description: "This will not be worked on" },
];

/** GitHub compares logins, repository names and label names without regard to case. */
const key = (name: string) => name.toLowerCase();

/**
 * The simulated GitHub's state: accounts, tokens, repositories and their labels, milestones, issues and
 * pull requests, with the rules that hold whoever changes it (numbering, case-insensitive names). Seeding
 * misuse throws {@link SeedError}; the HTTP routes check requests before they call in.
 */
export class GitHubStore {
  private lastId = 1000;
  private readonly accounts = new Map<string, Account>();
  private readonly credentials = new Map<string, Credential>();
  private readonly repositories = new Map<string, RepositoryRecord>();

  constructor(private readonly clock: Clock) {}

  grantToken(token: string, grant: TokenGrant): Account {
    const user = this.account(grant.login, "User");
    const grants = new Map(Object.entries(grant.repos ?? {}).map(([repo, access]) => [key(repo), access]));
    this.credentials.set(token, { user, grants });
    return user;
  }

  credential(token: string): Credential | undefined {
    return this.credentials.get(token);
  }

  /** The account with `login`, if the simulator knows one (a token's user or a repository owner). */
  findAccount(login: string): Account | undefined {
    return this.accounts.get(key(login));
  }

  createRepository(seed: RepositorySeed): RepositoryRecord {
    const fullName = `${seed.owner}/${seed.name}`;
    if (this.repositories.has(key(fullName))) throw new SeedError(`repository ${fullName} exists already`);
    const owner = this.account(seed.owner, "Organization");
    const repository: RepositoryRecord = {
      id: this.nextId(),
      owner,
      name: seed.name,
      fullName: `${owner.login}/${seed.name}`,
      private: seed.private ?? false,
      hasIssues: seed.hasIssues ?? true,
      description: seed.description ?? null,
      createdAt: this.clock.now(),
      labels: [],
      milestones: [],
      issues: [],
    };
    this.repositories.set(key(fullName), repository);
    if (seed.defaultLabels ?? true) {
      for (const label of DEFAULT_LABELS)
        repository.labels.push({ ...label, id: this.nextId(), default: true });
    }
    return repository;
  }

  /** The repository named `owner/name`, in any case. */
  repository(fullName: string): RepositoryRecord | undefined {
    return this.repositories.get(key(fullName));
  }

  access(credential: Credential, repository: RepositoryRecord): RepoAccess {
    const granted = credential.grants.get(key(repository.fullName));
    if (granted) return granted;
    if (credential.user === repository.owner) return "admin";
    return repository.private ? "none" : "read";
  }

  findLabel(repository: RepositoryRecord, name: string): LabelRecord | undefined {
    return repository.labels.find((label) => key(label.name) === key(name));
  }

  createLabel(repository: RepositoryRecord, seed: LabelSeed): LabelRecord {
    const label: LabelRecord = {
      id: this.nextId(),
      name: seed.name,
      color: (seed.color ?? CREATED_IN_PASSING_COLOR).toLowerCase(),
      description: seed.description ?? null,
      default: false,
    };
    repository.labels.push(label);
    return label;
  }

  /** The label named `name`, created with GitHub's colour for labels created in passing if missing. */
  ensureLabel(repository: RepositoryRecord, name: string): LabelRecord {
    return this.findLabel(repository, name) ?? this.createLabel(repository, { name });
  }

  findMilestone(repository: RepositoryRecord, number: number): MilestoneRecord | undefined {
    return repository.milestones.find((milestone) => milestone.number === number);
  }

  findMilestoneByTitle(repository: RepositoryRecord, title: string): MilestoneRecord | undefined {
    return repository.milestones.find((milestone) => milestone.title === title);
  }

  createMilestone(repository: RepositoryRecord, seed: MilestoneSeed, creator: Account): MilestoneRecord {
    const milestone: MilestoneRecord = {
      id: this.nextId(),
      number: repository.milestones.length + 1,
      title: seed.title,
      description: seed.description ?? null,
      state: seed.state ?? "open",
      dueOn: seed.dueOn ?? null,
      creator,
      createdAt: this.clock.now(),
    };
    repository.milestones.push(milestone);
    return milestone;
  }

  createIssue(repository: RepositoryRecord, issue: NewIssue): IssueRecord {
    const record: IssueRecord = {
      ...issue,
      id: this.nextId(),
      number: repository.issues.length + 1,
      authorAssociation: this.association(issue.user, repository),
      createdAt: this.clock.now(),
    };
    repository.issues.push(record);
    return record;
  }

  // --- seeding: the same operations for tests, with SeedError instead of HTTP answers ---

  seedLabels(fullName: string, labels: readonly LabelSeed[]): void {
    const repository = this.seededRepository(fullName);
    for (const seed of labels) {
      if (seed.color !== undefined && !LABEL_COLOR.test(seed.color)) {
        throw new SeedError(`label ${seed.name}: colour must be six hex digits, got ${seed.color}`);
      }
      const existing = this.findLabel(repository, seed.name);
      if (!existing) {
        this.createLabel(repository, seed);
        continue;
      }
      // Seeding says what a label should be, so it restyles one that exists (such as a default label).
      if (seed.color !== undefined) existing.color = seed.color.toLowerCase();
      if (seed.description !== undefined) existing.description = seed.description;
    }
  }

  /** Returns the numbers of the new milestones. */
  seedMilestones(fullName: string, milestones: readonly MilestoneSeed[]): number[] {
    const repository = this.seededRepository(fullName);
    return milestones.map((seed) => {
      if (this.findMilestoneByTitle(repository, seed.title)) {
        throw new SeedError(`${fullName} has a milestone titled ${seed.title} already`);
      }
      return this.createMilestone(repository, seed, repository.owner).number;
    });
  }

  /** Returns the numbers of the new issues and pull requests. */
  seedIssues(fullName: string, issues: readonly IssueSeed[]): number[] {
    const repository = this.seededRepository(fullName);
    return issues.map((seed) => {
      let milestone: MilestoneRecord | null = null;
      if (seed.milestone !== undefined) {
        milestone = this.findMilestone(repository, seed.milestone) ?? null;
        if (!milestone) throw new SeedError(`${fullName} has no milestone number ${seed.milestone}`);
      }
      return this.createIssue(repository, {
        title: seed.title,
        body: seed.body ?? null,
        state: seed.state ?? "open",
        user: seed.author === undefined ? repository.owner : this.account(seed.author, "User"),
        labels: (seed.labels ?? []).map((name) => this.ensureLabel(repository, name)),
        milestone,
        assignees: (seed.assignees ?? []).map((login) => this.account(login, "User")),
        pullRequest: seed.pullRequest ?? false,
      }).number;
    });
  }

  /** The issues and pull requests of a repository in creation order, as plain data. */
  issuesIn(fullName: string): SimulatedIssue[] {
    return this.seededRepository(fullName).issues.map((issue) => ({
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      labels: issue.labels.map((label) => label.name),
      milestone: issue.milestone && { number: issue.milestone.number, title: issue.milestone.title },
      assignees: issue.assignees.map((assignee) => assignee.login),
      author: issue.user.login,
      pullRequest: issue.pullRequest,
      createdAt: issue.createdAt,
    }));
  }

  private seededRepository(fullName: string): RepositoryRecord {
    const repository = this.repository(fullName);
    if (!repository) throw new SeedError(`no repository ${fullName}: create it first`);
    return repository;
  }

  private account(login: string, type: Account["type"]): Account {
    const known = this.accounts.get(key(login));
    if (known) return known;
    const account: Account = { id: this.nextId(), login, type, createdAt: this.clock.now() };
    this.accounts.set(key(login), account);
    return account;
  }

  private association(user: Account, repository: RepositoryRecord): AuthorAssociation {
    if (user === repository.owner) return "OWNER";
    for (const credential of this.credentials.values()) {
      const access = credential.user === user ? credential.grants.get(key(repository.fullName)) : undefined;
      if (access === "admin" || access === "write") return "COLLABORATOR";
    }
    return "NONE";
  }

  private nextId(): number {
    this.lastId += 1;
    return this.lastId;
  }
}
