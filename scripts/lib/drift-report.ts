/**
 * What `make drift` reports, as pure functions (scripts/drift.ts runs the
 * engine and the checks; tests/drift.test.ts feeds these real output):
 *
 * - differencesOf(): the steps of `pulumi refresh --preview-only --json`
 *   turned into one line per resource and property: what the stack recorded
 *   against what the server holds now. An `update` step is a changed property
 *   (its detailedDiff names the paths; oldState is the stack's value, newState
 *   the live one); a `delete` step is an object gone from the server.
 * - failedChecks(): the FAIL rows of `make check --json`.
 * - formatText() / formatMarkdown(): the report for a terminal and for the
 *   drift issue; the Markdown starts with a status line scripts/drift-issue.sh
 *   reads (`<!-- drift-status: clean|drift|error stack=<stack> -->`).
 */

/** One step of `pulumi refresh --preview-only --json` (only what is read here). */
export interface RefreshStep {
  op: string;
  urn: string;
  oldState?: { type?: string; custom?: boolean; id?: string; outputs?: Record<string, unknown> };
  newState?: { type?: string; custom?: boolean; id?: string; outputs?: Record<string, unknown> };
  detailedDiff?: Record<string, { kind?: string }> | null;
  diffReasons?: string[] | null;
}

export interface Difference {
  /** The resource's name in the program, e.g. `platform-openfga-login`. */
  resource: string;
  /** Short type, e.g. `postgresql:Role`. */
  type: string;
  /** What it is on the server, e.g. `role openfga_test_app`. */
  object: string;
  /** The property that differs; undefined when the whole object is gone. */
  property?: string;
  /** The value the stack recorded (JSON text). */
  stack: string;
  /** The value on the server now (JSON text), or `(missing)`. */
  live: string;
}

/** A `make check` row that failed. */
export interface FailedCheck {
  name: string;
  reason: string;
}

export type DriftStatus = "clean" | "drift" | "error";

export interface DriftReport {
  stack: string;
  status: DriftStatus;
  differences: Difference[];
  failedChecks: FailedCheck[];
  /** Why the run could not finish (status error). */
  errors: string[];
  /** The command that puts the stack back. */
  repair: string;
}

/** `postgresql:index/role:Role` → `postgresql:Role`; `pulumi-nodejs:dynamic/x:GeneratedPassword` → `dynamic:GeneratedPassword`. */
export function shortType(type: string): string {
  const [pkg] = type.split(":");
  const kind = type.slice(type.lastIndexOf(":") + 1);
  return `${pkg === "pulumi-nodejs" ? "dynamic" : pkg}:${kind}`;
}

/** The resource's name: the last part of its URN. */
export function resourceName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** What a resource is on the server, in the words of PostgreSQL. */
export function describeObject(type: string, outputs: Record<string, unknown> = {}, id = ""): string {
  const o = outputs;
  switch (shortType(type)) {
    case "postgresql:Role":
      return `role ${str(o.name ?? id)}`;
    case "postgresql:Database":
      return `database ${str(o.name ?? id)}`;
    case "postgresql:Schema":
      return `schema ${str(o.name)} in database ${str(o.database)}`;
    case "postgresql:Grant": {
      const db = `database ${str(o.database)}`;
      const objects = Array.isArray(o.objects) && o.objects.length > 0 ? ` ${o.objects.join(", ")}` : "";
      const on =
        o.objectType === "database"
          ? db
          : o.objectType === "schema"
            ? `schema ${str(o.schema)} in ${db}`
            : `${str(o.objectType)}${objects || " (all)"} in schema ${str(o.schema)} of ${db}`;
      return `grant to ${str(o.role)} on ${on}`;
    }
    case "postgresql:GrantRole":
      return `membership of ${str(o.role)} in ${str(o.grantRole)}`;
    default:
      return id ? `${shortType(type)} ${id}` : shortType(type);
  }
}

