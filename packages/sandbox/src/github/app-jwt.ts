import { verify } from "node:crypto";
import { GitHubApiError } from "./errors.js";
import type { AppRecord, GitHubStore } from "./store.js";

/** GitHub refuses a JWT that expires more than ten minutes after it arrives. */
const MAX_AHEAD_S = 600;

/** GitHub's words for each fault it finds in an App's JWT, all answered 401. */
const JWT_REFUSALS = {
  undecodable: "A JSON web token could not be decoded",
  expired:
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
  tooLong: "'Expiration time' claim ('exp') is too far in the future",
  issuedLater:
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
} as const;

type Claims = Readonly<Record<string, unknown>>;

function refused(fault: keyof typeof JWT_REFUSALS): GitHubApiError {
  return new GitHubApiError(401, JWT_REFUSALS[fault]);
}

/** A JWT's header or claims: a base64url JSON object. */
function decoded(part: string): Claims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Claims)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The App an `iss` names: its id, as a number or a string of digits. */
function issuer(store: GitHubStore, iss: unknown): AppRecord | undefined {
  if (typeof iss === "number") return store.app(iss);
  return typeof iss === "string" && /^\d+$/.test(iss) ? store.app(Number(iss)) : undefined;
}

/**
 * The App a JWT authenticates, checked as GitHub checks it: RS256, signed with the private key of the
 * App its `iss` names (a JWT it cannot verify, whatever the reason, "could not be decoded"); then `exp`
 * in the future but at most ten minutes ahead, as GitHub documents, and `iat` a whole number not in the
 * future. `now` is clock milliseconds, so a client whose clock is off is refused as GitHub would refuse it.
 */
export function authenticateApp(jwt: string, store: GitHubStore, now: number): AppRecord {
  const parts = jwt.split(".");
  const [header = "", payload = "", signature = ""] = parts;
  const claims = decoded(payload);
  const app = parts.length === 3 && claims ? issuer(store, claims.iss) : undefined;
  if (!(app && claims) || decoded(header)?.alg !== "RS256") throw refused("undecodable");
  const signed = Buffer.from(`${header}.${payload}`);
  if (!verify("sha256", signed, app.publicKey, Buffer.from(signature, "base64url"))) {
    throw refused("undecodable");
  }
  const seconds = now / 1000;
  const { exp, iat } = claims;
  if (typeof exp !== "number" || exp <= seconds) throw refused("expired");
  if (exp > seconds + MAX_AHEAD_S) throw refused("tooLong");
  if (typeof iat !== "number" || !Number.isInteger(iat) || iat > seconds) throw refused("issuedLater");
  return app;
}
