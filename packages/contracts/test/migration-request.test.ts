import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  contractIssues,
  InvalidMigrationRequestError,
  MAX_REQUEST_BYTES,
  MAX_TARGETS_PER_REQUEST,
  MigrationRequested,
  MigrationRequestPayload,
  NormalisedRequest,
  parseMigrationRequest,
  requestFingerprint,
} from "../src/index.js";
import { readValidPayload } from "../src/migration-request.js";
import { recase, validRepository } from "./support/arbitraries.js";

/** Exactly what the platform publishes today. */
const LEGACY =
  '{"notification_channel": "C06GHMZB3M3", "source_repo": "nss-group-projects/cider-falls", "all_target_repositories": ["stevebrownlee/rare-test"]}';

const legacyRequest: NormalisedRequest = {
  source: { owner: "nss-group-projects", name: "cider-falls" },
  targets: [{ owner: "stevebrownlee", name: "rare-test" }],
  notificationChannel: "C06GHMZB3M3",
  options: { includeClosed: false, dryRun: false },
};

const payload = (overrides: Record<string, unknown> = {}) => ({
  notification_channel: "C06GHMZB3M3",
  source_repo: "nss-group-projects/cider-falls",
  all_target_repositories: ["stevebrownlee/rare-test"],
  ...overrides,
});

/** `path: message` of every issue for a payload the schema refuses. */
function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  const result = MigrationRequestPayload.safeParse(input);
  if (result.success) throw new Error("expected the payload to be refused");
  return contractIssues(result.error);
}

function thrownBy(action: () => unknown): InvalidMigrationRequestError {
  try {
    action();
  } catch (error) {
    if (error instanceof InvalidMigrationRequestError) return error;
    throw error;
  }
  throw new Error("expected an InvalidMigrationRequestError");
}

