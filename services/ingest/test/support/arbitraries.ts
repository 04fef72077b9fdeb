import {
  type InvalidRequestKind,
  MAX_REQUEST_BYTES,
  MAX_TARGETS_PER_REQUEST,
  type NormalisedRequest,
  type Repository,
} from "@monarch/contracts";
import fc from "fast-check";

/*
 * Raw migration requests for fuzzing ingest: valid ones in every spelling the contract accepts, and
 * adversarial ones. Each case says what it was built to be, so that a test can hold the contract to
 * it as well as the service to the contract.
 *
 * A case is a recipe, not bytes. It is made concrete with a repository unique to each send, placed
 * among its targets, so that no two valid cases are the same request (the duplicate window would
 * merge them); and it prints in a counterexample as its label and the start of its body, not as
 * 100 KiB of brackets.
 */

/** What a case was built to be; `either` leaves the verdict to the contract (random JSON, cut text…). */
export type Intended =
  | { readonly verdict: "accepted"; readonly request: NormalisedRequest }
  | { readonly verdict: "refused"; readonly kind: InvalidRequestKind }
  | { readonly verdict: "either" };

export interface RawRequest {
  readonly body: Buffer;
  readonly intended: Intended;
}

/** The unique target that counterexamples show. */
const PREVIEW_TARGET: Repository = { owner: "monarch-fuzz", name: "unique" };
const PREVIEW_BYTES = 240;

export class PayloadCase {
  constructor(
    readonly label: string,
    private readonly make: (unique: Repository) => RawRequest,
  ) {}

  /** The case's bytes, with `unique` among its targets (when it has a list of them). */
  materialise(unique: Repository): RawRequest {
    return this.make(unique);
  }

  /** How fast-check prints the case. */
  [fc.toStringMethod](): string {
    const { body } = this.make(PREVIEW_TARGET);
    const head = JSON.stringify(body.subarray(0, PREVIEW_BYTES).toString("utf8"));
    return `${this.label} [${body.length} bytes] ${head}${body.length > PREVIEW_BYTES ? "…" : ""}`;
  }

