import { Agent, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Logger,
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type WebClientOptions,
} from "@slack/web-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type SlackErrorCode,
  type SlackRequestRecord,
  type SlackSimulator,
  type StartSlackSimulatorOptions,
  startSlackSimulator,
} from "../src/index.js";

const TOKEN = "xoxb-test-token";
const CHANNEL = "C06GHMZB3M3";
const TS = /^\d{10}\.\d{6}$/;

/** The client logs refusals and retries; the tests check them instead. */
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

const started: SlackSimulator[] = [];

/** A simulator with the test token and a channel the bot is in. */
async function simulator(options: StartSlackSimulatorOptions = {}): Promise<SlackSimulator> {
  const slack = await startSlackSimulator(options);
  started.push(slack);
  slack.addToken(TOKEN);
  slack.addChannel({ id: CHANNEL, name: "cohort-7", isMember: true });
  return slack;
}

function client(slack: SlackSimulator, options: WebClientOptions = {}, token = TOKEN) {
  // No retries unless a test asks: a refusal should surface at once.
  return new WebClient(token, {
    slackApiUrl: slack.url,
    logger: quiet,
    retryConfig: { retries: 0 },
    ...options,
  });
}

async function refusal(call: Promise<unknown>): Promise<{ error: string; messages?: string[] }> {
  const error = await call.then(
    () => expect.unreachable("the call succeeded"),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  const { data } = error as WebAPIPlatformError;
  return {
    error: data.error,
    ...(data.response_metadata?.messages ? { messages: data.response_metadata.messages } : {}),
  };
}

function post(
  slack: SlackSimulator,
  body: string | object,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${slack.url}chat.postMessage`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((slack) => slack.stop()));
});

describe("the Slack simulator", () => {
  let slack: SlackSimulator;
  let web: WebClient;
  beforeEach(async () => {
    slack = await simulator();
    web = client(slack);
  });

  it("tells the bot who it is", async () => {
    slack.addToken("xoxb-other", { teamId: "T0OTHER", team: "Other Team", userId: "U0OTHER", user: "other" });
    expect(await web.auth.test()).toMatchObject({
      ok: true,
      url: "https://monarch-sandbox.slack.com/",
      team: "Monarch Sandbox",
      user: "monarch",
      team_id: "T00SANDBOX",
      user_id: "U00MONARCH",
      bot_id: "B00MONARCH",
    });
    expect(await client(slack, {}, "xoxb-other").auth.test()).toMatchObject({
      team: "Other Team",
      team_id: "T0OTHER",
      user_id: "U0OTHER",
    });
  });

  it("posts and updates messages, and keeps every version of them", async () => {
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*cider-falls*: 0 of 12 issues" } }];
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: "Migrating cider-falls", blocks });
    expect(posted).toMatchObject({
      ok: true,
      channel: CHANNEL,
      message: {
        type: "message",
        text: "Migrating cider-falls",
        user: "U00MONARCH",
        bot_id: "B00MONARCH",
        blocks,
      },
    });
    const ts = posted.ts ?? "";
    expect(ts).toMatch(TS);
    expect(posted.message?.ts).toBe(ts);

    const reply = await web.chat.postMessage({ channel: CHANNEL, text: "details", thread_ts: ts });
    expect(reply.message?.thread_ts).toBe(ts);
    expect(Number(reply.ts)).toBeGreaterThan(Number(ts));

    const updated = await web.chat.update({ channel: CHANNEL, ts, text: "Migrated cider-falls: 12 of 12" });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts, text: "Migrated cider-falls: 12 of 12" });
    expect(updated.message?.edited?.ts).toMatch(TS);
    // Blocks left out of an update stay; an empty list removes them.
    expect(updated.message?.blocks).toEqual(blocks);
    await web.chat.update({ channel: CHANNEL, ts, blocks: [] });

    const [message, threadReply] = slack.messages(CHANNEL);
    expect(message).toMatchObject({ channel: CHANNEL, ts, text: "Migrated cider-falls: 12 of 12" });
    expect(message?.blocks).toBeUndefined();
    expect(message?.versions.map((version) => [version.text, version.blocks?.length ?? 0])).toEqual([
      ["Migrating cider-falls", 1],
      ["Migrated cider-falls: 12 of 12", 1],
      ["Migrated cider-falls: 12 of 12", 0],
    ]);
    expect(message?.versions[0]?.ts).toBe(ts);
    expect(threadReply).toMatchObject({ text: "details", threadTs: ts });
    expect(slack.messages().map((each) => each.ts)).toEqual([ts, reply.ts]);
    expect(slack.requests().map(({ method, status }) => `${method} ${status}`)).toEqual([
      "chat.postMessage 200",
      "chat.postMessage 200",
      "chat.update 200",
      "chat.update 200",
    ]);
  });

  it("gives every message a unique ts that grows, even within a microsecond", async () => {
    const posts = await Promise.all(
      Array.from({ length: 5 }, (_, index) => web.chat.postMessage({ channel: CHANNEL, text: `#${index}` })),
    );
    const stamps = slack.messages(CHANNEL).map((message) => message.ts);
    expect(new Set(stamps).size).toBe(5);
    expect([...stamps].sort()).toEqual(stamps);
    expect(posts.map((each) => each.ts).sort()).toEqual(stamps);
  });

  it("posts to a channel named rather than identified, and answers with its id", async () => {
    expect((await web.chat.postMessage({ channel: "#cohort-7", text: "by name" })).channel).toBe(CHANNEL);
    expect((await web.chat.postMessage({ channel: "cohort-7", text: "without #" })).channel).toBe(CHANNEL);
  });

  it("describes a channel with conversations.info", async () => {
    slack.addChannel({ id: "C0OUTSIDE", name: "outside", isMember: false });
    expect(await web.conversations.info({ channel: CHANNEL })).toMatchObject({
      ok: true,
      channel: {
        id: CHANNEL,
        name: "cohort-7",
        is_channel: true,
        is_private: false,
        is_member: true,
        is_archived: false,
      },
    });
    expect((await web.conversations.info({ channel: "C0OUTSIDE" })).channel?.is_member).toBe(false);
  });

  it("reads form bodies with the token in a field, and JSON bodies with the token in the header only", async () => {
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const viaField = await post(slack, `token=${TOKEN}&channel=${CHANNEL}&text=form`, form);
    expect(await viaField.json()).toMatchObject({ ok: true, message: { text: "form" } });

    const json = { "content-type": "application/json; charset=utf-8" };
    const viaHeader = await post(
      slack,
      { channel: CHANNEL, text: "json" },
      { ...json, authorization: `Bearer ${TOKEN}` },
    );
    expect(await viaHeader.json()).toMatchObject({ ok: true, message: { text: "json" } });
    const tokenInJson = await post(slack, { token: TOKEN, channel: CHANNEL, text: "json" }, json);
    expect(await tokenInJson.json()).toEqual({ ok: false, error: "not_authed" });
  });

  it("refuses what Slack refuses, with HTTP 200 and the error Slack documents", async () => {
    slack.addChannel({ id: "C0OUTSIDE", name: "outside", isMember: false });
    slack.addChannel({ id: "C0SECRET", name: "secret", isMember: false, isPrivate: true });
    slack.addChannel({ id: "C0OLD", name: "old", isMember: true, isArchived: true });
    slack.addToken("xoxb-other-bot", { userId: "U0OTHER", botId: "B0OTHER" });
    const { ts = "" } = await web.chat.postMessage({ channel: CHANNEL, text: "mine" });

    // Called one at a time, in order: the last ones depend on what the first ones left.
    const cases: [() => Promise<unknown>, SlackErrorCode][] = [
      [() => new WebClient(undefined, { slackApiUrl: slack.url, logger: quiet }).auth.test(), "not_authed"],
      [() => client(slack, {}, "xoxb-revoked").auth.test(), "invalid_auth"],
      [() => web.chat.postMessage({ channel: "C0NOWHERE", text: "hi" }), "channel_not_found"],
      [() => web.chat.postMessage({ channel: "C0SECRET", text: "hi" }), "channel_not_found"],
      [() => web.conversations.info({ channel: "C0SECRET" }), "channel_not_found"],
      [() => web.chat.postMessage({ channel: "C0OUTSIDE", text: "hi" }), "not_in_channel"],
      [() => web.chat.postMessage({ channel: "C0OLD", text: "hi" }), "is_archived"],
      [() => web.chat.postMessage({ channel: CHANNEL, text: "" }), "no_text"],
      [() => web.apiCall("chat.postMessage", { channel: CHANNEL, blocks: "[{" }), "invalid_blocks_format"],
      [
        () => web.apiCall("chat.postMessage", { channel: CHANNEL, blocks: [{ text: "no type" }] }),
        "invalid_blocks",
      ],
      [() => web.chat.update({ channel: CHANNEL, ts: "1700000000.000001", text: "x" }), "message_not_found"],
      [() => web.chat.update({ channel: "C0NOWHERE", ts, text: "x" }), "channel_not_found"],
      [() => web.chat.update({ channel: CHANNEL, ts, text: "" }), "no_text"],
      [
        () => client(slack, {}, "xoxb-other-bot").chat.update({ channel: CHANNEL, ts, text: "x" }),
        "cant_update_message",
      ],
      [() => web.apiCall("chat.unfurl", {}), "unknown_method"],
    ];
    for (const [call, code] of cases) expect((await refusal(call())).error, code).toBe(code);

    // Slack says which argument is missing in response_metadata.
    expect(await refusal(web.apiCall("chat.update", { channel: CHANNEL, text: "x" }))).toEqual({
      error: "invalid_arguments",
      messages: ["[ERROR] missing required field: ts"],
    });
    // An archived channel's messages cannot be edited either; chat.update calls that is_inactive.
    slack.addChannel({ id: CHANNEL, name: "cohort-7", isMember: true, isArchived: true });
    expect((await refusal(web.chat.update({ channel: CHANNEL, ts, text: "x" }))).error).toBe("is_inactive");

    expect(slack.messages(CHANNEL).map((message) => message.text)).toEqual(["mine"]);
    expect(new Set(slack.requests().map((request) => request.status))).toEqual(new Set([200]));
  });

  it("refuses bodies it cannot read as Slack does", async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const answers = await Promise.all([
      post(slack, "{", { ...auth, "content-type": "application/json" }),
      post(slack, "[]", { ...auth, "content-type": "application/json" }),
      post(slack, "channel=x", { ...auth, "content-type": "text/csv" }),
    ]);
    expect(await Promise.all(answers.map((answer) => answer.json()))).toEqual([
      { ok: false, error: "invalid_json" },
      { ok: false, error: "json_not_object" },
      { ok: false, error: "invalid_post_type" },
    ]);
    const elsewhere = await fetch(slack.url.replace("/api/", "/hooks/x"), { method: "POST" });
    expect(elsewhere.status).toBe(404);
  });

  it("tells each message as it is posted or updated", async () => {
    const seen: string[] = [];
    const watched = await simulator({
      onMessage: (message, change) => seen.push(`${change} ${message.text}`),
    });
    const watchedClient = client(watched);
    const { ts = "" } = await watchedClient.chat.postMessage({ channel: CHANNEL, text: "one" });
    await watchedClient.chat.update({ channel: CHANNEL, ts, text: "two" });
    expect(seen).toEqual(["posted one", "updated two"]);
  });
});