describe("the platform's legacy payload", () => {
  it("is accepted exactly as published today", () => {
    expect(parseMigrationRequest(LEGACY)).toEqual(legacyRequest);
    expect(parseMigrationRequest(Buffer.from(LEGACY))).toEqual(legacyRequest);
  });

  it("takes repositories as full URLs too", () => {
    expect(
      MigrationRequestPayload.parse(
        payload({
          source_repo: "https://github.com/nss-group-projects/cider-falls",
          all_target_repositories: ["https://github.com/stevebrownlee/rare-test.git", "org/team-2"],
        }),
      ),
    ).toEqual({
      ...legacyRequest,
      targets: [
        { owner: "stevebrownlee", name: "rare-test" },
        { owner: "org", name: "team-2" },
      ],
    });
  });

  it("reads the options, which default to false (absent or null)", () => {
    expect(MigrationRequestPayload.parse(payload({ include_closed: true, dry_run: true })).options).toEqual({
      includeClosed: true,
      dryRun: true,
    });
    expect(MigrationRequestPayload.parse(payload({ include_closed: null, dry_run: false })).options).toEqual({
      includeClosed: false,
      dryRun: false,
    });
    expect(issuesOf(payload({ dry_run: "true" }))).toEqual([
      { path: "dry_run", message: "Invalid input: expected boolean, received string" },
    ]);
  });

  it("ignores fields it does not know, rather than failing", () => {
    const parsed = MigrationRequestPayload.parse(payload({ priority: "high", cohort: { id: 12 } }));
    expect(parsed).toEqual(legacyRequest);
    expect(parsed).not.toHaveProperty("priority");
  });

  it("may leave out schema_version (it means 1), but a newer one is refused with the reason", () => {
    expect(MigrationRequestPayload.parse(payload({ schema_version: 1 }))).toEqual(legacyRequest);
    expect(issuesOf(payload({ schema_version: 2 }))).toEqual([
      { path: "schema_version", message: "newer schema version 2; this consumer understands up to 1" },
    ]);
    expect(issuesOf(payload({ schema_version: "1" }))).toEqual([
      { path: "schema_version", message: 'expected schema version 1, got "1"' },
    ]);
    expect(issuesOf(payload({ schema_version: 0 }))).toEqual([
      { path: "schema_version", message: "expected schema version 1, got 0" },
    ]);
  });

  it("names every missing field", () => {
    expect(issuesOf({}).map(({ path }) => path)).toEqual([
      "notification_channel",
      "source_repo",
      "all_target_repositories",
    ]);
  });

  it.each([[null], [[]], ["text"], [42]])("refuses %j, which is not an object", (input) => {
    expect(issuesOf(input)).toEqual([{ path: "", message: expect.stringContaining("expected object") }]);
  });

  it.each([
    "general",
    "#general",
    "c06ghmzb3m3",
    "C06GHMZ",
    "X06GHMZB3M3",
    " C06GHMZB3M3",
    `C${"1".repeat(21)}`,
  ])("refuses the channel %j with the expected form", (channel) => {
    expect(issuesOf(payload({ notification_channel: channel }))).toEqual([
      {
        path: "notification_channel",
        message: `${JSON.stringify(channel)} is not a Slack channel id: expected C, G or D and then 8 to 20 capital letters or digits, like "C06GHMZB3M3"`,
      },
    ]);
  });

  it.each(["C06GHMZB3M3", "G0123ABCD", "D0123456789", `C${"Z".repeat(20)}`])(
    "accepts the channel %j",
    (channel) => {
      expect(
        MigrationRequestPayload.parse(payload({ notification_channel: channel })).notificationChannel,
      ).toBe(channel);
    },
  );

  it("names the bad repository's path and the rule it breaks", () => {
    expect(
      issuesOf(
        payload({
          source_repo: "https://evil.com/a/b",
          all_target_repositories: ["a/b", "ok/fine", "x--y/z"],
        }),
      ),
    ).toEqual([
      {
        path: "source_repo",
        message: 'invalid repository "https://evil.com/a/b": the host "evil.com" is not github.com',
      },
      {
        path: "all_target_repositories.2",
        message: 'invalid repository "x--y/z": owner "x--y" may not contain consecutive hyphens',
      },
    ]);
  });

  describe(`at most ${MAX_TARGETS_PER_REQUEST} targets`, () => {
    const targets = (count: number) => Array.from({ length: count }, (_, index) => `cohort/team-${index}`);

    it("refuses none", () => {
      expect(issuesOf(payload({ all_target_repositories: [] }))).toEqual([
        { path: "all_target_repositories", message: "at least one target repository is required" },
      ]);
    });

    it(`accepts ${MAX_TARGETS_PER_REQUEST} and refuses ${MAX_TARGETS_PER_REQUEST + 1}`, () => {
      expect(
        MigrationRequestPayload.parse(payload({ all_target_repositories: targets(500) })).targets,
      ).toHaveLength(500);
      expect(issuesOf(payload({ all_target_repositories: targets(501) }))).toEqual([
        { path: "all_target_repositories", message: "at most 500 target repositories per request, got 501" },
      ]);
    });
  });

  describe("targets that make no sense", () => {
    it("refuses a repeated target, comparing case-insensitively and across spellings, naming both", () => {
      expect(
        issuesOf(
          payload({
            all_target_repositories: ["team/one", "team/two", "https://github.com/Team/One.git", "TEAM/TWO"],
          }),
        ),
      ).toEqual([
        {
          path: "all_target_repositories.2",
          message: "Team/One repeats target 0 (team/one); each target may be listed once",
        },
        {
          path: "all_target_repositories.3",
          message: "TEAM/TWO repeats target 1 (team/two); each target may be listed once",
        },
      ]);
    });

    it("refuses the source as a target", () => {
      expect(
        issuesOf(
          payload({
            all_target_repositories: ["team/one", "https://github.com/NSS-Group-Projects/Cider-Falls"],
          }),
        ),
      ).toEqual([
        {
          path: "all_target_repositories.1",
          message: "NSS-Group-Projects/Cider-Falls is the source repository; it cannot also be a target",
        },
      ]);
    });
  });
});

