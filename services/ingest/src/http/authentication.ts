import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { SIGNATURE_HEADER, signatureProblem, TIMESTAMP_HEADER } from "../signature.js";

export interface AuthenticatorOptions {
  /** Secrets a signature may be made with (current, and previous while rotating). */
  readonly hmacSecrets: readonly string[];
  /** Tokens accepted as `Authorization: Bearer <token>`. */
  readonly bearerTokens: readonly string[];
  readonly toleranceSeconds: number;
  /** Unix seconds. Default: the system clock. */
  readonly nowSeconds?: () => number;
}

/** What the headers alone tell about a request's caller. */
export type Screening =
  | { readonly verdict: "authenticated"; readonly scheme: "bearer" }
  /** Signed: the signature can only be checked once the body is read. */
  | { readonly verdict: "signed" }
  | { readonly verdict: "refused"; readonly problem: string };

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/**
 * Decides who may call the API: a bearer token, or an HMAC-SHA256 signature over the timestamp and
 * the raw body. A bearer token is checked before the body is read; a signature after.
 */
export class Authenticator {
  private readonly tokenDigests: readonly Buffer[];
  private readonly nowSeconds: () => number;

  constructor(private readonly options: AuthenticatorOptions) {
    // Digests have one length, so comparing them in constant time needs no length check that leaks.
    this.tokenDigests = options.bearerTokens.map(sha256);
    this.nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The schemes this API accepts, for `WWW-Authenticate` and the error's detail. */
  get schemes(): string {
    const schemes = [
      ...(this.options.bearerTokens.length > 0 ? ["a bearer token (Authorization: Bearer …)"] : []),
      ...(this.options.hmacSecrets.length > 0
        ? [`a signature (${TIMESTAMP_HEADER}, ${SIGNATURE_HEADER})`]
        : []),
    ];
    return schemes.join(" or ");
  }

  screen(headers: IncomingHttpHeaders): Screening {
    const authorization = headers.authorization;
    if (authorization !== undefined) {
      const token = /^Bearer +(\S+)\s*$/i.exec(authorization)?.[1];
      if (token === undefined)
        return { verdict: "refused", problem: 'Authorization must be "Bearer <token>"' };
      return this.tokenMatches(token)
        ? { verdict: "authenticated", scheme: "bearer" }
        : { verdict: "refused", problem: "the bearer token is not one this service accepts" };
    }
    if (headers[SIGNATURE_HEADER] !== undefined || headers[TIMESTAMP_HEADER] !== undefined) {
      if (this.options.hmacSecrets.length === 0) {
        return { verdict: "refused", problem: "signed requests are not enabled here; use a bearer token" };
      }
      return { verdict: "signed" };
    }
    return { verdict: "refused", problem: `the request carries no credentials; send ${this.schemes}` };
  }

  /** Why the signature on `body` is refused, or undefined when it is good. */
  signatureProblem(headers: IncomingHttpHeaders, body: Buffer): string | undefined {
    return signatureProblem({
      secrets: this.options.hmacSecrets,
      timestamp: single(headers[TIMESTAMP_HEADER]),
      signature: single(headers[SIGNATURE_HEADER]),
      body,
      nowSeconds: this.nowSeconds(),
      toleranceSeconds: this.options.toleranceSeconds,
    });
  }

  private tokenMatches(token: string): boolean {
    const given = sha256(token);
    let matched = false;
    for (const digest of this.tokenDigests) if (timingSafeEqual(digest, given)) matched = true;
    return matched;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
