/**
 * The whole program on the staging and prod stack files, for both clouds,
 * under mocks: the prod graph has every hardened property (by name), staging
 * differs from it only where its config says, the service roles come from the
 * postgresql provider, and a preview of a new instance leaves the provider
 * unconfigured (nothing to connect to).
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { isSecret, recorded, unwrap } from "./helpers/mocks";
import {
  MOCK_PRIVATE_IP,
  MOCK_RDS_MASTER_PASSWORD,
  cloudMocks,
  plain,
  stackFileConfig,
} from "./helpers/cloud-mocks";
import { Run, resource, runProgram } from "./helpers/run-program";

const CLOUDSQL = "gcp:sql/databaseInstance:DatabaseInstance";
const CLOUDSQL_USER = "gcp:sql/user:User";
const RDS = "aws:rds/instance:Instance";
const PROVIDER = "pulumi:providers:postgresql";
const ROLE = "postgresql:index/role:Role";
const UNKNOWN = { __pulumiUnknown: true };

const runs: Record<string, Run> = {};
async function run(stack: "staging" | "prod", target: "gcp" | "aws"): Promise<Run> {
  const key = `${stack}/${target}`;
  runs[key] ??= await runProgram(stackFileConfig(stack, { target }), stack, cloudMocks());
  return runs[key];
}

/** Paths (a.b.c) where two JSON values differ; arrays compare whole. */
function diffPaths(a: unknown, b: unknown, path: string): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObject = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const x = a as Record<string, unknown>;
    const y = b as Record<string, unknown>;
    return [...new Set([...Object.keys(x), ...Object.keys(y)])].flatMap((k) =>
      diffPaths(x[k], y[k], `${path}.${k}`),
    );
  }
  return [path];
}

/** Every difference between two runs' resources (inputs and protect), as `name.path`. */
function graphDiff(a: Run, b: Run): string[] {
  const byName = (r: Run) => new Map(r.resources.map((x) => [x.name, x]));
  const [ma, mb] = [byName(a), byName(b)];
  expect([...ma.keys()].sort()).toEqual([...mb.keys()].sort());
  return [...ma.keys()].flatMap((name) => [
    ...diffPaths(plain(ma.get(name)!.inputs), plain(mb.get(name)!.inputs), name),
    ...(a.protect.get(name) === b.protect.get(name) ? [] : [`${name}.<protect>`]),
  ]);
}

