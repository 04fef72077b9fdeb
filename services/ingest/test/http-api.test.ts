import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { Agent, type IncomingMessage, request } from "node:http";
import { connect } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import {
  MAX_REQUEST_BYTES,
  MIGRATIONS_STREAM,
  type MigrationRequestPayload,
  MigrationStatus,
  migrationRecordKeys,
  parseMigrationRequest,
} from "@monarch/contracts";
import { until } from "@monarch/sandbox";
import { describe, expect, it } from "vitest";
import type { MigrationAccepted } from "../src/http/answers.js";
import type { RejectionReason } from "../src/reception.js";
import { signatureHeaders } from "../src/signature.js";
import {
  API_TOKEN,
  HMAC_SECRET,
  type IngestProcess,
  postMigration,
  sharedIngest,
  startIngest,
  storedRequests,
  useValkey,
} from "./support/ingest.js";

const valkey = useValkey();

const service = sharedIngest(valkey);
const url = () => service().url;

const bearer = { authorization: `Bearer ${API_TOKEN}` } as const;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const json = (value: unknown) => JSON.stringify(value);

let serial = 0;
/**
 * A valid request naming repositories no other test names: the duplicate window spans the whole file
 * (one Valkey), so two tests sending the same request would see each other's.
 */
function uniquePayload(overrides: Partial<MigrationRequestPayload> = {}) {
  serial += 1;
  return {
    source_repo: `monarch-tests/source-${serial}`,
    all_target_repositories: [`monarch-tests/target-${serial}-a`, `monarch-tests/target-${serial}-b`],
    notification_channel: "C06GHMZB3M3",
    ...overrides,
  };
}

/** A request to the service with exactly these headers (unlike `postMigration`, no Content-Type unless given). */
function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
  base = url(),
): Promise<Response> {
  const { method = "GET", headers = {}, body } = init;
  return fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

const getStatus = (requestId: string, base = url()) =>
  send(`/v1/migrations/${requestId}`, { headers: bearer }, base);
const replay = (requestId: string) =>
  send(`/v1/migrations/${requestId}/replay`, { method: "POST", headers: bearer });

const streamEntries = () => storedRequests(valkey.client());
const streamLength = () => valkey.client().xlen(MIGRATIONS_STREAM);
const entriesFor = async (requestId: string) =>
  (await streamEntries()).filter((entry) => entry.requestId === requestId);

/** The answer to an accepted (202) or duplicate (200) request, checked for its shape. */
async function acceptedAnswer(response: Response, status: 200 | 202 = 202): Promise<MigrationAccepted> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const answer = JSON.parse(text) as MigrationAccepted;
  expect(answer).toEqual({
    requestId: expect.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/),
    duplicate: status === 200,
    statusUrl: `/v1/migrations/${answer.requestId}`,
  });
  expect(response.headers.get("location")).toBe(answer.statusUrl);
  return answer;
}

