import { z } from "zod";
import { quote } from "./issues.js";

/** GitHub's limits on user and organisation logins and on repository names. */
export const OWNER_MAX_LENGTH = 39;
export const REPOSITORY_NAME_MAX_LENGTH = 100;

/**
 * Longest accepted reference before trimming. The longest valid one,
 * `https://www.github.com/<39>/<100>.git/`, has 168 characters; the cap keeps junk out of the parser.
 */
export const MAX_REPOSITORY_REFERENCE_LENGTH = 256;

const length = (issue: { input: unknown }) => String(issue.input).length;

/** A user or organisation login: 1–39 letters, digits and single hyphens, no hyphen at either end. */
export const RepositoryOwner = z
  .string()
  .min(1, "owner is empty")
  .max(OWNER_MAX_LENGTH, {
    error: (issue) =>
      `owner ${quote(issue.input)} is ${length(issue)} characters long; the limit is ${OWNER_MAX_LENGTH}`,
  })
  .regex(/^[A-Za-z0-9-]*$/, {
    error: (issue) => `owner ${quote(issue.input)} may only contain letters, digits and hyphens`,
  })
  .regex(/^(?!-)/, { error: (issue) => `owner ${quote(issue.input)} may not begin with a hyphen` })
  .regex(/^(?!.*-$)/, { error: (issue) => `owner ${quote(issue.input)} may not end with a hyphen` })
  .regex(/^(?!.*--)/, {
    error: (issue) => `owner ${quote(issue.input)} may not contain consecutive hyphens`,
  });

/** A repository name: 1–100 of `A-Za-z0-9._-`, not `.` or `..`, not ending in `.git`. */
export const RepositoryName = z
  .string()
  .min(1, "repository name is empty")
  .max(REPOSITORY_NAME_MAX_LENGTH, {
    error: (issue) =>
      `repository name ${quote(issue.input)} is ${length(issue)} characters long; the limit is ${REPOSITORY_NAME_MAX_LENGTH}`,
  })
  .regex(/^[A-Za-z0-9._-]*$/, {
    error: (issue) =>
      `repository name ${quote(issue.input)} may only contain letters, digits, ".", "_" and "-"`,
  })
  .regex(/^(?!\.\.?$)/, { error: (issue) => `repository name ${quote(issue.input)} may not be "." or ".."` })
  .regex(/^(?!.*\.git$)/, {
    error: (issue) => `repository name ${quote(issue.input)} may not end in ".git"`,
  });

/**
 * The rules of {@link RepositoryOwner} and {@link RepositoryName}, each in one expression: nearly
 * every name that arrives is valid, and one test costs far less than the schema's checks. A name these
 * refuse still goes through the schema, which says what is wrong with it (tests hold both to the same
 * answers).
 */
const VALID_OWNER = /^(?!-)(?!.*--)(?!.*-$)[A-Za-z0-9-]{1,39}$/;
const VALID_NAME = /^(?!\.\.?$)(?!.*\.git$)[A-Za-z0-9._-]{1,100}$/;

/** A GitHub repository in the normalised form every message carries. Case is kept as given. */
export const Repository = z.object({ owner: RepositoryOwner, name: RepositoryName });
export type Repository = z.infer<typeof Repository>;

/** What is wrong with a repository reference, for code that branches on it (and for metrics labels). */
export type RepositoryProblem =
  | "empty"
  | "too-long"
  | "forbidden-character"
  | "unsupported-url"
  | "not-github"
  | "not-owner-and-name"
  | "invalid-owner"
  | "invalid-name";

/** A string that does not name a GitHub repository; the message says what is wrong with it. */
export class InvalidRepositoryError extends Error {
  override readonly name = "InvalidRepositoryError";
  constructor(
    readonly input: string,
    readonly problem: RepositoryProblem,
    readonly detail: string,
  ) {
    super(`invalid repository ${quote(input)}: ${detail}`);
  }
}

export type RepositoryParseResult =
  | { readonly success: true; readonly data: Repository }
  | { readonly success: false; readonly error: InvalidRepositoryError };

const GITHUB_HOSTS = new Set(["github.com", "www.github.com"]);

/** `scheme://host/path`; only characters that passed the allow-list below reach it. */
const URL_FORM = /^([A-Za-z][A-Za-z0-9.-]*):\/\/([^/]*)(.*)$/;

