import { hash } from "node:crypto";
import { z } from "zod";
import { Intake, RequestId, SLACK_CHANNEL_ID_PATTERN, SlackChannelId, Timestamp } from "./fields.js";
import { type ContractIssue, contractIssues, formatIssues } from "./issues.js";
import {
  formatRepository,
  Repository,
  RepositoryReference,
  repositoryKey,
  safeParseRepository,
} from "./repository.js";
import { SCHEMA_VERSION, schemaVersionField } from "./version.js";

/** Target repositories one request may name. */
export const MAX_TARGETS_PER_REQUEST = 500;

/**
 * Largest raw request (pub/sub message, inbox entry or HTTP body) ingest reads. The largest valid
 * request, 500 targets of the longest possible URL, pretty-printed, is about 90 KiB: every request
 * the schema accepts fits, so the size check only ever stops junk.
 */
export const MAX_REQUEST_BYTES = 128 * 1024;

/** A list of 1 to {@link MAX_TARGETS_PER_REQUEST} targets. */
export function targetList<T extends z.ZodType>(target: T) {
  return z
    .array(target)
    .min(1, "at least one target repository is required")
    .max(MAX_TARGETS_PER_REQUEST, {
      error: (issue) =>
        `at most ${MAX_TARGETS_PER_REQUEST} target repositories per request, got ${
          Array.isArray(issue.input) ? issue.input.length : "more"
        }`,
    });
}

/**
 * Refuses targets that repeat (compared case-insensitively, as GitHub does) or that are the source.
 * A repeated target is refused rather than dropped: it is a bug in the caller's list, and silently
 * deduplicating would hide it.
 */
function checkTargets(
  source: Repository,
  targets: readonly Repository[],
  path: string,
  context: z.RefinementCtx,
): void {
  const sourceKey = repositoryKey(source);
  const firstSeen = new Map<string, { index: number; target: Repository }>();
  targets.forEach((target, index) => {
    const key = repositoryKey(target);
    const first = firstSeen.get(key);
    let message: string | undefined;
    if (key === sourceKey) {
      message = `${formatRepository(target)} is the source repository; it cannot also be a target`;
    } else if (first) {
      message = `${formatRepository(target)} repeats target ${first.index} (${formatRepository(first.target)}); each target may be listed once`;
    } else {
      firstSeen.set(key, { index, target });
    }
    if (message) context.addIssue({ code: "custom", path: [path, index], message });
  });
}

/** Options of one request; both default to false. */
export const RequestOptions = z.object({
  includeClosed: z.boolean().describe("Copy closed issues too, not only open ones."),
  dryRun: z.boolean().describe("Plan and report without creating anything."),
});
export type RequestOptions = z.infer<typeof RequestOptions>;

/** A request in the one internal form, whichever way it arrived. */
export const NormalisedRequest = z
  .object({
    source: Repository,
    targets: targetList(Repository),
    notificationChannel: SlackChannelId,
    options: RequestOptions,
  })
  .superRefine((request, context) => checkTargets(request.source, request.targets, "targets", context))
  .meta({ title: "NormalisedRequest", description: "A migration request in Monarch's internal form." });
export type NormalisedRequest = z.infer<typeof NormalisedRequest>;

/** An option of the legacy payload: absent or null (Python's None) means false. */
function legacyFlag(option: z.ZodBoolean) {
  return option
    .nullish()
    .transform((value) => value ?? false)
    .describe(`${option.description ?? ""} Default false.`);
}

/**
 * What the platform sends, on every intake (pub/sub, inbox stream, HTTP): its snake_case payload,
 * exactly as it publishes it today, parsed into a {@link NormalisedRequest}. `schema_version` may be
 * left out (it means 1); it is the one message where that is allowed.
 */
export const MigrationRequestPayload = z
  .object({
    schema_version: schemaVersionField().optional().describe("Absent means 1."),
    notification_channel: SlackChannelId,
    source_repo: RepositoryReference,
    all_target_repositories: targetList(RepositoryReference),
    include_closed: legacyFlag(RequestOptions.shape.includeClosed),
    dry_run: legacyFlag(RequestOptions.shape.dryRun),
  })
  .superRefine((payload, context) =>
    checkTargets(payload.source_repo, payload.all_target_repositories, "all_target_repositories", context),
  )
  .transform(
    (payload): NormalisedRequest => ({
      source: payload.source_repo,
      targets: payload.all_target_repositories,
      notificationChannel: payload.notification_channel,
      options: { includeClosed: payload.include_closed, dryRun: payload.dry_run },
    }),
  )
  .meta({
    title: "MigrationRequestPayload",
    description:
      "A migration request as the learning platform sends it (pub/sub, inbox stream or HTTP body).",
  });
export type MigrationRequestPayload = z.input<typeof MigrationRequestPayload>;

/** The entry ingest appends to the migrations stream for each accepted request. */
export const MigrationRequested = z
  .object({
    schemaVersion: schemaVersionField(),
    requestId: RequestId,
    receivedAt: Timestamp,
    via: Intake,
    request: NormalisedRequest,
  })
  .meta({ title: "MigrationRequested", description: "An accepted request, on the migrations stream." });
