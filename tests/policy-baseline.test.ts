/**
 * What prod refuses and every environment reports, rule by rule with a passing
 * and a failing resource: deletion protection, high availability, a public
 * IP, backup retention, the logging baseline (CIS 6.2.x: no statement text,
 * pgaudit), IAM database authentication; and loosened-defaults, the advisory
 * report of every hardened default a stack turned off.
 */
import { describe, expect, it } from "vitest";
import * as rules from "../policy/rules";
import {
  CLOUDSQL_FLAGS,
  RDS_PARAMETERS,
  T,
  flagList,
  parameterGroup,
  prodCloudSql,
  prodRds,
} from "./helpers/policy";

describe("prod's refusals and the loosened defaults: a passing and a failing case each", () => {
  it("prod-deletion-protection", () => {
    expect(rules.prodDeletionProtection(prodCloudSql(), { environment: "prod" })).toEqual([]);
    expect(rules.prodDeletionProtection(prodRds(), { environment: "prod" })).toEqual([]);
    const unprotected = {
      ...prodRds({ deletionProtection: false, skipFinalSnapshot: true }),
      protect: false,
    };
    expect(rules.prodDeletionProtection(unprotected, { environment: "prod" })).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": deletionProtection is not true in prod`,
      `${T.rdsInstance} "platform-postgres-rds-instance": skipFinalSnapshot is not false in prod (finalBackup)`,
      `${T.rdsInstance} "platform-postgres-rds-instance": Pulumi protect is not set in prod`,
    ]);
    expect(rules.prodDeletionProtection(unprotected, { environment: "staging" })).toEqual([]);
    const cloudSql = prodCloudSql({ deletionProtection: false }, { deletionProtectionEnabled: false });
    expect(rules.prodDeletionProtection(cloudSql, { environment: "prod" })).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": deletionProtection is not true in prod`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.deletionProtectionEnabled is not true in prod`,
    ]);
  });

  it("prod-high-availability", () => {
    expect(rules.prodHighAvailability(prodCloudSql(), { environment: "prod" })).toEqual([]);
    expect(
      rules.prodHighAvailability(prodCloudSql({}, { availabilityType: "ZONAL" }), { environment: "prod" }),
    ).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.availabilityType is not REGIONAL in prod (highAvailability)`,
    ]);
    expect(rules.prodHighAvailability(prodRds({ multiAz: false }), { environment: "prod" })).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": multiAz is not true in prod (highAvailability)`,
    ]);
    expect(rules.prodHighAvailability(prodRds({ multiAz: false }), { environment: "staging" })).toEqual([]);
  });

  it("prod-no-public-ip", () => {
    const pub = prodCloudSql(
      {},
      {
        ipConfiguration: {
          ipv4Enabled: true,
          privateNetwork: "n",
          sslMode: "ENCRYPTED_ONLY",
          authorizedNetworks: [{ value: "203.0.113.0/24" }],
        },
      },
    );
    expect(rules.prodNoPublicIp(prodCloudSql(), { environment: "prod" })).toEqual([]);
    expect(rules.prodNoPublicIp(pub, { environment: "prod" })).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": public IP on (gcpPublicIp: true; CIS 6.6); refused in prod`,
    ]);
    // Staging: loosened-defaults reports it, this policy does not refuse it.
    expect(rules.prodNoPublicIp(pub, { environment: "staging" })).toEqual([]);
  });

  it("prod-backup-retention", () => {
    const cloudSql = (retainedBackups: number) =>
      prodCloudSql(
        {},
        {
          backupConfiguration: {
            enabled: true,
            pointInTimeRecoveryEnabled: true,
            backupRetentionSettings: { retainedBackups, retentionUnit: "COUNT" },
          },
        },
      );
    expect(rules.prodBackupRetention(cloudSql(7), { environment: "prod" })).toEqual([]);
    expect(rules.prodBackupRetention(prodRds({ backupRetentionPeriod: 7 }), { environment: "prod" })).toEqual(
      [],
    );
    expect(rules.prodBackupRetention(cloudSql(1), { environment: "prod" })).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": settings.backupConfiguration.backupRetentionSettings.retainedBackups is 1: fewer than 7 days of backups (backupRetentionDays; RDS.11); refused in prod`,
    ]);
    expect(rules.prodBackupRetention(prodRds({ backupRetentionPeriod: 6 }), { environment: "prod" })).toEqual(
      [
        `${T.rdsInstance} "platform-postgres-rds-instance": backupRetentionPeriod is 6: fewer than 7 days of backups (backupRetentionDays; RDS.11); refused in prod`,
      ],
    );
    // Unset on RDS is the API's 1 day.
    expect(
      rules.prodBackupRetention(prodRds({ backupRetentionPeriod: undefined }), { environment: "prod" }),
    ).toHaveLength(1);
    expect(rules.prodBackupRetention(cloudSql(1), { environment: "staging" })).toEqual([]);
  });

  it("prod-logging-baseline", () => {
    const prod = { environment: "prod" as const };
    expect(rules.prodLoggingBaseline(prodCloudSql(), prod)).toEqual([]);
    expect(rules.prodLoggingBaseline(parameterGroup(flagList(RDS_PARAMETERS)), prod)).toEqual([]);
    expect(rules.prodLoggingBaseline(prodRds(), prod)).toEqual([]);
    const slow = prodCloudSql(
      {},
      {
        databaseFlags: flagList({
          ...CLOUDSQL_FLAGS,
          log_min_duration_statement: "1000",
          log_statement: "mod",
        }),
      },
    );
    expect(rules.prodLoggingBaseline(slow, prod)).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": logging baseline: log_min_duration_statement is "1000", not -1 (CIS 6.2.7: any other value logs the text of slow statements with their values, personal data in the logs (GDPR Art. 5(1)(c)); Query Insights / Performance Insights show normalised statements instead); refused in prod`,
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": logging baseline: log_statement is "mod", not none (CIS 6.2.4 (set appropriately): ddl writes the passwords of CREATE/ALTER ROLE in clear, mod and all the values of every row written; pgaudit audits DDL and role changes instead, passwords redacted); refused in prod`,
    ]);
    const noAudit = parameterGroup(
      flagList({ ...RDS_PARAMETERS, shared_preload_libraries: "pg_stat_statements", log_connections: "0" }),
    );
    expect(rules.prodLoggingBaseline(noAudit, prod)).toEqual([
      `${T.rdsParameterGroup} "platform-postgres-rds-params": logging baseline: pgaudit is not loaded (shared_preload_libraries is "pg_stat_statements", not "pg_stat_statements,pgaudit"): CIS 6.2.8, DDL and role changes are not audited; refused in prod`,
      `${T.rdsParameterGroup} "platform-postgres-rds-params": logging baseline: log_connections is "0", not on (CIS 6.2.2: every connection attempt is logged); refused in prod`,
    ]);
    expect(rules.prodLoggingBaseline(prodRds({ enabledCloudwatchLogsExports: ["upgrade"] }), prod)).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": postgresql log not exported to CloudWatch (enabledCloudwatchLogsExports; RDS.9, RDS.36); refused in prod`,
    ]);
    expect(rules.prodLoggingBaseline(slow, { environment: "staging" })).toEqual([]);
  });

  it("prod-iam-authentication", () => {
    const prod = { environment: "prod" as const };
    expect(rules.prodIamAuthentication(prodCloudSql(), prod)).toEqual([]);
    expect(rules.prodIamAuthentication(prodRds(), prod)).toEqual([]);
    const off = prodCloudSql(
      {},
      { databaseFlags: flagList({ ...CLOUDSQL_FLAGS, "cloudsql.iam_authentication": "off" }) },
    );
    expect(rules.prodIamAuthentication(off, prod)).toEqual([
      `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance": cloudsql.iam_authentication is not on (databaseFlags); refused in prod`,
    ]);
    expect(rules.prodIamAuthentication(prodRds({ iamDatabaseAuthenticationEnabled: false }), prod)).toEqual([
      `${T.rdsInstance} "platform-postgres-rds-instance": iamDatabaseAuthenticationEnabled is not true: IAM database authentication off (RDS.10); refused in prod`,
    ]);
    expect(rules.prodIamAuthentication(off, { environment: "staging" })).toEqual([]);
  });

  it("loosened-defaults", () => {
    expect(rules.loosenedDefaults(prodCloudSql(), {})).toEqual([]);
    expect(rules.loosenedDefaults(prodRds(), {})).toEqual([]);
    expect(rules.loosenedDefaults(parameterGroup(flagList(RDS_PARAMETERS)), {})).toEqual([]);
    // -1 is the baseline (CIS 6.2.7), not a loosening; set explicitly or not at all it is not reported …
    const quiet = prodCloudSql(
      {},
      {
        databaseFlags: flagList({
          ...CLOUDSQL_FLAGS,
          log_min_duration_statement: "-1",
          log_error_verbosity: "terse",
        }),
      },
    );
    expect(rules.loosenedDefaults(quiet, {})).toEqual([]);
    // … while a threshold, which logs statement text, is.
    const loose = prodCloudSql(
      {},
      {
        availabilityType: "ZONAL",
        databaseFlags: [
          { name: "cloudsql.iam_authentication", value: "off" },
          { name: "log_connections", value: "off" },
          { name: "log_min_duration_statement", value: "1000" },
        ],
      },
    );
    const cloudSql = `${T.cloudSqlInstance} "platform-postgres-cloudsql-instance"`;
    expect(rules.loosenedDefaults(loose, {})).toEqual([
      `${cloudSql}: availabilityType ZONAL (highAvailability: false)`,
      `${cloudSql}: cloudsql.iam_authentication is not on (databaseFlags)`,
      `${cloudSql}: logging baseline: pgaudit is not loaded (cloudsql.enable_pgaudit is unset, not "on"): CIS 6.2.8, DDL and role changes are not audited`,
      `${cloudSql}: logging baseline: log_checkpoints is unset, not on (checkpoints and their timing are logged)`,
      `${cloudSql}: logging baseline: log_connections is "off", not on (CIS 6.2.2: every connection attempt is logged)`,
      `${cloudSql}: logging baseline: log_disconnections is unset, not on (CIS 6.2.3: every session end and its duration are logged)`,
      `${cloudSql}: logging baseline: log_lock_waits is unset, not on (waits longer than deadlock_timeout are logged)`,
      `${cloudSql}: logging baseline: log_min_duration_statement is "1000", not -1 (CIS 6.2.7: any other value logs the text of slow statements with their values, personal data in the logs (GDPR Art. 5(1)(c)); Query Insights / Performance Insights show normalised statements instead)`,
      `${cloudSql}: logging baseline: log_min_error_statement is unset, not error or stricter (CIS 6.2.6: the statement of every error is logged)`,
      `${cloudSql}: logging baseline: log_min_messages is unset, not warning or stricter (CIS 6.2.5: warnings and errors are logged)`,
      `${cloudSql}: logging baseline: log_statement is unset, not none (CIS 6.2.4 (set appropriately): ddl writes the passwords of CREATE/ALTER ROLE in clear, mod and all the values of every row written; pgaudit audits DDL and role changes instead, passwords redacted)`,
      `${cloudSql}: logging baseline: log_temp_files is unset, not 0 (every temporary file is logged (its size, not its contents))`,
      `${cloudSql}: logging baseline: pgaudit.log is unset, not ddl,role (CIS 6.2.8, HIPAA 164.312(b): DDL and role changes are audited; read, write and function would log statements that touch rows, with their values)`,
    ]);
    const rds = `${T.rdsInstance} "platform-postgres-rds-instance"`;
    expect(
      rules.loosenedDefaults(
        prodRds({
          allowMajorVersionUpgrade: true,
          enabledCloudwatchLogsExports: ["postgresql"],
          backupRetentionPeriod: 3,
          monitoringInterval: 0,
        }),
        {},
      ),
    ).toEqual([
      `${rds}: backupRetentionPeriod is 3: fewer than 7 days of backups (backupRetentionDays; RDS.11)`,
      `${rds}: enhanced monitoring off (awsMonitoringInterval: 0; RDS.6)`,
      `${rds}: automatic major upgrades allowed`,
      `${rds}: upgrade log not exported to CloudWatch`,
    ]);
    expect(
      rules.loosenedDefaults(
        parameterGroup(flagList({ ...RDS_PARAMETERS, "pgaudit.log": "all", "pgaudit.log_parameter": "1" })),
        {},
      ),
    ).toEqual([
      `${T.rdsParameterGroup} "platform-postgres-rds-params": logging baseline: pgaudit.log is "all", not ddl,role (CIS 6.2.8, HIPAA 164.312(b): DDL and role changes are audited; read, write and function would log statements that touch rows, with their values)`,
      `${T.rdsParameterGroup} "platform-postgres-rds-params": logging baseline: pgaudit.log_parameter is "1", not unset or off (the values bound to an audited statement would be logged (personal data))`,
    ]);
  });
});
