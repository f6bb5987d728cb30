/**
 * The logging baseline both clouds get, as pure data: CIS Google Cloud
 * Foundations v3.0.0 section 6.2 (Cloud SQL for PostgreSQL), applied alike to
 * RDS parameter groups, with pgaudit auditing DDL and role changes. No
 * statement is logged for its own sake (no slow-statement log, no
 * log_statement class), and no bind value is logged at all: a statement's text
 * appears only beside an error, lock wait or temporary file it caused.
 *
 * The instance components (server/) set it, the config parser checks values a
 * stack overrides (a value PostgreSQL would refuse is refused here, before
 * anything is changed), and the policy pack reports every departure from it
 * (loosened-defaults everywhere, prod-logging-baseline refuses them in prod).
 * docs/cloud.md explains each flag against CIS and GDPR.
 */

/** The clouds' spelling differs: Cloud SQL flags take on/off, RDS parameter groups 1/0. */
export type FlagCloud = "gcp" | "aws";

/** PostgreSQL's message levels, least severe first. */
export const LOG_LEVELS = [
  "debug5",
  "debug4",
  "debug3",
  "debug2",
  "debug1",
  "info",
  "notice",
  "warning",
  "error",
  "log",
  "fatal",
  "panic",
] as const;

/** pgaudit's statement classes (pgaudit.log). */
export const PGAUDIT_CLASSES = ["read", "write", "function", "role", "ddl", "misc", "misc_set"] as const;

/** What pgaudit audits here: DDL and role changes, never the reading or writing of rows. */
export const PGAUDIT_LOG = "ddl,role";

/** shared_preload_libraries on RDS: Performance Insights' pg_stat_statements (RDS's default) and pgaudit. */
export const RDS_PRELOAD_LIBRARIES = "pg_stat_statements,pgaudit";

const TRUE = ["on", "1", "true", "yes"];
const FALSE = ["off", "0", "false", "no"];

/** on/off for a boolean flag in any spelling PostgreSQL accepts, else undefined. */
export function booleanOf(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v !== undefined && TRUE.includes(v)) return true;
  if (v !== undefined && FALSE.includes(v)) return false;
  return undefined;
}

/** A level at least as severe as `floor` (CIS: "warning or stricter" is warning, error, log, fatal, panic). */
function atLeast(floor: (typeof LOG_LEVELS)[number]): (value: string) => boolean {
  return (value) => LOG_LEVELS.indexOf(value as (typeof LOG_LEVELS)[number]) >= LOG_LEVELS.indexOf(floor);
}

/**
 * The classes pgaudit.log selects (`all`, `-class` exclusions), or a problem
 * naming the word it does not know.
 */
export function pgauditClasses(value: string): Set<string> | string {
  const out = new Set<string>();
  for (const raw of value.split(",")) {
    const word = raw.trim().toLowerCase();
    const exclude = word.startsWith("-");
    const name = exclude ? word.slice(1) : word;
    const names = name === "all" ? [...PGAUDIT_CLASSES] : name === "none" ? [] : [name];
    if (name !== "all" && name !== "none" && !(PGAUDIT_CLASSES as readonly string[]).includes(name)) {
      return `"${raw.trim()}" is not a pgaudit class (${[...PGAUDIT_CLASSES, "all", "none"].join(", ")}, each optionally prefixed with -)`;
    }
    for (const n of names) {
      if (exclude) out.delete(n);
      else out.add(n);
    }
  }
  return out;
}

/** pgaudit.log audits exactly DDL and role changes (not reads, writes, functions, misc). */
function auditsDdlAndRolesOnly(value: string): boolean {
  const classes = pgauditClasses(value);
  return typeof classes !== "string" && [...classes].sort().join(",") === "ddl,role";
}

interface BaselineFlag {
  name: string;
  /** The value each cloud is given; undefined: not set, the server's default meets the baseline. */
  value?: { gcp: string; aws: string };
  /** Whether a (lower-cased, trimmed) value meets the baseline; an unset flag meets it when `value` is undefined. */
  meets: (value: string) => boolean;
  /** What the baseline is, for messages. */
  expected: string;
  /** The control and what a departure costs. */
  why: string;
}