/** The top-level properties a detailedDiff names (`privileges[0]` → `privileges`). */
export function changedProperties(step: RefreshStep): string[] {
  const paths = Object.keys(step.detailedDiff ?? {});
  const props = (paths.length > 0 ? paths : (step.diffReasons ?? [])).map((p) => p.split(/[.[]/)[0]);
  return [...new Set(props)].filter((p) => p !== "" && !p.startsWith("__")).sort();
}

/** Every difference between the stack and the server that a refresh preview found. */
export function differencesOf(steps: readonly RefreshStep[]): Difference[] {
  const out: Difference[] = [];
  for (const step of steps) {
    const state = step.oldState ?? step.newState;
    if (!state?.custom || !state.type) continue;
    const base = {
      resource: resourceName(step.urn),
      type: shortType(state.type),
      object: describeObject(state.type, state.outputs, state.id),
    };
    if (step.op === "delete") {
      out.push({ ...base, stack: "(exists)", live: "(missing)" });
    } else if (step.op === "update") {
      const before = step.oldState?.outputs ?? {};
      const after = step.newState?.outputs ?? {};
      for (const property of changedProperties(step)) {
        out.push({
          ...base,
          property,
          stack: JSON.stringify(before[property] ?? null),
          live: JSON.stringify(after[property] ?? null),
        });
      }
    } else if (step.op !== "same" && step.op !== "refresh") {
      out.push({ ...base, stack: "", live: `(${step.op})` });
    }
  }
  return out;
}

/** The FAIL rows of `make check --json` (PENDING is not drift). */
export function failedChecks(checkJson: {
  results?: { name: string; status: string; reason: string }[];
}): FailedCheck[] {
  return (checkJson.results ?? [])
    .filter((r) => r.status === "FAIL")
    .map((r) => ({ name: r.name, reason: r.reason }));
}

export function statusOf(
  differences: readonly Difference[],
  failed: readonly FailedCheck[],
  errors: readonly string[],
) {
  if (errors.length > 0) return "error" as const;
  return differences.length > 0 || failed.length > 0 ? ("drift" as const) : ("clean" as const);
}

export function formatText(r: DriftReport): string {
  const lines: string[] = [];
  if (r.status === "clean") {
    lines.push(`drift: stack ${r.stack} is clean (the server matches the stack; make check passes)`);
    return lines.join("\n") + "\n";
  }
  if (r.status === "error")
    lines.push(`drift: could not check stack ${r.stack}:`, ...r.errors.map((e) => `  ${e}`));
  if (r.differences.length > 0) {
    lines.push(
      `drift: stack ${r.stack}: ${r.differences.length} difference(s) between the stack and the server`,
    );
    for (const d of r.differences) {
      lines.push(
        d.property === undefined
          ? `  ${d.type} ${d.resource} (${d.object}): missing on the server`
          : `  ${d.type} ${d.resource} (${d.object}): ${d.property}: stack ${d.stack}, live ${d.live}`,
      );
    }
  }
  if (r.failedChecks.length > 0) {
    lines.push(`drift: stack ${r.stack}: ${r.failedChecks.length} failed check(s) (make check)`);
    for (const c of r.failedChecks) lines.push(`  ${c.name}: ${c.reason}`);
  }
  if (r.status === "drift") {
    lines.push(
      `repair: ${r.repair} (pulumi up --refresh: reads the server, then puts back what the stack says)`,
    );
  }
  return lines.join("\n") + "\n";
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The drift issue's body. */
export function formatMarkdown(r: DriftReport): string {
  const lines = [`<!-- drift-status: ${r.status} stack=${r.stack} -->`];
  if (r.status === "clean") {
    lines.push(`Stack \`${r.stack}\` is clean: the server matches the stack and \`make check\` passes.`);
    return lines.join("\n") + "\n";
  }
  if (r.status === "error") {
    lines.push(
      `\`make drift\` could not check stack \`${r.stack}\`:`,
      "",
      ...r.errors.map((e) => `- ${cell(e)}`),
    );
  }
  if (r.differences.length > 0) {
    lines.push(
      "",
      `### Stack \`${r.stack}\` differs from the server`,
      "",
      "| resource | object | property | stack | live |",
      "| --- | --- | --- | --- | --- |",
      ...r.differences.map(
        (d) =>
          `| \`${d.resource}\` (${d.type}) | ${cell(d.object)} | ${d.property ?? "(the object)"} | \`${cell(d.stack)}\` | \`${cell(d.live)}\` |`,
      ),
    );
  }
  if (r.failedChecks.length > 0) {
    lines.push(
      "",
      "### `make check` failures",
      "",
      "| check | reason |",
      "| --- | --- |",
      ...r.failedChecks.map((c) => `| ${cell(c.name)} | ${cell(c.reason)} |`),
    );
  }
  if (r.status === "drift") {
    lines.push(
      "",
      `Repair: ${r.repair} (\`pulumi up --refresh\` reads the server, then puts back what the stack says), or change the program to adopt the hand-made change.`,
    );
  }
  return lines.join("\n") + "\n";
}
