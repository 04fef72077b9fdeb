import { type LoopbackServer, listenOnLoopback } from "../http/loopback-server.js";
import { type Clock, systemClock } from "./clock.js";
import { Faults } from "./faults.js";
import { RequestLog, type RequestRecord, type Violation } from "./inspection.js";
import {
  GITHUB_RATE_LIMITS,
  GitHubRateLimits,
  type RateLimitConfig,
  type RateLimitOptions,
} from "./rate-limits.js";
import { gitHubRequestListener } from "./server.js";
import {
  type AppSeed,
  GitHubStore,
  type InstallationSeed,
  type IssueSeed,
  type LabelSeed,
  type MilestoneSeed,
  type RepositorySeed,
  type SimulatedIssue,
  type TokenGrant,
} from "./store.js";

export interface StartGitHubSimulatorOptions {
  /** Default: any free port. */
  readonly port?: number;
  /** Replaces some of GitHub's limits (see `GITHUB_RATE_LIMITS`), and scales their windows. */
  readonly limits?: RateLimitOptions;
  /** Where every time comes from (rate-limit windows, timestamps). Default: the system clock. */
  readonly clock?: Clock;
  /** Uniform on [0, 1), for fault draws and latencies. Default Math.random; inject a seeded one to repeat runs. */
  readonly random?: () => number;
  /** Keep each answer's body in its request record, for tests that validate them all. Default false. */
  readonly keepResponseBodies?: boolean;
  /** Called as each request is answered. */
  readonly onRequest?: (request: RequestRecord) => void;
}

/** Injecting faults: `set` a route's spec (or `*`'s, for the rest), `clear` one or all. */
export type FaultControls = Pick<Faults, "set" | "clear">;

/**
 * GitHub's REST API on a loopback port, for the real `@octokit/rest` client (`baseUrl: simulator.url`):
 * issues, labels and milestones of repositories, the authenticated user and the rate-limit status, with
 * GitHub's permissions, errors, pagination, conditional requests, and primary and secondary rate limits;
 * and GitHub App authentication (an App's JWT exchanged for an hour's installation token). Seed it with
 * repositories, issues, tokens and Apps; inject faults; then inspect what it received, what it holds, and
 * which requests ignored a limit it had told about.
 */
export class GitHubSimulator {
  /** `http://127.0.0.1:PORT`: Octokit's `baseUrl`. */
  readonly url: string;

  private constructor(
    private readonly server: LoopbackServer,
    private readonly store: GitHubStore,
    private readonly log: RequestLog,
    private readonly stopping: AbortController,
    /** Faults to inject, per route. */
    readonly faults: FaultControls,
    /** The limits in force, GitHub's defaults filled in. */
    readonly limits: RateLimitConfig,
  ) {
    this.url = server.url;
  }

  static async start(options: StartGitHubSimulatorOptions = {}): Promise<GitHubSimulator> {
    const clock = options.clock ?? systemClock;
    const store = new GitHubStore(clock);
    const limits = new GitHubRateLimits({ ...GITHUB_RATE_LIMITS, ...options.limits });
    const faults = new Faults(options.random);
    const log = new RequestLog(options.onRequest);
    const stopping = new AbortController();
    const server = await listenOnLoopback(
      gitHubRequestListener({
        store,
        limits,
        faults,
        log,
        clock,
        keepResponseBodies: options.keepResponseBodies ?? false,
        stopped: stopping.signal,
      }),
      options.port,
    );
    return new GitHubSimulator(server, store, log, stopping, faults, limits.config);
  }

  /** Creates a repository; returns its full name, `owner/name`. Names are case-insensitive, as on GitHub. */
  createRepository(seed: RepositorySeed): string {
    return this.store.createRepository(seed).fullName;
  }

  /** Adds labels, or restyles those that exist (such as GitHub's default labels). */
  seedLabels(repository: string, labels: readonly LabelSeed[]): void {
    this.store.seedLabels(repository, labels);
  }

  /** Adds milestones; returns their numbers. */
  seedMilestones(repository: string, milestones: readonly MilestoneSeed[]): number[] {
    return this.store.seedMilestones(repository, milestones);
  }

  /** Adds issues and pull requests (`pullRequest: true`) in order; returns their numbers. */
  seedIssues(repository: string, issues: readonly IssueSeed[]): number[] {
    return this.store.seedIssues(repository, issues);
  }

  /** Makes `token` valid for the user `login`, with the given access per repository. */
  grantToken(token: string, grant: TokenGrant): void {
    this.store.grantToken(token, grant);
  }

  /**
   * Registers a GitHub App, whose JWTs must be signed with the private half of `publicKey`; returns the
   * login of the bot its installations act as, `slug[bot]`.
   */
  registerApp(seed: AppSeed): string {
    return this.store.registerApp(seed).bot.login;
  }

  /**
   * Installs a registered App on an account, for some of its repositories: the App may then exchange
   * its JWT for an hour's installation token at `POST /app/installations/{id}/access_tokens`.
   */
  installApp(seed: InstallationSeed): void {
    this.store.installApp(seed);
  }

  /** Every request received so far, in order of arrival. */
  requests(): RequestRecord[] {
    return this.log.requests();
  }

  /** Every request that came while its client had been told to wait, in order of arrival. */
  violations(): Violation[] {
    return this.log.violations();
  }

  /** The issues and pull requests of a repository, in creation order. */
  issuesIn(repository: string): SimulatedIssue[] {
    return this.store.issuesIn(repository);
  }

  /** Stops listening and cuts every connection, pending requests included. What it holds stays readable. */
  stop(): Promise<void> {
    this.stopping.abort();
    return this.server.close();
  }
}

/** Starts a GitHub REST API simulator; see {@link GitHubSimulator}. */
export function startGitHubSimulator(options?: StartGitHubSimulatorOptions): Promise<GitHubSimulator> {
  return GitHubSimulator.start(options);
}