describe.each(["gcp", "aws"] as const)("the prod stack on %s", (target) => {
  let prod: Run;
  beforeAll(async () => {
    prod = await run("prod", target);
  }, 120_000);

  it("creates the ADR's databases and roles through the postgresql provider, never through the cloud's user API", () => {
    const provider = resource(prod, PROVIDER);
    const roles = prod.resources.filter((r) => r.type === ROLE);
    // The services' roles, gdpr's retention role (and the monitoring role, when the stack creates it).
    expect(
      roles
        .map((r) => r.inputs.name)
        .filter((n) => n !== "db_monitor")
        .sort(),
    ).toEqual([
      "gdpr_app",
      "gdpr_backup",
      "gdpr_owner",
      "gdpr_retention",
      "keycloak_app",
      "keycloak_backup",
      "openfga_app",
      "openfga_backup",
    ]);
    for (const role of roles) expect(role.provider, role.name).toContain(`${PROVIDER}::${provider.name}`);
    const databases = prod.resources.filter((r) => r.type === "postgresql:index/database:Database");
    expect(databases.map((d) => d.inputs.name)).toEqual(["gdpr", "openfga", "keycloak"]);
    // The cloud's user API holds the admin only (Cloud SQL) or nothing (RDS: the master user).
    const cloudUsers = prod.resources.filter(
      (r) => r.type === CLOUDSQL_USER || /^aws:.*[uU]ser/.test(r.type),
    );
    expect(cloudUsers.map((u) => u.inputs.name)).toEqual(target === "gcp" ? ["platform_admin"] : []);
  });

  it("connects the provider as the non-superuser admin over TLS", async () => {
    const inputs = plain(resource(prod, PROVIDER).inputs) as Record<string, string>;
    expect(inputs).toMatchObject({
      superuser: "false",
      sslmode: "require",
      database: "postgres",
      username: "platform_admin",
    });
    if (target === "gcp") {
      expect(inputs.scheme).toBe("gcppostgres");
      expect(inputs.host).toBe("platform-db-prod:europe-west1:platform-databases-prod");
      expect(inputs.password).toMatch(/^mock-password-platform-postgres-cloudsql-admin-password/);
    } else {
      expect(inputs.scheme).toBe("awspostgres");
      expect(inputs.host).toBe("platform-databases-prod.c0ffee123456.eu-central-1.rds.amazonaws.com");
      expect(inputs.password).toBe(MOCK_RDS_MASTER_PASSWORD);
    }
    // The password reaches the provider as a secret.
    expect(resource(prod, PROVIDER).inputs.password).toHaveProperty("value");
  });

  it("exports the instance's address, TLS URIs (secret) and, for Cloud SQL, the connection name in the Helm values", async () => {
    const connection = await unwrap(pulumi.output(prod.program.connection));
    expect(connection.sslmode).toBe("require");
    expect(connection.host).toBe(
      target === "gcp"
        ? MOCK_PRIVATE_IP
        : "platform-databases-prod.c0ffee123456.eu-central-1.rds.amazonaws.com",
    );
    expect(await isSecret(prod.program.connectionUris)).toBe(true);
    expect((await unwrap(prod.program.connectionUris)).gdpr).toMatch(/@[^/]+:5432\/gdpr\?sslmode=require$/);
    const values = JSON.stringify(await unwrap(prod.program.helmValues));
    if (target === "gcp") expect(values).toContain("platform-db-prod:europe-west1:platform-databases-prod");
    else expect(values).not.toContain("cloudSql");
  });

  it("has every hardened property, with prod's sizes and retention", () => {
    if (target === "gcp") {
      const instance = resource(prod, CLOUDSQL);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const i = instance.inputs as any;
      const s = i.settings;
      expect(i.project).toBe("platform-db-prod");
      expect(i.region).toBe("europe-west1");
      expect(i.databaseVersion).toBe("POSTGRES_17");
      expect(s.tier).toBe("db-custom-4-16384");
      expect(s.edition).toBe("ENTERPRISE");
      expect(s.ipConfiguration.ipv4Enabled).toBe(false);
      expect(s.ipConfiguration.privateNetwork).toBe("projects/platform-db-prod/global/networks/platform-vpc");
      expect(s.ipConfiguration.sslMode).toBe("ENCRYPTED_ONLY");
      expect(s.ipConfiguration.authorizedNetworks).toEqual([]);
      expect(s.backupConfiguration.enabled).toBe(true);
      expect(s.backupConfiguration.pointInTimeRecoveryEnabled).toBe(true);
      expect(s.backupConfiguration.backupRetentionSettings.retainedBackups).toBe(30);
      expect(s.backupConfiguration.transactionLogRetentionDays).toBe(7);
      expect(s.maintenanceWindow).toMatchObject({ day: 7, hour: 3 });
      expect(s.availabilityType).toBe("REGIONAL");
      expect(i.deletionProtection).toBe(true);
      expect(s.deletionProtectionEnabled).toBe(true);
      expect(prod.protect.get(instance.name)).toBe(true);
      expect(s.retainBackupsOnDelete).toBe(true);
      expect(s.diskSize).toBe(100);
      expect(s.diskAutoresize).toBe(true);
      expect(s.diskAutoresizeLimit).toBe(1000);
      const flags = Object.fromEntries(
        s.databaseFlags.map((f: { name: string; value: string }) => [f.name, f.value]),
      );
      expect(flags["cloudsql.iam_authentication"]).toBe("on");
      expect(s.insightsConfig.queryInsightsEnabled).toBe(true);
      expect(s.passwordValidationPolicy.enablePasswordPolicy).toBe(true);
      expect(s.userLabels.environment).toBe("prod");
    } else {
      const instance = resource(prod, RDS);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const i = instance.inputs as any;
      expect(i.region).toBe("eu-central-1");
      expect(i.identifier).toBe("platform-databases-prod");
      expect(i.instanceClass).toBe("db.m7g.xlarge");
      expect(i.engineVersion).toBe("17");
      expect(i.publiclyAccessible).toBe(false);
      expect(i.storageEncrypted).toBe(true);
      expect(i.manageMasterUserPassword).toBe(true);
      expect(i.iamDatabaseAuthenticationEnabled).toBe(true);
      expect(i.multiAz).toBe(true);
      expect(i.deletionProtection).toBe(true);
      expect(prod.protect.get(instance.name)).toBe(true);
      expect(i.skipFinalSnapshot).toBe(false);
      expect(i.finalSnapshotIdentifier).toBe("platform-databases-prod-final");
      expect(i.backupRetentionPeriod).toBe(30);
      expect(i.backupWindow).toBe("02:00-02:30");
      expect(i.maintenanceWindow).toBe("sun:03:00-sun:04:00");
      expect(i.performanceInsightsEnabled).toBe(true);
      expect(i.enabledCloudwatchLogsExports).toEqual(["postgresql", "upgrade"]);
      expect(i.autoMinorVersionUpgrade).toBe(true);
      expect(i.allowMajorVersionUpgrade).toBe(false);
      expect(i.allocatedStorage).toBe(100);
      expect(i.maxAllocatedStorage).toBe(1000);
      expect(i.tags.environment).toBe("prod");
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const subnets = resource(prod, "aws:rds/subnetGroup:SubnetGroup").inputs as any;
      expect(subnets.subnetIds).toEqual([
        "subnet-0b22c0ffee00000a2",
        "subnet-0b22c0ffee00000b2",
        "subnet-0b22c0ffee00000c2",
      ]);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const sg = resource(prod, "aws:ec2/securityGroup:SecurityGroup").inputs as any;
      expect(sg.vpcId).toBe("vpc-0b22c0ffee0000002");
      expect(sg.ingress.map((r: { securityGroups?: string[] }) => r.securityGroups)).toEqual([
        ["sg-0b22c0ffee0000022"],
      ]);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const params = resource(prod, "aws:rds/parameterGroup:ParameterGroup").inputs as any;
      expect(i.parameterGroupName).toBe(params.name);
      expect(params.parameters).toContainEqual({
        name: "rds.force_ssl",
        value: "1",
        applyMethod: "immediate",
      });
    }
  });
});