/** A counter's `via="http"` series by one label's value, as `/metrics` serves them. */
async function httpCounts(
  ingest: IngestProcess,
  metric: string,
  by: string,
): Promise<Record<string, number>> {
  const text = await (await fetch(`${ingest.metricsUrl}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const [, name, labels = "", value] of text.matchAll(/^(\w+)\{(.*)\} (\S+)$/gm)) {
    if (name !== metric) continue;
    const label = Object.fromEntries([...labels.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    const key = label[by];
    if (label.via === "http" && key !== undefined) counts[key] = Number(value);
  }
  return counts;
}

/** `monarch_ingest_rejections_total{via="http"}` by reason. */
const httpRejections = (ingest: IngestProcess) =>
  httpCounts(ingest, "monarch_ingest_rejections_total", "reason");

interface ProblemBody {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly problems?: readonly { readonly path: string; readonly message: string }[];
}

/**
 * Sends a request that must be refused, and checks what every refusal shares: a problem document
 * with the status, nothing appended to the migrations stream, and the refusal counted once under
 * `reason` in `monarch_ingest_rejections_total` (or under no reason, for routing answers).
 */
async function expectRefused(
  sendIt: () => Promise<Response>,
  expected: { status: number; reason?: RejectionReason },
  ingest = service(),
): Promise<{ response: Response; problem: ProblemBody }> {
  const [lengthBefore, countsBefore] = await Promise.all([streamLength(), httpRejections(ingest)]);
  const response = await sendIt();
  const text = await response.text();
  expect(response.status, text).toBe(expected.status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const problem = JSON.parse(text) as ProblemBody;
  expect(problem).toMatchObject({
    status: expected.status,
    title: expect.stringMatching(/\S/),
    detail: expect.stringMatching(/\S/),
  });
  expect(await streamLength()).toBe(lengthBefore);
  const { reason } = expected;
  expect(await httpRejections(ingest)).toEqual(
    reason === undefined ? countsBefore : { ...countsBefore, [reason]: (countsBefore[reason] ?? 0) + 1 },
  );
  return { response, problem };
}

/** A 401 with its challenge. */
async function expectUnauthorized(sendIt: () => Promise<Response>, ingest = service()): Promise<ProblemBody> {
  const { response, problem } = await expectRefused(sendIt, { status: 401, reason: "unauthorized" }, ingest);
  expect(response.headers.get("www-authenticate")).toBe('Bearer realm="monarch-ingest"');
  return problem;
}

/** The answer of a node:http request, as a fetch `Response`. */
async function responseOf(message: IncomingMessage): Promise<Response> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    for (const one of [value ?? []].flat()) headers.append(name, one);
  }
  return new Response(Buffer.concat(chunks), { status: message.statusCode ?? 0, headers });
}

describe("POST /v1/migrations", () => {
  it("answers 202 only once the request is in the stream, and its status then says accepted via http", async () => {
    const body = json(uniquePayload({ dry_run: true }));
    const request = parseMigrationRequest(body);
    const lengthBefore = await streamLength();

    const answer = await acceptedAnswer(await postMigration(url(), body));

    // Read at once, not polled: the entry must be there by the time the answer is.
    expect(await streamLength()).toBe(lengthBefore + 1);
    const [entry, ...others] = await entriesFor(answer.requestId);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ requestId: answer.requestId, via: "http" });
    expect(entry?.request).toEqual(request);
    expect(request.options.dryRun).toBe(true);

    const status = await getStatus(answer.requestId);
    expect(status.status).toBe(200);
    expect(MigrationStatus.parse(await status.json())).toMatchObject({
      requestId: answer.requestId,
      stage: "accepted",
      via: "http",
      receivedAt: entry?.receivedAt,
      source: request.source,
      targetCount: request.targets.length,
      dryRun: true,
    });
  });
});

describe("authentication", () => {
  it("refuses a request without credentials with 401 and a WWW-Authenticate challenge", async () => {
    const problem = await expectUnauthorized(() => postMigration(url(), json(uniquePayload()), {}));
    expect(problem.detail).toMatch(/carries no credentials/);
  });

  const OTHER_SECRET = "not-the-service-secret-0123456789abcdef012";
  it.each<[string, (body: string) => { body: string; headers: Record<string, string> }]>([
    [
      "a signature made with another secret",
      (body) => ({ body, headers: signatureHeaders(OTHER_SECRET, body) }),
    ],
    [
      "a body changed after signing",
      (body) => ({
        body: body.replace("C06GHMZB3M3", "C06GHMZB3M4"),
        headers: signatureHeaders(HMAC_SECRET, body),
      }),
    ],
    [
      "a malformed signature header",
      (body) => ({
        body,
        headers: { ...signatureHeaders(HMAC_SECRET, body), "x-monarch-signature": "sha256=zz" },
      }),
    ],
    [
      "a signature without its timestamp",
      (body) => ({
        body,
        headers: { "x-monarch-signature": signatureHeaders(HMAC_SECRET, body)["x-monarch-signature"] },
      }),
    ],
    [
      "a timestamp 301 s old",
      (body) => ({ body, headers: signatureHeaders(HMAC_SECRET, body, nowSeconds() - 301) }),
    ],
    [
      // 302: the server's clock may tick once between signing and checking.
      "a timestamp 302 s in the future",
      (body) => ({ body, headers: signatureHeaders(HMAC_SECRET, body, nowSeconds() + 302) }),
    ],
    [
      "a wrong bearer token",
      (body) => ({ body, headers: { authorization: `Bearer ${API_TOKEN.slice(1)}x` } }),
    ],
    [
      "the HMAC secret as a bearer token",
      (body) => ({ body, headers: { authorization: `Bearer ${HMAC_SECRET}` } }),
    ],
    [
      "another Authorization scheme",
      (body) => ({
        body,
        headers: { authorization: `Basic ${Buffer.from(`monarch:${API_TOKEN}`).toString("base64")}` },
      }),
    ],
  ])("refuses %s with 401 and stores nothing", async (_case, sign) => {
    const { body, headers } = sign(json(uniquePayload()));
    await expectUnauthorized(() => postMigration(url(), body, headers));
  });

  it.each([
    ["299 s old", -299],
    ["299 s ahead", 299],
  ])("accepts a signature %s (within the 300 s tolerance)", async (_case, offset) => {
    const body = json(uniquePayload());
    await acceptedAnswer(
      await postMigration(url(), body, signatureHeaders(HMAC_SECRET, body, nowSeconds() + offset)),
    );
  });

  it("accepts the bearer token without a signature", async () => {
    const answer = await acceptedAnswer(await postMigration(url(), json(uniquePayload()), bearer));
    expect(await entriesFor(answer.requestId)).toHaveLength(1);
  });

  it("guards the status and replay routes too (a signed GET signs the empty body)", async () => {
    const { requestId } = await acceptedAnswer(await postMigration(url(), json(uniquePayload())));
    await expectUnauthorized(() => send(`/v1/migrations/${requestId}`));
    await expectUnauthorized(() => send(`/v1/migrations/${requestId}/replay`, { method: "POST" }));
    const signedGet = await send(`/v1/migrations/${requestId}`, {
      headers: signatureHeaders(HMAC_SECRET, ""),
    });
    expect(signedGet.status).toBe(200);
  });

  it("never shows a secret in an answer or in its output", async () => {
    const body = json(uniquePayload());
    const attempts = [
      postMigration(url(), body, { authorization: `Bearer ${HMAC_SECRET}` }),
      postMigration(url(), body, { authorization: `Bearer ${API_TOKEN}x` }),
      postMigration(url(), body, signatureHeaders(`${HMAC_SECRET}x`, body)),
      postMigration(url(), `${body} `, signatureHeaders(HMAC_SECRET, body)),
      postMigration(url(), "{", signatureHeaders(HMAC_SECRET, "{")),
    ];
    const answers = await Promise.all(
      attempts.map(async (attempt) => {
        const response = await attempt;
        return `${[...response.headers].join("\n")}\n${await response.text()}`;
      }),
    );
    expect(answers.join("\n")).toMatch(/Unauthorized/);
    const output = service().output();
    expect(output).toMatch(/request refused/);
    for (const secret of [HMAC_SECRET, API_TOKEN]) {
      for (const text of [...answers, output]) expect(text).not.toContain(secret);
    }
  });

  describe("while the HMAC secret is rotated", () => {
    const NEW_SECRET = "rotated-hmac-secret-0123456789abcdef0123456";
    const rotating = sharedIngest(valkey, {
      INGEST_HMAC_SECRET: NEW_SECRET,
      INGEST_HMAC_SECRET_PREVIOUS: HMAC_SECRET,
    });

    it("accepts signatures made with the new secret or the previous one, and no other", async () => {
      for (const secret of [NEW_SECRET, HMAC_SECRET]) {
        const body = json(uniquePayload());
        const answer = await acceptedAnswer(
          await postMigration(rotating().url, body, signatureHeaders(secret, body)),
        );
        expect(await entriesFor(answer.requestId)).toHaveLength(1);
      }
      const body = json(uniquePayload());
      await expectUnauthorized(
        () => postMigration(rotating().url, body, signatureHeaders(OTHER_SECRET, body)),
        rotating(),
      );
      expect(rotating().output()).toMatch(/request accepted/);
      for (const secret of [NEW_SECRET, HMAC_SECRET]) expect(rotating().output()).not.toContain(secret);
    });
  });
});

describe("Idempotency-Key", () => {
  const postWithKey = (key: string, body: string) =>
    postMigration(url(), body, { ...signatureHeaders(HMAC_SECRET, body), "idempotency-key": key });

  it("answers the same key and body again with the first answer, marked replayed, storing nothing new", async () => {
    const [key, body] = [randomUUID(), json(uniquePayload())];
    const first = await postWithKey(key, body);
    const firstBody = await first.text();
    expect(first.status).toBe(202);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const lengthAfterFirst = await streamLength();

    const again = await postWithKey(key, body);

    expect(again.status).toBe(first.status);
    expect(await again.text()).toBe(firstBody);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("location")).toBe(first.headers.get("location"));
    expect(await streamLength()).toBe(lengthAfterFirst);
  });

  it("stores one request for 20 concurrent requests with one key", async () => {
    const [key, body] = [randomUUID(), json(uniquePayload())];
    const lengthBefore = await streamLength();

    const responses = await Promise.all(Array.from({ length: 20 }, () => postWithKey(key, body)));

    const answers = await Promise.all(responses.map((response) => acceptedAnswer(response)));
    const ids = new Set(answers.map(({ requestId }) => requestId));
    expect(ids.size).toBe(1);
    const replayed = responses.filter((response) => response.headers.get("idempotent-replayed") === "true");
    expect(replayed).toHaveLength(19);
    expect(await streamLength()).toBe(lengthBefore + 1);
    expect(await entriesFor([...ids][0] ?? "")).toHaveLength(1);
  });

  it("refuses the same key with a different body with 422, counted as refused only", async () => {
    const key = randomUUID();
    await acceptedAnswer(await postWithKey(key, json(uniquePayload())));
    const outcomes = () => httpCounts(service(), "monarch_ingest_requests_total", "outcome");
    const before = await outcomes();
    const { problem } = await expectRefused(() => postWithKey(key, json(uniquePayload())), {
      status: 422,
      reason: "idempotency-key-reused",
    });
    expect(problem.title).toBe("Idempotency-Key reused");
    expect(await outcomes()).toEqual({ ...before, rejected: (before.rejected ?? 0) + 1 });
  });

  it("keeps a signed caller's keys apart from a bearer token's", async () => {
    const key = randomUUID();
    const signed = await acceptedAnswer(await postWithKey(key, json(uniquePayload())));
    const body = json(uniquePayload());
    const withToken = await acceptedAnswer(
      await postMigration(url(), body, { ...bearer, "idempotency-key": key }),
    );
    expect(withToken.requestId).not.toBe(signed.requestId);
    expect(await entriesFor(withToken.requestId)).toHaveLength(1);
  });

  it("takes a key of 255 visible ASCII characters", async () => {
    const key = `${randomUUID()}~!#`.padEnd(255, "k");
    await acceptedAnswer(await postWithKey(key, json(uniquePayload())));
  });

  it.each([
    ["of 300 characters", "k".repeat(300)],
    ["of 256 characters", "k".repeat(256)],
    ["with a control character (tab)", "order\t42"],
    ["with a space", "order 42"],
    ["with a non-ASCII character", "ordér-42"],
  ])("refuses a key %s with 400", async (_case, key) => {
    const { problem } = await expectRefused(() => postWithKey(key, json(uniquePayload())), {
      status: 400,
      reason: "bad-idempotency-key",
    });
    expect(problem.detail).toMatch(/Idempotency-Key must be/);
  });
});

