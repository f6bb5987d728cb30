/**
 * The health checks on a real server: a scratch stack of the test environment
 * provisioned by the program itself (program-stack.ts), checked as its
 * monitoring role the way `make check STACK=test` does, and scripts/check.ts
 * run as `make check` runs it in --from-env mode.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "vitest";
import type { CheckResult } from "../../components/observability/health-spec";
import { CheckTarget, runChecks, targetFromEnv } from "../../scripts/check";
import { byName } from "./health-snapshot";
import { ProgramStack, startProgramStack } from "./program-stack";

const ROOT = join(__dirname, "..", "..");
/** The tsx that runs scripts/check.ts. */
export const TSX = join(ROOT, "node_modules/.bin/tsx");

/** Provisions the scratch stack; the target reads it from DATABASE_MONITOR_URL, with gdpr's retention role. */
export async function startCheckedStack(): Promise<{ stack: ProgramStack; target: CheckTarget }> {
  const stack = await startProgramStack();
  const target = targetFromEnv(
    { json: false, fromEnv: true, environment: "test" },
    { DATABASE_MONITOR_URL: stack.monitoringUri },
  );
  // As `make check STACK=test` does from the stack's retentionRoles output.
  const gdpr = target.spec.services.find((svc) => svc.service === "gdpr")!;
  gdpr.retentionRole = stack.outputs.retentionRoles.gdpr;
  return { stack, target };
}

/** Runs the CLI as `make check` does in --from-env mode; returns exit status and output. */
export function checkCli(monitoringUri: string, ...args: string[]) {
  const res = spawnSync(TSX, ["scripts/check.ts", "--from-env", "--environment", "test", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, DATABASE_MONITOR_URL: monitoringUri },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The checks' results on the target, by row name. */
export async function checkResults(target: CheckTarget): Promise<Record<string, CheckResult>> {
  return byName((await runChecks(target)).results);
}

/** Exactly these rows fail, in any order. */
export function expectOnlyFailures(results: Record<string, CheckResult>, names: string[]): void {
  const failed = Object.values(results)
    .filter((r) => r.status === "FAIL")
    .map((r) => r.name)
    .sort();
  expect(failed).toEqual([...names].sort());
}
