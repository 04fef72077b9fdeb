/**
 * The Standard Schema interface (v1), implemented by zod 4, valibot, arktype and others, so that
 * streams can carry messages checked by any of them.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaV1.Result<Output> | Promise<StandardSchemaV1.Result<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export declare namespace StandardSchemaV1 {
  type Result<Output> =
    | { readonly value: Output; readonly issues?: undefined }
    | { readonly issues: readonly Issue[] };
  interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
  }
}

/** Thrown when a message does not match its schema; `issues` name each problem and where it is. */
export class MessageValidationError extends Error {
  override readonly name = "MessageValidationError";
  constructor(
    readonly issues: readonly StandardSchemaV1.Issue[],
    context: string,
  ) {
    super(`${context}: ${describeIssues(issues)}`);
  }
}

/** `path.to.field: message; other: message`, the form used in errors and dead letters. */
export function describeIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((segment) => String(typeof segment === "object" ? segment.key : segment))
        .join(".");
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

/** Validates `value`, returning the schema's output or throwing {@link MessageValidationError}. */
export async function validate<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
  context: string,
): Promise<T> {
  const result = await schema["~standard"].validate(value);
  if (result.issues) throw new MessageValidationError(result.issues, context);
  return result.value;
}