  toString(): string {
    return this[fc.toStringMethod]();
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing JSON by hand: keys may repeat or be "__proto__", and some values are written as raw text
// (a number spelled 1.0, or nesting too deep for JSON.stringify).

/** JSON text written as it is; `note` says what it is in labels. */
class RawJson {
  constructor(
    readonly text: string,
    readonly note = text,
  ) {}
}

type Json = RawJson | null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** One member of the payload object: its key and its value. */
type Member = readonly [key: string, value: Json];

function write(value: Json): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(write).join(",")}]`;
  return JSON.stringify(value);
}

type Layout = "compact" | "spaced" | "pretty";

function objectText(members: readonly Member[], layout: Layout): string {
  const written = members.map(([key, value]) =>
    layout === "compact"
      ? `${JSON.stringify(key)}:${write(value)}`
      : `${JSON.stringify(key)}: ${write(value)}`,
  );
  if (layout === "pretty") return `{\n  ${written.join(",\n  ")}\n}`;
  return layout === "spaced" ? `{ ${written.join(", ")} }` : `{${written.join(",")}}`;
}

const deepArrays = (depth: number) =>
  new RawJson(`${"[".repeat(depth)}${"]".repeat(depth)}`, `${depth} nested arrays`);
const deepObjects = (depth: number) =>
  new RawJson(`${'{"a":'.repeat(depth)}null${"}".repeat(depth)}`, `${depth} nested objects`);

/** Nesting within the size cap: up to 50,000 arrays (100 KB) or 15,000 objects (90 KB). */
const deepNesting = fc.oneof(
  fc.integer({ min: 1, max: 50_000 }).map(deepArrays),
  fc.integer({ min: 1, max: 15_000 }).map(deepObjects),
);
/** Nesting that leaves room for the rest of a payload: up to 20 KB. */
const someNesting = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }).map(deepArrays),
  fc.integer({ min: 1, max: 3_000 }).map(deepObjects),
);

// ---------------------------------------------------------------------------------------------------
// Valid payloads.

/** Owners the tests reserve for targets they make up (the unique one, bulk lists). */
const RESERVED_OWNER_PREFIX = "monarch-";

/** Logins GitHub allows (as in contracts' test arbitraries), minus the reserved ones. */
const owner = fc
  .stringMatching(/^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,19}$/)
  .filter((login) => !login.toLowerCase().startsWith(RESERVED_OWNER_PREFIX));

/** Repository names GitHub allows (as in contracts' test arbitraries). */
const name = fc
  .stringMatching(/^[A-Za-z0-9._-]{1,100}$/)
  .filter((text) => text !== "." && text !== ".." && !text.endsWith(".git"));

const repository = fc.record({ owner, name });

const key = (repo: Repository) => `${repo.owner}/${repo.name}`.toLowerCase();

/** Whitespace that `String.prototype.trim` removes around a reference. */
const trimmed = fc
  .array(fc.constantFrom(" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\ufeff"), { maxLength: 3 })
  .map((chars) => chars.join(""));

/** The ways the platform may write one repository. */
const spelling = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ url: false as const }) },
  fc.record({
    url: fc.constant(true as const),
    scheme: fc.constantFrom("https", "http", "HTTPS"),
    host: fc.constantFrom("github.com", "www.github.com", "GitHub.com"),
    suffix: fc.constantFrom("", "/", ".git", ".git/"),
  }),
  fc.record({ url: fc.constant(false as const), before: trimmed, after: trimmed }),
);
type Spelling = typeof spelling extends fc.Arbitrary<infer S> ? S : never;

function spell(repo: Repository, how: Spelling): string {
  const path = `${repo.owner}/${repo.name}`;
  if (how.url) return `${how.scheme}://${how.host}/${path}${how.suffix}`;
  return "before" in how ? `${how.before}${path}${how.after}` : path;
}

interface Written {
  readonly repository: Repository;
  readonly text: string;
}

const written = fc
  .record({ repository, spelling })
  .map(({ repository, spelling }): Written => ({ repository, text: spell(repository, spelling) }));

const channel = fc.stringMatching(/^[CGD][A-Z0-9]{8,20}$/);

/** An optional flag: absent, a boolean, or null (Python's None, read as false). */
const flag = fc.constantFrom("absent" as const, true, false, null);
type Flag = typeof flag extends fc.Arbitrary<infer F> ? F : never;

const KNOWN_FIELDS = [
  "schema_version",
  "notification_channel",
  "source_repo",
  "all_target_repositories",
  "include_closed",
  "dry_run",
] as const;
type Field = (typeof KNOWN_FIELDS)[number];
const REQUIRED_FIELDS = ["notification_channel", "source_repo", "all_target_repositories"] as const;

/** Members the contract does not know and drops: prototype names, near-misses of real keys, anything. */
const extraMember: fc.Arbitrary<Member> = fc.tuple(
  fc
    .oneof(
      fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"),
      fc.constantFrom("sourceRepo", "Source_Repo", "targets", "schemaVersion", "dry-run", "source_repo "),
      fc.string(),
    )
    .filter((member) => !(KNOWN_FIELDS as readonly string[]).includes(member)),
  fc.oneof({ weight: 9, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> }, someNesting),
);

interface ValidPayload {
  readonly source: Written;
  /** The case's own targets, besides its unique target and any bulk ones. */
  readonly targets: readonly Written[];
  /** Made-up targets that take the list to this many (at most the limit), for lists near 500. */
  readonly bulkUpTo: number;
  /** Where the unique target goes (modulo the list's length). */
  readonly uniqueAt: number;
  readonly channel: string;
  readonly includeClosed: Flag;
  readonly dryRun: Flag;
  /** How `schema_version: 1` is spelled, if at all; all of these are the number 1. */
  readonly schemaVersion: "absent" | "1" | "1.0" | "1e0" | "0.1e1" | "1.0000000000000001";
  readonly extras: readonly Member[];
  readonly order: readonly Field[];
  readonly extrasFirst: boolean;
  readonly layout: Layout;
}

