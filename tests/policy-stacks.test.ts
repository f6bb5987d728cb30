/**
 * The policy pack over the resources the program itself registers (mocks) for
 * the staging and prod stack files on both clouds: prod passes clean, prod
 * refuses each hardened setting a config key turns off (HA, deletion
 * protection, a public IP, backup retention, the logging baseline, IAM
 * authentication), and staging only reports them (advisory).
 */
import { describe, expect, it } from "vitest";
import { cloudMocks, policySubjects, stackFileConfig } from "./helpers/cloud-mocks";
import { runProgram } from "./helpers/run-program";
import { Reported, T, analyze } from "./helpers/policy";

async function analyzeStack(
  stack: "staging" | "prod",
  overrides: Record<string, string>,
): Promise<Reported[]> {
  const run = await runProgram(stackFileConfig(stack, overrides), stack, cloudMocks());
  return analyze(policySubjects(run.resources));
}

const mandatory = (r: Reported[]) =>
  r.filter((x) => x.level === "mandatory").map((x) => `${x.policy}: ${x.message}`);
const advisory = (r: Reported[]) => r.filter((x) => x.level === "advisory").map((x) => x.message);

describe("the pack over the program's mock graphs", () => {
  it.each(["gcp", "aws"])(
    "passes prod on %s with no violation at all",
    async (target) => {
      expect(await analyzeStack("prod", { target })).toEqual([]);
    },
    120_000,
  );

  it.each([
    ["gcp", "platform-postgres-cloudsql-instance", "availabilityType ZONAL (highAvailability: false)"],
    ["aws", "platform-postgres-rds-instance", "multiAz off (highAvailability: false)"],
  ])(
    "passes staging on %s, reporting (advisory) the defaults its config loosens",
    async (target, name, ha) => {
      const found = await analyzeStack("staging", { target });
      expect(mandatory(found)).toEqual([]);
      const type = target === "gcp" ? T.cloudSqlInstance : T.rdsInstance;
      expect(advisory(found)).toEqual([
        `${type} "${name}": ${ha}`,
        `${type} "${name}": deletion protection off (deletionProtection: false)`,
      ]);
    },
    120_000,
  );

  it.each<[string, string, Record<string, string>, string, string]>([
    [
      "gcp",
      "prod",
      { highAvailability: "false" },
      "prod-high-availability",
      "settings.availabilityType is not REGIONAL in prod",
    ],
    ["aws", "prod", { highAvailability: "false" }, "prod-high-availability", "multiAz is not true in prod"],
    [
      "gcp",
      "prod",
      { deletionProtection: "false" },
      "prod-deletion-protection",
      "Pulumi protect is not set in prod",
    ],
    [
      "aws",
      "prod",
      { deletionProtection: "false" },
      "prod-deletion-protection",
      "deletionProtection is not true in prod",
    ],
    [
      "gcp",
      "prod",
      { finalBackup: "false" },
      "prod-deletion-protection",
      "settings.retainBackupsOnDelete is not true in prod",
    ],
    [
      "aws",
      "prod",
      { finalBackup: "false" },
      "prod-deletion-protection",
      "skipFinalSnapshot is not false in prod",
    ],
    [
      "gcp",
      "staging",
      { gcpPointInTimeRecovery: "false" },
      "cloudsql-backups-pitr",
      "pointInTimeRecoveryEnabled is not true",
    ],
    [
      "aws",
      "staging",
      { databaseFlags: '["rds.force_ssl=0"]' },
      "rds-force-ssl",
      "does not set rds.force_ssl=1",
    ],
    // What prod refuses and staging only reports (below): a public IP, short
    // retention, the logging baseline, IAM authentication.
    [
      "gcp",
      "prod",
      { gcpPublicIp: "true", gcpAuthorizedNetworks: '["203.0.113.0/24"]' },
      "prod-no-public-ip",
      "public IP on (gcpPublicIp: true; CIS 6.6); refused in prod",
    ],
    [
      "gcp",
      "prod",
      { backupRetentionDays: "1", gcpTransactionLogRetentionDays: "1" },
      "prod-backup-retention",
      "retainedBackups is 1: fewer than 7 days of backups",
    ],
    [
      "aws",
      "prod",
      { backupRetentionDays: "1" },
      "prod-backup-retention",
      "backupRetentionPeriod is 1: fewer than 7 days of backups",
    ],
    [
      "gcp",
      "prod",
      { databaseFlags: '["log_min_duration_statement=1000"]' },
      "prod-logging-baseline",
      'log_min_duration_statement is "1000", not -1',
    ],
    [
      "aws",
      "prod",
      { databaseFlags: '["log_min_duration_statement=1000"]' },
      "prod-logging-baseline",
      'log_min_duration_statement is "1000", not -1',
    ],
    [
      "gcp",
      "prod",
      { databaseFlags: '["log_connections=off","log_min_messages=panic","log_min_error_statement=warning"]' },
      "prod-logging-baseline",
      'log_min_error_statement is "warning", not error or stricter',
    ],
    [
      "gcp",
      "prod",
      { databaseFlags: '["cloudsql.enable_pgaudit=off"]' },
      "prod-logging-baseline",
      'pgaudit is not loaded (cloudsql.enable_pgaudit is "off", not "on")',
    ],
    [
      "aws",
      "prod",
      { databaseFlags: '["shared_preload_libraries=pg_stat_statements"]' },
      "prod-logging-baseline",
      'pgaudit is not loaded (shared_preload_libraries is "pg_stat_statements"',
    ],
    [
      "aws",
      "prod",
      { databaseFlags: '["log_statement=all"]' },
      "prod-logging-baseline",
      'log_statement is "all", not none',
    ],
    [
      "gcp",
      "prod",
      { databaseFlags: '["cloudsql.iam_authentication=off"]' },
      "prod-iam-authentication",
      "cloudsql.iam_authentication is not on (databaseFlags); refused in prod",
    ],
  ])(
    "on %s %s, %j fails the preview with %s",
    async (target, stack, overrides, policy, message) => {
      const found = mandatory(await analyzeStack(stack as "staging" | "prod", { target, ...overrides }));
      expect(found.length).toBeGreaterThan(0);
      for (const m of found)
        expect(m).toMatch(new RegExp(`^${policy}: (gcp|aws):[A-Za-z0-9/]+:[A-Za-z]+ "platform-postgres-`));
      expect(found.join("\n")).toContain(message);
    },
    120_000,
  );

  it.each<[string, Record<string, string>, string]>([
    [
      "gcp",
      { gcpPublicIp: "true", gcpAuthorizedNetworks: '["203.0.113.0/24"]' },
      "public IP on (gcpPublicIp: true; CIS 6.6)",
    ],
    [
      "gcp",
      { databaseFlags: '["cloudsql.iam_authentication=off"]' },
      "cloudsql.iam_authentication is not on (databaseFlags)",
    ],
    [
      "gcp",
      { backupRetentionDays: "1", gcpTransactionLogRetentionDays: "1" },
      "retainedBackups is 1: fewer than 7 days of backups (backupRetentionDays; RDS.11)",
    ],
    [
      "aws",
      { backupRetentionDays: "3" },
      "backupRetentionPeriod is 3: fewer than 7 days of backups (backupRetentionDays; RDS.11)",
    ],
    [
      "gcp",
      { databaseFlags: '["log_min_duration_statement=1000"]' },
      'logging baseline: log_min_duration_statement is "1000", not -1',
    ],
    [
      "aws",
      { databaseFlags: '["log_min_duration_statement=1000"]' },
      'logging baseline: log_min_duration_statement is "1000", not -1',
    ],
    ["aws", { databaseFlags: '["log_connections=0"]' }, 'logging baseline: log_connections is "0", not on'],
    [
      "gcp",
      { databaseFlags: '["cloudsql.enable_pgaudit=off"]' },
      'logging baseline: pgaudit is not loaded (cloudsql.enable_pgaudit is "off"',
    ],
    [
      "gcp",
      { databaseFlags: '["log_statement=ddl"]' },
      "ddl writes the passwords of CREATE/ALTER ROLE in clear",
    ],
    ["aws", { awsMonitoringInterval: "0" }, "enhanced monitoring off (awsMonitoringInterval: 0; RDS.6)"],
    ["gcp", { finalBackup: "false" }, "backups not kept on deletion (finalBackup: false)"],
    ["aws", { finalBackup: "false" }, "no final snapshot (finalBackup: false)"],
  ])(
    "on %s staging, loosening %j is reported",
    async (target, overrides, message) => {
      const found = await analyzeStack("staging", { target, ...overrides });
      expect(mandatory(found)).toEqual([]);
      expect(advisory(found).join("\n")).toContain(message);
    },
    120_000,
  );

  it.each(["gcp", "aws"])(
    "on %s staging, log_min_duration_statement=-1 written out is the baseline, not a loosening",
    async (target) => {
      const found = await analyzeStack("staging", {
        target,
        databaseFlags: '["log_min_duration_statement=-1"]',
      });
      expect(found.map((r) => r.message).join("\n")).not.toContain("log_min_duration_statement");
    },
    120_000,
  );
});
