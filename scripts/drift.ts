/**
 * `make drift STACK=<stack> [ARGS=...]`: has anyone changed the stack's
 * databases and roles by hand? Two looks, both read-only:
 *
 * 1. `pulumi refresh --preview-only --json` (scripts/pulumi.sh): the engine
 *    reads every resource back from the server and compares it with what the
 *    stack recorded, without writing the state. A changed property (a
 *    connection limit, a grant's privileges) or an object gone from the server
 *    (a dropped role) is a difference.
 * 2. `make check` (scripts/check.ts) as the monitoring role: what no resource
 *    models (a grant to another role, a missing table) fails a check.
 *
 * Prints one line per difference (resource, property, stack value, live
 * value) and per failed check, then the command that repairs the stack.
 * Exit 0 when clean, 1 on drift, 2 when it could not check (engine or
 * connection error, usage).
 *
 *   usage: drift.ts <stack> [--json] [--markdown <file>|-]
 *
 * --markdown writes the report for the drift issue (scripts/drift-issue.sh);
 * `-` prints it to stdout between marker lines (a Kubernetes Job's log).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { resolveTarget, runChecks } from "./check";
import {
  DriftReport,
  differencesOf,
  Difference,
  FailedCheck,
  failedChecks,
  formatMarkdown,
  formatText,
  RefreshStep,
  statusOf,
} from "./lib/drift-report";
import { stackConfig } from "./local-server";

const ROOT = resolve(__dirname, "..");
export const MARKDOWN_BEGIN = "<!-- platform-databases drift report begin -->";
export const MARKDOWN_END = "<!-- platform-databases drift report end -->";

interface Options {
  stack: string;
  json: boolean;
  markdown?: string;
}

function parseArgs(argv: readonly string[]): Options {
  const [stack, ...rest] = argv;
  if (!stack || stack.startsWith("-")) throw new Error("a stack is required");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack))
    throw new Error(`stack name ${JSON.stringify(stack)} is not valid`);
  const opts: Options = { stack, json: false };
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--json") opts.json = true;
    else if (rest[i] === "--markdown" && rest[i + 1] !== undefined) opts.markdown = rest[++i];
    else throw new Error(`unknown argument ${JSON.stringify(rest[i])}`);
  }
  return opts;
}

/** The refresh preview's differences, or the engine's errors. */
export function refreshPreview(stack: string): { differences: Difference[]; errors: string[] } {
  const res = spawnSync(join(ROOT, "scripts/pulumi.sh"), [stack, "refresh", "--preview-only", "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  let doc: { steps?: RefreshStep[]; diagnostics?: { severity?: string; message?: string }[] } | undefined;
  try {
    doc = JSON.parse(res.stdout ?? "");
  } catch {
    doc = undefined;
  }
  const errors = (doc?.diagnostics ?? [])
    .filter((d) => d.severity === "error")
    .map((d) => (d.message ?? "").trim())
    .filter((m) => m !== "");
  if (res.error) errors.push(`scripts/pulumi.sh could not run: ${res.error.message}`);
  if (res.status !== 0 && errors.length === 0) {
    const tail = `${res.stderr ?? ""}${doc ? "" : (res.stdout ?? "")}`
      .trim()
      .split("\n")
      .slice(-15)
      .join("\n");
    errors.push(
      `pulumi refresh --preview-only exited ${res.status ?? `on signal ${res.signal}`}${tail ? `:\n${tail}` : ""}`,
    );
  }
  return { differences: errors.length > 0 ? [] : differencesOf(doc?.steps ?? []), errors };
}

/** `make check`'s failed rows, or why it could not run. */
export async function checks(stack: string): Promise<{ failed: FailedCheck[]; errors: string[] }> {
  try {
    const { results } = await runChecks(resolveTarget({ stack, json: true, fromEnv: false }));
    return { failed: failedChecks({ results }), errors: [] };
  } catch (err) {
    return { failed: [], errors: [`make check could not run: ${(err as Error).message}`] };
  }
}

/** How to put the stack back: `pulumi up --refresh` reads the server first, then restores what the stack says. */
export function repairCommand(stack: string): string {
  let local: boolean;
  try {
    local = stackConfig(stack).target === "local";
  } catch {
    local = true;
  }
  return local
    ? `make up STACK=${stack}`
    : `the deploy workflow for ${stack} (it runs where the instance is reachable)`;
}

export async function drift(stack: string): Promise<DriftReport> {
  const refresh = refreshPreview(stack);
  // The checks need the stack's outputs and a connection; an engine error
  // usually means neither is there, so they run only after a good refresh.
  const check = refresh.errors.length === 0 ? await checks(stack) : { failed: [], errors: [] };
  const errors = [...refresh.errors, ...check.errors];
  return {
    stack,
    status: statusOf(refresh.differences, check.failed, errors),
    differences: refresh.differences,
    failedChecks: check.failed,
    errors,
    repair: repairCommand(stack),
  };
}

const EXIT = { clean: 0, drift: 1, error: 2 } as const;

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    console.error("usage: drift.ts <stack> [--json] [--markdown <file>|-]");
    return 2;
  }
  const report = await drift(opts.stack);
  process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + "\n" : formatText(report));
  if (opts.markdown === "-") {
    process.stdout.write(`${MARKDOWN_BEGIN}\n${formatMarkdown(report)}${MARKDOWN_END}\n`);
  } else if (opts.markdown) {
    writeFileSync(opts.markdown, formatMarkdown(report));
  }
  return EXIT[report.status];
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`error: ${err.message}`);
      process.exit(2);
    },
  );
}
