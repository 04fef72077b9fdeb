// Markdown output shared by the benchmark reports.

/**
 * A markdown table with padded columns, as Biome formats it, so the output can be pasted into the docs
 * unchanged: the first column left-aligned, the numbers right-aligned.
 * @param {string[]} header
 * @param {string[][]} body
 */
export function table(header, body) {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column].length)),
  );
  const line = (/** @type {string[]} */ cells) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]))).join(" | ")} |`;
  const rule = widths.map((width, column) =>
    column === 0 ? `:${"-".repeat(width - 1)}` : `${"-".repeat(width - 1)}:`,
  );
  return [line(header), line(rule), ...body.map(line)];
}

/** "**met**" or "**not met**". */
export const verdict = (/** @type {boolean} */ met) => (met ? "**met**" : "**not met**");

/** A whole number with thousands separators. */
export const integer = (/** @type {number} */ value) => Math.round(value).toLocaleString("en-US");
