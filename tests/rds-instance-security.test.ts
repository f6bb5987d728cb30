/**
 * RdsInstance under mocks: its network (a private DB subnet group, a security
 * group admitting only what is given) and its security (encryption, the
 * Secrets Manager password, IAM authentication, TLS and the logging baseline
 * in its parameter group), each by name.
 */
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isSecret, ofType, resetRecorded, unwrap } from "./helpers/mocks";
import { MOCK_RDS_MASTER_PASSWORD } from "./helpers/cloud-mocks";
import { BASE, loadRdsInstance, make, only, RdsModule } from "./helpers/rds-instance";

let mod: RdsModule;

beforeAll(async () => {
  mod = await loadRdsInstance();
});

beforeEach(() => resetRecorded());

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
