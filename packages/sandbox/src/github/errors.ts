import type { OutgoingHttpHeaders } from "node:http";

/** One entry of the `errors` array of a GitHub 422 "Validation Failed" answer. */
export interface FieldError {
  readonly resource: string;
  readonly field: string;
  readonly code: "missing_field" | "invalid" | "already_exists" | "custom";
  readonly value?: string | number | null;
  readonly message?: string;
}

/** The JSON body of a GitHub error answer (the `basic-error` and `validation-error` schemas). */
export interface ErrorBody {
  readonly message: string;
  readonly documentation_url: string;
  readonly status: string;
  readonly errors?: readonly FieldError[];
}

/** A request GitHub would refuse: thrown by a route handler, answered as GitHub answers it. */
export class GitHubApiError extends Error {
  override readonly name = "GitHubApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly options: {
      readonly errors?: readonly FieldError[];
      /** Overrides the route's documentation page, as GitHub links a general page for some errors. */
      readonly documentationUrl?: string;
      readonly headers?: OutgoingHttpHeaders;
    } = {},
  ) {
    super(message);
  }

  body(routeDocumentationUrl: string): ErrorBody {
    return {
      message: this.message,
      documentation_url: this.options.documentationUrl ?? routeDocumentationUrl,
      status: String(this.status),
      ...(this.options.errors ? { errors: this.options.errors } : {}),
    };
  }
}

/** 422 with GitHub's "Validation Failed" message and the fields at fault. */
export function validationFailed(...errors: FieldError[]): GitHubApiError {
  return new GitHubApiError(422, "Validation Failed", { errors });
}

/** Thrown by the seeding API when a test asks for something the simulated GitHub cannot hold. */
export class SeedError extends Error {
  override readonly name = "SeedError";
}