const validPayload: fc.Arbitrary<ValidPayload> = fc
  .record({
    repositories: fc.uniqueArray(written, {
      minLength: 1,
      maxLength: 9,
      selector: ({ repository }) => key(repository),
    }),
    bulkUpTo: fc.oneof(
      { withCrossShrink: true },
      { weight: 18, arbitrary: fc.constant(0) },
      fc.integer({ min: 1, max: MAX_TARGETS_PER_REQUEST }),
      fc.constant(MAX_TARGETS_PER_REQUEST),
    ),
    uniqueAt: fc.nat(),
    channel,
    includeClosed: flag,
    dryRun: flag,
    schemaVersion: fc.constantFrom("absent", "1", "1.0", "1e0", "0.1e1", "1.0000000000000001"),
    extras: fc.oneof(
      { withCrossShrink: true },
      { weight: 3, arbitrary: fc.constant([]) },
      fc.array(extraMember, { minLength: 1, maxLength: 3 }),
    ),
    order: fc.shuffledSubarray([...KNOWN_FIELDS], {
      minLength: KNOWN_FIELDS.length,
      maxLength: KNOWN_FIELDS.length,
    }),
    extrasFirst: fc.boolean(),
    layout: fc.constantFrom("compact", "spaced", "pretty"),
  })
  .map(({ repositories: [source, ...targets], ...rest }) => ({
    source: source as Written,
    targets,
    ...rest,
  }));

/** Every target in order: the case's own, the bulk ones, and the unique one at `uniqueAt`. */
function targetsOf(payload: ValidPayload, unique: Repository): Written[] {
  const own = [...payload.targets];
  const bulk = Math.max(0, payload.bulkUpTo - own.length - 1);
  for (let index = 0; index < bulk; index++) {
    const repository = { owner: `${RESERVED_OWNER_PREFIX}bulk`, name: `t${index}` };
    own.push({ repository, text: `${repository.owner}/${repository.name}` });
  }
  own.splice(payload.uniqueAt % (own.length + 1), 0, {
    repository: unique,
    text: `${unique.owner}/${unique.name}`,
  });
  return own;
}

function membersOf(payload: ValidPayload, unique: Repository): Member[] {
  const flagValue = (value: Flag) => (value === "absent" ? undefined : value);
  const values: Record<Field, Json | undefined> = {
    schema_version: payload.schemaVersion === "absent" ? undefined : new RawJson(payload.schemaVersion),
    notification_channel: payload.channel,
    source_repo: payload.source.text,
    all_target_repositories: targetsOf(payload, unique).map(({ text }) => text),
    include_closed: flagValue(payload.includeClosed),
    dry_run: flagValue(payload.dryRun),
  };
  const known = payload.order.flatMap((field): Member[] => {
    const value = values[field];
    return value === undefined ? [] : [[field, value]];
  });
  return payload.extrasFirst ? [...payload.extras, ...known] : [...known, ...payload.extras];
}

/** The request a valid payload stands for, worked out from how it was built (not by the contract). */
function requestOf(payload: ValidPayload, unique: Repository): NormalisedRequest {
  return {
    source: payload.source.repository,
    targets: targetsOf(payload, unique).map(({ repository }) => repository),
    notificationChannel: payload.channel,
    options: { includeClosed: payload.includeClosed === true, dryRun: payload.dryRun === true },
  };
}

function payloadText(payload: ValidPayload, unique: Repository): string {
  return objectText(membersOf(payload, unique), payload.layout);
}