const ON = { gcp: "on", aws: "1" };
const isOn = (v: string) => booleanOf(v) === true;

/** The baseline, flag by flag. */
export const LOGGING_BASELINE: readonly BaselineFlag[] = [
  {
    name: "log_checkpoints",
    value: ON,
    meets: isOn,
    expected: "on",
    why: "checkpoints and their timing are logged",
  },
  {
    name: "log_connections",
    value: ON,
    meets: isOn,
    expected: "on",
    why: "CIS 6.2.2: every connection attempt is logged",
  },
  {
    name: "log_disconnections",
    value: ON,
    meets: isOn,
    expected: "on",
    why: "CIS 6.2.3: every session end and its duration are logged",
  },
  {
    name: "log_lock_waits",
    value: ON,
    meets: isOn,
    expected: "on",
    why: "waits longer than deadlock_timeout are logged",
  },
  {
    name: "log_min_duration_statement",
    value: { gcp: "-1", aws: "-1" },
    meets: (v) => v === "-1",
    expected: "-1",
    why: "CIS 6.2.7: any other value logs the text of slow statements with their values, personal data in the logs (GDPR Art. 5(1)(c)); Query Insights / Performance Insights show normalised statements instead",
  },
  {
    name: "log_min_error_statement",
    value: { gcp: "error", aws: "error" },
    meets: atLeast("error"),
    expected: "error or stricter",
    why: "CIS 6.2.6: the statement of every error is logged",
  },
  {
    name: "log_min_messages",
    value: { gcp: "warning", aws: "warning" },
    meets: atLeast("warning"),
    expected: "warning or stricter",
    why: "CIS 6.2.5: warnings and errors are logged",
  },
  {
    name: "log_statement",
    value: { gcp: "none", aws: "none" },
    meets: (v) => v === "none",
    expected: "none",
    why: "CIS 6.2.4 (set appropriately): ddl writes the passwords of CREATE/ALTER ROLE in clear, mod and all the values of every row written; pgaudit audits DDL and role changes instead, passwords redacted",
  },
  {
    name: "log_temp_files",
    value: { gcp: "0", aws: "0" },
    meets: (v) => v === "0",
    expected: "0",
    why: "every temporary file is logged (its size, not its contents)",
  },
  {
    name: "pgaudit.log",
    value: { gcp: PGAUDIT_LOG, aws: PGAUDIT_LOG },
    meets: auditsDdlAndRolesOnly,
    expected: PGAUDIT_LOG,
    why: "CIS 6.2.8, HIPAA 164.312(b): DDL and role changes are audited; read, write and function would log statements that touch rows, with their values",
  },
  {
    name: "log_error_verbosity",
    meets: (v) => v === "default" || v === "terse",
    expected: "unset, default or terse",
    why: "CIS 6.2.1",
  },
  {
    name: "pgaudit.log_parameter",
    meets: (v) => booleanOf(v) === false,
    expected: "unset or off",
    why: "the values bound to an audited statement would be logged (personal data)",
  },
  {
    name: "log_parameter_max_length_on_error",
    meets: (v) => v === "0",
    expected: "unset or 0",
    why: "the values bound to a failing statement would be logged (personal data)",
  },
];

/** Where each cloud loads pgaudit, and the value that does. */
export const PGAUDIT_LOADER = {
  gcp: { name: "cloudsql.enable_pgaudit", value: "on" },
  aws: { name: "shared_preload_libraries", value: RDS_PRELOAD_LIBRARIES },
} as const;

/** The flags (Cloud SQL) / parameters (RDS) of the baseline, as `cloud` spells them. */
export function baselineFlags(cloud: FlagCloud): Record<string, string> {
  const out: Record<string, string> = { [PGAUDIT_LOADER[cloud].name]: PGAUDIT_LOADER[cloud].value };
  for (const flag of LOGGING_BASELINE) if (flag.value) out[flag.name] = flag.value[cloud];
  return out;
}

