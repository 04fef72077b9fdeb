/** Who a token acts as: the fields of an `auth.test` answer. Tokens are bot tokens (`xoxb-`). */
export interface SlackIdentity {
  readonly teamId: string;
  /** The workspace's name. */
  readonly team: string;
  /** The bot user's id: the `user` of the messages it posts. */
  readonly userId: string;
  /** The bot user's name. */
  readonly user: string;
  readonly botId: string;
}

export const DEFAULT_IDENTITY: SlackIdentity = {
  teamId: "T00SANDBOX",
  team: "Monarch Sandbox",
  userId: "U00MONARCH",
  user: "monarch",
  botId: "B00MONARCH",
};

export interface SlackChannelSeed {
  /** A channel id such as `C06GHMZB3M3`. */
  readonly id: string;
  /** Without the `#`. */
  readonly name: string;
  /** Whether the bot is in the channel: it can post only if it is. */
  readonly isMember: boolean;
  /** Default false. Nothing can be posted to or edited in an archived channel. */
  readonly isArchived?: boolean;
  /** Default false. A private channel the bot is not in does not exist for it (`channel_not_found`). */
  readonly isPrivate?: boolean;
}

export interface SlackChannel extends Required<SlackChannelSeed> {
  /** Epoch seconds. */
  readonly created: number;
}

/** A Block Kit block, kept as sent; only its `type` is checked. */
export interface SlackBlock {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** What a message said at one time. */
export interface MessageVersion {
  /** The message's `ts` for the original, the `edited.ts` for an update. */
  readonly ts: string;
  readonly text: string;
  /** Absent when the message has none. */
  readonly blocks?: readonly SlackBlock[];
}

export interface MessageContent {
  readonly text: string;
  readonly blocks?: readonly SlackBlock[];
}

/** A message as the store keeps it, with every version it had. */
export interface SlackMessage extends MessageContent {
  /** The channel's id. */
  readonly channel: string;
  readonly ts: string;
  /** The parent's ts when the message is a thread reply. */
  readonly threadTs?: string;
  /** The poster's user id and bot id. */
  readonly user: string;
  readonly botId: string;
  readonly teamId: string;
  /** Oldest first: the original, then one per `chat.update`; the last is the current text and blocks. */
  readonly versions: readonly MessageVersion[];
}

export type MessageChange = "posted" | "updated";

/**
 * The state of the simulated Slack: tokens, channels and the messages posted, with timestamps in Slack's
 * `ts` format. It enforces no API rule; the methods do.
 */
export class Workspace {
  private readonly identities = new Map<string, SlackIdentity>();
  private readonly channels = new Map<string, SlackChannel>();
  /** Per channel id, by ts; insertion order is ts order. */
  private readonly store = new Map<string, Map<string, SlackMessage>>();
  private lastMicros = 0;

  constructor(private readonly onChange?: (message: SlackMessage, change: MessageChange) => void) {}

  addToken(token: string, identity: SlackIdentity): void {
    this.identities.set(token, identity);
  }

  identify(token: string): SlackIdentity | undefined {
    return this.identities.get(token);
  }

  /** Adds a channel, or replaces the one with its id (messages stay). */
  addChannel(seed: SlackChannelSeed): void {
    this.channels.set(seed.id, {
      isArchived: false,
      isPrivate: false,
      ...seed,
      created: this.channels.get(seed.id)?.created ?? Math.floor(Date.now() / 1000),
    });
  }

  channelById(id: string): SlackChannel | undefined {
    return this.channels.get(id);
  }

  /** By id, or by name with or without `#`, as `chat.postMessage` accepts either. */
  channelByIdOrName(reference: string): SlackChannel | undefined {
    const name = reference.replace(/^#/, "");
    return (
      this.channels.get(reference) ?? [...this.channels.values()].find((channel) => channel.name === name)
    );
  }

  post(
    channel: string,
    poster: SlackIdentity,
    content: MessageContent,
    threadTs: string | undefined,
  ): SlackMessage {
    const ts = this.nextTs();
    const message: SlackMessage = {
      channel,
      ts,
      ...(threadTs === undefined ? {} : { threadTs }),
      user: poster.userId,
      botId: poster.botId,
      teamId: poster.teamId,
      ...content,
      versions: [{ ts, ...content }],
    };
    const messages = this.store.get(channel) ?? new Map<string, SlackMessage>();
    messages.set(ts, message);
    this.store.set(channel, messages);
    this.onChange?.(message, "posted");
    return message;
  }

  message(channel: string, ts: string): SlackMessage | undefined {
    return this.store.get(channel)?.get(ts);
  }

  /** Replaces the content of a stored message, keeping the old one as a version. */
  update(message: SlackMessage, content: MessageContent): SlackMessage {
    const { blocks: _replaced, ...rest } = message;
    const updated: SlackMessage = {
      ...rest,
      ...content,
      versions: [...message.versions, { ts: this.nextTs(), ...content }],
    };
    this.store.get(message.channel)?.set(message.ts, updated);
    this.onChange?.(updated, "updated");
    return updated;
  }

  /** A channel's messages, or every channel's, oldest first. */
  messages(channel?: string): SlackMessage[] {
    if (channel !== undefined) return [...(this.store.get(channel)?.values() ?? [])];
    // Every ts has ten digits before the point (until 2286), so text order is time order.
    const all = [...this.store.values()].flatMap((messages) => [...messages.values()]);
    return all.sort((a, b) => a.ts.localeCompare(b.ts));
  }

  /** Wall-clock microseconds, strictly increasing, so that every ts is unique and later than the last. */
  private nextTs(): string {
    const micros = Math.max(Date.now() * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, "0")}`;
  }
}