/** Accepted as built, unless what was added to it took it past the size limit. */
const accepted = (payload: ValidPayload, unique: Repository, body: Buffer): Intended =>
  body.length > MAX_REQUEST_BYTES
    ? { verdict: "refused", kind: "too-large" }
    : { verdict: "accepted", request: requestOf(payload, unique) };

/** Refused by the schema, or for its size when a mutation made it that large. */
const refusedByTheSchema = (body: Buffer): Intended => ({
  verdict: "refused",
  kind: body.length > MAX_REQUEST_BYTES ? "too-large" : "invalid",
});

const validCase = validPayload.map(
  (payload) =>
    new PayloadCase("valid", (unique) => {
      const body = Buffer.from(payloadText(payload, unique));
      return { body, intended: accepted(payload, unique, body) };
    }),
);

// ---------------------------------------------------------------------------------------------------
// Broken fields: one thing wrong with an otherwise valid payload (or, for a few, something odd that
// is still valid).

/** A change to the members of a valid payload, and whether the result is still valid. */
interface Mutation {
  readonly label: string;
  readonly stillValid: boolean;
  apply(members: readonly Member[]): Member[];
}

const mutation = (label: string, apply: Mutation["apply"], stillValid = false): Mutation => ({
  label,
  stillValid,
  apply,
});

/** Replaces the field's value (its last occurrence, which JSON.parse keeps), or adds it. */
function withField(members: readonly Member[], field: string, value: Json): Member[] {
  const at = members.map(([member]) => member).lastIndexOf(field);
  return at === -1
    ? [...members, [field, value]]
    : members.map((member, index): Member => (index === at ? [field, value] : member));
}

const withoutFields = (members: readonly Member[], fields: readonly string[]) =>
  members.filter(([member]) => !fields.includes(member));

/** The field's value as JSON.parse reads it: its last occurrence. */
const fieldValue = (members: readonly Member[], field: string) =>
  [...members].reverse().find(([member]) => member === field)?.[1];

const targetList = (members: readonly Member[]) =>
  fieldValue(members, "all_target_repositories") as readonly Json[];

/** The target list with `change` made to a copy of it. */
function withTargets(members: readonly Member[], change: (targets: Json[]) => void): Member[] {
  const targets = [...targetList(members)];
  change(targets);
  return withField(members, "all_target_repositories", targets);
}

/**
 * The same reference with its letters' case flipped where `flips` say (GitHub ignores case), except a
 * URL's `.git` suffix: the contract strips only a lower-case one, so `.GIT` would name another repository.
 */
function recase(reference: string, flips: readonly boolean[]): string {
  const [, body = reference, suffix = ""] = /^(.*?)(\.git\/?)?$/s.exec(reference) ?? [];
  const flipped = [...body].map((char, index) =>
    flips[index % flips.length] ? char.toUpperCase() : char.toLowerCase(),
  );
  return `${flipped.join("")}${suffix}`;
}

const numberish: fc.Arbitrary<Json> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(new RawJson("1e999"), new RawJson("-0"), new RawJson("2"), new RawJson("0.9999999")),
);
const numbersAsStrings = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom("1", "1.0", "true", "false", "null", "0", ""),
);
const smallArray = fc.array(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, { maxLength: 4 });
const smallObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>, {
  maxKeys: 3,
});
/** Neither a string nor a boolean nor null (which a flag takes). */
const noScalarTheSchemaTakes: fc.Arbitrary<Json> = fc.oneof(numberish, smallArray, smallObject, deepNesting);
/** Anything but a string or null. */
const notAStringNorNull: fc.Arbitrary<Json> = fc.oneof(noScalarTheSchemaTakes, fc.boolean());
/** Small values that are not strings, for long lists. */
const smallNotAString: fc.Arbitrary<Json> = fc.oneof(
  numberish,
  fc.boolean(),
  fc.constant(null),
  smallArray,
  smallObject,
);

