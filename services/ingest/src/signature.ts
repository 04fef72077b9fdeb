import { createHmac, timingSafeEqual } from "node:crypto";

/** Header carrying the Unix time (seconds) the sender signed at. */
export const TIMESTAMP_HEADER = "x-monarch-timestamp";
/** Header carrying `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<raw body>`. */
export const SIGNATURE_HEADER = "x-monarch-signature";

const SIGNATURE_PREFIX = "sha256=";

function digest(secret: string, timestamp: string, body: string | Buffer): Buffer {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
}

/**
 * The headers that sign `body` for `POST /v1/migrations`: the time, and an HMAC-SHA256 over the time
 * and the exact bytes sent (so neither can be changed or replayed later without the secret).
 */
export function signatureHeaders(
  secret: string,
  body: string | Buffer,
  unixSeconds = Math.floor(Date.now() / 1000),
): Record<typeof TIMESTAMP_HEADER | typeof SIGNATURE_HEADER, string> {
  const timestamp = String(unixSeconds);
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `${SIGNATURE_PREFIX}${digest(secret, timestamp, body).toString("hex")}`,
  };
}

export interface SignatureCheck {
  /** Any of them may have signed: the current secret and, while rotating, the previous one. */
  readonly secrets: readonly string[];
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: string | Buffer;
  readonly nowSeconds: number;
  /** How far the signing time may be from now, either way. */
  readonly toleranceSeconds: number;
}

/** Why a signature is refused, or undefined when it is good. Compares in constant time. */
export function signatureProblem(check: SignatureCheck): string | undefined {
  const { timestamp, signature } = check;
  if (timestamp === undefined || signature === undefined) {
    return `a signed request needs both ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}`;
  }
  if (!/^\d{1,12}$/.test(timestamp)) return `${TIMESTAMP_HEADER} must be the Unix time in seconds`;
  const skew = Math.abs(check.nowSeconds - Number(timestamp));
  if (skew > check.toleranceSeconds) {
    return `${TIMESTAMP_HEADER} is ${skew} s away from the server's clock; at most ${check.toleranceSeconds} s is accepted`;
  }
  const hex = signature.startsWith(SIGNATURE_PREFIX) ? signature.slice(SIGNATURE_PREFIX.length) : "";
  if (!/^[0-9a-f]{64}$/i.test(hex)) {
    return `${SIGNATURE_HEADER} must be "${SIGNATURE_PREFIX}" and 64 hex digits`;
  }
  const given = Buffer.from(hex, "hex");
  // Every secret is tried, so the time taken says nothing about which one came close.
  let matched = false;
  for (const secret of check.secrets) {
    if (timingSafeEqual(digest(secret, timestamp, check.body), given)) matched = true;
  }
  return matched ? undefined : "the signature does not match the body and timestamp";
}
