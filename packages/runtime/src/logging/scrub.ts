const REDACTED = "[REDACTED]";

/**
 * Replaces every occurrence of the given secret values in a serialised log line, as they are and as
 * JSON escapes them, so a token logged as a header, inside an object or in an error message never
 * leaves the process. Values shorter than 6 characters are ignored: they would blank out ordinary
 * words without protecting anything.
 */
export function secretScrubber(secrets: readonly string[]): (line: string) => string {
  const needles = [
    ...new Set(
      secrets
        .filter((value) => value.length >= 6)
        .flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]),
    ),
  ].sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (line) => line;
  return (line) => {
    let scrubbed = line;
    for (const needle of needles) {
      if (scrubbed.includes(needle)) scrubbed = scrubbed.replaceAll(needle, REDACTED);
    }
    return scrubbed;
  };
}

/** Field names whose values are secret whatever they hold, at the top level and one level down. */
export const redactedPaths = [
  "authorization",
  "token",
  "password",
  "secret",
  "apiKey",
  "*.authorization",
  "*.Authorization",
  "*.token",
  "*.password",
  "*.secret",
  "*.apiKey",
  "*.headers.authorization",
  "*.headers.cookie",
];