const parsedValue = (value: Json): unknown => JSON.parse(write(value));

/** A value of the wrong type for each field. */
const wrongValue: Record<Field, fc.Arbitrary<Json>> = {
  schema_version: fc
    .oneof(notAStringNorNull, numbersAsStrings, fc.constant(null))
    .filter((value) => parsedValue(value) !== 1),
  notification_channel: fc.oneof(notAStringNorNull, fc.constant(null)),
  source_repo: fc.oneof(
    notAStringNorNull,
    fc.constant(null),
    written.map(({ text }) => [text]),
  ),
  all_target_repositories: fc.oneof(
    numberish,
    fc.boolean(),
    fc.constant(null),
    smallObject,
    written.map(({ text }) => text),
    fc.string(),
  ),
  include_closed: fc.oneof(noScalarTheSchemaTakes, numbersAsStrings, fc.string()),
  dry_run: fc.oneof(noScalarTheSchemaTakes, numbersAsStrings, fc.string()),
};

/** Characters that must not appear inside a reference (the ends are trimmed, so inside only). */
const foreignChar = fc.constantFrom(
  "\u0000",
  "\u0001",
  "\u001b",
  "\u007f",
  "\t",
  "\n",
  " ",
  "\u00a0",
  "\u200b",
  "\u2028",
  "\ufeff",
  "\ud800",
  "é",
  "／",
  "%",
  "\\",
  "?",
  "#",
  "@",
);

/** Ways to get a reference wrong: path tricks, other hosts and schemes, bad owners and names, junk. */
const referenceTricks: ReadonlyArray<(owner: string, name: string) => string> = [
  (o) => `${o}/..`,
  (o) => `${o}/.`,
  (_, n) => `../${n}`,
  (o, n) => `${o}/../${n}`,
  (o, n) => `https://github.com/${o}/../${n}`,
  (_, n) => `https://github.com/../${n}`,
  (o, n) => `${o}/${n}.git`,
  (o, n) => `https://github.com/${o}/${n}.git.git`,
  (o, n) => `${o}/${n}/issues`,
  (o, n) => `https://github.com/${o}/${n}/issues`,
  (o, n) => `/${o}/${n}`,
  (o, n) => `${o}//${n}`,
  (o, n) => `${o}/${n}/`,
  (o, n) => `${o}\\${n}`,
  (o, n) => `${o}${n}`,
  (o) => `https://github.com/${o}`,
  (o) => `https://github.com/${o}/`,
  (o, n) => `https://gitlab.com/${o}/${n}`,
  (o, n) => `https://github.com.evil.example/${o}/${n}`,
  (o, n) => `ftp://github.com/${o}/${n}`,
  (o, n) => `git@github.com:${o}/${n}.git`,
  (o, n) => `https://user@github.com/${o}/${n}`,
  (o, n) => `https://github.com:443/${o}/${n}`,
  (o, n) => `github.com/${o}/${n}`,
  (o, n) => `${o}/${n}?tab=issues`,
  (o, n) => `${o}/${n}#readme`,
  (o) => `${o}/%2e%2e`,
  (o, n) => `${o}%2F${n}`,
  (o, n) => `-${o}/${n}`,
  (o, n) => `${o}-/${n}`,
  (o, n) => `${o}--x/${n}`,
  (o, n) => `${o}_x/${n}`,
  (o, n) => `${o}.x/${n}`,
  (o, n) => `${o}${"x".repeat(40)}/${n}`,
  (o, n) => `${o}/${n}${"x".repeat(101)}`,
  // Trimmed, this would be valid; untrimmed it is over the 256-character cap.
  (o, n) => `${" ".repeat(257)}${o}/${n}`,
  (o, n) => `${o}/${n}${"x".repeat(20_000)}`,
  () => "",
  () => " \t\n",
  () => "/",
  () => "https://github.com/",
  (o, n) => `${o.length + n.length}`,
];