describe("staging differs from prod only where its config says", () => {
  it("on gcp: tier, HA, deletion protection (three levels), retained backups, disk, project and network", async () => {
    const diff = graphDiff(await run("staging", "gcp"), await run("prod", "gcp"));
    expect(diff.sort()).toEqual(
      [
        // environment → instance name (hence connection name), label
        "platform-postgres-cloudsql-instance.name",
        "platform-postgres-cloudsql-instance.settings.userLabels.environment",
        "platform-postgres-cloudsql-admin.instance",
        "platform-postgres-provider.host",
        // gcpProject, gcpNetwork
        "platform-postgres-cloudsql-instance.project",
        "platform-postgres-cloudsql-admin.project",
        "platform-postgres-cloudsql-instance.settings.ipConfiguration.privateNetwork",
        // gcpTier, diskSizeGb, diskAutoresizeLimitGb
        "platform-postgres-cloudsql-instance.settings.tier",
        "platform-postgres-cloudsql-instance.settings.diskSize",
        "platform-postgres-cloudsql-instance.settings.diskAutoresizeLimit",
        // highAvailability
        "platform-postgres-cloudsql-instance.settings.availabilityType",
        // deletionProtection
        "platform-postgres-cloudsql-instance.deletionProtection",
        "platform-postgres-cloudsql-instance.settings.deletionProtectionEnabled",
        "platform-postgres-cloudsql-instance.<protect>",
        // backupRetentionDays
        "platform-postgres-cloudsql-instance.settings.backupConfiguration.backupRetentionSettings.retainedBackups",
        // the backup buckets: in gcpProject; gdpr's 7 years locked (and protected) in prod only
        "platform-gdpr-backups-bucket.project",
        "platform-openfga-backups-bucket.project",
        "platform-keycloak-backups-bucket.project",
        "platform-gdpr-backups-bucket.retentionPolicy.isLocked",
        "platform-gdpr-backups-bucket.<protect>",
      ].sort(),
    );
  }, 240_000);

  it("on aws: class, Multi-AZ, deletion protection (two levels), retention, storage, VPC, subnets and groups", async () => {
    const diff = graphDiff(await run("staging", "aws"), await run("prod", "aws"));
    expect(diff.sort()).toEqual(
      [
        // environment → identifier and the names derived from it, tags
        "platform-postgres-rds-instance.identifier",
        "platform-postgres-rds-instance.finalSnapshotIdentifier",
        "platform-postgres-rds-instance.dbSubnetGroupName",
        "platform-postgres-rds-instance.parameterGroupName",
        "platform-postgres-rds-instance.tags.environment",
        "platform-postgres-rds-subnets.name",
        "platform-postgres-rds-subnets.description",
        "platform-postgres-rds-subnets.tags.environment",
        "platform-postgres-rds-sg.name",
        "platform-postgres-rds-sg.description",
        "platform-postgres-rds-sg.tags.environment",
        "platform-postgres-rds-params.name",
        "platform-postgres-rds-params.description",
        "platform-postgres-rds-params.tags.environment",
        "platform-postgres-provider.host",
        "platform-gdpr-migrations-run.host",
        // … the enhanced-monitoring role and the event subscriptions, named after the identifier
        "platform-postgres-rds-instance.monitoringRoleArn",
        "platform-postgres-rds-monitoring-role.name",
        "platform-postgres-rds-monitoring-role.description",
        "platform-postgres-rds-monitoring-role.tags.environment",
        "platform-postgres-rds-monitoring-policy.role",
        "platform-postgres-rds-events-topic.name",
        "platform-postgres-rds-events-topic.displayName",
        "platform-postgres-rds-events-topic.tags.environment",
        "platform-postgres-rds-events-topic-policy.arn",
        "platform-postgres-rds-events-topic-policy.policy",
        ...["instance", "parameter-group", "security-group"].flatMap((e) => [
          `platform-postgres-rds-events-${e}.name`,
          `platform-postgres-rds-events-${e}.snsTopic`,
          `platform-postgres-rds-events-${e}.tags.environment`,
        ]),
        "platform-postgres-rds-events-instance.sourceIds",
        "platform-postgres-rds-events-parameter-group.sourceIds",
        // awsVpcId, awsSubnetIds, awsAllowedSecurityGroupIds
        "platform-postgres-rds-sg.vpcId",
        "platform-postgres-rds-sg.ingress",
        "platform-postgres-rds-subnets.subnetIds",
        // awsInstanceClass, diskSizeGb, diskAutoresizeLimitGb
        "platform-postgres-rds-instance.instanceClass",
        "platform-postgres-rds-instance.allocatedStorage",
        // gdpr's backup bucket: Object Lock COMPLIANCE (and protected) in prod only, GOVERNANCE in staging
        "platform-gdpr-backups-bucket.<protect>",
        "platform-gdpr-backups-object-lock.rule.defaultRetention.mode",
        "platform-postgres-rds-instance.maxAllocatedStorage",
        // highAvailability
        "platform-postgres-rds-instance.multiAz",
        // deletionProtection
        "platform-postgres-rds-instance.deletionProtection",
        "platform-postgres-rds-instance.<protect>",
        // backupRetentionDays
        "platform-postgres-rds-instance.backupRetentionPeriod",
      ].sort(),
    );
  }, 240_000);
});

