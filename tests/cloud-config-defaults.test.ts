/**
 * The cloud targets' config (components/config/cloud-config.ts): the hardened
 * defaults, what loosening one takes, the logging baseline's flags, and the
 * parser's pure helpers. Refusals: cloud-config-refusals.test.ts; Pulumi.yaml,
 * the stack files and docs/cloud.md: cloud-config-stack-files.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Problems, parseStackConfig } from "../components/config/stack-config";
import { AwsConfig, GcpConfig, minutesOf, parseDatabaseFlags } from "../components/config/cloud-config";
import { AWS, GCP } from "./helpers/cloud-config-inputs";
import { problemsOf } from "./helpers/config-problems";

describe("cloud config: defaults are the hardened ones", () => {
  it("gcp: HA, deletion protection, final backup, private IP only, PITR, connector", () => {
    const cloud = parseStackConfig(GCP).cloud as GcpConfig;
    expect(cloud).toEqual({
      cloud: "gcp",
      instanceName: "platform-databases-staging",
      diskSizeGb: 20,
      diskAutoresize: true,
      diskAutoresizeLimitGb: 500,
      highAvailability: true,
      deletionProtection: true,
      finalBackup: true,
      backupRetentionDays: 7,
      backupStartTime: "02:00",
      maintenanceDay: "sun",
      maintenanceHour: 3,
      databaseFlags: {},
      project: "platform-db-staging",
      region: "europe-west1",
      network: "projects/platform-db-staging/global/networks/platform-vpc",
      allocatedIpRange: undefined,
      tier: "db-custom-1-3840",
      edition: "ENTERPRISE",
      connection: "connector",
      publicIp: false,
      authorizedNetworks: [],
      pointInTimeRecovery: true,
      transactionLogRetentionDays: 7,
      kmsKeyName: undefined,
    });
  });

  it("aws: the same shared defaults and the given network", () => {
    const cloud = parseStackConfig(AWS).cloud as AwsConfig;
    expect(cloud).toMatchObject({
      cloud: "aws",
      instanceName: "platform-databases-prod",
      highAvailability: true,
      deletionProtection: true,
      finalBackup: true,
      backupRetentionDays: 7,
      region: "eu-central-1",
      vpcId: "vpc-0a11c0ffee0000001",
      subnetIds: ["subnet-0a11c0ffee00000a1", "subnet-0a11c0ffee00000b1"],
      instanceClass: "db.m7g.large",
      allowedSecurityGroupIds: ["sg-0a11c0ffee0000011"],
      allowedCidrs: [],
      kmsKeyId: undefined,
      monitoringInterval: 60,
      eventTopicArn: undefined,
    });
    expect(parseStackConfig(AWS).sslmode).toBe("require");
  });

  it("loosening a default takes its key", () => {
    const cloud = parseStackConfig({
      ...GCP,
      highAvailability: "false",
      deletionProtection: "false",
      finalBackup: "false",
      gcpPointInTimeRecovery: "false",
      gcpPublicIp: "true",
      gcpAuthorizedNetworks: '["203.0.113.0/24"]',
      databaseFlags: '["log_connections=off","cloudsql.iam_authentication=off"]',
    }).cloud as GcpConfig;
    expect(cloud).toMatchObject({
      highAvailability: false,
      deletionProtection: false,
      finalBackup: false,
      pointInTimeRecovery: false,
      publicIp: true,
      authorizedNetworks: ["203.0.113.0/24"],
      databaseFlags: { log_connections: "off", "cloudsql.iam_authentication": "off" },
    });
  });

  it("ignores the cloud keys on the local target", () => {
    expect(
      parseStackConfig({ environment: "dev", gcpTier: "", awsSubnetIds: "nonsense" }).cloud,
    ).toBeUndefined();
  });
});

describe("cloud config: the logging baseline's flags", () => {
  it("accepts a departure from the baseline (the policy pack reports it), and the enhanced monitoring keys", () => {
    const cloud = parseStackConfig({
      ...AWS,
      databaseFlags: '["log_min_duration_statement=1000","log_statement=ddl","pgaudit.log=all,-misc"]',
      awsMonitoringInterval: "0",
      awsEventTopicArn: "arn:aws:sns:eu-central-1:123456789012:ops-alerts",
      instanceName: `platform-${"x".repeat(45)}`,
    }).cloud as AwsConfig;
    expect(cloud).toMatchObject({
      databaseFlags: { log_min_duration_statement: "1000", log_statement: "ddl", "pgaudit.log": "all,-misc" },
      monitoringInterval: 0,
      eventTopicArn: "arn:aws:sns:eu-central-1:123456789012:ops-alerts",
    });
  });

  it("reports every bad flag value at once, with its index", () => {
    expect(
      problemsOf({
        ...GCP,
        databaseFlags: '["log_temp_files=-2","log_connections=on","log_min_error_statement=errors"]',
      }),
    ).toEqual([
      'databaseFlags[0]: log_temp_files "-2" is not an integer of kB, -1 (off) or more',
      'databaseFlags[2]: log_min_error_statement "errors" is not one of debug5, debug4, debug3, debug2, debug1, info, notice, warning, error, log, fatal, panic',
    ]);
  });
});

describe("cloud config: pure helpers", () => {
  it("parses name=value flags, trimming spaces", () => {
    const problems = new Problems();
    expect(
      parseDatabaseFlags(
        problems,
        "databaseFlags",
        '["log_min_duration_statement = 250", "rds.force_ssl=1"]',
      ),
    ).toEqual({
      log_min_duration_statement: "250",
      "rds.force_ssl": "1",
    });
    expect(problems.list).toEqual([]);
  });

  it("counts minutes of HH:MM", () => {
    expect(minutesOf("00:00")).toBe(0);
    expect(minutesOf("23:59")).toBe(1439);
  });
});
