/**
 * RdsInstance under mocks: network, encryption, TLS, the Secrets Manager
 * password, protection, backups and observability, each by name.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  dependencyNames,
  installMocks,
  isSecret,
  ofType,
  parents,
  protects,
  recorded,
  resetRecorded,
  settle,
  unwrap,
} from "./helpers/mocks";
import { MOCK_RDS_MASTER_PASSWORD, cloudMocks } from "./helpers/cloud-mocks";
import type { RdsInstanceArgs } from "../components/server/rds-instance";

type Module = typeof import("../components/server/rds-instance");
let mod: Module;

beforeAll(async () => {
  await installMocks({}, "platform-databases", "prod", cloudMocks());
  mod = await import("../components/server/rds-instance");
});

beforeEach(() => resetRecorded());

const INSTANCE = "aws:rds/instance:Instance";

const BASE: RdsInstanceArgs = {
  region: "eu-central-1",
  identifier: "platform-databases-prod",
  postgresVersion: 17,
  instanceClass: "db.m7g.xlarge",
  vpcId: "vpc-0b22c0ffee0000002",
  subnetIds: ["subnet-0b22c0ffee00000a2", "subnet-0b22c0ffee00000b2"],
  allowedSecurityGroupIds: ["sg-0b22c0ffee0000022"],
  adminUser: "platform_admin",
};

async function make(args: Partial<RdsInstanceArgs> = {}, name = "pg") {
  const component = new mod.RdsInstance(name, { ...BASE, ...args });
  await unwrap(component.address);
  await settle();
  const instance = ofType(INSTANCE)[0];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { component, instance, inputs: instance.inputs as any };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const only = (type: string): any => {
  const found = ofType(type);
  expect(found, type).toHaveLength(1);
  return found[0].inputs;
};

describe("RdsInstance network", () => {
  it("puts the instance in a DB subnet group of the given private subnets, not publicly accessible", async () => {
    const { inputs } = await make();
    const group = only("aws:rds/subnetGroup:SubnetGroup");
    expect(group.subnetIds).toEqual(BASE.subnetIds);
    expect(group.name).toBe("platform-databases-prod-subnets");
    expect(inputs.dbSubnetGroupName).toBe("platform-databases-prod-subnets");
    expect(inputs.publiclyAccessible).toBe(false);
    expect(inputs.networkType).toBe("IPV4");
  });

  it("admits only the given security groups and CIDRs on the port, with no egress", async () => {
    const { inputs } = await make({ allowedCidrs: ["10.30.0.0/16"] });
    const sg = only("aws:ec2/securityGroup:SecurityGroup");
    expect(sg.vpcId).toBe("vpc-0b22c0ffee0000002");
    expect(sg.ingress).toEqual([
      {
        description: "PostgreSQL from sg-0b22c0ffee0000022",
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        securityGroups: ["sg-0b22c0ffee0000022"],
      },
      {
        description: "PostgreSQL from 10.30.0.0/16",
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        cidrBlocks: ["10.30.0.0/16"],
      },
    ]);
    expect(sg.egress).toEqual([]);
    expect(inputs.vpcSecurityGroupIds).toEqual([
      `${ofType("aws:ec2/securityGroup:SecurityGroup")[0].name}-id`,
    ]);
  });

  it("refuses an instance nothing could reach, one subnet, or the whole internet", () => {
    expect(() => new mod.RdsInstance("closed", { ...BASE, allowedSecurityGroupIds: [] })).toThrow(
      "RdsInstance closed: give allowedSecurityGroupIds or allowedCidrs",
    );
    expect(() => new mod.RdsInstance("one", { ...BASE, subnetIds: ["subnet-0b22c0ffee00000a2"] })).toThrow(
      "RdsInstance one: subnetIds lists 1",
    );
    expect(() => new mod.RdsInstance("open", { ...BASE, allowedCidrs: ["0.0.0.0/0"] })).toThrow(
      'RdsInstance open: allowedCidrs "0.0.0.0/0" admits the whole internet',
    );
  });
});

describe("RdsInstance security", () => {
  it("encrypts storage, with the given KMS key for storage, Performance Insights and the master secret", async () => {
    const key = "arn:aws:kms:eu-central-1:123456789012:key/0b22c0ff-ee00-4000-8000-000000000002";
    const { inputs } = await make({ kmsKeyId: key });
    expect(inputs.storageEncrypted).toBe(true);
    expect(inputs.kmsKeyId).toBe(key);
    expect(inputs.performanceInsightsKmsKeyId).toBe(key);
    expect(inputs.masterUserSecretKmsKeyId).toBe(key);
  });

  it("has RDS manage the master password in Secrets Manager and turns IAM authentication on", async () => {
    const { inputs } = await make();
    expect(inputs.manageMasterUserPassword).toBe(true);
    expect(inputs.password).toBeUndefined();
    expect(inputs.username).toBe("platform_admin");
    expect(inputs.iamDatabaseAuthenticationEnabled).toBe(true);
  });

  it("reads the master password from the instance's secret, as a Pulumi secret", async () => {
    const { component } = await make();
    expect(await unwrap(component.masterUserSecretArn)).toMatch(
      /^arn:aws:secretsmanager:eu-central-1:\d+:secret:rds!db-platform-databases-prod-/,
    );
    expect(await isSecret(component.adminPassword)).toBe(true);
    expect(await unwrap(component.adminPassword)).toBe(MOCK_RDS_MASTER_PASSWORD);
  });

  it("forces TLS and sets the logging baseline through its parameter group, pgaudit preloaded", async () => {
    const { inputs, component } = await make();
    const params = only("aws:rds/parameterGroup:ParameterGroup");
    expect(params.family).toBe("postgres17");
    expect(params.name).toBe("platform-databases-prod-postgres17");
    // ForceNew: a different description would replace the group (and touch the instance).
    expect(params.description).toBe(
      "TLS required and connection/slow-query logging for platform-databases-prod",
    );
    expect(inputs.parameterGroupName).toBe("platform-databases-prod-postgres17");
    expect(params.parameters).toEqual([
      { name: "log_checkpoints", value: "1", applyMethod: "immediate" },
      { name: "log_connections", value: "1", applyMethod: "immediate" },
      { name: "log_disconnections", value: "1", applyMethod: "immediate" },
      { name: "log_lock_waits", value: "1", applyMethod: "immediate" },
      { name: "log_min_duration_statement", value: "-1", applyMethod: "immediate" },
      { name: "log_min_error_statement", value: "error", applyMethod: "immediate" },
      { name: "log_min_messages", value: "warning", applyMethod: "immediate" },
      { name: "log_statement", value: "none", applyMethod: "immediate" },
      { name: "log_temp_files", value: "0", applyMethod: "immediate" },
      { name: "pgaudit.log", value: "ddl,role", applyMethod: "immediate" },
      { name: "rds.force_ssl", value: "1", applyMethod: "immediate" },
      // Static: loaded at the next reboot (a new instance boots with it).
      {
        name: "shared_preload_libraries",
        value: "pg_stat_statements,pgaudit",
        applyMethod: "pending-reboot",
      },
    ]);
    expect(inputs.caCertIdentifier).toBe("rds-ca-rsa2048-g1");
    expect(component.pgaudit).toBe(true);
  });

  it("knows pgaudit is not loaded when the stack's shared_preload_libraries leaves it out", async () => {
    const { component } = await make({ parameters: { shared_preload_libraries: "pg_stat_statements" } });
    expect(component.pgaudit).toBe(false);
  });

  it("applies static parameters at the next reboot", async () => {
    await make({
      parameters: {
        shared_preload_libraries: "pg_stat_statements,pgaudit",
        log_min_duration_statement: "250",
      },
    });
    const params = only("aws:rds/parameterGroup:ParameterGroup").parameters;
    expect(params).toContainEqual({
      name: "shared_preload_libraries",
      value: "pg_stat_statements,pgaudit",
      applyMethod: "pending-reboot",
    });
    expect(params).toContainEqual({
      name: "log_min_duration_statement",
      value: "250",
      applyMethod: "immediate",
    });
  });
});

describe("RdsInstance availability, protection, backups", () => {
  it("is Multi-AZ, deletion-protected (API and Pulumi protect) and takes a final snapshot", async () => {
    const { inputs, instance } = await make();
    expect(inputs.multiAz).toBe(true);
    expect(inputs.deletionProtection).toBe(true);
    expect(protects.get(instance.name)).toBe(true);
    expect(inputs.skipFinalSnapshot).toBe(false);
    expect(inputs.finalSnapshotIdentifier).toBe("platform-databases-prod-final");
    expect(inputs.deleteAutomatedBackups).toBe(false);
    expect(inputs.copyTagsToSnapshot).toBe(true);
  });

  it("keeps backups and maintenance in their windows", async () => {
    const { inputs } = await make({
      backupRetentionDays: 30,
      backupWindow: "01:00-01:30",
      maintenanceWindow: "sat:04:00-sat:05:00",
    });
    expect(inputs.backupRetentionPeriod).toBe(30);
    expect(inputs.backupWindow).toBe("01:00-01:30");
    expect(inputs.maintenanceWindow).toBe("sat:04:00-sat:05:00");
  });

  it("upgrades minor versions automatically and major ones never", async () => {
    const { inputs } = await make();
    expect(inputs.engine).toBe("postgres");
    expect(inputs.engineVersion).toBe("17");
    expect(inputs.autoMinorVersionUpgrade).toBe(true);
    expect(inputs.allowMajorVersionUpgrade).toBe(false);
  });

  it("turns Performance Insights on and exports the postgresql and upgrade logs", async () => {
    const { inputs } = await make();
    expect(inputs.performanceInsightsEnabled).toBe(true);
    expect(inputs.performanceInsightsRetentionPeriod).toBe(7);
    expect(inputs.enabledCloudwatchLogsExports).toEqual(["postgresql", "upgrade"]);
  });

  it("uses encrypted gp3 storage that grows to its limit, or not at all with 0", async () => {
    const { inputs } = await make({ allocatedStorageGb: 100, maxAllocatedStorageGb: 1000 });
    expect(inputs).toMatchObject({ storageType: "gp3", allocatedStorage: 100, maxAllocatedStorage: 1000 });
  });

  it("loosens each only when asked", async () => {
    const { inputs, instance } = await make({
      highAvailability: false,
      deletionProtection: false,
      finalSnapshot: false,
    });
    expect(inputs.multiAz).toBe(false);
    expect(inputs.deletionProtection).toBe(false);
    expect(protects.get(instance.name)).toBe(false);
    expect(inputs.skipFinalSnapshot).toBe(true);
    expect(inputs.finalSnapshotIdentifier).toBeUndefined();
    // Backups stay on whatever the other settings: retention 0 is refused.
    expect(inputs.backupRetentionPeriod).toBe(7);
    expect(() => new mod.RdsInstance("nobackup", { ...BASE, backupRetentionDays: 0 })).toThrow(
      "RdsInstance nobackup: backupRetentionDays 0 is not 1-35",
    );
  });

  it("parents its children to itself and creates no database user", async () => {
    await make();
    const componentUrn = recorded.find((r) => r.type === "platform-databases:index:RdsInstance")?.urn;
    for (const child of recorded.filter((r) => r.type !== "platform-databases:index:RdsInstance")) {
      expect(parents.get(child.name), child.name).toBe(componentUrn);
    }
    expect(recorded.map((r) => r.type).sort()).toEqual([
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:iam/role:Role",
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
      "aws:rds/eventSubscription:EventSubscription",
      "aws:rds/eventSubscription:EventSubscription",
      "aws:rds/eventSubscription:EventSubscription",
      "aws:rds/instance:Instance",
      "aws:rds/parameterGroup:ParameterGroup",
      "aws:rds/subnetGroup:SubnetGroup",
      "aws:sns/topic:Topic",
      "aws:sns/topicPolicy:TopicPolicy",
      "platform-databases:index:RdsInstance",
    ]);
  });
});

describe("RdsInstance observability", () => {
  it("turns enhanced monitoring on every 60 s with a role only RDS monitoring assumes, holding AWS's policy for it", async () => {
    const { inputs, instance } = await make();
    expect(inputs.monitoringInterval).toBe(60);
    const role = only("aws:iam/role:Role");
    expect(role.name).toBe("platform-databases-prod-monitoring");
    expect(JSON.parse(role.assumeRolePolicy)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "monitoring.rds.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    });
    expect(inputs.monitoringRoleArn).toBe(
      "arn:aws:iam::123456789012:role/platform-databases-prod-monitoring",
    );
    const attachment = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")[0];
    expect(attachment.inputs).toEqual({
      role: "platform-databases-prod-monitoring",
      policyArn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    });
    // RDS checks the role's permissions when monitoring is turned on: the instance waits for them.
    expect(dependencyNames(instance.name)).toContain(attachment.name);
  });

  it("takes another interval, or none at all (no role) with 0, and refuses one RDS does not offer", async () => {
    expect((await make({ monitoringInterval: 15 })).inputs.monitoringInterval).toBe(15);
    resetRecorded();
    const { inputs } = await make({ monitoringInterval: 0 }, "off");
    expect(inputs.monitoringInterval).toBe(0);
    expect(inputs.monitoringRoleArn).toBeUndefined();
    expect(ofType("aws:iam/role:Role")).toEqual([]);
    expect(() => new mod.RdsInstance("odd", { ...BASE, monitoringInterval: 45 })).toThrow(
      "RdsInstance odd: monitoringInterval 45 is not one of 0, 1, 5, 10, 15, 30, 60 seconds",
    );
    const long = `platform-${"x".repeat(45)}`;
    await settle();
    resetRecorded();
    expect(() => new mod.RdsInstance("long", { ...BASE, identifier: long })).toThrow(
      `RDS: identifier "${long}" is too long for the enhanced-monitoring role "${long}-monitoring" (IAM role names hold 64 characters)`,
    );
    await settle();
    // Refused before any child: only the component itself was registered.
    expect(recorded.map((r) => r.type)).toEqual(["platform-databases:index:RdsInstance"]);
  });

  it("subscribes a topic it creates to instance, parameter group and security group events (RDS.20-22)", async () => {
    const { component, instance } = await make();
    const topic = only("aws:sns/topic:Topic");
    expect(topic).toMatchObject({ region: "eu-central-1", name: "platform-databases-prod-rds-events" });
    expect(topic.kmsMasterKeyId).toBeUndefined();
    const arn = "arn:aws:sns:eu-central-1:123456789012:platform-databases-prod-rds-events";
    expect(await unwrap(component.eventTopicArn)).toBe(arn);
    // Only RDS, for this account's resources, may publish to it.
    const policy = only("aws:sns/topicPolicy:TopicPolicy");
    expect(policy.arn).toBe(arn);
    expect(JSON.parse(policy.policy).Statement).toEqual([
      {
        Sid: "RdsEventNotifications",
        Effect: "Allow",
        Principal: { Service: "events.rds.amazonaws.com" },
        Action: "sns:Publish",
        Resource: arn,
        Condition: {
          StringEquals: { "aws:SourceAccount": "123456789012" },
          ArnLike: { "aws:SourceArn": "arn:aws:rds:eu-central-1:123456789012:*" },
        },
      },
    ]);
    // Registered as their inputs resolve: sorted by name.
    const subscriptions = ofType("aws:rds/eventSubscription:EventSubscription").sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    expect(
      subscriptions.map((s) => [s.inputs.name, s.inputs.sourceType, s.inputs.sourceIds, s.inputs.snsTopic]),
    ).toEqual([
      ["platform-databases-prod-instance-events", "db-instance", ["platform-databases-prod"], arn],
      [
        "platform-databases-prod-parameter-group-events",
        "db-parameter-group",
        ["platform-databases-prod-postgres17"],
        arn,
      ],
      ["platform-databases-prod-security-group-events", "db-security-group", undefined, arn],
    ]);
    expect(subscriptions.map((s) => s.name)).toEqual([
      "pg-events-instance",
      "pg-events-parameter-group",
      "pg-events-security-group",
    ]);
    const categories = Object.fromEntries(
      subscriptions.map((s) => [s.inputs.sourceType, s.inputs.eventCategories]),
    );
    expect(categories["db-instance"]).toEqual(
      expect.arrayContaining(["configuration change", "failure", "maintenance", "failover", "low storage"]),
    );
    expect(categories["db-parameter-group"]).toEqual(["configuration change"]);
    expect(categories["db-security-group"]).toEqual(["configuration change", "failure"]);
    for (const s of subscriptions) {
      expect(s.inputs.enabled, s.name).toBe(true);
      // Created after the policy that lets RDS publish.
      expect(dependencyNames(s.name), s.name).toContain(ofType("aws:sns/topicPolicy:TopicPolicy")[0].name);
    }
    expect(dependencyNames(subscriptions[0].name)).toContain(instance.name);
  });

  it("publishes to a given topic instead, creating none, and encrypts a created one with the stack's key", async () => {
    const given = "arn:aws:sns:eu-central-1:123456789012:ops-alerts";
    await make({ eventTopicArn: given });
    expect(ofType("aws:sns/topic:Topic")).toEqual([]);
    expect(ofType("aws:sns/topicPolicy:TopicPolicy")).toEqual([]);
    expect(ofType("aws:rds/eventSubscription:EventSubscription").map((s) => s.inputs.snsTopic)).toEqual([
      given,
      given,
      given,
    ]);
    resetRecorded();
    const key = "arn:aws:kms:eu-central-1:123456789012:key/0b22c0ff-ee00-4000-8000-000000000002";
    await make({ kmsKeyId: key }, "cmk");
    expect(only("aws:sns/topic:Topic").kmsMasterKeyId).toBe(key);
  });
});

describe("RDS pure helpers", () => {
  it("derives the backup and maintenance windows", () => {
    expect(mod.rdsBackupWindow("02:00")).toBe("02:00-02:30");
    expect(mod.rdsBackupWindow("23:45")).toBe("23:45-00:15");
    expect(mod.rdsMaintenanceWindow("sun", 3)).toBe("sun:03:00-sun:04:00");
    expect(mod.rdsMaintenanceWindow("sun", 23)).toBe("sun:23:00-mon:00:00");
    expect(() => mod.rdsBackupWindow("2:00")).toThrow('backup start "2:00" is not HH:MM');
  });

  it("reads the password of the master secret, and says what is wrong otherwise", () => {
    expect(mod.parseMasterUserSecret('{"username":"platform_admin","password":"s3cret"}')).toBe("s3cret");
    expect(() => mod.parseMasterUserSecret("not json")).toThrow("RDS master user secret: not JSON");
    expect(() => mod.parseMasterUserSecret('{"username":"x"}')).toThrow(
      "RDS master user secret: no password field",
    );
  });

  it("names the parameter family", () => {
    expect(mod.rdsParameterFamily(16)).toBe("postgres16");
  });

  it("names the partition of a region (the managed policy's ARN)", () => {
    expect(mod.awsPartition("eu-central-1")).toBe("aws");
    expect(mod.awsPartition("us-gov-west-1")).toBe("aws-us-gov");
    expect(mod.awsPartition("cn-north-1")).toBe("aws-cn");
  });
});
