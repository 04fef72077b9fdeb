const LEVELS: Record<number, { label: string; colour: string }> = {
  10: { label: "TRACE", colour: "\x1b[90m" },
  20: { label: "DEBUG", colour: "\x1b[36m" },
  30: { label: "INFO ", colour: "\x1b[32m" },
  40: { label: "WARN ", colour: "\x1b[33m" },
  50: { label: "ERROR", colour: "\x1b[31m" },
  60: { label: "FATAL", colour: "\x1b[35m" },
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
/** Fields every line has, shown in the prefix or left out of the human form. */
const SHOWN_ELSEWHERE = new Set([
  "level",
  "time",
  "msg",
  "service",
  "instance",
  "version",
  "pid",
  "hostname",
]);

/**
 * Turns a JSON log line into `12:04:05.123 INFO  ingest: accepted request {"requestId":"..."}` for
 * a person at a terminal. A line that is not JSON is shown as it is.
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = LEVELS[Number(entry.level)] ?? { label: String(entry.level), colour: "" };
  const time = typeof entry.time === "number" ? new Date(entry.time).toISOString().slice(11, 23) : "";
  const extra = Object.fromEntries(Object.entries(entry).filter(([key]) => !SHOWN_ELSEWHERE.has(key)));
  const rest = Object.keys(extra).length > 0 ? ` ${DIM}${JSON.stringify(extra)}${RESET}` : "";
  return `${DIM}${time}${RESET} ${level.colour}${level.label}${RESET} ${String(entry.service ?? "")}: ${String(entry.msg ?? "")}${rest}\n`;
}