describe("the duplicate window", () => {
  /** The same request written differently: the source as a URL, the targets reversed and upper-cased. */
  function restated(payload: ReturnType<typeof uniquePayload>) {
    return {
      ...payload,
      source_repo: `https://github.com/${payload.source_repo.toUpperCase()}.git`,
      all_target_repositories: payload.all_target_repositories
        .map((target) => target.toUpperCase())
        .reverse(),
      include_closed: null,
    };
  }

  it("answers the same request in another form with 200 and the first request's id, storing it once", async () => {
    const payload = uniquePayload();
    const lengthBefore = await streamLength();
    const first = await acceptedAnswer(await postMigration(url(), json(payload)));

    const again = await acceptedAnswer(await postMigration(url(), json(restated(payload))), 200);

    expect(again).toEqual({ ...first, duplicate: true });
    expect(await streamLength()).toBe(lengthBefore + 1);
    // A request that does something else is not a duplicate.
    const dryRun = await acceptedAnswer(await postMigration(url(), json({ ...payload, dry_run: true })));
    expect(dryRun.requestId).not.toBe(first.requestId);
    expect(await streamLength()).toBe(lengthBefore + 2);
  });

  describe("of one second", () => {
    const WINDOW_SECONDS = 1;
    const shortWindow = sharedIngest(valkey, { DUPLICATE_WINDOW_SECONDS: String(WINDOW_SECONDS) });

    it("accepts the same request anew once the window has passed", async () => {
      const body = json(uniquePayload());
      const first = await acceptedAnswer(await postMigration(shortWindow().url, body));
      const windowEnds = Date.now() + WINDOW_SECONDS * 1_000;
      await acceptedAnswer(await postMigration(shortWindow().url, body), 200);

      // The window is a TTL in Valkey, set before the first answer: past it by a margin, it is gone.
      await delay(windowEnds - Date.now() + 50);
      const later = await acceptedAnswer(await postMigration(shortWindow().url, body));

      expect(later.requestId).not.toBe(first.requestId);
      expect(await entriesFor(first.requestId)).toHaveLength(1);
      expect(await entriesFor(later.requestId)).toHaveLength(1);
    });
  });
});

