import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Problems, RawConfig, parseStackConfig } from "../components/config/stack-config";
import {
  AwsConfig,
  CLOUD_CONFIG_KEYS,
  CLOUD_DEFAULTS,
  GcpConfig,
  minutesOf,
  parseDatabaseFlags,
} from "../components/config/cloud-config";
import { stackFileConfig } from "./helpers/cloud-mocks";
import { problemsOf } from "./helpers/config-problems";

const GCP: RawConfig = {
  environment: "staging",
  target: "gcp",
  gcpProject: "platform-db-staging",
  gcpRegion: "europe-west1",
  gcpNetwork: "projects/platform-db-staging/global/networks/platform-vpc",
  gcpTier: "db-custom-1-3840",
};

const AWS: RawConfig = {
  environment: "prod",
  target: "aws",
  awsRegion: "eu-central-1",
  awsVpcId: "vpc-0a11c0ffee0000001",
  awsSubnetIds: '["subnet-0a11c0ffee00000a1","subnet-0a11c0ffee00000b1"]',
  awsInstanceClass: "db.m7g.large",
  awsAllowedSecurityGroupIds: '["sg-0a11c0ffee0000011"]',
};

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

describe("Pulumi.yaml and the stack files", () => {
  const project = parse(readFileSync("Pulumi.yaml", "utf8"));
  const declared = (key: string) => project.config[`platform-databases:${key}`];

  it("declares the cloud defaults the parser uses", () => {
    for (const [key, value] of Object.entries(CLOUD_DEFAULTS)) {
      expect(declared(key)?.default, key).toEqual(value);
    }
    expect(declared("databaseFlags").default).toEqual([]);
    expect(declared("gcpAuthorizedNetworks").default).toEqual([]);
    for (const key of [
      "gcpProject",
      "gcpRegion",
      "gcpNetwork",
      "gcpTier",
      "awsRegion",
      "awsVpcId",
      "awsSubnetIds",
      "awsInstanceClass",
    ]) {
      // Required for its cloud: no default, or an empty one (Pulumi requires a
      // declared key without a default on every stack, the local ones included).
      expect([undefined, "", []], `${key} is required: no real default`).toContainEqual(
        declared(key).default,
      );
      expect(declared(key).description, key).toMatch(/Required for target (gcp|aws)/);
    }
  });

  it.each([
    ["staging", "gcp"],
    ["staging", "aws"],
    ["prod", "gcp"],
    ["prod", "aws"],
  ])("Pulumi.%s.yaml is valid for target %s", (stack, target) => {
    const cfg = parseStackConfig(stackFileConfig(stack, { target }));
    expect(cfg.environment).toBe(stack);
    expect(cfg.cloud?.cloud).toBe(target);
    expect(cfg.services.map((s) => s.database)).toEqual(["gdpr", "openfga", "keycloak"]);
  });

  it("staging and prod differ only in the keys that must differ", () => {
    const staging = stackFileConfig("staging");
    const prod = stackFileConfig("prod");
    expect(Object.keys(staging).sort()).toEqual(Object.keys(prod).sort());
    const differing = Object.keys(prod).filter((k) => staging[k] !== prod[k]);
    expect(differing.sort()).toEqual(
      [
        "environment",
        // HA, deletion protection, retention, size: what prod must have more of.
        "highAvailability",
        "deletionProtection",
        "backupRetentionDays",
        "gcpTier",
        "awsInstanceClass",
        "diskSizeGb",
        "diskAutoresizeLimitGb",
        // Each environment in its own project / VPC.
        "gcpProject",
        "gcpNetwork",
        "awsVpcId",
        "awsSubnetIds",
        "awsAllowedSecurityGroupIds",
      ].sort(),
    );
    expect([staging.highAvailability, prod.highAvailability]).toEqual(["false", "true"]);
    expect([staging.deletionProtection, prod.deletionProtection]).toEqual(["false", "true"]);
    expect(Number(prod.backupRetentionDays)).toBeGreaterThan(Number(staging.backupRetentionDays));
  });
});

describe("docs/cloud.md", () => {
  const project = parse(readFileSync("Pulumi.yaml", "utf8"));
  const rows = readFileSync("docs/cloud.md", "utf8")
    .split("\n")
    .map((line) =>
      /^\|\s*`([A-Za-z]+)`\s*\|\s*(string|integer|boolean|array)\s*\|\s*([^|]+?)\s*\|/.exec(line),
    )
    .filter((m): m is RegExpExecArray => m !== null);

  it("lists every cloud key once, and the cloud keys are the program's", () => {
    expect(rows.map((m) => m[1]).sort()).toEqual([...CLOUD_CONFIG_KEYS].sort());
  });

  it("gives each key the type and default Pulumi.yaml declares", () => {
    for (const [, key, type, cell] of rows) {
      const spec = project.config[`platform-databases:${key}`];
      expect(type, key).toBe(spec.type);
      const shown = cell.trim();
      const required = /Required for target/.test(spec.description);
      if (required) {
        expect(shown, key).toBe("**required**");
      } else if (spec.default === undefined || spec.default === "") {
        expect(shown, key).toMatch(/^(unset|`platform-databases-\{environment\}`)$/);
      } else {
        expect(shown, key).toBe(
          `\`${Array.isArray(spec.default) ? JSON.stringify(spec.default) : String(spec.default)}\``,
        );
      }
    }
  });
});
