import { createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Authenticator } from "../src/http/authentication.js";
import { SIGNATURE_HEADER, signatureHeaders, signatureProblem, TIMESTAMP_HEADER } from "../src/signature.js";

const SECRET = "current-secret-0123456789abcdef0123456789";
const PREVIOUS_SECRET = "previous-secret-0123456789abcdef012345678";
const OTHER_SECRET = "another-secret-0123456789abcdef0123456789";
const TOKEN = "bearer-token-0123456789abcdef0123456789abc";
const TOLERANCE = 300;
const NOW = 1_795_000_000;
const BODY =
  '{"source_repo":"owner/source","all_target_repositories":["owner/target"],"notification_channel":"C06GHMZB3M3"}';

/** `signatureProblem` at `NOW` with both secrets, for the headers `signatureHeaders` made (or changed ones). */
function problemWith(
  headers: Partial<Record<typeof TIMESTAMP_HEADER | typeof SIGNATURE_HEADER, string>>,
  body: string | Buffer = BODY,
): string | undefined {
  return signatureProblem({
    secrets: [SECRET, PREVIOUS_SECRET],
    timestamp: headers[TIMESTAMP_HEADER],
    signature: headers[SIGNATURE_HEADER],
    body,
    nowSeconds: NOW,
    toleranceSeconds: TOLERANCE,
  });
}

describe("signatureHeaders", () => {
  it("sends the Unix time and sha256= with the hex HMAC-SHA256 of `<time>.<body>` under the secret", () => {
    const expected = createHmac("sha256", SECRET).update(`${NOW}.${BODY}`).digest("hex");
    expect(signatureHeaders(SECRET, BODY, NOW)).toEqual({
      [TIMESTAMP_HEADER]: String(NOW),
      [SIGNATURE_HEADER]: `sha256=${expected}`,
    });
  });

  it("signs the bytes: a string and its UTF-8 Buffer get the same signature", () => {
    const body = '{"note":"Grüße, 日本"}';
    expect(signatureHeaders(SECRET, Buffer.from(body, "utf8"), NOW)).toEqual(
      signatureHeaders(SECRET, body, NOW),
    );
  });

  it("uses the system clock when no time is given", () => {
    const before = Math.floor(Date.now() / 1000);
    const timestamp = Number(signatureHeaders(SECRET, BODY)[TIMESTAMP_HEADER]);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });
});

