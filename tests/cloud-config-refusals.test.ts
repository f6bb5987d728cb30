/**
 * The cloud targets' config refused, each problem with its key
 * (components/config/cloud-config.ts): every required key of each cloud
 * missing at once, Pulumi.yaml's empty defaults read as unset, cloud problems
 * listed with the rest of the stack's, and every bad value with its rule.
 */
import { describe, expect, it } from "vitest";
import { RawConfig, parseStackConfig } from "../components/config/stack-config";
import { AWS, GCP } from "./helpers/cloud-config-inputs";
import { problemsOf } from "./helpers/config-problems";

describe("cloud config: refusals, each with its key", () => {
  it("reports every required key of gcp missing, with its key, in one ConfigError", () => {
    expect(problemsOf({ environment: "prod", target: "gcp" })).toEqual([
      "gcpProject: is required for target gcp (the project the instance is created in)",
      "gcpRegion: is required for target gcp (e.g. europe-west1)",
      "gcpNetwork: is required for target gcp (the VPC network the instance gets its private IP on: projects/{project}/global/networks/{name})",
      "gcpTier: is required for target gcp (the machine tier, e.g. db-custom-2-7680)",
    ]);
  });

  it("treats the empty defaults Pulumi.yaml may declare as unset", () => {
    const empty = {
      gcpProject: "",
      gcpRegion: "",
      gcpNetwork: "",
      gcpTier: "",
      gcpAllocatedIpRange: "",
      gcpKmsKey: "",
    };
    expect(problemsOf({ environment: "prod", target: "gcp", instanceName: "", ...empty })).toHaveLength(4);
    const aws = {
      awsRegion: "",
      awsVpcId: "",
      awsSubnetIds: "[]",
      awsInstanceClass: "",
      awsAllowedSecurityGroupIds: "[]",
      awsAllowedCidrs: "[]",
      awsKmsKeyId: "",
    };
    expect(problemsOf({ environment: "prod", target: "aws", ...aws })).toEqual(
      problemsOf({ environment: "prod", target: "aws" }),
    );
    expect(
      parseStackConfig({ ...AWS, instanceName: "", awsAllowedCidrs: "[]", awsKmsKeyId: "" }).cloud,
    ).toMatchObject({
      instanceName: "platform-databases-prod",
      allowedCidrs: [],
      kmsKeyId: undefined,
    });
  });

  it("reports every required key of aws missing, with its key", () => {
    expect(problemsOf({ environment: "prod", target: "aws" })).toEqual([
      "awsRegion: is required for target aws (e.g. eu-central-1)",
      "awsVpcId: is required for target aws (the VPC of the instance's security group)",
      "awsSubnetIds: is required for target aws (private subnets in at least two availability zones)",
      "awsInstanceClass: is required for target aws (e.g. db.m7g.large)",
      "awsAllowedSecurityGroupIds: is required for target aws unless awsAllowedCidrs is set: the security group admits only these (the services' and the Pulumi runner's)",
    ]);
  });

  it("lists cloud problems together with the rest of the stack's", () => {
    const problems = problemsOf({ ...GCP, services: '["GDPR"]', gcpNetwork: undefined });
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/services\[0\][\s\S]*gcpNetwork: is required/);
    expect(() => parseStackConfig({ ...GCP, gcpNetwork: undefined })).toThrow(
      "platform-databases:gcpNetwork: is required for target gcp",
    );
  });

  it.each<[string, RawConfig, string]>([
    ["unknown cloud", { ...GCP, target: "azure" }, 'target: "azure" is not one of local, gcp, aws'],
    ["missing network", { ...GCP, gcpNetwork: undefined }, "gcpNetwork: is required for target gcp"],
    [
      "network not a VPC id",
      { ...GCP, gcpNetwork: "platform-vpc" },
      'gcpNetwork: "platform-vpc" is not a VPC network id',
    ],
    ["tier empty", { ...GCP, gcpTier: "" }, "gcpTier: is required for target gcp"],
    [
      "aws instance class empty",
      { ...AWS, awsInstanceClass: "" },
      "awsInstanceClass: is required for target aws",
    ],
    [
      "tier not a Cloud SQL tier",
      { ...GCP, gcpTier: "n2-standard-2" },
      'gcpTier: "n2-standard-2" is not a Cloud SQL tier',
    ],
    [
      "retention days negative",
      { ...GCP, backupRetentionDays: "-1" },
      "backupRetentionDays: -1 is out of range (1..365)",
    ],
    [
      "retention days 0 (backups off)",
      { ...AWS, backupRetentionDays: "0" },
      "backupRetentionDays: 0 is out of range (1..35)",
    ],
    [
      "RDS retention past 35 days",
      { ...AWS, backupRetentionDays: "36" },
      "backupRetentionDays: 36 is out of range (1..35)",
    ],
    [
      "public IP without authorized networks",
      { ...GCP, gcpPublicIp: "true" },
      "gcpAuthorizedNetworks: is required when gcpPublicIp is true",
    ],
    [
      "authorized networks without a public IP",
      { ...GCP, gcpAuthorizedNetworks: '["203.0.113.0/24"]' },
      "gcpAuthorizedNetworks: is set but gcpPublicIp is false",
    ],
    [
      "the whole internet authorized",
      { ...GCP, gcpPublicIp: "true", gcpAuthorizedNetworks: '["0.0.0.0/0"]' },
      'gcpAuthorizedNetworks: "0.0.0.0/0" admits the whole internet',
    ],
    [
      "a CIDR that is not one",
      { ...AWS, awsAllowedCidrs: '["10.0.0.0/33"]' },
      'awsAllowedCidrs[0]: "10.0.0.0/33" is not an IPv4 CIDR',
    ],
    [
      "one subnet",
      { ...AWS, awsSubnetIds: '["subnet-0a11c0ffee00000a1"]' },
      "awsSubnetIds: lists 1 subnet; a DB subnet group needs subnets in at least two availability zones",
    ],
    [
      "a subnet id that is not one",
      { ...AWS, awsSubnetIds: '["subnet-1","subnet-0a11c0ffee00000b1"]' },
      'awsSubnetIds[0]: "subnet-1" is not a subnet id',
    ],
    ["a VPC id that is not one", { ...AWS, awsVpcId: "default" }, 'awsVpcId: "default" is not a VPC id'],
    [
      "a region that is not one",
      { ...AWS, awsRegion: "Frankfurt" },
      'awsRegion: "Frankfurt" is not an AWS region',
    ],
    [
      "Enterprise Plus on a custom tier",
      { ...GCP, gcpEdition: "ENTERPRISE_PLUS" },
      'gcpTier: "db-custom-1-3840" is not an Enterprise Plus tier',
    ],
    [
      "an unknown edition",
      { ...GCP, gcpEdition: "STANDARD" },
      'gcpEdition: "STANDARD" is not one of ENTERPRISE, ENTERPRISE_PLUS',
    ],
    [
      "log retention past backup retention",
      { ...GCP, backupRetentionDays: "3", gcpTransactionLogRetentionDays: "5" },
      "gcpTransactionLogRetentionDays: 5 is longer than backupRetentionDays (3)",
    ],
    [
      "log retention past 7 days on Enterprise",
      { ...GCP, gcpTransactionLogRetentionDays: "14" },
      "gcpTransactionLogRetentionDays: 14 is out of range (1..7)",
    ],
    [
      "backup during maintenance",
      { ...GCP, backupStartTime: "03:30" },
      "backupStartTime: 03:30 overlaps the maintenance window (03:00 UTC, maintenanceHour)",
    ],
    [
      "backup time not HH:MM",
      { ...GCP, backupStartTime: "2am" },
      'backupStartTime: "2am" is not a UTC time HH:MM',
    ],
    [
      "maintenance day unknown",
      { ...GCP, maintenanceDay: "sunday" },
      'maintenanceDay: "sunday" is not one of mon, tue, wed, thu, fri, sat, sun',
    ],
    ["maintenance hour 24", { ...GCP, maintenanceHour: "24" }, "maintenanceHour: 24 is out of range (0..23)"],
    [
      "autoresize limit below the disk",
      { ...GCP, diskSizeGb: "200", diskAutoresizeLimitGb: "100" },
      "diskAutoresizeLimitGb: 100 must be larger than diskSizeGb (200)",
    ],
    ["RDS disk below 20 GB", { ...AWS, diskSizeGb: "10" }, "diskSizeGb: 10 is out of range (20..65536)"],
    [
      "instance name with capitals",
      { ...GCP, instanceName: "Platform_DB" },
      'instanceName: "Platform_DB" is not an instance name',
    ],
    [
      "instance name with a double hyphen",
      { ...AWS, instanceName: "platform--db" },
      'instanceName: "platform--db" is not an instance name',
    ],
    [
      "a flag without a value",
      { ...GCP, databaseFlags: '["log_connections"]' },
      'databaseFlags[0]: "log_connections" is not of the form name=value',
    ],
    [
      "a flag set twice",
      { ...GCP, databaseFlags: '["log_lock_waits=on","log_lock_waits=off"]' },
      'databaseFlags[1]: flag "log_lock_waits" is set twice',
    ],
    [
      "an unknown connection mode",
      { ...GCP, gcpConnection: "proxy" },
      'gcpConnection: "proxy" is not one of connector, private-ip',
    ],
    [
      "verify-full on the private IP",
      { ...GCP, gcpConnection: "private-ip", sslmode: "verify-full" },
      'sslmode: "verify-full" needs the instance\'s CA file',
    ],
    [
      "a KMS key that is not one",
      { ...GCP, gcpKmsKey: "my-key" },
      'gcpKmsKey: "my-key" is not a Cloud KMS key',
    ],
    [
      "an enhanced monitoring interval RDS does not offer",
      { ...AWS, awsMonitoringInterval: "45" },
      "awsMonitoringInterval: 45 is not an enhanced monitoring interval (0, 1, 5, 10, 15, 30, 60 seconds; 0 turns it off)",
    ],
    [
      "an enhanced monitoring interval over a minute",
      { ...AWS, awsMonitoringInterval: "120" },
      "awsMonitoringInterval: 120 is out of range (0..60)",
    ],
    [
      "an instance name too long for the monitoring role",
      { ...AWS, instanceName: `platform-${"x".repeat(45)}` },
      `instanceName: "platform-${"x".repeat(45)}" is too long for target aws with enhanced monitoring`,
    ],
    [
      "an event topic that is not an SNS ARN",
      { ...AWS, awsEventTopicArn: "ops-alerts" },
      'awsEventTopicArn: "ops-alerts" is not an SNS topic ARN',
    ],
    [
      "a log level PostgreSQL does not know",
      { ...GCP, databaseFlags: '["log_min_messages=loud"]' },
      'databaseFlags[0]: log_min_messages "loud" is not one of debug5, debug4, debug3, debug2, debug1, info, notice, warning, error, log, fatal, panic',
    ],
    [
      "a slow-statement threshold that is not a number",
      { ...AWS, databaseFlags: '["log_min_duration_statement=1s"]' },
      'databaseFlags[0]: log_min_duration_statement "1s" is not an integer of milliseconds, -1 (off) or more',
    ],
    [
      "a boolean flag that is not one",
      { ...GCP, databaseFlags: '["cloudsql.enable_pgaudit=yes please"]' },
      'databaseFlags[0]: cloudsql.enable_pgaudit "yes please" is not a boolean (on or off; 1 or 0)',
    ],
    [
      "a pgaudit class that does not exist",
      { ...GCP, databaseFlags: '["pgaudit.log=ddl,roles"]' },
      'databaseFlags[0]: pgaudit.log "ddl,roles": "roles" is not a pgaudit class',
    ],
    [
      "a log_statement value that does not exist",
      { ...AWS, databaseFlags: '["log_statement=some"]' },
      'databaseFlags[0]: log_statement "some" is not one of none, ddl, mod, all',
    ],
    [
      "an admin password in config (gcp)",
      { ...GCP, adminPassword: "(secret)" },
      "adminPassword: is set but target gcp generates the admin's password",
    ],
    [
      "an admin password in config (aws)",
      { ...AWS, adminPassword: "(secret)" },
      "adminPassword: is set but target aws keeps the admin's password in Secrets Manager",
    ],
  ])("refuses %s", (_what, raw, message) => {
    expect(problemsOf(raw).join("\n")).toContain(message);
  });
});
