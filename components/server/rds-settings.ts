/**
 * RdsInstance's pure settings: the parameter group's parameters, the backup
 * and maintenance windows, the master secret's password, the event
 * categories its subscriptions cover and the AWS partition of a region.
 */
import { baselineFlags } from "../config/database-flags";

/**
 * Parameters every instance's parameter group sets, overridable one by one:
 * TLS required for every connection, and the logging baseline
 * (config/database-flags.ts): connections, disconnections, lock waits,
 * checkpoints, temporary files, warnings and errors logged, no statement text
 * (log_min_duration_statement=-1, log_statement=none), and pgaudit preloaded
 * to audit DDL and role changes; exported to CloudWatch Logs.
 */
export const DEFAULT_RDS_PARAMETERS: Readonly<Record<string, string>> = {
  "rds.force_ssl": "1",
  ...baselineFlags("aws"),
};

/**
 * PostgreSQL parameters that take effect only at server start: RDS refuses
 * them with `applyMethod: immediate`, so they are applied at the next reboot.
 */
export const STATIC_RDS_PARAMETERS: readonly string[] = [
  "autovacuum_max_workers",
  "huge_pages",
  "max_connections",
  "max_locks_per_transaction",
  "max_logical_replication_workers",
  "max_pred_locks_per_transaction",
  "max_prepared_transactions",
  "max_replication_slots",
  "max_wal_senders",
  "max_worker_processes",
  "rds.logical_replication",
  "shared_buffers",
  "shared_preload_libraries",
  "track_activity_query_size",
  "track_commit_timestamp",
  "wal_buffers",
];

export interface RdsParameter {
  name: string;
  value: string;
  applyMethod: "immediate" | "pending-reboot";
}

/** `17` → `postgres17`, the parameter group family. */
export function rdsParameterFamily(postgresVersion: number): string {
  if (!Number.isInteger(postgresVersion) || postgresVersion < 10) {
    throw new Error(`RDS: PostgreSQL version ${JSON.stringify(postgresVersion)} is not a major version`);
  }
  return `postgres${postgresVersion}`;
}

/** The defaults with `overrides` applied, sorted by name; static ones `pending-reboot`. */
export function rdsParameters(overrides: Readonly<Record<string, string>> = {}): RdsParameter[] {
  const merged = { ...DEFAULT_RDS_PARAMETERS, ...overrides };
  return Object.keys(merged)
    .sort()
    .map((name) => ({
      name,
      value: merged[name],
      applyMethod: STATIC_RDS_PARAMETERS.includes(name) ? "pending-reboot" : "immediate",
    }));
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

function hhmm(minutes: number): string {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** `02:00` → `02:00-02:30`: RDS's daily backup window (30 minutes, the minimum). */
export function rdsBackupWindow(start: string): string {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(start);
  if (!match) throw new Error(`RDS: backup start ${JSON.stringify(start)} is not HH:MM`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return `${hhmm(minutes)}-${hhmm(minutes + 30)}`;
}

/** `sun`, `3` → `sun:03:00-sun:04:00` (an hour; wraps to the next day after 23:00). */
export function rdsMaintenanceWindow(day: (typeof DAYS)[number], hour: number): string {
  const index = DAYS.indexOf(day);
  if (index < 0)
    throw new Error(`RDS: maintenance day ${JSON.stringify(day)} is not one of ${DAYS.join(", ")}`);
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) {
    throw new Error(`RDS: maintenance hour ${JSON.stringify(hour)} is not 0-23`);
  }
  const endDay = hour === 23 ? DAYS[(index + 1) % 7] : day;
  return `${day}:${hhmm(hour * 60)}-${endDay}:${hhmm(hour * 60 + 60)}`;
}

/** The password in the JSON secret RDS keeps in Secrets Manager (`{"username","password"}`). */
export function parseMasterUserSecret(secretString: string | undefined): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString ?? "");
  } catch {
    throw new Error('RDS master user secret: not JSON (expected {"username", "password"})');
  }
  const password = (parsed as { password?: unknown } | null)?.password;
  if (typeof password !== "string" || password === "") {
    throw new Error("RDS master user secret: no password field");
  }
  return password;
}

/**
 * RDS event categories each subscription covers (RDS.20, RDS.21, RDS.22 of
 * AWS Foundational Security Best Practices name the ones marked there).
 */
export const RDS_EVENT_CATEGORIES = {
  /** RDS.20: configuration change, failure, maintenance; and what an operator acts on. */
  "db-instance": [
    "availability",
    "configuration change",
    "deletion",
    "failover",
    "failure",
    "low storage",
    "maintenance",
    "notification",
    "recovery",
    "restoration",
  ],
  /** RDS.21. */
  "db-parameter-group": ["configuration change"],
  /** RDS.22. */
  "db-security-group": ["configuration change", "failure"],
} as const;

/** `eu-central-1` → `aws`, `us-gov-west-1` → `aws-us-gov`, `cn-north-1` → `aws-cn`. */
export function awsPartition(region: string): string {
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("cn-")) return "aws-cn";
  return "aws";
}
