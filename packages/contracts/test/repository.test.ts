import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatRepository,
  InvalidRepositoryError,
  MAX_REPOSITORY_REFERENCE_LENGTH,
  OWNER_MAX_LENGTH,
  parseRepository,
  REPOSITORY_NAME_MAX_LENGTH,
  Repository,
  RepositoryName,
  RepositoryOwner,
  type RepositoryProblem,
  RepositoryReference,
  repositoryKey,
  repositoryUrl,
  safeParseRepository,
} from "../src/index.js";
import { validName, validOwner } from "./support/arbitraries.js";

/** The problem and message a reference is refused with. */
function refusal(input: string): { problem: RepositoryProblem; message: string } {
  const result = safeParseRepository(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return { problem: result.error.problem, message: result.error.message };
}

describe("repository references", () => {
  it.each([
    ["nss-group-projects/cider-falls", "nss-group-projects", "cider-falls"],
    ["https://github.com/nss-group-projects/cider-falls", "nss-group-projects", "cider-falls"],
    ["http://github.com/owner/name", "owner", "name"],
    ["https://www.github.com/owner/name", "owner", "name"],
    ["HTTPS://GitHub.COM/Owner/Name", "Owner", "Name"],
    ["https://github.com/owner/name/", "owner", "name"],
    ["https://github.com/owner/name.git", "owner", "name"],
    ["https://github.com/owner/name.git/", "owner", "name"],
    ["  https://github.com/owner/name \n", "owner", "name"],
    ["\tStevebrownlee/Rare-Test ", "Stevebrownlee", "Rare-Test"],
    ["a/b", "a", "b"],
    ["owner/.github", "owner", ".github"],
    ["owner/my_repo-1.0", "owner", "my_repo-1.0"],
    ["owner/...", "owner", "..."],
  ])("reads %j as %s/%s, keeping the case given", (input, owner, name) => {
    expect(parseRepository(input)).toEqual({ owner, name });
  });

  it("refuses an empty or blank reference", () => {
    expect(refusal("")).toEqual({ problem: "empty", message: 'invalid repository "": it is empty' });
    expect(refusal("  \t ").problem).toBe("empty");
  });

  it(`refuses a reference longer than ${MAX_REPOSITORY_REFERENCE_LENGTH} characters before anything else`, () => {
    const longest = `https://www.github.com/${"o".repeat(39)}/${"n".repeat(100)}.git/`;
    expect(longest.length).toBeLessThanOrEqual(MAX_REPOSITORY_REFERENCE_LENGTH);
    expect(safeParseRepository(longest).success).toBe(true);
    const input = `${" ".repeat(MAX_REPOSITORY_REFERENCE_LENGTH - 2)}a/b`;
    expect(refusal(input)).toMatchObject({
      problem: "too-long",
      message: expect.stringContaining(
        `it is ${MAX_REPOSITORY_REFERENCE_LENGTH + 1} characters long; the limit is 256`,
      ),
    });
  });

  describe("owner (GitHub login) rules", () => {
    it(`accepts ${OWNER_MAX_LENGTH} characters and refuses ${OWNER_MAX_LENGTH + 1}`, () => {
      expect(parseRepository(`${"a".repeat(39)}/repo`).owner).toHaveLength(39);
      expect(refusal(`${"a".repeat(40)}/repo`)).toEqual({
        problem: "invalid-owner",
        message: `invalid repository "${"a".repeat(40)}/repo": owner "${"a".repeat(40)}" is 40 characters long; the limit is 39`,
      });
    });

    it.each([
      ["a", true],
      ["A1", true],
      ["a-b-c", true],
      ["0", true],
      ["-ab", 'owner "-ab" may not begin with a hyphen'],
      ["ab-", 'owner "ab-" may not end with a hyphen'],
      ["-", 'owner "-" may not begin with a hyphen'],
      ["a--b", 'owner "a--b" may not contain consecutive hyphens'],
      ["a_b", 'owner "a_b" may only contain letters, digits and hyphens'],
      ["a.b", 'owner "a.b" may only contain letters, digits and hyphens'],
    ])("owner %j: %s", (owner, expected) => {
      const result = safeParseRepository(`${owner}/repo`);
      if (expected === true) expect(result.success).toBe(true);
      else
        expect(result.success ? undefined : result.error).toMatchObject({
          problem: "invalid-owner",
          detail: expected,
        });
    });
  });

  describe("repository name rules", () => {
    it(`accepts ${REPOSITORY_NAME_MAX_LENGTH} characters and refuses ${REPOSITORY_NAME_MAX_LENGTH + 1}`, () => {
      expect(parseRepository(`owner/${"n".repeat(100)}`).name).toHaveLength(100);
      expect(refusal(`owner/${"n".repeat(101)}`)).toMatchObject({
        problem: "invalid-name",
        message: expect.stringContaining("is 101 characters long; the limit is 100"),
      });
    });

    it.each([
      ["owner/.", 'repository name "." may not be "." or ".."'],
      ["owner/..", 'repository name ".." may not be "." or ".."'],
      ["owner/name.git", 'repository name "name.git" may not end in ".git"'],
      // Only one ".git" is the clone suffix; what is left must still be a valid name.
      ["https://github.com/owner/name.git.git", 'repository name "name.git" may not end in ".git"'],
      ["owner/na~me", 'the character "~" is not allowed'],
    ])("%j: %s", (input, detail) => {
      const result = safeParseRepository(input);
      expect(result.success ? undefined : result.error.detail).toBe(detail);
    });
  });

  describe("path tricks and other hosts", () => {
    it.each<[string, RepositoryProblem, string]>([
      ["https://evil.com/a/b", "not-github", 'the host "evil.com" is not github.com'],
      ["https://github.com.evil.com/a/b", "not-github", 'the host "github.com.evil.com" is not github.com'],
      ["https://evilgithub.com/a/b", "not-github", 'the host "evilgithub.com" is not github.com'],
      ["https://github.com:443/a/b", "not-github", 'the host "github.com:443" is not github.com'],
      ["https://api.github.com/a/b", "not-github", 'the host "api.github.com" is not github.com'],
      ["https://user@github.com/a/b", "forbidden-character", 'the character "@" is not allowed'],
      ["git@github.com:a/b", "forbidden-character", 'the character "@" is not allowed'],
      ["ftp://github.com/a/b", "unsupported-url", 'the scheme "ftp" is not http or https'],
      ["javascript://github.com/a/b", "unsupported-url", 'the scheme "javascript" is not http or https'],
      [
        "https://github.com/a/b/issues",
        "not-owner-and-name",
        'the path "a/b/issues" has more segments than owner/name',
      ],
      [
        "https://github.com/a/b/../c",
        "not-owner-and-name",
        'the path "a/b/../c" has more segments than owner/name',
      ],
      ["a/../b", "not-owner-and-name", 'the path "a/../b" has more segments than owner/name'],
      ["../a/b", "not-owner-and-name", 'the path "../a/b" has more segments than owner/name'],
      ["/a/b", "not-owner-and-name", 'the path "/a/b" has more segments than owner/name'],
      ["a/b/", "not-owner-and-name", 'the path "a/b/" has more segments than owner/name'],
      ["github.com/a/b", "not-owner-and-name", 'the path "github.com/a/b" has more segments than owner/name'],
      ["a//b", "not-owner-and-name", 'the path "a//b" has more segments than owner/name'],
      ["a", "not-owner-and-name", 'expected "owner/name" or "https://github.com/owner/name"'],
      ["a/", "not-owner-and-name", 'expected "owner/name" or "https://github.com/owner/name"'],
      [
        "https://github.com",
        "not-owner-and-name",
        'expected "owner/name" or "https://github.com/owner/name"',
      ],
      [
        "https://github.com/a",
        "not-owner-and-name",
        'expected "owner/name" or "https://github.com/owner/name"',
      ],
      ["../..", "invalid-owner", 'owner ".." may only contain letters, digits and hyphens'],
      ["a/..", "invalid-name", 'repository name ".." may not be "." or ".."'],
      ["%2e%2e/a", "forbidden-character", "percent-encoding is not allowed"],
      ["https://github.com/a/%2e%2e", "forbidden-character", "percent-encoding is not allowed"],
      ["a\\b", "forbidden-character", "backslashes are not allowed"],
      ["..\\a/b", "forbidden-character", "backslashes are not allowed"],
      [
        "https://github.com/a/b?tab=readme",
        "forbidden-character",
        "query strings and fragments are not allowed",
      ],
      ["https://github.com/a/b#readme", "forbidden-character", "query strings and fragments are not allowed"],
      ["a/b c", "forbidden-character", "whitespace is not allowed inside a reference"],
      ["a/b\u0000", "forbidden-character", 'the character "\\u0000" is not allowed'],
      ["g\u0456thub/a", "forbidden-character", 'the character "\u0456" is not allowed'],
      ["a/b:c", "forbidden-character", '":" is only allowed after a URL scheme'],
      ["https://github.com/a/b:c", "forbidden-character", '":" is only allowed after a URL scheme'],
    ])("refuses %j (%s): %s", (input, problem, detail) => {
      const result = safeParseRepository(input);
      expect(result.success ? undefined : result.error).toMatchObject({ problem, detail, input });
    });
  });

  it("throws a typed error that names the input and the rule", () => {
    let thrown: unknown;
    try {
      parseRepository("https://evil.com/a/b");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidRepositoryError);
    expect(thrown).toMatchObject({
      name: "InvalidRepositoryError",
      problem: "not-github",
      input: "https://evil.com/a/b",
      message: 'invalid repository "https://evil.com/a/b": the host "evil.com" is not github.com',
    });
  });

  it("shortens and escapes junk in messages, so they stay one readable line", () => {
    const junk = `${"x".repeat(200)}\n{"level":60}`;
    const { message } = refusal(junk);
    expect(message).not.toContain("\n");
    expect(message.length).toBeLessThan(200);
  });

  it("formats, links and compares repositories", () => {
    const repository = { owner: "StevebrownLee", name: "Rare-Test" };
    expect(formatRepository(repository)).toBe("StevebrownLee/Rare-Test");
    expect(repositoryUrl(repository)).toBe("https://github.com/StevebrownLee/Rare-Test");
    expect(repositoryKey(repository)).toBe(repositoryKey({ owner: "stevebrownlee", name: "rare-test" }));
  });
});

describe("repository schemas", () => {
  it("RepositoryReference reports a bad reference as an issue with the problem code", () => {
    const result = RepositoryReference.safeParse("https://evil.com/a/b");
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        code: "custom",
        path: [],
        message: 'invalid repository "https://evil.com/a/b": the host "evil.com" is not github.com',
        params: { problem: "not-github" },
      }),
    ]);
  });

  it("RepositoryReference refuses non-strings with zod's own issue", () => {
    expect(RepositoryReference.safeParse(42).error?.issues[0]?.code).toBe("invalid_type");
  });

  it("Repository checks owner and name by the same rules, at their own paths", () => {
    expect(Repository.safeParse({ owner: "a--b", name: ".." }).error?.issues).toEqual([
      expect.objectContaining({
        path: ["owner"],
        message: 'owner "a--b" may not contain consecutive hyphens',
      }),
      expect.objectContaining({ path: ["name"], message: 'repository name ".." may not be "." or ".."' }),
    ]);
    expect(Repository.parse({ owner: "Octo-Cat", name: "hello.world", extra: 1 })).toEqual({
      owner: "Octo-Cat",
      name: "hello.world",
    });
  });
});