describe("connecting to Cloud SQL on its private IP instead", () => {
  it("uses plain libpq with sslmode require to the private IP", async () => {
    const r = await runProgram(
      stackFileConfig("prod", { gcpConnection: "private-ip" }),
      "prod",
      cloudMocks(),
    );
    const inputs = plain(resource(r, PROVIDER).inputs) as Record<string, string>;
    expect(inputs).toMatchObject({
      scheme: "postgres",
      host: MOCK_PRIVATE_IP,
      port: "5432",
      sslmode: "require",
      superuser: "false",
    });
  }, 120_000);
});

describe("preview of a new instance", () => {
  it.each(["gcp", "aws"] as const)(
    "on %s, plans every database and role from inputs while the provider's host is unknown (so the engine never configures it)",
    async (target) => {
      const r = await runProgram(stackFileConfig("prod", { target }), "prod", cloudMocks(true));
      const provider = resource(r, PROVIDER);
      // Unknown until the instance exists: the engine skips Configure, Check and
      // Diff of such a provider (sdk/go/common/resource/plugin/provider_plugin.go).
      expect(provider.inputs.host).toEqual(UNKNOWN);
      if (target === "aws") expect(plain(provider.inputs.password)).toEqual(UNKNOWN);
      const planned = r.resources.filter((x) => x.type.startsWith("postgresql:index/"));
      expect(
        planned.filter((x) => x.type === "postgresql:index/database:Database").map((d) => d.inputs.name),
      ).toEqual(["gdpr", "openfga", "keycloak"]);
      expect(
        planned
          .filter((x) => x.type === ROLE)
          .map((x) => x.inputs.name)
          .filter((n) => n !== "db_monitor")
          .sort(),
      ).toEqual([
        "gdpr_app",
        "gdpr_backup",
        "gdpr_owner",
        "gdpr_retention",
        "keycloak_app",
        "keycloak_backup",
        "openfga_app",
        "openfga_backup",
      ]);
    },
    120_000,
  );
});

describe("bad cloud config", () => {
  it("is refused at start with its key, before any resource", async () => {
    const config = stackFileConfig("prod", { gcpTier: "", backupRetentionDays: "-3" });
    delete config.gcpNetwork;
    await expect(runProgram(config, "prod", cloudMocks())).rejects.toThrow(
      /3 problems[\s\S]*platform-databases:backupRetentionDays: -3 is out of range[\s\S]*platform-databases:gcpNetwork: is required for target gcp[\s\S]*platform-databases:gcpTier: is required for target gcp/,
    );
    expect(recorded).toEqual([]);
  });
});