describe("parseMigrationRequest", () => {
  /** `LEGACY` padded with spaces (valid JSON) to exactly `bytes` bytes. */
  const padded = (bytes: number) => LEGACY + " ".repeat(bytes - Buffer.byteLength(LEGACY));

  it("drops a byte order mark, whether bytes or text arrived", () => {
    expect(parseMigrationRequest(`\uFEFF${LEGACY}`)).toEqual(legacyRequest);
    expect(parseMigrationRequest(Buffer.from(`\uFEFF${LEGACY}`))).toEqual(legacyRequest);
  });

  it("refuses a value nested too deeply to write out, naming only its kind", () => {
    const nested = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    const error = thrownBy(() =>
      parseMigrationRequest(`${LEGACY.slice(0, -1)}, "schema_version": ${nested}}`),
    );
    expect(error).toMatchObject({ kind: "invalid" });
    expect(error.issues).toContainEqual({
      path: "schema_version",
      message: "expected schema version 1, got an array",
    });
  });

  it(`accepts ${MAX_REQUEST_BYTES} bytes and refuses one more before reading any JSON`, () => {
    expect(parseMigrationRequest(padded(MAX_REQUEST_BYTES))).toEqual(legacyRequest);
    for (const raw of [padded(MAX_REQUEST_BYTES + 1), Buffer.from(padded(MAX_REQUEST_BYTES + 1))]) {
      const error = thrownBy(() => parseMigrationRequest(raw));
      expect(error).toMatchObject({
        kind: "too-large",
        message: `invalid migration request: the request is ${MAX_REQUEST_BYTES + 1} bytes; the limit is ${MAX_REQUEST_BYTES}`,
      });
    }
    // Size is measured in bytes, not characters.
    const multibyte = "é".repeat(MAX_REQUEST_BYTES / 2 + 1);
    expect(thrownBy(() => parseMigrationRequest(multibyte)).kind).toBe("too-large");
    // Too large and not JSON either: the size is what is reported, as nothing was parsed.
    expect(thrownBy(() => parseMigrationRequest("{".repeat(MAX_REQUEST_BYTES + 1))).kind).toBe("too-large");
  });

  it("fits the largest valid request: 500 targets of the longest URLs, pretty-printed", () => {
    const longest = (index: number) =>
      `https://www.github.com/${"o".repeat(36)}${String(index).padStart(3, "0")}/${"n".repeat(100)}.git/`;
    const raw = JSON.stringify(
      payload({
        all_target_repositories: Array.from({ length: MAX_TARGETS_PER_REQUEST }, (_, index) =>
          longest(index),
        ),
        include_closed: false,
        dry_run: false,
      }),
      null,
      4,
    );
    expect(Buffer.byteLength(raw)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(parseMigrationRequest(raw).targets).toHaveLength(MAX_TARGETS_PER_REQUEST);
  });

  it("says when the bytes are not UTF-8", () => {
    const error = thrownBy(() => parseMigrationRequest(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
    expect(error).toMatchObject({
      kind: "not-utf8",
      message: "invalid migration request: the request is not valid UTF-8",
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("says when it is not JSON, keeping the parser's error as the cause", () => {
    const error = thrownBy(() => parseMigrationRequest("{'notification_channel': 'C06GHMZB3M3'}"));
    expect(error.kind).toBe("not-json");
    expect(error.message).toMatch(/^invalid migration request: the request is not JSON: /);
    expect(error.cause).toBeInstanceOf(SyntaxError);
    expect(thrownBy(() => parseMigrationRequest("")).kind).toBe("not-json");
  });

  it("lists every schema issue with its path, in the message and as data", () => {
    const error = thrownBy(() =>
      parseMigrationRequest(
        JSON.stringify(payload({ notification_channel: "general", all_target_repositories: ["a/b/c"] })),
      ),
    );
    expect(error).toBeInstanceOf(InvalidMigrationRequestError);
    expect(error.name).toBe("InvalidMigrationRequestError");
    expect(error.kind).toBe("invalid");
    expect(error.issues.map(({ path }) => path)).toEqual([
      "notification_channel",
      "all_target_repositories.0",
    ]);
    expect(error.message).toBe(
      'invalid migration request: notification_channel: "general" is not a Slack channel id: expected C, G or D and then 8 to 20 capital letters or digits, like "C06GHMZB3M3"; ' +
        'all_target_repositories.0: invalid repository "a/b/c": the path "a/b/c" has more segments than owner/name',
    );
  });

  it("never throws anything but InvalidMigrationRequestError, whatever it is given", () => {
    const jsonish = fc.oneof(
      fc.json(),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc
        .record({
          notification_channel: fc.oneof(fc.constant("C06GHMZB3M3"), fc.string()),
          source_repo: fc.oneof(fc.constant("a/b"), fc.string()),
          all_target_repositories: fc.array(fc.oneof(fc.constant("c/d"), fc.string(), fc.anything()), {
            maxLength: 5,
          }),
          dry_run: fc.anything(),
        })
        .map((value) => JSON.stringify(value)),
      fc.string(),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          jsonish,
          fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
        ),
        (raw) => {
          try {
            parseMigrationRequest(raw);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidMigrationRequestError);
            expect((error as InvalidMigrationRequestError).issues.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe("readValidPayload, the schema's rules written out for valid payloads", () => {
  // Mostly valid values, so that many payloads are valid as a whole, and every kind of wrong one.
  const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
    fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: invalid, weight: 1 });
  const reference = mostly(
    fc.oneof(
      validRepository.map(({ owner, name }) => `${owner}/${name}`),
      fc
        .tuple(
          validRepository,
          fc.constantFrom("https://github.com/", "http://www.github.com/", " https://GitHub.com/"),
        )
        .map(([{ owner, name }, prefix]) => `${prefix}${owner}/${name}${name.length % 2 ? ".git/" : ""}`),
      // The source again, in other letter cases.
      fc.constantFrom("nss-group-projects/cider-falls", "NSS-Group-Projects/Cider-Falls"),
    ),
    fc.oneof(
      fc.constantFrom(
        "a/b/c",
        "../x",
        "",
        " ",
        "https://gitlab.com/a/b",
        "a/b.git",
        "-a/b",
        "a--b/c",
        "a/b?x=1",
      ),
      fc.string({ maxLength: 12 }),
      fc.constantFrom(null, 7, true, ["a/b"], { owner: "a", name: "b" }),
    ),
  );
  const flag = mostly(fc.constantFrom(undefined, null, true, false), fc.constantFrom("true", 0, 1));
  const payloads = fc
    .record(
      {
        schema_version: mostly(fc.constantFrom(undefined, 1), fc.constantFrom(2, "1", null)),
        notification_channel: mostly(
          fc.constantFrom("C06GHMZB3M3", "G0123456789", "D12345678901234567890"),
          fc.oneof(
            fc.constantFrom("c06ghmzb3m3", "general", "C1", "", null, 42),
            fc.string({ maxLength: 24 }),
          ),
        ),
        source_repo: reference,
        all_target_repositories: mostly(
          fc.oneof(
            { arbitrary: fc.array(reference, { minLength: 1, maxLength: 4 }), weight: 8 },
            // The most there may be.
            fc.constant(Array.from({ length: MAX_TARGETS_PER_REQUEST }, (_, index) => `team/t-${index}`)),
            // One repository twice, spelled two ways.
            fc
              .tuple(validRepository, fc.array(fc.boolean(), { minLength: 1 }))
              .map(([{ owner, name }, flips]) => [
                `${owner}/${name}`,
                `https://github.com/${recase(owner, flips)}/${recase(name, flips)}.git`,
              ]),
          ),
          fc.oneof(
            fc.constant([]),
            fc.constant(Array.from({ length: MAX_TARGETS_PER_REQUEST + 1 }, (_, index) => `team/t-${index}`)),
            fc.constantFrom("stevebrownlee/rare-test", null, {}),
          ),
        ),
        include_closed: flag,
        dry_run: flag,
        extra: fc.constantFrom(undefined, 1, { nested: [1] }),
      },
      { requiredKeys: ["notification_channel", "source_repo", "all_target_repositories"] },
    )
    // Through JSON, as payloads arrive; some also carry a "__proto__" member, which JSON.parse keeps as data.
    .chain((fields) =>
      fc.boolean().map((withProto) => {
        const text = JSON.stringify(fields);
        return JSON.parse(
          withProto ? `{"__proto__":{"dry_run":"x"},${text.slice(1)}`.replace(",}", "}") : text,
        );
      }),
    );

  it("reads exactly what the schema accepts, into the same request, and nothing else", () => {
    let valid = 0;
    fc.assert(
      fc.property(fc.oneof(payloads, fc.jsonValue()), (json) => {
        const parsed = MigrationRequestPayload.safeParse(json);
        const read = readValidPayload(json);
        expect(read).toStrictEqual(parsed.success ? parsed.data : undefined);
        // The same text too: the stream entry is written from it.
        expect(JSON.stringify(read)).toBe(parsed.success ? JSON.stringify(parsed.data) : undefined);
        if (parsed.success) valid += 1;
      }),
      { numRuns: 5_000 },
    );
    // Both answers were exercised.
    expect(valid).toBeGreaterThan(500);
    expect(valid).toBeLessThan(4_000);
  });

  it("reads the platform's payload as published today", () => {
    expect(readValidPayload(JSON.parse(LEGACY))).toStrictEqual(legacyRequest);
  });
});

describe("the normalised request and the MigrationRequested message", () => {
  const message = {
    schemaVersion: 1,
    requestId: "01JDQ2X7Z8K3M4N5P6Q7R8S9T0",
    receivedAt: "2026-11-23T08:47:00.000Z",
    via: "pubsub",
    request: legacyRequest,
  } as const;

  it("is what the payload parses into, and parses to itself (producer output is consumer input)", () => {
    const normalised = MigrationRequestPayload.parse(payload({ dry_run: true }));
    expect(NormalisedRequest.parse(normalised)).toEqual(normalised);
    expect(MigrationRequested.parse(JSON.parse(JSON.stringify(message)))).toEqual(message);
  });

  it("must carry its schema version, and refuses a newer one", () => {
    const { schemaVersion: _, ...withoutVersion } = message;
    expect(MigrationRequested.safeParse(withoutVersion).error?.issues[0]).toMatchObject({
      path: ["schemaVersion"],
      message: "expected schema version 1, got undefined",
    });
    expect(MigrationRequested.safeParse({ ...message, schemaVersion: 3 }).error?.issues[0]).toMatchObject({
      path: ["schemaVersion"],
      message: "newer schema version 3; this consumer understands up to 1",
    });
  });

  it("ignores unknown fields at every level", () => {
    const extended = {
      ...message,
      priority: 1,
      request: { ...legacyRequest, labels: ["x"], options: { ...legacyRequest.options, copyComments: true } },
    };
    expect(MigrationRequested.parse(extended)).toEqual(message);
  });

  it("checks the same rules as the payload, at its own paths", () => {
    const result = MigrationRequested.safeParse({
      ...message,
      requestId: "../etc",
      via: "email",
      receivedAt: "yesterday",
      request: { ...legacyRequest, targets: [legacyRequest.source, { owner: "-x", name: "y" }] },
    });
    expect(result.error && contractIssues(result.error)).toEqual([
      {
        path: "requestId",
        message:
          'request id "../etc" must be 1 to 64 letters, digits, "_" or "-", starting with a letter or digit',
      },
      {
        path: "receivedAt",
        message: '"yesterday" is not an ISO 8601 UTC timestamp like "2026-11-23T08:47:00.000Z"',
      },
      { path: "via", message: 'Invalid option: expected one of "pubsub"|"inbox"|"http"' },
      { path: "request.targets.1.owner", message: 'owner "-x" may not begin with a hyphen' },
      { path: "request.targets.0", message: expect.stringContaining("is the source repository") },
    ]);
  });
});

describe("requestFingerprint", () => {
  it("is a sha256 hex digest that changes with anything that changes the work", () => {
    const fingerprint = requestFingerprint(legacyRequest);
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const variants: NormalisedRequest[] = [
      { ...legacyRequest, notificationChannel: "C0000000000" },
      { ...legacyRequest, options: { includeClosed: true, dryRun: false } },
      { ...legacyRequest, options: { includeClosed: false, dryRun: true } },
      { ...legacyRequest, source: { owner: "nss-group-projects", name: "cider-falls-2" } },
      { ...legacyRequest, targets: [...legacyRequest.targets, { owner: "x", name: "y" }] },
    ];
    expect(new Set(variants.map(requestFingerprint)).size).toBe(variants.length);
    expect(variants.map(requestFingerprint)).not.toContain(fingerprint);
  });

  it("is the same for the short form and the URL form of a request", () => {
    const viaUrls = parseMigrationRequest(
      JSON.stringify(
        payload({
          source_repo: "https://github.com/nss-group-projects/cider-falls/",
          all_target_repositories: ["https://www.github.com/StevebrownLee/Rare-Test.git"],
        }),
      ),
    );
    expect(requestFingerprint(viaUrls)).toBe(requestFingerprint(legacyRequest));
  });

  it("ignores the order of targets and the case of every repository", () => {
    const request = fc.record({
      source: validRepository,
      targets: fc.uniqueArray(validRepository, {
        minLength: 1,
        maxLength: 20,
        selector: ({ owner, name }) => `${owner}/${name}`.toLowerCase(),
      }),
      includeClosed: fc.boolean(),
      dryRun: fc.boolean(),
    });
    fc.assert(
      fc.property(
        request,
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.integer(),
        (generated, flips, seed) => {
          const original: NormalisedRequest = {
            source: generated.source,
            targets: generated.targets,
            notificationChannel: "C06GHMZB3M3",
            options: { includeClosed: generated.includeClosed, dryRun: generated.dryRun },
          };
          const respell = ({ owner, name }: { owner: string; name: string }) => ({
            owner: recase(owner, flips),
            name: recase(name, flips),
          });
          const shuffled = [...original.targets]
            .map((target, index) => ({ target, order: (index * 7919 + seed) % 104_729 }))
            .sort((a, b) => a.order - b.order)
            .map(({ target }) => respell(target));
          const variant: NormalisedRequest = {
            ...original,
            source: respell(original.source),
            targets: shuffled,
          };
          expect(requestFingerprint(variant)).toBe(requestFingerprint(original));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
