import type { z } from "zod";

/** One problem with an input: where it is (`all_target_repositories.2`, empty for the whole) and what. */
export interface ContractIssue {
  readonly path: string;
  readonly message: string;
}

/** The issues of a zod error with their paths written out, for HTTP 400 bodies and dead-letter reasons. */
export function contractIssues(error: z.ZodError): ContractIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/** `path: message; path: message`, the one-line form used in error messages and dead letters. */
export function formatIssues(issues: readonly ContractIssue[]): string {
  return issues.map(({ path, message }) => (path ? `${path}: ${message}` : message)).join("; ");
}

/**
 * A value as it appears in a message: JSON-quoted, so control characters cannot forge log lines, and
 * shortened, so a megabyte of junk does not become a megabyte of error.
 */
export function quote(value: unknown, maxLength = 80): string {
  const text = typeof value === "string" ? value : String(value);
  return JSON.stringify(text.length > maxLength ? `${text.slice(0, maxLength)}…` : text);
}

/**
 * The error of a discriminated union for a discriminator value it does not know (or a missing one),
 * listing the values this consumer understands.
 */
export function unknownVariantError(
  field: string,
  what: string,
  known: readonly string[],
): z.core.$ZodErrorMap {
  return (issue) => {
    if (issue.code !== "invalid_union") return undefined;
    const value =
      typeof issue.input === "object" && issue.input !== null
        ? (issue.input as Record<string, unknown>)[field]
        : undefined;
    const found = value === undefined ? `no ${field}` : `unknown ${what} ${quote(value)}`;
    return `${found}; this consumer understands ${known.join(", ")}`;
  };
}
