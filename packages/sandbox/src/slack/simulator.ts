import { type LoopbackServer, listenOnLoopback } from "../http/loopback-server.js";
import { Faults, type SlackFault } from "./faults.js";
import { handleSlackRequest, type SlackRequestRecord } from "./handler.js";
import { type SlackRateLimitOverrides, SlackRateLimits } from "./rate-limits.js";
import { API_PATH } from "./request.js";
import {
  DEFAULT_IDENTITY,
  type MessageChange,
  type SlackChannelSeed,
  type SlackIdentity,
  type SlackMessage,
  Workspace,
} from "./workspace.js";

export interface StartSlackSimulatorOptions {
  /** Default: any free port. */
  readonly port?: number;
  /**
   * Divides every rate-limit window, so that tests need not wait minutes: at 100 a minute lasts 600 ms.
   * Default 1, Slack's own pace. `Retry-After` stays in real seconds, rounded up.
   */
  readonly timeScale?: number;
  /** Replaces Slack's limit of some methods (see `SLACK_RATE_LIMITS`); `false` turns one off. */
  readonly rateLimits?: SlackRateLimitOverrides;
  /** Called as each message is posted or updated, before the caller gets its answer. */
  readonly onMessage?: (message: SlackMessage, change: MessageChange) => void;
  /** Called as each call is answered. */
  readonly onRequest?: (request: SlackRequestRecord) => void;
}

/**
 * The Slack Web API on a loopback port, for the real `@slack/web-api` client: `chat.postMessage`,
 * `chat.update`, `auth.test` and `conversations.info`, with Slack's errors and rate limits. Seed it with
 * tokens and channels, point a `WebClient` at {@link url}, then inspect the {@link messages} it keeps
 * and the {@link requests} it answered.
 */
export class SlackSimulator {
  /** `http://127.0.0.1:PORT/api/`: the `slackApiUrl` for a `WebClient`. */
  readonly url: string;
  private readonly answered: SlackRequestRecord[] = [];

  private constructor(
    private readonly server: LoopbackServer,
    private readonly workspace: Workspace,
    private readonly faults: Faults,
  ) {
    this.url = `${server.url}${API_PATH}`;
  }

  static async start(options: StartSlackSimulatorOptions = {}): Promise<SlackSimulator> {
    const workspace = new Workspace(options.onMessage);
    const rateLimits = new SlackRateLimits(options.rateLimits ?? {}, options.timeScale ?? 1);
    const faults = new Faults();
    // Nothing can call before the URL is known, so no request arrives before the simulator exists.
    let simulator: SlackSimulator | undefined;
    const record = (request: SlackRequestRecord) => {
      simulator?.answered.push(request);
      options.onRequest?.(request);
    };
    const server = await listenOnLoopback(
      (request, response) => handleSlackRequest({ workspace, rateLimits, faults, record }, request, response),
      options.port,
    );
    simulator = new SlackSimulator(server, workspace, faults);
    return simulator;
  }

  /**
   * Makes `token` valid, acting as `identity` (by default the Monarch Sandbox workspace's `monarch` bot);
   * returns the identity it acts as. Adding a token again replaces its identity.
   */
  addToken(token: string, identity: Partial<SlackIdentity> = {}): SlackIdentity {
    const full = { ...DEFAULT_IDENTITY, ...identity };
    this.workspace.addToken(token, full);
    return full;
  }

  /** Adds a channel, or replaces the one with its id (its messages stay): e.g. to archive it. */
  addChannel(channel: SlackChannelSeed): void {
    this.workspace.addChannel(channel);
  }

  /** The messages of a channel (by id), or of every channel, oldest first, each with its versions. */
  messages(channel?: string): SlackMessage[] {
    return this.workspace.messages(channel);
  }

  /** Every call answered so far, in the order answered. */
  requests(): SlackRequestRecord[] {
    return [...this.answered];
  }

  /** Makes the calls it matches slow or failing, until spent or {@link clearFaults}. */
  injectFault(fault: SlackFault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Stops listening. What it keeps stays readable. */
  stop(): Promise<void> {
    return this.server.close();
  }
}

/** Starts a Slack Web API simulator; see {@link SlackSimulator}. */
export function startSlackSimulator(options?: StartSlackSimulatorOptions): Promise<SlackSimulator> {
  return SlackSimulator.start(options);
}
