import { createPublicKey, type KeyObject, randomBytes } from "node:crypto";
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
  /** `Bot`: the account a GitHub App's installations act as, `slug[bot]`. */
  readonly type: "User" | "Organization" | "Bot";
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

/** A GitHub App permission's level, as `app-permissions` spells them. */
export type AppPermission = "read" | "write" | "admin";

export interface AppRecord {
  readonly id: number;
  readonly slug: string;
  /** The public half of the key pair whose private half signs the App's JWTs. */
  readonly publicKey: KeyObject;
  /** The account its installations act as, `slug[bot]`. */
  readonly bot: Account;
}

export interface InstallationRecord {
  readonly id: number;
  readonly app: AppRecord;
  readonly repositories: readonly RepositoryRecord[];
  readonly permissions: Readonly<Record<string, AppPermission>>;
  /** What its tokens may do in its repositories, by its `issues` permission. */
  readonly access: RepoAccess;
}

/** What a token authenticates as. */
export interface Credential {
  /** Who acts: the token's user, or an installation's bot. */
  readonly user: Account;
  readonly grants: ReadonlyMap<string, RepoAccess>;
  /** Set for an installation access token: its rate limits are the installation's, not a user's. */
  readonly installation?: InstallationRecord;
  /** Clock milliseconds from which the token is refused; undefined: never (personal tokens). */
  readonly expiresAt?: number;
}

/** An installation access token, as `POST /app/installations/{installation_id}/access_tokens` answers it. */
export interface InstallationToken {
  readonly token: string;
  readonly installation: InstallationRecord;
  readonly expiresAt: number;
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

export interface AppSeed {
  /** The App's id, which its JWTs name as their issuer (`iss`). */
  readonly id: number;
  /** Its URL name; its installations act as the bot account `slug[bot]`. */
  readonly slug: string;
  /** The public half of the App's RSA key pair, PEM (SPKI or PKCS#1). */
  readonly publicKey: string;
}

export interface InstallationSeed {
  readonly id: number;
  /** The id of the App installed. */
  readonly appId: number;
  /** The organization or user it is installed on. */
  readonly account: string;
  /** The repositories of `account` it was granted (`owner/name`). */
  readonly repositories: readonly string[];
  /**
   * The App permissions it was granted. In its repositories `issues: "write"` may do everything the
   * simulator serves; anything less only reads. Default `{ issues: "write", metadata: "read" }`.
   */
  readonly permissions?: Readonly<Record<string, AppPermission>>;
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

const DEFAULT_APP_PERMISSIONS: Readonly<Record<string, AppPermission>> = {
  issues: "write",
  metadata: "read",
};

/** GitHub's installation access tokens last an hour. */
const INSTALLATION_TOKEN_MS = 3_600_000;

/**
 * The simulated GitHub's state: accounts, tokens, GitHub Apps and their installations, repositories and
 * their labels, milestones, issues and pull requests, with the rules that hold whoever changes it
 * (numbering, case-insensitive names). Seeding misuse throws {@link SeedError}; the HTTP routes check
 * requests before they call in.
 */
export class GitHubStore {
  private lastId = 1000;
  private readonly accounts = new Map<string, Account>();
  private readonly credentials = new Map<string, Credential>();
  private readonly repositories = new Map<string, RepositoryRecord>();
  private readonly apps = new Map<number, AppRecord>();
  private readonly installations = new Map<number, InstallationRecord>();

  constructor(private readonly clock: Clock) {}

  grantToken(token: string, grant: TokenGrant): Account {
    const user = this.account(grant.login, "User");
    const grants = new Map(Object.entries(grant.repos ?? {}).map(([repo, access]) => [key(repo), access]));
    this.credentials.set(token, { user, grants });
    return user;
  }

  /** What `token` authenticates as; undefined when unknown or expired. */
  credential(token: string): Credential | undefined {
    const credential = this.credentials.get(token);
    if (credential?.expiresAt === undefined || this.clock.now() < credential.expiresAt) return credential;
    this.credentials.delete(token);
    return undefined;
  }

  registerApp(seed: AppSeed): AppRecord {
    if (this.apps.has(seed.id)) throw new SeedError(`an App with id ${seed.id} exists already`);
    const bot = `${seed.slug}[bot]`;
    if (this.accounts.has(key(bot))) throw new SeedError(`an App named ${seed.slug} exists already`);
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(seed.publicKey);
    } catch {
      throw new SeedError(`App ${seed.id}: the public key is not a PEM public key`);
    }
    if (publicKey.asymmetricKeyType !== "rsa") {
      throw new SeedError(`App ${seed.id}: GitHub Apps sign with RSA keys`);
    }
    const app: AppRecord = { id: seed.id, slug: seed.slug, publicKey, bot: this.account(bot, "Bot") };
    this.apps.set(app.id, app);
    return app;
  }

  app(id: number): AppRecord | undefined {
    return this.apps.get(id);
  }

  installApp(seed: InstallationSeed): InstallationRecord {
    if (this.installations.has(seed.id)) {
      throw new SeedError(`an installation with id ${seed.id} exists already`);
    }
    const app = this.apps.get(seed.appId);
    if (!app) throw new SeedError(`no App with id ${seed.appId}: register it first`);
    const repositories = seed.repositories.map((fullName) => {
      const repository = this.seededRepository(fullName);
      if (key(repository.owner.login) !== key(seed.account)) {
        throw new SeedError(`${fullName} is not a repository of ${seed.account}`);
      }
      return repository;
    });
    const permissions = seed.permissions ?? DEFAULT_APP_PERMISSIONS;
    const installation: InstallationRecord = {
      id: seed.id,
      app,
      repositories,
      permissions,
      access: permissions.issues === "write" ? "write" : "read-only",
    };
    this.installations.set(installation.id, installation);
    return installation;
  }

  installation(id: number): InstallationRecord | undefined {
    return this.installations.get(id);
  }

  /** A new token of `installation`'s bot, for its repositories, until an hour from now. */
  issueInstallationToken(installation: InstallationRecord): InstallationToken {
    // Shaped like GitHub's: `ghs_` and 36 characters. Expiry on a whole second, as `expires_at` tells it.
    const token = `ghs_${randomBytes(18).toString("hex")}`;
    const expiresAt = Math.floor((this.clock.now() + INSTALLATION_TOKEN_MS) / 1000) * 1000;
    const grants = new Map(
      installation.repositories.map((repository) => [key(repository.fullName), installation.access]),
    );
    this.credentials.set(token, { user: installation.app.bot, grants, installation, expiresAt });
    return { token, installation, expiresAt };
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
    if (repository.private) return "none";
    // An installation reads public repositories beyond its own, but may change nothing in them.
    return credential.installation ? "read-only" : "read";
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