describe("refused bodies", () => {
  it("refuses malformed JSON with 400 saying it is not JSON", async () => {
    const { problem } = await expectRefused(() => postMigration(url(), '{"source_repo": "a/b",'), {
      status: 400,
      reason: "not-json",
    });
    expect(problem.detail).toMatch(/not JSON/);
    expect(problem.problems).toEqual([
      { path: "", message: expect.stringMatching(/^the request is not JSON: /) },
    ]);
  });

  it("refuses a body breaking the schema with 400 listing each field's path", async () => {
    const payload = uniquePayload({
      all_target_repositories: ["https://gitlab.com/owner/name", "monarch-tests/fine"],
      notification_channel: "#general",
    });
    const { problem } = await expectRefused(() => postMigration(url(), json(payload)), {
      status: 400,
      reason: "invalid",
    });
    expect(problem.problems).toEqual([
      { path: "notification_channel", message: expect.stringMatching(/not a Slack channel id/) },
      { path: "all_target_repositories.0", message: expect.stringMatching(/not github\.com/) },
    ]);
  });

  it("refuses a body that is not UTF-8 with 400", async () => {
    // Valid JSON and a valid request but for one byte: 0xFF never occurs in UTF-8. Decoded leniently
    // (as U+FFFD) it would be accepted, since unknown fields are ignored.
    const text = json({ ...uniquePayload(), comment: "#" });
    const body = Buffer.from(text);
    body[text.indexOf("#")] = 0xff;
    const { problem } = await expectRefused(() => postMigration(url(), body), {
      status: 400,
      reason: "not-utf8",
    });
    expect(problem.detail).toMatch(/not valid UTF-8/);
  });

  it("reads a body of exactly the limit", async () => {
    const body = json(uniquePayload());
    const padded = `${body}${" ".repeat(MAX_REQUEST_BYTES - Buffer.byteLength(body))}`;
    expect(Buffer.byteLength(padded)).toBe(MAX_REQUEST_BYTES);
    await acceptedAnswer(await postMigration(url(), padded));
  });

  it("refuses a body over the limit with 413 when Content-Length says so", async () => {
    const body = `${json(uniquePayload())}${" ".repeat(MAX_REQUEST_BYTES)}`;
    const { problem } = await expectRefused(() => postMigration(url(), body), {
      status: 413,
      reason: "too-large",
    });
    expect(problem.detail).toBe(
      `a migration request may be at most ${MAX_REQUEST_BYTES} bytes; this one is ${Buffer.byteLength(body)} bytes`,
    );
  });

  it("refuses a chunked body over the limit with 413 once it passes the limit", async () => {
    const chunk = Buffer.alloc(16 * 1024, " ");
    const chunks = Math.ceil(MAX_REQUEST_BYTES / chunk.length) + 2;
    const { problem } = await expectRefused(
      async () => {
        const sending = request(`${url()}/v1/migrations`, {
          method: "POST",
          agent: false,
          headers: { ...bearer, "content-type": "application/json" },
        });
        const answered = once(sending, "response") as Promise<[IncomingMessage]>;
        sending.write(json(uniquePayload()));
        for (let index = 0; index < chunks; index++) sending.write(chunk);
        sending.end();
        // No Content-Length: HTTP/1.1 sends the body chunked, and only reading it can find its size.
        expect(sending.getHeader("content-length")).toBeUndefined();
        const [message] = await answered;
        return responseOf(message);
      },
      { status: 413, reason: "too-large" },
    );
    expect(problem.detail).toMatch(/at most 131072 bytes; this one is larger than that/);
  });

  it.each([
    ["text/plain", "text/plain;charset=UTF-8"],
    ["no Content-Type", undefined],
    ["a form", "application/x-www-form-urlencoded"],
    ["JSON in another charset", "application/json; charset=latin1"],
  ])("refuses %s with 415", async (_case, contentType) => {
    const body = Buffer.from(json(uniquePayload()));
    const headers = { ...bearer, ...(contentType === undefined ? {} : { "content-type": contentType }) };
    const { response } = await expectRefused(
      () => send("/v1/migrations", { method: "POST", headers, body }),
      {
        status: 415,
        reason: "unsupported-media-type",
      },
    );
    expect(response.headers.get("accept-post")).toBe("application/json");
  });

  it.each(["application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"'])(
    "accepts the media type %s",
    async (contentType) => {
      const body = json(uniquePayload());
      const headers = { ...bearer, "content-type": contentType };
      await acceptedAnswer(await send("/v1/migrations", { method: "POST", headers, body }));
    },
  );
});

describe("routing", () => {
  const SOME_ID = "0f6c2c4e-1f7b-4c55-9a51-6f0e8f0d3a11";

  it.each(["/", "/v1", "/v2/migrations", "/v1/migrations/", `/v1/migrations/${SOME_ID}/replay/again`])(
    "answers %s with 404",
    async (path) => {
      await expectRefused(() => send(path, { headers: bearer }), { status: 404 });
    },
  );

  it.each([
    ["GET", "/v1/migrations", "POST"],
    ["PUT", "/v1/migrations", "POST"],
    ["DELETE", `/v1/migrations/${SOME_ID}`, "GET, HEAD"],
    ["POST", `/v1/migrations/${SOME_ID}`, "GET, HEAD"],
    ["GET", `/v1/migrations/${SOME_ID}/replay`, "POST"],
    ["POST", "/openapi.json", "GET, HEAD"],
  ])("answers %s %s with 405 and Allow: %s", async (method, path, allow) => {
    const { response } = await expectRefused(() => send(path, { method, headers: bearer }), { status: 405 });
    expect(response.headers.get("allow")).toBe(allow);
  });

  it("answers an unknown request id with 404, on GET and on replay", async () => {
    await expectRefused(() => getStatus(SOME_ID), { status: 404 });
    await expectRefused(() => replay(SOME_ID), { status: 404 });
  });

  it.each(["not%20an%20id", "-starts-with-a-hyphen", "x".repeat(65), "caf%C3%A9", "a.b"])(
    "answers the id %s with 400, on GET and on replay",
    async (id) => {
      await expectRefused(() => getStatus(id), { status: 400 });
      await expectRefused(() => replay(id), { status: 400 });
    },
  );

  it("replays an accepted request as a new one naming the original, even within the duplicate window", async () => {
    const body = json(uniquePayload());
    const original = await acceptedAnswer(await postMigration(url(), body));
    const [originalEntry] = await entriesFor(original.requestId);
    const lengthBefore = await streamLength();

    const replayed = await acceptedAnswer(await replay(original.requestId));

    expect(replayed.requestId).not.toBe(original.requestId);
    expect(await streamLength()).toBe(lengthBefore + 1);
    const [entry, ...others] = await entriesFor(replayed.requestId);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ via: "http", request: originalEntry?.request });
    const status = await getStatus(replayed.requestId);
    expect(MigrationStatus.parse(await status.json())).toMatchObject({
      requestId: replayed.requestId,
      stage: "accepted",
      replayOf: original.requestId,
    });
    // The window still holds the original: sent again, the request is its duplicate.
    expect(await acceptedAnswer(await postMigration(url(), body), 200)).toEqual({
      ...original,
      duplicate: true,
    });
  });
});

