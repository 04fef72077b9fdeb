// Adds up the vitest results that every package's `test` task wrote (turbo restores them from its cache
// too) and prints one closing line; fails when nothing ran, so an empty test run can never pass.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const totals = { passed: 0, failed: 0, skipped: 0, files: 0 };
for (const group of ["packages", "services", "bench", "e2e"]) {
  let entries;
  try {
    entries = readdirSync(join(root, group), { withFileTypes: true });
  } catch {
    continue;
  }
  const folders =
    group === "bench" || group === "e2e" ? [""] : entries.filter((e) => e.isDirectory()).map((e) => e.name);
  for (const folder of folders) {
    const file = join(root, group, folder, ".test-results", "vitest.json");
    let report;
    try {
      report = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      continue;
    }
    totals.files++;
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
  }
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (totals.passed === 0 || totals.failed > 0) {
  console.error(totals.passed === 0 ? "no test ran" : "some tests failed");
  process.exit(1);
}
