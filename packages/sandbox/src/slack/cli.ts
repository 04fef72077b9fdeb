#!/usr/bin/env node
// Runs the Slack simulator by hand, with a demo token and channel, and prints each message as it is
// posted or updated and each call Slack would refuse:
//   node packages/sandbox/dist/slack/cli.js [--port 0]
import { portOption } from "../http/port-option.js";
import type { SlackRequestRecord } from "./handler.js";
import { startSlackSimulator } from "./simulator.js";
import type { MessageChange, SlackMessage } from "./workspace.js";

const USAGE = "usage: slack [--port 0]  (0, the default, picks a free port)";
const DEMO_TOKEN = "xoxb-sandbox-demo";
const DEMO_CHANNEL = { id: "C06GHMZB3M3", name: "cohort-demo", isMember: true } as const;

function formatMessage(message: SlackMessage, change: MessageChange): string {
  const edits = message.versions.length - 1;
  const head = [
    change.padEnd(7),
    message.channel,
    message.ts,
    ...(message.threadTs === undefined ? [] : [`in thread ${message.threadTs}`]),
    ...(edits > 0 ? [`edit ${edits}`] : []),
    ...(message.blocks ? [`${message.blocks.length} blocks`] : []),
  ].join("  ");
  const text = message.text.split("\n").map((line) => `    ${line}`);
  return [head, ...text].join("\n");
}

function formatRefusal(request: SlackRequestRecord): string | undefined {
  if (request.status === 200 && request.error === undefined) return undefined;
  const details = [
    String(request.status),
    request.method,
    ...(request.error === undefined ? [] : [request.error]),
    ...(request.retryAfter === undefined ? [] : [`Retry-After ${request.retryAfter} s`]),
    ...(request.ignoredRetryAfter ? ["(sent before an earlier Retry-After had passed)"] : []),
  ];
  return `refused  ${details.join("  ")}`;
}

const port = portOption(0);
if (port === undefined) {
  console.error(USAGE);
  process.exit(2);
}

try {
  const simulator = await startSlackSimulator({
    port,
    onMessage: (message, change) => console.log(formatMessage(message, change)),
    onRequest: (request) => {
      const refusal = formatRefusal(request);
      if (refusal) console.log(refusal);
    },
  });
  const bot = simulator.addToken(DEMO_TOKEN);
  simulator.addChannel(DEMO_CHANNEL);
  console.log(
    [
      `Slack Web API simulator on ${simulator.url}; Ctrl-C stops it`,
      `  token    ${DEMO_TOKEN}  (bot ${bot.user} ${bot.userId}/${bot.botId} in ${bot.team} ${bot.teamId})`,
      `  channel  ${DEMO_CHANNEL.id}  #${DEMO_CHANNEL.name}  (the bot is a member)`,
      `  try      curl -s -H 'Authorization: Bearer ${DEMO_TOKEN}' -d channel=${DEMO_CHANNEL.id} -d text=hello ${simulator.url}chat.postMessage`,
    ].join("\n"),
  );
  const stop = () => void simulator.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  console.error(`cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
  process.exitCode = 1;
}
