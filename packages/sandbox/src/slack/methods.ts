import { SlackApiError } from "./errors.js";
import type {
  MessageContent,
  SlackBlock,
  SlackChannel,
  SlackIdentity,
  SlackMessage,
  Workspace,
} from "./workspace.js";

export const SLACK_METHODS = ["auth.test", "chat.postMessage", "chat.update", "conversations.info"] as const;

/** The Web API methods the simulator implements. */
export type SlackMethod = (typeof SLACK_METHODS)[number];

export function isSlackMethod(name: string): name is SlackMethod {
  return (SLACK_METHODS as readonly string[]).includes(name);
}

/** A call's arguments: strings from a form body, any JSON value from a JSON body. */
export type SlackArgs = Readonly<Record<string, unknown>>;

type Method = (workspace: Workspace, caller: SlackIdentity, args: SlackArgs) => Record<string, unknown>;

const METHODS: Readonly<Record<SlackMethod, Method>> = {
  "auth.test": (_workspace, caller) => ({
    ok: true,
    url: `https://${caller.team.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.slack.com/`,
    team: caller.team,
    user: caller.user,
    team_id: caller.teamId,
    user_id: caller.userId,
    bot_id: caller.botId,
    is_enterprise_install: false,
  }),

  "conversations.info": (workspace, _caller, args) => ({
    ok: true,
    channel: channelBody(visibleChannel(workspace.channelById(requiredString(args, "channel")))),
  }),

  "chat.postMessage": (workspace, caller, args) => {
    // Unlike the other methods, chat.postMessage also takes a channel's name.
    const channel = visibleChannel(workspace.channelByIdOrName(requiredString(args, "channel")));
    const text = optionalString(args, "text");
    const blocks = blocksArgument(args);
    const threadTs = optionalString(args, "thread_ts");
    if (channel.isArchived) throw new SlackApiError("is_archived");
    if (!channel.isMember) throw new SlackApiError("not_in_channel");
    if (!text && !blocks?.length) throw new SlackApiError("no_text");
    const content: MessageContent = { text: text ?? "", ...(blocks?.length ? { blocks } : {}) };
    const message = workspace.post(channel.id, caller, content, threadTs);
    return { ok: true, channel: channel.id, ts: message.ts, message: messageBody(message) };
  },

  "chat.update": (workspace, caller, args) => {
    const channel = visibleChannel(workspace.channelById(requiredString(args, "channel")));
    const message = workspace.message(channel.id, requiredString(args, "ts"));
    const text = optionalString(args, "text");
    const blocks = blocksArgument(args);
    if (!message) throw new SlackApiError("message_not_found");
    if (message.user !== caller.userId) throw new SlackApiError("cant_update_message");
    if (channel.isArchived) throw new SlackApiError("is_inactive");
    if (!text && blocks === undefined) throw new SlackApiError("no_text");
    // What is left out stays as it was; an empty `blocks` removes them.
    const nextBlocks = blocks ?? message.blocks;
    const content: MessageContent = {
      text: text ?? message.text,
      ...(nextBlocks?.length ? { blocks: nextBlocks } : {}),
    };
    const updated = workspace.update(message, content);
    return {
      ok: true,
      channel: channel.id,
      ts: updated.ts,
      text: updated.text,
      message: messageBody(updated),
    };
  },
};

/** Runs a method; a refusal throws {@link SlackApiError}. */
export function callMethod(
  method: SlackMethod,
  workspace: Workspace,
  caller: SlackIdentity,
  args: SlackArgs,
): Record<string, unknown> {
  return METHODS[method](workspace, caller, args);
}

/** A private channel the bot is not in is, to it, no channel at all. (Membership is the one bot's.) */
function visibleChannel(channel: SlackChannel | undefined): SlackChannel {
  if (!channel || (channel.isPrivate && !channel.isMember)) throw new SlackApiError("channel_not_found");
  return channel;
}

function requiredString(args: SlackArgs, name: string): string {
  const value = optionalString(args, name);
  if (!value) throw new SlackApiError("invalid_arguments", `missing required field: ${name}`);
  return value;
}

function optionalString(args: SlackArgs, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || typeof value === "string") return value;
  throw new SlackApiError("invalid_arguments", `invalid type for field: ${name}, expected a string`);
}

/** `blocks` arrive as a JSON string in a form body and as an array in a JSON body. */
function blocksArgument(args: SlackArgs): SlackBlock[] | undefined {
  let blocks = args.blocks;
  if (blocks === undefined) return undefined;
  if (typeof blocks === "string") {
    try {
      blocks = JSON.parse(blocks);
    } catch {
      throw new SlackApiError("invalid_blocks_format");
    }
  }
  if (!Array.isArray(blocks)) throw new SlackApiError("invalid_blocks_format");
  if (!blocks.every(isBlock)) throw new SlackApiError("invalid_blocks");
  return blocks;
}

function isBlock(value: unknown): value is SlackBlock {
  return (
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
  );
}

function messageBody(message: SlackMessage): Record<string, unknown> {
  const edit = message.versions.length > 1 ? message.versions.at(-1) : undefined;
  return {
    type: "message",
    user: message.user,
    bot_id: message.botId,
    team: message.teamId,
    text: message.text,
    ts: message.ts,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
    ...(edit ? { edited: { user: message.user, ts: edit.ts } } : {}),
  };
}

function channelBody(channel: SlackChannel): Record<string, unknown> {
  const unset = { value: "", creator: "", last_set: 0 };
  return {
    id: channel.id,
    name: channel.name,
    name_normalized: channel.name,
    created: channel.created,
    is_channel: true,
    is_group: false,
    is_im: false,
    is_mpim: false,
    is_private: channel.isPrivate,
    is_archived: channel.isArchived,
    is_general: false,
    is_shared: false,
    is_ext_shared: false,
    is_org_shared: false,
    is_pending_ext_shared: false,
    pending_shared: [],
    is_member: channel.isMember,
    topic: unset,
    purpose: unset,
    previous_names: [],
  };
}