describe("failures inside", () => {
  it("answers 500, logged with its cause, for a stored status this version cannot read", async () => {
    const { requestId } = await acceptedAnswer(await postMigration(url(), json(uniquePayload())));
    await valkey.client().set(migrationRecordKeys.status(requestId), '{"stage":"teleported"}');
    const response = await getStatus(requestId);
    expect(response.status).toBe(500);
    expect(response.headers.get("retry-after")).toBeNull();
    expect(await response.json()).toMatchObject({
      title: "Internal error",
      detail: "the request could not be answered because of an error in ingest, which is logged",
    });
    await until(() => service().output().includes("could not answer a request"));
    const line = service()
      .output()
      .split("\n")
      .find((text) => text.includes("could not answer a request") && text.includes(requestId));
    expect(JSON.parse(line ?? "{}")).toMatchObject({ level: 50, err: { type: "ZodError" } });
  });

  it("answers 503 saying to send it again when Valkey fails the admission, and stores the resend once", async () => {
    const client = valkey.client();
    // The stream key taken by a string: every admission script fails until it is given back.
    const parked = `${MIGRATIONS_STREAM}:parked-${randomUUID()}`;
    const hadStream = (await client.exists(MIGRATIONS_STREAM)) === 1;
    if (hadStream) await client.rename(MIGRATIONS_STREAM, parked);
    await client.set(MIGRATIONS_STREAM, "not a stream");
    const body = json(uniquePayload());
    const key = { "idempotency-key": randomUUID() };
    const refused = await postMigration(url(), body, { ...signatureHeaders(HMAC_SECRET, body), ...key });
    await client.del(MIGRATIONS_STREAM);
    if (hadStream) await client.rename(parked, MIGRATIONS_STREAM);

    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toMatchObject({
      title: "Not confirmed",
      detail: expect.stringContaining("send it again, with the same Idempotency-Key"),
    });
    const resent = await acceptedAnswer(
      await postMigration(url(), body, { ...signatureHeaders(HMAC_SECRET, body), ...key }),
    );
    expect(await entriesFor(resent.requestId)).toHaveLength(1);
  });
});