/**
 * Reads `owner/name` or a `http(s)://(www.)github.com/owner/name` URL (with an optional trailing
 * `.git` and slash), after trimming. Everything else is refused rather than guessed at: other hosts,
 * extra path segments (`/issues`, `/../x`), query strings, percent-encoding, backslashes.
 */
export function safeParseRepository(input: string): RepositoryParseResult {
  const fail = (problem: RepositoryProblem, detail: string): RepositoryParseResult => ({
    success: false,
    error: new InvalidRepositoryError(input, problem, detail),
  });
  if (input.length > MAX_REPOSITORY_REFERENCE_LENGTH) {
    return fail(
      "too-long",
      `it is ${input.length} characters long; the limit is ${MAX_REPOSITORY_REFERENCE_LENGTH}`,
    );
  }
  const text = input.trim();
  if (text === "") return fail("empty", "it is empty");

  // An allow-list first: every path trick (`%2e%2e`, `..\`, `?x=`, `@host`) needs a character outside it.
  const forbidden = /[^A-Za-z0-9._/:-]/.exec(text)?.[0];
  if (forbidden !== undefined) return fail("forbidden-character", describeForbidden(forbidden));

  let path = text;
  const url = URL_FORM.exec(text);
  if (url) {
    const [, scheme = "", host = "", rest = ""] = url;
    if (!/^https?$/i.test(scheme)) {
      return fail("unsupported-url", `the scheme ${quote(scheme)} is not http or https`);
    }
    if (!GITHUB_HOSTS.has(host.toLowerCase())) {
      return fail("not-github", `the host ${quote(host)} is not github.com`);
    }
    // A clone URL (`.git`) or a copied browser URL (trailing slash) names the same repository.
    path = rest
      .replace(/^\//, "")
      .replace(/\/$/, "")
      .replace(/\.git$/, "");
  }
  if (path.includes(":")) return fail("forbidden-character", `":" is only allowed after a URL scheme`);

  const segments = path.split("/");
  if (segments.length > 2) {
    return fail("not-owner-and-name", `the path ${quote(path)} has more segments than owner/name`);
  }
  const [owner = "", name = ""] = segments;
  if (owner === "" || name === "") {
    return fail("not-owner-and-name", `expected "owner/name" or "https://github.com/owner/name"`);
  }
  const ownerIssue = VALID_OWNER.test(owner) ? undefined : RepositoryOwner.safeParse(owner).error?.issues[0];
  if (ownerIssue) return fail("invalid-owner", ownerIssue.message);
  const nameIssue = VALID_NAME.test(name) ? undefined : RepositoryName.safeParse(name).error?.issues[0];
  if (nameIssue) return fail("invalid-name", nameIssue.message);
  return { success: true, data: { owner, name } };
}

/** Like {@link safeParseRepository}, throwing {@link InvalidRepositoryError}. */
export function parseRepository(input: string): Repository {
  const result = safeParseRepository(input);
  if (!result.success) throw result.error;
  return result.data;
}

function describeForbidden(character: string): string {
  switch (character) {
    case "\\":
      return "backslashes are not allowed";
    case "%":
      return "percent-encoding is not allowed";
    case "?":
    case "#":
      return "query strings and fragments are not allowed";
    default:
      return /\s/.test(character)
        ? "whitespace is not allowed inside a reference"
        : `the character ${quote(character)} is not allowed`;
  }
}

/**
 * A repository reference as the platform sends it (`owner/name` or a github.com URL), read into a
 * {@link Repository}; a bad one becomes an issue at its own path, with the reason.
 */
export const RepositoryReference = z
  .string()
  .transform((input, context) => {
    const result = safeParseRepository(input);
    if (result.success) return result.data;
    context.issues.push({
      code: "custom",
      input,
      message: result.error.message,
      params: { problem: result.error.problem },
    });
    return z.NEVER;
  })
  .meta({
    description:
      'A GitHub repository: "owner/name" or "https://github.com/owner/name" (http, www. and a trailing ".git" or "/" are accepted).',
    maxLength: MAX_REPOSITORY_REFERENCE_LENGTH,
  });

/** `owner/name`, as given (case kept). */
export function formatRepository({ owner, name }: Repository): string {
  return `${owner}/${name}`;
}

/** The repository's page on GitHub. */
export function repositoryUrl(repository: Repository): string {
  return `https://github.com/${formatRepository(repository)}`;
}

/** GitHub treats owner and name case-insensitively: equal keys name one repository. */
export function repositoryKey(repository: Repository): string {
  return formatRepository(repository).toLowerCase();
}