export type MigrationRequested = z.infer<typeof MigrationRequested>;

/** Why a raw request was refused: the size, the encoding, the JSON, or the schema. */
export type InvalidRequestKind = "too-large" | "not-utf8" | "not-json" | "invalid";

/** A raw request that ingest cannot accept; `issues` say what is wrong and where. */
export class InvalidMigrationRequestError extends Error {
  override readonly name = "InvalidMigrationRequestError";
  constructor(
    readonly kind: InvalidRequestKind,
    readonly issues: readonly ContractIssue[],
    options?: ErrorOptions,
  ) {
    super(`invalid migration request: ${formatIssues(issues)}`, options);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a raw request from any intake: checks its size before anything else (so a huge body costs
 * no parsing), then the encoding, the JSON and the schema (a payload with nothing wrong is read
 * without it, see {@link readValidPayload}). Throws {@link InvalidMigrationRequestError}.
 */
export function parseMigrationRequest(raw: string | Buffer): NormalisedRequest {
  const refuse = (kind: InvalidRequestKind, message: string, cause?: unknown) =>
    new InvalidMigrationRequestError(kind, [{ path: "", message }], cause === undefined ? {} : { cause });
  const bytes = typeof raw === "string" ? Buffer.byteLength(raw, "utf8") : raw.length;
  if (bytes > MAX_REQUEST_BYTES) {
    throw refuse("too-large", `the request is ${bytes} bytes; the limit is ${MAX_REQUEST_BYTES}`);
  }
  let json: unknown;
  try {
    // A byte order mark is dropped, whether the bytes or text arrived.
    json = JSON.parse(typeof raw === "string" ? raw.replace(/^\uFEFF/, "") : utf8.decode(raw));
  } catch (error) {
    if (error instanceof SyntaxError)
      throw refuse("not-json", `the request is not JSON: ${error.message}`, error);
    throw refuse("not-utf8", "the request is not valid UTF-8", error);
  }
  const valid = readValidPayload(json);
  if (valid !== undefined) return valid;
  let result: ReturnType<typeof MigrationRequestPayload.safeParse>;
  try {
    result = MigrationRequestPayload.safeParse(json);
  } catch (error) {
    // Only input beyond reason gets here (nesting that exhausts the stack): still just a refusal.
    throw refuse("invalid", `the request could not be checked: ${String(error)}`, error);
  }
  if (!result.success) {
    throw new InvalidMigrationRequestError("invalid", contractIssues(result.error), { cause: result.error });
  }
  return result.data;
}

/**
 * Reads a payload that {@link MigrationRequestPayload} accepts into the same request, in a fraction of
 * the schema's time, by the same rules written out by hand; at the first thing wrong it gives up
 * (undefined), and the schema says what that is. Nearly every request is valid, so this is the way
 * nearly all of them take. Tests hold it to the schema's result for valid and invalid payloads alike.
 */
export function readValidPayload(json: unknown): NormalisedRequest | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const payload = json as Partial<Record<keyof MigrationRequestPayload, unknown>>;
  if (payload.schema_version !== undefined && payload.schema_version !== SCHEMA_VERSION) return undefined;
  const channel = payload.notification_channel;
  if (typeof channel !== "string" || !SLACK_CHANNEL_ID_PATTERN.test(channel)) return undefined;
  const includeClosed = legacyFlagValue(payload.include_closed);
  const dryRun = legacyFlagValue(payload.dry_run);
  if (includeClosed === undefined || dryRun === undefined) return undefined;
  const source = repositoryIn(payload.source_repo);
  const references = payload.all_target_repositories;
  if (
    source === undefined ||
    !Array.isArray(references) ||
    references.length === 0 ||
    references.length > MAX_TARGETS_PER_REQUEST
  ) {
    return undefined;
  }
  // Keys seen so far: the source's, then each target's (see checkTargets).
  const seen = new Set([repositoryKey(source)]);
  const targets: Repository[] = [];
  for (const reference of references) {
    const target = repositoryIn(reference);
    if (target === undefined) return undefined;
    const key = repositoryKey(target);
    if (seen.has(key)) return undefined;
    seen.add(key);
    targets.push(target);
  }
  return { source, targets, notificationChannel: channel, options: { includeClosed, dryRun } };
}

/** A legacy option's value (see legacyFlag), or undefined when it is not one. */
function legacyFlagValue(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return false;
  return typeof value === "boolean" ? value : undefined;
}

function repositoryIn(reference: unknown): Repository | undefined {
  if (typeof reference !== "string") return undefined;
  const parsed = safeParseRepository(reference);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Equal for requests that would do the same thing: source and targets compared case-insensitively,
 * targets in any order. Ingest uses it to spot the same request sent twice within a short window.
 */
export function requestFingerprint(request: NormalisedRequest): string {
  const canonical = JSON.stringify([
    // Names this canonical form, so that a changed form can never collide with this one.
    "monarch-request-fingerprint/1",
    repositoryKey(request.source),
    request.targets.map(repositoryKey).sort(),
    request.notificationChannel,
    request.options.includeClosed,
    request.options.dryRun,
  ]);
  return hash("sha256", canonical);
}