/** Whether the server loads pgaudit with these flags (so CREATE EXTENSION pgaudit can succeed). */
export function pgauditLoaded(cloud: FlagCloud, flags: Readonly<Record<string, string>>): boolean {
  if (cloud === "gcp") return booleanOf(flags[PGAUDIT_LOADER.gcp.name]) === true;
  return (flags[PGAUDIT_LOADER.aws.name] ?? "")
    .split(",")
    .map((lib) => lib.trim().toLowerCase())
    .includes("pgaudit");
}

/**
 * Every departure from the baseline in `flags` (the instance's whole flag
 * list, defaults included), one message each, naming the flag, its value,
 * the baseline and why: empty when the flags meet the baseline.
 */
export function loggingDepartures(cloud: FlagCloud, flags: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  if (!pgauditLoaded(cloud, flags)) {
    const loader = PGAUDIT_LOADER[cloud];
    const shown = flags[loader.name] === undefined ? "unset" : JSON.stringify(flags[loader.name]);
    out.push(
      `pgaudit is not loaded (${loader.name} is ${shown}, not ${JSON.stringify(loader.value)}): CIS 6.2.8, DDL and role changes are not audited`,
    );
  }
  for (const flag of LOGGING_BASELINE) {
    const raw = flags[flag.name];
    if (raw === undefined ? flag.value === undefined : flag.meets(raw.trim().toLowerCase())) continue;
    out.push(
      `${flag.name} is ${raw === undefined ? "unset" : JSON.stringify(raw)}, not ${flag.expected} (${flag.why})`,
    );
  }
  return out;
}

const INTEGER_FROM_MINUS_ONE = /^(-1|0|[1-9][0-9]{0,9})$/;

/** The values PostgreSQL accepts for the flags the baseline sets, by flag. */
const VALUE_RULES: Record<string, { test: (v: string) => boolean; rule: string }> = {
  log_min_duration_statement: {
    test: (v) => INTEGER_FROM_MINUS_ONE.test(v),
    rule: "an integer of milliseconds, -1 (off) or more",
  },
  log_temp_files: { test: (v) => INTEGER_FROM_MINUS_ONE.test(v), rule: "an integer of kB, -1 (off) or more" },
  log_min_messages: {
    test: (v) => (LOG_LEVELS as readonly string[]).includes(v),
    rule: `one of ${LOG_LEVELS.join(", ")}`,
  },
  log_min_error_statement: {
    test: (v) => (LOG_LEVELS as readonly string[]).includes(v),
    rule: `one of ${LOG_LEVELS.join(", ")}`,
  },
  log_statement: {
    test: (v) => ["none", "ddl", "mod", "all"].includes(v),
    rule: "one of none, ddl, mod, all",
  },
  log_error_verbosity: {
    test: (v) => ["terse", "default", "verbose"].includes(v),
    rule: "one of terse, default, verbose",
  },
};
const BOOLEAN_FLAGS = [
  "log_checkpoints",
  "log_connections",
  "log_disconnections",
  "log_lock_waits",
  "pgaudit.log_parameter",
  "cloudsql.enable_pgaudit",
  "cloudsql.iam_authentication",
];

/**
 * A problem with a value a stack gives one of the baseline's flags (one
 * PostgreSQL or the cloud would refuse), naming the flag, the value and the
 * rule; undefined when it is valid (departures from the baseline are valid:
 * the policy pack reports them) or the flag is not one of the baseline's.
 */
export function flagValueProblem(name: string, value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (BOOLEAN_FLAGS.includes(name) && booleanOf(v) === undefined) {
    return `${name} ${JSON.stringify(value)} is not a boolean (on or off; 1 or 0)`;
  }
  if (name === "pgaudit.log") {
    const classes = pgauditClasses(v);
    return typeof classes === "string" ? `pgaudit.log ${JSON.stringify(value)}: ${classes}` : undefined;
  }
  const rule = VALUE_RULES[name];
  if (rule && !rule.test(v)) return `${name} ${JSON.stringify(value)} is not ${rule.rule}`;
  return undefined;
}