/** References the contract must refuse. */
const badReference: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({ repo: repository, trick: fc.constantFrom(...referenceTricks) })
    .map(({ repo, trick }) => trick(repo.owner, repo.name)),
  // A foreign character inside an otherwise valid `owner/name`.
  fc.record({ repo: repository, char: foreignChar, at: fc.nat() }).map(({ repo, char, at }) => {
    const plain = `${repo.owner}/${repo.name}`;
    const inside = 1 + (at % (plain.length - 1));
    return `${plain.slice(0, inside)}${char}${plain.slice(inside)}`;
  }),
);

/** Slack channel ids the contract must refuse. */
const badChannel: fc.Arbitrary<Json> = fc.oneof(
  channel.map((id) => id.toLowerCase()),
  fc.stringMatching(/^[CGD][A-Z0-9]{0,7}$/),
  fc.stringMatching(/^[CGD][A-Z0-9]{21,40}$/),
  fc.stringMatching(/^[ABEFH-Z0-9][A-Z0-9]{8,20}$/),
  // JavaScript's `$` does not match before a final newline, unlike some regex dialects.
  fc.tuple(channel, foreignChar).map(([id, char]) => `${id}${char}`),
  fc.tuple(channel, foreignChar).map(([id, char]) => `${char}${id}`),
  fc.constantFrom("", "#general", "general", "C06 GHMZB3M3"),
);

const flips = fc.array(fc.boolean(), { minLength: 1, maxLength: 8 });

const brokenField: fc.Arbitrary<Mutation> = fc.oneof(
  ...KNOWN_FIELDS.map((field) =>
    wrongValue[field].map((value) =>
      mutation(`${field} of the wrong type`, (members) => withField(members, field, value)),
    ),
  ),
  fc
    .constantFrom(...REQUIRED_FIELDS)
    .map((field) => mutation(`no ${field}`, (members) => withoutFields(members, [field]))),
  fc
    .record({ text: badReference, at: fc.oneof(fc.constant("source" as const), fc.nat()) })
    .map(({ text, at }) =>
      at === "source"
        ? mutation("bad source_repo", (members) => withField(members, "source_repo", text))
        : mutation("bad target", (members) =>
            withTargets(members, (targets) => targets.splice(at % targets.length, 1, text)),
          ),
    ),
  badChannel.map((id) =>
    mutation("bad channel", (members) => withField(members, "notification_channel", id)),
  ),
  fc.record({ which: fc.nat(), at: fc.nat(), flips }).map(({ which, at, flips }) =>
    mutation("repeated target", (members) =>
      withTargets(members, (targets) => {
        const again = recase(String(targets[which % targets.length]), flips);
        targets.splice(at % (targets.length + 1), 0, again);
      }),
    ),
  ),
  fc
    .record({ at: fc.nat(), flips })
    .map(({ at, flips }) =>
      mutation("source among the targets", (members) =>
        withTargets(members, (targets) =>
          targets.splice(
            at % (targets.length + 1),
            0,
            recase(String(fieldValue(members, "source_repo")), flips),
          ),
        ),
      ),
    ),
  fc.integer({ min: MAX_TARGETS_PER_REQUEST + 1, max: 3_000 }).map((count) =>
    mutation(`${count} targets`, (members) =>
      withTargets(members, (targets) => {
        for (let index = targets.length; index < count; index++)
          targets.push(`${RESERVED_OWNER_PREFIX}many/t${index}`);
      }),
    ),
  ),
  fc.constant(mutation("no targets", (members) => withField(members, "all_target_repositories", []))),
  fc.record({ length: fc.integer({ min: 1, max: 10_000 }), item: smallNotAString }).map(({ length, item }) =>
    mutation(`${length} targets that are not strings`, (members) =>
      withField(
        members,
        "all_target_repositories",
        Array.from({ length }, () => item),
      ),
    ),
  ),
  fc
    .record({ at: fc.nat(), item: fc.oneof(notAStringNorNull, fc.constant(null)) })
    .map(({ at, item }) =>
      mutation("a target that is not a string", (members) =>
        withTargets(members, (targets) => targets.splice(at % targets.length, 1, item)),
      ),
    ),
  fc
    .record({ field: fc.constantFrom(...KNOWN_FIELDS), nesting: deepNesting })
    .map(({ field, nesting }) =>
      mutation(`${nesting.note} in ${field}`, (members) => withField(members, field, nesting)),
    ),
  deepNesting.map((nesting) =>
    mutation(
      `${nesting.note} in a member nobody reads`,
      (members) => [...members, ["nested", nesting]],
      true,
    ),
  ),
  // Required members moved under "__proto__" or "constructor.prototype": JSON.parse makes those own
  // members, so the required ones are missing; merging them into an object would make them inherited.
  fc
    .record({
      fields: fc.subarray([...REQUIRED_FIELDS], { minLength: 1 }),
      into: fc.constantFrom("__proto__", "constructor", "prototype"),
    })
    .map(({ fields, into }) =>
      mutation(`${fields.join(", ")} under ${into}`, (members) => {
        const moved = members.filter(([member]) => (fields as string[]).includes(member));
        const inner = new RawJson(objectText(moved, "compact"));
        const smuggled = into === "constructor" ? new RawJson(`{"prototype":${inner.text}}`) : inner;
        return [[into, smuggled], ...withoutFields(members, fields)];
      }),
    ),
  // A repeated key: JSON.parse keeps the last one.
  fc
    .record({
      field: fc.constantFrom(...REQUIRED_FIELDS),
      junk: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
    })
    .map(({ field, junk }) =>
      mutation(`${field} repeated, the real one last`, (members) => [[field, junk], ...members], true),
    ),
  fc.oneof(
    ...REQUIRED_FIELDS.map((field) =>
      wrongValue[field].map((junk) =>
        mutation(`${field} repeated, a wrong one last`, (members) => [...members, [field, junk]]),
      ),
    ),
  ),
);