describe("repository properties", () => {
  const url = fc.record({
    scheme: fc.constantFrom("https://", "http://", "HTTPS://", "Http://"),
    host: fc.constantFrom("github.com", "www.github.com", "GitHub.com", "WWW.GITHUB.COM"),
    git: fc.boolean(),
    slash: fc.boolean(),
    padding: fc.constantFrom("", " ", "\t", "\n "),
  });

  it("owner/name → parse → format is the identity, and every URL form parses to the same", () => {
    fc.assert(
      fc.property(validOwner, validName, url, (owner, name, form) => {
        const short = `${owner}/${name}`;
        const parsed = parseRepository(short);
        expect(parsed).toEqual({ owner, name });
        expect(formatRepository(parsed)).toBe(short);
        const long = `${form.padding}${form.scheme}${form.host}/${short}${form.git ? ".git" : ""}${form.slash ? "/" : ""}${form.padding}`;
        expect(parseRepository(long)).toEqual(parsed);
        expect(parseRepository(repositoryUrl(parsed))).toEqual(parsed);
      }),
      { numRuns: 2_000 },
    );
  });

  it("the owner rules, in the schema and in a reference, agree with GitHub's rule written as one regular expression", () => {
    const github = /^(?=.{1,39}$)[A-Za-z0-9](?:-?[A-Za-z0-9])*$/;
    const candidate = fc.string({ unit: fc.constantFrom("a", "Z", "7", "-", "_", "."), maxLength: 42 });
    fc.assert(
      fc.property(fc.oneof(candidate, validOwner), (owner) => {
        expect(RepositoryOwner.safeParse(owner).success).toBe(github.test(owner));
        expect(safeParseRepository(`${owner}/name`).success).toBe(github.test(owner));
      }),
      { numRuns: 2_000 },
    );
  });

  it("the name rules, in the schema and in a reference, agree with GitHub's rule written as one regular expression", () => {
    const github = /^(?!\.{1,2}$)(?!.*\.git$)[A-Za-z0-9._-]{1,100}$/;
    const candidate = fc.oneof(
      fc.string({ unit: fc.constantFrom("a", ".", "g", "i", "t", "-", "_", "/", " "), maxLength: 8 }),
      fc.string({ unit: fc.constantFrom("n", "."), minLength: 98, maxLength: 102 }),
    );
    fc.assert(
      fc.property(candidate, (name) => {
        expect(RepositoryName.safeParse(name).success).toBe(github.test(name));
        // A "/" makes a reference of too many segments, and spaces around it are trimmed, so those
        // candidates say nothing about the name rules.
        if (!/[\s/]/.test(name)) expect(safeParseRepository(`owner/${name}`).success).toBe(github.test(name));
      }),
      { numRuns: 2_000 },
    );
  });

  it("junk never throws: it is a repository that reads back to itself, or a typed refusal", () => {
    const structural = fc.string({
      unit: fc.constantFrom(
        "a",
        "B",
        "1",
        "-",
        "_",
        ".",
        "/",
        ":",
        "%",
        "\\",
        "?",
        "#",
        "@",
        " ",
        "é",
        "github.com",
        "https://",
        ".git",
        "..",
      ),
      maxLength: 40,
    });
    const problems = new Set<RepositoryProblem>([
      "empty",
      "too-long",
      "forbidden-character",
      "unsupported-url",
      "not-github",
      "not-owner-and-name",
      "invalid-owner",
      "invalid-name",
    ]);
    fc.assert(
      fc.property(
        fc.oneof(structural, fc.string({ maxLength: 300 }), fc.string({ unit: "grapheme" })),
        (input) => {
          const result = safeParseRepository(input);
          if (result.success) {
            expect(Repository.safeParse(result.data).success).toBe(true);
            expect(parseRepository(formatRepository(result.data))).toEqual(result.data);
          } else {
            expect(result.error).toBeInstanceOf(InvalidRepositoryError);
            expect(problems.has(result.error.problem)).toBe(true);
            expect(result.error.message).toMatch(/^invalid repository ".*": ./s);
          }
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("RepositoryReference never throws on any value", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(() => RepositoryReference.safeParse(value)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