describe("the Slack simulator's rate limits", () => {
  it("answers 429 with Retry-After in whole seconds and a ratelimited body once a method's limit is spent", async () => {
    const slack = await simulator({ rateLimits: { "chat.update": { limit: 2, windowMs: 60_000 } } });
    const web = client(slack, { rejectRateLimitedCalls: true });
    const { ts = "" } = await web.chat.postMessage({ channel: CHANNEL, text: "v1" });
    await web.chat.update({ channel: CHANNEL, ts, text: "v2" });
    await web.chat.update({ channel: CHANNEL, ts, text: "v3" });

    const limited = await web.chat
      .update({ channel: CHANNEL, ts, text: "v4" })
      .catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(WebAPIRateLimitedError);
    expect((limited as WebAPIRateLimitedError).retryAfter).toBe(60);

    const raw = await fetch(`${slack.url}chat.update`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-www-form-urlencoded" },
      body: `channel=${CHANNEL}&ts=${ts}&text=v5`,
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get("retry-after")).toBe("60");
    expect(await raw.json()).toEqual({ ok: false, error: "ratelimited" });

    // Other methods have limits of their own; a refused call changes nothing.
    await web.auth.test();
    expect(slack.messages(CHANNEL)[0]?.text).toBe("v3");
    expect(
      slack
        .requests()
        .map(({ method, status, error, retryAfter }) => ({ method, status, error, retryAfter })),
    ).toEqual([
      { method: "chat.postMessage", status: 200, error: undefined, retryAfter: undefined },
      { method: "chat.update", status: 200, error: undefined, retryAfter: undefined },
      { method: "chat.update", status: 200, error: undefined, retryAfter: undefined },
      { method: "chat.update", status: 429, error: "ratelimited", retryAfter: 60 },
      { method: "chat.update", status: 429, error: "ratelimited", retryAfter: 60 },
      { method: "auth.test", status: 200, error: undefined, retryAfter: undefined },
    ]);
  });

  it("limits chat.postMessage per channel: a burst of five, then about one a second", async () => {
    const slack = await simulator();
    slack.addChannel({ id: "C0SECOND", name: "second", isMember: true });
    const web = client(slack, { rejectRateLimitedCalls: true });
    for (let index = 0; index < 5; index++)
      await web.chat.postMessage({ channel: CHANNEL, text: `${index}` });
    const limited = await web.chat
      .postMessage({ channel: CHANNEL, text: "6" })
      .catch((error: unknown) => error);
    expect((limited as WebAPIRateLimitedError).retryAfter).toBe(5);
    // By name, it is the same channel and the same limit.
    await expect(web.chat.postMessage({ channel: "#cohort-7", text: "6" })).rejects.toThrow(
      WebAPIRateLimitedError,
    );
    await web.chat.postMessage({ channel: "C0SECOND", text: "elsewhere" });
  });

  it("scales its windows, and a WebClient that honours Retry-After gets every message through", async () => {
    // A window of 900 ms: the burst fits in it, and the 1 s Retry-After outlasts it.
    const slack = await simulator({
      timeScale: 100,
      rateLimits: { "chat.postMessage": { limit: 3, windowMs: 90_000 } },
    });
    const web = client(slack, { retryConfig: { retries: 3, minTimeout: 0, maxTimeout: 0 } });
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 6 }, (_, index) => web.chat.postMessage({ channel: CHANNEL, text: `${index}` })),
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(slack.messages(CHANNEL)).toHaveLength(6);
    const limited = slack.requests().filter((request) => request.status === 429);
    expect(limited.map((request) => request.retryAfter)).toEqual([1, 1, 1]);
    // Each refused call came back only once its own Retry-After had passed. (The WebClient retries each
    // call on its own timer, so on a loaded machine a retry may precede the Retry-After of a 429 read
    // later: what the simulator's ignoredRetryAfter records, key-wide as Slack counts it.)
    const retries = slack
      .requests()
      .filter((request) => request.status !== 429)
      .slice(3);
    const refusedAt = limited.map((request) => request.at).sort((a, b) => a - b);
    expect(retries).toHaveLength(3);
    const retriedAt = retries.map((request) => request.at).sort((a, b) => a - b);
    for (const [index, at] of retriedAt.entries()) {
      expect(at).toBeGreaterThanOrEqual((refusedAt[index] ?? 0) + 990);
    }
  });

  it("records the calls that come before their Retry-After has passed", async () => {
    // A minute of 600 ms, and a Retry-After of 1 s.
    const slack = await simulator({
      timeScale: 100,
      rateLimits: { "conversations.info": { limit: 1, windowMs: 60_000 } },
    });
    // Each agent keeps one connection: fetch may open a new one for any call.
    const first = new Agent({ keepAlive: true, maxSockets: 1 });
    const second = new Agent({ keepAlive: true, maxSockets: 1 });
    const info = (agent: Agent) =>
      new Promise<number>((resolve, reject) => {
        const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
        request(`${slack.url}conversations.info`, { agent, method: "POST", headers }, (response) => {
          response.resume().once("end", () => resolve(response.statusCode ?? 0));
        })
          .once("error", reject)
          .end(JSON.stringify({ channel: CHANNEL }));
      });
    try {
      expect(await info(first)).toBe(200);
      expect(await info(first)).toBe(429);
      // At once on the connection that carried the 429: sent after reading it.
      expect(await info(first)).toBe(429);
      // At once on another connection: it may have been sent with the first, so it is not held against it.
      expect(await info(second)).toBe(429);
      // After the window but before the Retry-After: it gets through, but too early.
      await sleep(700);
      expect(await info(second)).toBe(200);
      await sleep(700);
      expect(await info(first)).toBe(200);
    } finally {
      first.destroy();
      second.destroy();
    }
    const ignored = (record: SlackRequestRecord) => `${record.status} ${record.ignoredRetryAfter}`;
    expect(slack.requests().map(ignored)).toEqual([
      "200 false",
      "429 false",
      "429 true",
      "429 false",
      "200 true",
      "200 false",
    ]);
  });
});

