/**
 * The table `make check` prints: CHECK, STATUS, REASON, one line per row
 * (health-evaluate.ts), then a summary line. Pure; docs/health.md's sample
 * is its output for a server provisioned as the program does.
 */
import { CHECK_STATUSES, CheckResult } from "./health-spec";

/** The rows as an aligned table and a `N checks: a PASS, b FAIL, c PENDING` line. */
export function formatTable(results: readonly CheckResult[]): string {
  const header = ["CHECK", "STATUS", "REASON"];
  const width = Math.max(header[0].length, ...results.map((r) => r.name.length));
  const statusWidth = Math.max(...CHECK_STATUSES.map((s) => s.length));
  const line = (a: string, b: string, c: string) =>
    `${a.padEnd(width)}  ${b.padEnd(statusWidth)}  ${c}`.trimEnd();
  const counts = CHECK_STATUSES.map((s) => `${results.filter((r) => r.status === s).length} ${s}`).join(", ");
  return (
    [
      line(header[0], header[1], header[2]),
      ...results.map((r) => line(r.name, r.status, r.reason)),
      "",
      `${results.length} checks: ${counts}`,
    ].join("\n") + "\n"
  );
}
