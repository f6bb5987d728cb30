/**
 * The hardened settings a stack's config can turn off, each found once and
 * reported twice: by loosened-defaults (advisory, any environment) and, for
 * the four prod cannot go without (a public IP, backup retention, the logging
 * baseline, IAM database authentication), by a prod-* policy that refuses it.
 * Each finding is a detail without the resource's label.
 */
import { loggingDepartures } from "../components/config/database-flags";
import { Subject, TYPES, flagsOf } from "./subject";

/** Daily backups prod keeps at least (AWS Foundational Security Best Practices RDS.11). */
export const MIN_BACKUP_RETENTION_DAYS = 7;

/** A Cloud SQL public IP (CIS 6.6): only an explicit ipv4Enabled false is private. */
export function publicIpFindings(s: Subject): string[] {
  if (s.type !== TYPES.cloudSqlInstance) return [];
  return s.props.settings?.ipConfiguration?.ipv4Enabled !== false
    ? ["public IP on (gcpPublicIp: true; CIS 6.6)"]
    : [];
}

/** Fewer than MIN_BACKUP_RETENTION_DAYS daily backups kept. */
export function backupRetentionFindings(s: Subject): string[] {
  let days: unknown;
  let property: string;
  if (s.type === TYPES.cloudSqlInstance) {
    property = "settings.backupConfiguration.backupRetentionSettings.retainedBackups";
    // Unset: the API keeps 7.
    days = s.props.settings?.backupConfiguration?.backupRetentionSettings?.retainedBackups ?? 7;
  } else if (s.type === TYPES.rdsInstance) {
    property = "backupRetentionPeriod";
    // Unset: the API keeps 1 day.
    days = s.props.backupRetentionPeriod ?? 1;
  } else {
    return [];
  }
  return Number(days) >= MIN_BACKUP_RETENTION_DAYS
    ? []
    : [
        `${property} is ${days}: fewer than ${MIN_BACKUP_RETENTION_DAYS} days of backups (backupRetentionDays; RDS.11)`,
      ];
}

/** IAM database authentication off (Cloud SQL flag; RDS.10). */
export function iamAuthenticationFindings(s: Subject): string[] {
  if (s.type === TYPES.cloudSqlInstance) {
    const value = flagsOf(s.props.settings?.databaseFlags)["cloudsql.iam_authentication"];
    return value === "on" ? [] : ["cloudsql.iam_authentication is not on (databaseFlags)"];
  }
  if (s.type === TYPES.rdsInstance && s.props.iamDatabaseAuthenticationEnabled !== true) {
    return ["iamDatabaseAuthenticationEnabled is not true: IAM database authentication off (RDS.10)"];
  }
  return [];
}

/**
 * Departures from the logging baseline (components/config/database-flags.ts):
 * a Cloud SQL instance's flags, an RDS parameter group's parameters, and an
 * RDS instance that does not export its PostgreSQL log to CloudWatch.
 */
export function loggingFindings(s: Subject): string[] {
  if (s.type === TYPES.cloudSqlInstance) {
    return loggingDepartures("gcp", flagsOf(s.props.settings?.databaseFlags)).map(
      (d) => `logging baseline: ${d}`,
    );
  }
  if (s.type === TYPES.rdsParameterGroup) {
    return loggingDepartures("aws", flagsOf(s.props.parameters)).map((d) => `logging baseline: ${d}`);
  }
  if (s.type === TYPES.rdsInstance) {
    const exports: string[] = s.props.enabledCloudwatchLogsExports ?? [];
    return exports.includes("postgresql")
      ? []
      : ["postgresql log not exported to CloudWatch (enabledCloudwatchLogsExports; RDS.9, RDS.36)"];
  }
  return [];
}