describe("stopping", () => {
  /** Whether a new TCP connection to the service's port is refused. */
  function connectionRefused(base: string): Promise<boolean> {
    const { hostname, port } = new URL(base);
    return new Promise((resolve) => {
      const socket = connect(Number(port), hostname);
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"));
    });
  }

  /**
   * Starts `POST /v1/migrations` and holds it mid-body: the headers go first with `Expect:
   * 100-continue`, so the server's `100 Continue` proves it is handling the request, then half the
   * body. `finish` sends the rest and resolves with the answer.
   */
  async function holdRequest(base: string, body: string, agent: Agent | false) {
    const held = request(`${base}/v1/migrations`, {
      method: "POST",
      agent,
      headers: {
        ...bearer,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        expect: "100-continue",
      },
    });
    const answered = (once(held, "response") as Promise<[IncomingMessage]>).then(([message]) =>
      responseOf(message),
    );
    answered.catch(() => {}); // awaited by `finish`
    held.flushHeaders();
    await once(held, "continue");
    const half = Math.floor(body.length / 2);
    held.write(body.slice(0, half));
    return {
      finish: () => {
        held.end(body.slice(half));
        return answered;
      },
    };
  }

  it("answers a request in flight at SIGTERM, refuses new connections meanwhile, and exits 0", async () => {
    const stopping = await startIngest(valkey.server().url);
    const held = await holdRequest(stopping.url, json(uniquePayload()), false);

    stopping.child.kill("SIGTERM");
    await until(() => connectionRefused(stopping.url));
    const answer = await acceptedAnswer(await held.finish());

    expect(await entriesFor(answer.requestId)).toHaveLength(1);
    expect(await stopping.exited).toEqual({ code: 0, signal: null });
    expect(await connectionRefused(stopping.url)).toBe(true);
  });

  it("does not wait for the keep-alive connection of a request answered while stopping", async () => {
    const stopping = await startIngest(valkey.server().url);
    const agent = new Agent({ keepAlive: true });
    try {
      const held = await holdRequest(stopping.url, json(uniquePayload()), agent);
      stopping.child.kill("SIGTERM");
      await until(() => connectionRefused(stopping.url));
      await acceptedAnswer(await held.finish());
      const answeredAt = Date.now();

      expect(await stopping.exited).toEqual({ code: 0, signal: null });
      // An idle stop takes a few ms; waiting out the keep-alive (5 s) or the stop deadline is a hang.
      expect(Date.now() - answeredAt).toBeLessThan(2_000);
    } finally {
      agent.destroy();
    }
  });
});