const brokenFieldCase = fc.record({ payload: validPayload, change: brokenField }).map(
  ({ payload, change }) =>
    new PayloadCase(change.label, (unique) => {
      const body = Buffer.from(objectText(change.apply(membersOf(payload, unique)), payload.layout));
      return {
        body,
        intended: change.stillValid ? accepted(payload, unique, body) : refusedByTheSchema(body),
      };
    }),
);

// ---------------------------------------------------------------------------------------------------
// Changes to a valid payload's bytes.

/** Byte sequences that are not UTF-8 wherever they are put (overlong, surrogate, out of range, cut). */
const notUtf8 = fc.constantFrom(
  [0xff],
  [0xfe],
  [0x80],
  [0xc0, 0xaf],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
);

const insertAt = (body: Buffer, at: number, bytes: Buffer) => {
  const index = at % (body.length + 1);
  return Buffer.concat([body.subarray(0, index), bytes, body.subarray(index)]);
};

const textCase = fc.oneof(
  fc.record({ payload: validPayload, bytes: notUtf8, at: fc.nat() }).map(
    ({ payload, bytes, at }) =>
      new PayloadCase(`not UTF-8 (${Buffer.from(bytes).toString("hex")})`, (unique) => ({
        body: insertAt(Buffer.from(payloadText(payload, unique)), at, Buffer.from(bytes)),
        intended: { verdict: "refused", kind: "not-utf8" },
      })),
  ),
  // Around the size limit, padded with JSON whitespace: the limit itself is allowed.
  fc
    .record({
      payload: validPayload,
      over: fc.oneof(fc.integer({ min: -2, max: 2 }), fc.integer({ min: 3, max: 100_000 })),
      padding: fc.constantFrom(" ", "\n", "\t", "\r\n"),
    })
    .map(
      ({ payload, over, padding }) =>
        new PayloadCase(`${MAX_REQUEST_BYTES}${over < 0 ? "" : "+"}${over} bytes`, (unique) => {
          const text = payloadText(payload, unique);
          const size = MAX_REQUEST_BYTES + over;
          const body = Buffer.from(`${text}${padding.repeat(size)}`).subarray(0, size);
          return {
            body,
            intended: accepted(payload, unique, body),
          };
        }),
    ),
  validPayload.map(
    (payload) =>
      new PayloadCase("with a byte order mark", (unique) => ({
        body: Buffer.from(`\ufeff${payloadText(payload, unique)}`),
        intended: { verdict: "either" },
      })),
  ),
  fc.record({ payload: validPayload, char: foreignChar, at: fc.nat() }).map(
    ({ payload, char, at }) =>
      new PayloadCase(`a raw ${JSON.stringify(char)} in the text`, (unique) => ({
        body: insertAt(Buffer.from(payloadText(payload, unique)), at, Buffer.from(char)),
        intended: { verdict: "either" },
      })),
  ),
  fc.record({ payload: validPayload, at: fc.nat() }).map(
    ({ payload, at }) =>
      new PayloadCase("cut short", (unique) => {
        const text = Buffer.from(payloadText(payload, unique));
        return { body: text.subarray(0, at % text.length), intended: { verdict: "either" } };
      }),
  ),
  fc.record({ payload: validPayload, tail: fc.constantFrom("x", "{}", "]", "\u0000", "null") }).map(
    ({ payload, tail }) =>
      new PayloadCase("trailing text", (unique) => ({
        body: Buffer.from(`${payloadText(payload, unique)}${tail}`),
        intended: { verdict: "refused", kind: "not-json" },
      })),
  ),
);

