// Turns the children's JSON into the markdown report: one table, its footnotes, and the issue's goals.
import { describeRun } from "../lib/environment.mjs";
import { integer as ns, table, verdict } from "../lib/markdown.mjs";
import { rows } from "./settings.mjs";

/**
 * @typedef {import("./timing.mjs").ScenarioResult} ScenarioResult
 * @typedef {{ library: string, version: string, node: string, rounds: number, calls: number,
 *   config: string, notes: Record<string, string>, results: ScenarioResult[] }} LibraryReport
 * @typedef {import("../lib/environment.mjs").Machine} Machine
 */

/** The issue's targets for @monarch/resilience. */
const goals = {
  /** Largest happy-path overhead, as a fraction of the other library's, per library. */
  overheadShare: { cockatiel: 1 / 3, opossum: 1 / 4 },
  composedNs: 1000,
  failureNs: 2000,
};

// Three decimals below 0.1, so that a small ratio does not print as 0.00.
const ratio = (/** @type {number} */ value) => value.toFixed(Math.abs(value) < 0.1 ? 3 : 2);

/**
 * Formats the report. The first library is the one under test; ratios compare its overhead with each
 * other library's (below 1: it adds less).
 * @param {{ date: string, revision: string, machine: Machine, reports: LibraryReport[] }} run
 */
export function formatReport({ date, revision, machine, reports }) {
  const [subject, ...others] = reports;
  const find = (/** @type {LibraryReport} */ report, /** @type {string} */ id) =>
    report.results.find((result) => result.id === id);
  /** @type {string[]} */
  const footnotes = [];
  const footnote = (/** @type {string} */ text) => {
    if (!footnotes.includes(text)) footnotes.push(text);
    return `[${footnotes.indexOf(text) + 1}]`;
  };

  const header = [
    "Scenario",
    ...reports.flatMap(({ library }) => [`${library} ns/call (min–max)`, `${library} overhead`]),
    ...others.map(({ library }) => `overhead ratio vs ${library}`),
  ];
  /** @type {string[][]} */
  const body = [];
  for (const { id, label, baseline } of rows) {
    const cells = [label];
    for (const report of reports) {
      const result = find(report, id);
      const note = report.notes[id] ? ` ${footnote(report.notes[id])}` : "";
      if (!result) cells.push(`n/a${note}`, "");
      else {
        cells.push(`${ns(result.medianNs)} (${ns(result.minNs)}–${ns(result.maxNs)})${note}`);
        cells.push(baseline ? "—" : ns(result.overheadNs));
      }
    }
    for (const other of others) {
      const mine = find(subject, id);
      const theirs = find(other, id);
      cells.push(baseline || !mine || !theirs ? "" : ratio(mine.overheadNs / theirs.overheadNs));
    }
    body.push(cells);
  }

  const out = [
    describeRun(date, revision, machine),
    "",
    `ns/call: median of ${subject.rounds} rounds of ${subject.calls.toLocaleString("en-US")} sequential ` +
      "awaited calls, each library in its own process. Overhead: median over the rounds of each sample " +
      `minus the baseline sample taken just before it. Ratio: ${subject.library}'s overhead divided by ` +
      "the other library's.",
    "",
    ...table(header, body),
    "",
    ...footnotes.map((text, index) => `${index + 1}. ${text}`),
    "",
    "Libraries and options:",
    "",
    ...reports.map(({ library, version, config }) => `- ${library} ${version}: ${config}`),
    "",
    "Goals for @monarch/resilience:",
    "",
    ...goalLines(subject, others, find),
  ];
  return out.join("\n");
}

/**
 * @param {LibraryReport} subject
 * @param {LibraryReport[]} others
 * @param {(report: LibraryReport, id: string) => ScenarioResult | undefined} find
 */
function goalLines(subject, others, find) {
  const lines = [];
  const happy = rows.filter((r) => r.expect === "value" && !r.baseline);
  for (const other of others) {
    const target = goals.overheadShare[/** @type {"cockatiel" | "opossum"} */ (other.library)];
    if (target === undefined) continue;
    const compared = happy.flatMap(({ id }) => {
      const mine = find(subject, id);
      const theirs = find(other, id);
      return mine && theirs ? [{ id, share: mine.overheadNs / theirs.overheadNs }] : [];
    });
    const shares = compared.map(({ id, share }) => `${id} ${ratio(share)}`).join(", ");
    const missed = compared.filter(({ share }) => share > target).map(({ id }) => id);
    lines.push(
      `- Happy-path overhead at most 1/${Math.round(1 / target)} of ${other.library}'s: ` +
        `${verdict(missed.length === 0)} (${shares}${missed.length ? `; over the target: ${missed.join(", ")}` : ""}).`,
    );
  }
  const composed = find(subject, "timeout+retry+breaker");
  if (composed) {
    lines.push(
      `- Composed timeout + retry + breaker under ${ns(goals.composedNs)} ns per call: ` +
        `${verdict(composed.overheadNs < goals.composedNs)} (overhead ${ns(composed.overheadNs)} ns, ` +
        `${ns(composed.medianNs)} ns/call in all).`,
    );
  }
  for (const id of ["failure", "open"]) {
    const result = find(subject, id);
    if (!result) continue;
    const label = rows.find((r) => r.id === id)?.label;
    lines.push(
      `- Failure path (${label}) under ${ns(goals.failureNs)} ns per call: ` +
        `${verdict(result.overheadNs < goals.failureNs)} on overhead (${ns(result.overheadNs)} ns); ` +
        `${result.medianNs < goals.failureNs ? "also" : "but not"} in all, baseline included ` +
        `(${ns(result.medianNs)} ns/call).`,
    );
  }
  return lines;
}