describe("signatureProblem", () => {
  it("accepts a signature made with the current secret or the previous one", () => {
    expect(problemWith(signatureHeaders(SECRET, BODY, NOW))).toBeUndefined();
    expect(problemWith(signatureHeaders(PREVIOUS_SECRET, BODY, NOW))).toBeUndefined();
  });

  it("refuses a signature made with any other secret, or when there are no secrets", () => {
    expect(problemWith(signatureHeaders(OTHER_SECRET, BODY, NOW))).toMatch(/does not match/);
    const headers = signatureHeaders(SECRET, BODY, NOW);
    expect(
      signatureProblem({
        secrets: [],
        timestamp: headers[TIMESTAMP_HEADER],
        signature: headers[SIGNATURE_HEADER],
        body: BODY,
        nowSeconds: NOW,
        toleranceSeconds: TOLERANCE,
      }),
    ).toMatch(/does not match/);
  });

  it("refuses a body changed after signing, down to one byte", () => {
    const headers = signatureHeaders(SECRET, BODY, NOW);
    expect(problemWith(headers, BODY.replace("owner/target", "owner/targes"))).toMatch(/does not match/);
    expect(problemWith(headers, `${BODY} `)).toMatch(/does not match/);
  });

  it("refuses a signature moved to another timestamp", () => {
    const headers = signatureHeaders(SECRET, BODY, NOW);
    expect(problemWith({ ...headers, [TIMESTAMP_HEADER]: String(NOW - 1) })).toMatch(/does not match/);
  });

  it.each([
    ["at the tolerance in the past", -TOLERANCE, undefined],
    ["at the tolerance in the future", TOLERANCE, undefined],
    ["one second too old", -(TOLERANCE + 1), /301 s away from the server's clock; at most 300 s/],
    ["one second too far ahead", TOLERANCE + 1, /301 s away from the server's clock; at most 300 s/],
    ["a day old", -86_400, /86400 s away/],
  ])("judges a timestamp %s", (_case, offset, expected) => {
    const problem = problemWith(signatureHeaders(SECRET, BODY, NOW + offset));
    if (expected === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatch(expected);
  });

  it("needs both headers", () => {
    const headers = signatureHeaders(SECRET, BODY, NOW);
    const both = new RegExp(`needs both ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}`);
    expect(problemWith({ [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER] })).toMatch(both);
    expect(problemWith({ [TIMESTAMP_HEADER]: headers[TIMESTAMP_HEADER] })).toMatch(both);
  });

  it.each(["", "12.5", "-5", "1e9", " 1795000000", "1234567890123", "now"])(
    "refuses the timestamp %j as not Unix seconds",
    (timestamp) => {
      const { [SIGNATURE_HEADER]: signature } = signatureHeaders(SECRET, BODY, NOW);
      expect(problemWith({ [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signature })).toMatch(
        /must be the Unix time in seconds/,
      );
    },
  );

  it.each([
    ["without the sha256= prefix", (hex: string) => hex],
    ["with another algorithm's prefix", (hex: string) => `sha1=${hex}`],
    ["cut short", (hex: string) => `sha256=${hex.slice(0, 63)}`],
    ["too long", (hex: string) => `sha256=${hex}00`],
    ["with a non-hex digit", (hex: string) => `sha256=${hex.slice(0, 63)}g`],
    ["in base64", (hex: string) => `sha256=${Buffer.from(hex, "hex").toString("base64")}`],
  ])("refuses a signature %s as malformed", (_case, mangle) => {
    const headers = signatureHeaders(SECRET, BODY, NOW);
    const hex = headers[SIGNATURE_HEADER].slice("sha256=".length);
    expect(problemWith({ ...headers, [SIGNATURE_HEADER]: mangle(hex) })).toMatch(
      /must be "sha256=" and 64 hex digits/,
    );
  });

  it("accepts exactly what was signed, and nothing with a byte changed (any body, any secret)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 32 }),
        fc.nat(),
        (bytes, secret, at) => {
          const body = Buffer.from(bytes);
          const headers = signatureHeaders(secret, body, NOW);
          const check = { secrets: [secret], nowSeconds: NOW, toleranceSeconds: TOLERANCE };
          const timestamp = headers[TIMESTAMP_HEADER];
          const signature = headers[SIGNATURE_HEADER];
          expect(signatureProblem({ ...check, timestamp, signature, body })).toBeUndefined();
          const changed = Buffer.from(body);
          const index = at % changed.length;
          changed[index] = (changed[index] ?? 0) ^ 0x01;
          expect(signatureProblem({ ...check, timestamp, signature, body: changed })).toMatch(
            /does not match/,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("Authenticator", () => {
  /** An authenticator whose clock the test moves. */
  function authenticator(options: { hmacSecrets?: string[]; bearerTokens?: string[] } = {}) {
    const clock = { now: NOW };
    const subject = new Authenticator({
      hmacSecrets: options.hmacSecrets ?? [SECRET, PREVIOUS_SECRET],
      bearerTokens: options.bearerTokens ?? [TOKEN],
      toleranceSeconds: TOLERANCE,
      nowSeconds: () => clock.now,
    });
    return { subject, clock };
  }

  const signed = (body: string, secret = SECRET, at = NOW): IncomingHttpHeaders =>
    signatureHeaders(secret, body, at);

  describe("screen", () => {
    it("authenticates the configured bearer token before any body is read (scheme in any case)", () => {
      const { subject } = authenticator();
      expect(subject.screen({ authorization: `Bearer ${TOKEN}` })).toEqual({
        verdict: "authenticated",
        scheme: "bearer",
      });
      expect(subject.screen({ authorization: `bearer ${TOKEN}` }).verdict).toBe("authenticated");
    });

    it.each([
      ["a wrong token", `Bearer ${TOKEN.slice(0, -1)}x`, /bearer token is not one this service accepts/],
      [
        "a prefix of the token",
        `Bearer ${TOKEN.slice(0, 10)}`,
        /bearer token is not one this service accepts/,
      ],
      ["the token plus more", `Bearer ${TOKEN}x`, /bearer token is not one this service accepts/],
      ["the HMAC secret as a token", `Bearer ${SECRET}`, /bearer token is not one this service accepts/],
      ["another scheme", `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}`, /must be "Bearer <token>"/],
      ["no token", "Bearer ", /must be "Bearer <token>"/],
    ])("refuses %s", (_case, authorization, problem) => {
      const verdict = authenticator().subject.screen({ authorization });
      expect(verdict).toEqual({ verdict: "refused", problem: expect.stringMatching(problem) });
    });

    it("lets the Authorization header decide, even beside a good signature", () => {
      const { subject } = authenticator();
      const verdict = subject.screen({ authorization: "Bearer wrong", ...signed(BODY) });
      expect(verdict.verdict).toBe("refused");
    });

    it("refuses every bearer token when none is configured", () => {
      const { subject } = authenticator({ bearerTokens: [] });
      expect(subject.screen({ authorization: `Bearer ${TOKEN}` }).verdict).toBe("refused");
    });

    it("leaves a signed request for the body check, with either header present", () => {
      const { subject } = authenticator();
      const headers = signed(BODY);
      expect(subject.screen(headers)).toEqual({ verdict: "signed" });
      expect(subject.screen({ [TIMESTAMP_HEADER]: headers[TIMESTAMP_HEADER] })).toEqual({
        verdict: "signed",
      });
      expect(subject.screen({ [SIGNATURE_HEADER]: headers[SIGNATURE_HEADER] })).toEqual({
        verdict: "signed",
      });
    });

    it("refuses signed requests when no HMAC secret is configured", () => {
      const { subject } = authenticator({ hmacSecrets: [] });
      expect(subject.screen(signed(BODY))).toEqual({
        verdict: "refused",
        problem: expect.stringMatching(/signed requests are not enabled here/),
      });
    });

    it("refuses a request without credentials, naming the schemes it accepts", () => {
      const { subject } = authenticator();
      expect(subject.screen({ "content-type": "application/json" })).toEqual({
        verdict: "refused",
        problem: `the request carries no credentials; send ${subject.schemes}`,
      });
    });
  });

  it("names only the configured schemes", () => {
    expect(authenticator().subject.schemes).toBe(
      `a bearer token (Authorization: Bearer …) or a signature (${TIMESTAMP_HEADER}, ${SIGNATURE_HEADER})`,
    );
    expect(authenticator({ hmacSecrets: [] }).subject.schemes).toBe(
      "a bearer token (Authorization: Bearer …)",
    );
    expect(authenticator({ bearerTokens: [] }).subject.schemes).toBe(
      `a signature (${TIMESTAMP_HEADER}, ${SIGNATURE_HEADER})`,
    );
  });

  describe("signatureProblem", () => {
    it("accepts the body signed with the current or the previous secret, and refuses others", () => {
      const { subject } = authenticator();
      const body = Buffer.from(BODY);
      expect(subject.signatureProblem(signed(BODY, SECRET), body)).toBeUndefined();
      expect(subject.signatureProblem(signed(BODY, PREVIOUS_SECRET), body)).toBeUndefined();
      expect(subject.signatureProblem(signed(BODY, OTHER_SECRET), body)).toMatch(/does not match/);
      expect(subject.signatureProblem(signed(BODY), Buffer.from(`${BODY}\n`))).toMatch(/does not match/);
    });

    it("judges the timestamp by its clock when the body has been read", () => {
      const { subject, clock } = authenticator();
      const headers = signed(BODY, SECRET, NOW);
      const body = Buffer.from(BODY);
      clock.now = NOW + TOLERANCE;
      expect(subject.signatureProblem(headers, body)).toBeUndefined();
      clock.now = NOW + TOLERANCE + 1;
      expect(subject.signatureProblem(headers, body)).toMatch(/301 s away from the server's clock/);
      clock.now = NOW - TOLERANCE - 1;
      expect(subject.signatureProblem(headers, body)).toMatch(/301 s away from the server's clock/);
    });

    it("refuses a header sent twice rather than picking one", () => {
      const { subject } = authenticator();
      const headers = signed(BODY);
      const twice = { ...headers, [SIGNATURE_HEADER]: [String(headers[SIGNATURE_HEADER]), "sha256=00"] };
      expect(subject.signatureProblem(twice, Buffer.from(BODY))).toMatch(/needs both/);
    });
  });
});