// ---------------------------------------------------------------------------------------------------
// Not a payload at all.

const junk = (label: string, body: Buffer, intended: Intended = { verdict: "either" }) =>
  new PayloadCase(label, () => ({ body, intended }));

const junkCase = fc.oneof(
  fc.jsonValue().map((value) => junk("random JSON", Buffer.from(JSON.stringify(value) ?? "null"))),
  fc
    .oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", maxLength: 50 }))
    .map((text) => junk("random text", Buffer.from(text))),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => junk("random bytes", Buffer.from(bytes))),
  deepNesting.map((nesting) =>
    junk(nesting.note, Buffer.from(nesting.text), { verdict: "refused", kind: "invalid" }),
  ),
  validPayload.map(
    (payload) =>
      new PayloadCase("a payload inside an array", (unique) => ({
        body: Buffer.from(`[${payloadText(payload, unique)}]`),
        intended: { verdict: "refused", kind: "invalid" },
      })),
  ),
  validPayload.map(
    (payload) =>
      new PayloadCase("a payload encoded twice", (unique) => ({
        body: Buffer.from(JSON.stringify(payloadText(payload, unique))),
        intended: { verdict: "refused", kind: "invalid" },
      })),
  ),
);

/** Any case: about a third valid, the rest adversarial. */
export const payloadCase: fc.Arbitrary<PayloadCase> = fc.oneof(
  { weight: 7, arbitrary: validCase },
  { weight: 9, arbitrary: brokenFieldCase },
  { weight: 2, arbitrary: textCase },
  { weight: 2, arbitrary: junkCase },
);

/** A case from fixed text or bytes, `{unique}` standing for the unique target's `owner/name`. */
export function literalCase(label: string, text: string | Buffer, intended: Intended): PayloadCase {
  // latin1 maps bytes to characters one to one, so bytes that are not UTF-8 pass through unchanged.
  const template = Buffer.from(text).toString("latin1");
  return new PayloadCase(label, (unique) => ({
    body: Buffer.from(template.replaceAll("{unique}", `${unique.owner}/${unique.name}`), "latin1"),
    intended,
  }));
}