describe("the Slack simulator's faults", () => {
  it("fails calls with a 5xx until spent, and the WebClient retries them", async () => {
    const slack = await simulator();
    slack.injectFault({ methods: ["chat.postMessage"], times: 2, fail: 503 });
    const retrying = client(slack, { retryConfig: { retries: 2, minTimeout: 0, maxTimeout: 0 } });
    await retrying.auth.test();
    await retrying.chat.postMessage({ channel: CHANNEL, text: "through" });
    expect(slack.requests().map(({ method, status }) => `${method} ${status}`)).toEqual([
      "auth.test 200",
      "chat.postMessage 503",
      "chat.postMessage 503",
      "chat.postMessage 200",
    ]);
    expect(slack.messages(CHANNEL)).toHaveLength(1);

    slack.injectFault({ fail: 500 });
    const error = await client(slack)
      .auth.test()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WebAPIHTTPError);
    expect((error as WebAPIHTTPError).statusCode).toBe(500);
    slack.clearFaults();
    await client(slack).auth.test();
  });

  it("drops connections without an answer, as in an outage", async () => {
    const slack = await simulator();
    slack.injectFault({ fail: "drop" });
    await expect(client(slack).auth.test()).rejects.toThrow(WebAPIRequestError);
    expect(slack.requests()).toMatchObject([{ method: "auth.test", status: "dropped" }]);
  });

  it("answers late but takes effect at once, so a client that times out and retries posts twice", async () => {
    const slack = await simulator();
    slack.injectFault({ methods: ["chat.postMessage"], times: 1, delayMs: 400 });
    const impatient = client(slack, {
      timeout: 150,
      retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 },
    });
    const started = performance.now();
    await impatient.chat.postMessage({ channel: CHANNEL, text: "once?" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    expect(slack.messages(CHANNEL).map((message) => message.text)).toEqual(["once?", "once?"]);
  });

  it("refuses faults it cannot apply", async () => {
    const slack = await simulator();
    expect(() => slack.injectFault({ times: 0, fail: 503 })).toThrow(RangeError);
    expect(() => slack.injectFault({ delayMs: -1 })).toThrow(RangeError);
    await expect(startSlackSimulator({ timeScale: 0 })).rejects.toThrow(RangeError);
  });
});
