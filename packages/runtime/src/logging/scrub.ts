const REDACTED = "[REDACTED]";

/** Field names ending in one of these are secret. */
const SECRET_NAME = "authorization|cookie|token|password|passwd|secret|api[-_]?key";

/**
 * String values of fields with these names are secret whatever they hold, at any depth. Matched on
 * the finished JSON line, which is much cheaper than walking every logged object for paths.
 */
const SECRET_FIELD = new RegExp(`"([a-zA-Z0-9_-]*(?:${SECRET_NAME}))":"(?:[^"\\\\]|\\\\.)*"`, "gi");

/** Part of every match of SECRET_FIELD: most lines have none, and testing for it costs a fifth of the replace. */
const SECRET_FIELD_HINT = new RegExp(`(?:${SECRET_NAME})":"`, "i");

/**
 * Returns a function that cleans a serialised log line of secrets: the string values of secret-named
 * fields (an `authorization` header, a `token`), and every occurrence of the given secret values, as
 * they are and as JSON escapes them, so a token logged inside an object or an error message never
 * leaves the process. Values shorter than 6 characters are not searched for: they would blank out
 * ordinary words without protecting anything.
 */
export function secretScrubber(secrets: readonly string[]): (line: string) => string {
  const needles = [
    ...new Set(
      secrets
        .filter((value) => value.length >= 6)
        .flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]),
    ),
  ].sort((a, b) => b.length - a.length);
  return (line) => {
    let scrubbed = SECRET_FIELD_HINT.test(line) ? line.replace(SECRET_FIELD, `"$1":"${REDACTED}"`) : line;
    for (const needle of needles) {
      if (scrubbed.includes(needle)) scrubbed = scrubbed.replaceAll(needle, REDACTED);
    }
    return scrubbed;
  };
}
