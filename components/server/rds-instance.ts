import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { pgauditLoaded } from "../config/database-flags";
import { AWS_MONITORING_INTERVALS } from "../config/cloud-types";
import {
  parseMasterUserSecret,
  rdsBackupWindow,
  rdsMaintenanceWindow,
  rdsParameterFamily,
  rdsParameters,
} from "./rds-settings";
import { enhancedMonitoringRole, monitoringRoleName, rdsEventSubscriptions } from "./rds-observability";

export {
  DEFAULT_RDS_PARAMETERS,
  STATIC_RDS_PARAMETERS,
  RDS_EVENT_CATEGORIES,
  awsPartition,
  parseMasterUserSecret,
  rdsBackupWindow,
  rdsMaintenanceWindow,
  rdsParameterFamily,
  rdsParameters,
} from "./rds-settings";
export type { RdsParameter } from "./rds-settings";

export interface RdsInstanceArgs {
  /** AWS region, e.g. `eu-central-1`. */
  region: string;
  /** Instance identifier; the subnet, parameter and security groups are named after it. */
  identifier: string;
  /** PostgreSQL major version (minor versions follow auto minor upgrades). */
  postgresVersion: number;
  /** Instance class, e.g. `db.m7g.large`. */
  instanceClass: string;
  /** VPC of the security group. */
  vpcId: string;
  /** Private subnets, in at least two availability zones. */
  subnetIds: string[];
  /**
   * Security groups admitted on the port (the services', the Pulumi runner's).
   * @default []
   */
  allowedSecurityGroupIds?: string[];
  /**
   * CIDRs admitted on the port.
   * @default []
   */
  allowedCidrs?: string[];
  /** KMS key for storage, Performance Insights and the master secret; AWS-managed keys when unset. */
  kmsKeyId?: string;
  /**
   * Multi-AZ (a synchronous standby in another zone).
   * @default true
   */
  highAvailability?: boolean;
  /**
   * The API's deletion protection and Pulumi `protect`.
   * @default true
   */
  deletionProtection?: boolean;
  /**
   * Take a final snapshot on deletion and keep the automated backups.
   * @default true
   */
  finalSnapshot?: boolean;
  /**
   * Days of automated backups (and point-in-time recovery), 1-35.
   * @default 7
   */
  backupRetentionDays?: number;
  /**
   * Daily backup window, `hh24:mi-hh24:mi` UTC.
   * @default "02:00-02:30"
   */
  backupWindow?: string;
  /**
   * Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC.
   * @default "sun:03:00-sun:04:00"
   */
  maintenanceWindow?: string;
  /**
   * Initial storage, GB (gp3).
   * @default 20
   */
  allocatedStorageGb?: number;
  /**
   * Storage autoscaling ceiling, GB; 0 turns autoscaling off.
   * @default 500
   */
  maxAllocatedStorageGb?: number;
  /**
   * Parameters that override or extend DEFAULT_RDS_PARAMETERS.
   * @default {}
   */
  parameters?: Record<string, string>;
  /** Master user: member of rds_superuser (CREATEDB, CREATEROLE), never SUPERUSER. */
  adminUser: string;
  /**
   * Port the instance listens on.
   * @default 5432
   */
  port?: number;
  /**
   * Enhanced monitoring interval in seconds (1, 5, 10, 15, 30, 60), with an
   * IAM role created for it; 0 turns it off (no role).
   * @default 60
   */
  monitoringInterval?: number;
  /**
   * SNS topic the event subscriptions publish to (its policy must let
   * events.rds.amazonaws.com publish); a topic is created when unset.
   * @default a created topic `{identifier}-rds-events`
   */
  eventTopicArn?: string;
  /**
   * Tags of every resource.
   * @default {}
   */
  tags?: Record<string, string>;
}

/**
 * An RDS for PostgreSQL instance with hardened defaults: private (DB subnet
 * group, a security group admitting only the given groups/CIDRs, not publicly
 * accessible), encrypted, TLS forced (`rds.force_ssl=1`), the master password
 * managed by Secrets Manager, IAM database authentication, Multi-AZ, deletion
 * protection and a final snapshot, Performance Insights, enhanced monitoring,
 * the logging baseline with pgaudit (logs in CloudWatch), event subscriptions
 * for instance, parameter group and security group events, automatic minor
 * upgrades and no automatic major ones.
 *
 * RDS has no user API besides the master user: the services' roles are created
 * in SQL by ServiceDatabase, through the postgresql provider.
 */
export class RdsInstance extends pulumi.ComponentResource {
  /** The instance. */
  public readonly instance: aws.rds.Instance;
  /** DNS name of the instance. */
  public readonly address: pulumi.Output<string>;
  /** Port the instance listens on. */
  public readonly port: pulumi.Output<number>;
  /** The master user's name. */
  public readonly adminUser: pulumi.Output<string>;
  /** ARN of the Secrets Manager secret RDS keeps the master password in. */
  public readonly masterUserSecretArn: pulumi.Output<string>;
  /** The master password, read from that secret; a Pulumi secret. */
  public readonly adminPassword: pulumi.Output<string>;
  /** Whether the parameter group preloads pgaudit (so each database can create the extension). */
  public readonly pgaudit: boolean;
  /** The SNS topic the event subscriptions publish to. */
  public readonly eventTopicArn: pulumi.Output<string>;

  constructor(name: string, args: RdsInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:RdsInstance", name, {}, opts);

    const allowedSecurityGroupIds = args.allowedSecurityGroupIds ?? [];
    const allowedCidrs = args.allowedCidrs ?? [];
    const highAvailability = args.highAvailability ?? true;
    const deletionProtection = args.deletionProtection ?? true;
    const finalSnapshot = args.finalSnapshot ?? true;
    const backupRetentionDays = args.backupRetentionDays ?? 7;
    const backupWindow = args.backupWindow ?? rdsBackupWindow("02:00");
    const maintenanceWindow = args.maintenanceWindow ?? rdsMaintenanceWindow("sun", 3);
    const allocatedStorageGb = args.allocatedStorageGb ?? 20;
    const maxAllocatedStorageGb = args.maxAllocatedStorageGb ?? 500;
    const port = args.port ?? 5432;
    const monitoringInterval = args.monitoringInterval ?? 60;
    const tags = args.tags ?? {};

    if (args.subnetIds.length < 2) {
      throw new Error(
        `RdsInstance ${name}: subnetIds lists ${args.subnetIds.length}; a DB subnet group needs two availability zones`,
      );
    }
    if (allowedSecurityGroupIds.length === 0 && allowedCidrs.length === 0) {
      throw new Error(
        `RdsInstance ${name}: give allowedSecurityGroupIds or allowedCidrs; nothing could connect otherwise`,
      );
    }
    for (const cidr of allowedCidrs) {
      if (cidr === "0.0.0.0/0" || cidr === "::/0") {
        throw new Error(`RdsInstance ${name}: allowedCidrs "${cidr}" admits the whole internet`);
      }
    }
    if (!(AWS_MONITORING_INTERVALS as readonly number[]).includes(monitoringInterval)) {
      throw new Error(
        `RdsInstance ${name}: monitoringInterval ${monitoringInterval} is not one of ${AWS_MONITORING_INTERVALS.join(", ")} seconds`,
      );
    }
    // Refused before any child is registered: the role's name must fit IAM's limit.
    if (monitoringInterval > 0) monitoringRoleName(args.identifier);
    if (backupRetentionDays < 1 || backupRetentionDays > 35) {
      throw new Error(
        `RdsInstance ${name}: backupRetentionDays ${backupRetentionDays} is not 1-35 (0 would turn backups off)`,
      );
    }

    const subnetGroup = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      {
        region: args.region,
        name: `${args.identifier}-subnets`,
        description: `Private subnets of ${args.identifier}`,
        subnetIds: args.subnetIds,
        tags,
      },
      { parent: this },
    );

    // Ingress on the port from the listed groups and CIDRs only; no egress
    // (the server initiates nothing).
    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        region: args.region,
        name: `${args.identifier}-postgres`,
        description: `PostgreSQL ${args.identifier}: clients allowed on ${port}`,
        vpcId: args.vpcId,
        ingress: [
          ...allowedSecurityGroupIds.map((id) => ({
            description: `PostgreSQL from ${id}`,
            protocol: "tcp",
            fromPort: port,
            toPort: port,
            securityGroups: [id],
          })),
          ...allowedCidrs.map((cidr) => ({
            description: `PostgreSQL from ${cidr}`,
            protocol: "tcp",
            fromPort: port,
            toPort: port,
            cidrBlocks: [cidr],
          })),
        ],
        egress: [],
        revokeRulesOnDelete: true,
        tags,
      },
      { parent: this },
    );

    const parameters = rdsParameters(args.parameters);
    const parameterGroup = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        region: args.region,
        name: `${args.identifier}-${rdsParameterFamily(args.postgresVersion)}`,
        family: rdsParameterFamily(args.postgresVersion),
        // The description cannot change without replacing the group (and
        // with it the instance's reference): kept as first deployed.
        description: `TLS required and connection/slow-query logging for ${args.identifier}`,
        parameters,
        tags,
      },
      { parent: this },
    );

    // Enhanced monitoring (OS metrics every monitoringInterval seconds).
    const monitoring =
      monitoringInterval > 0
        ? enhancedMonitoringRole(this, name, { region: args.region, identifier: args.identifier, tags })
        : undefined;

    this.instance = new aws.rds.Instance(
      `${name}-instance`,
      {
        region: args.region,
        identifier: args.identifier,
        engine: "postgres",
        engineVersion: String(args.postgresVersion),
        instanceClass: args.instanceClass,
        port,
        username: args.adminUser,
        // RDS generates the master password and keeps (and rotates) it in
        // Secrets Manager; it is never in config, state inputs or the repo.
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: args.kmsKeyId,
        iamDatabaseAuthenticationEnabled: true,
        // Network: private subnets, the security group, no public address.
        dbSubnetGroupName: subnetGroup.name,
        vpcSecurityGroupIds: [securityGroup.id],
        publiclyAccessible: false,
        networkType: "IPV4",
        caCertIdentifier: "rds-ca-rsa2048-g1",
        parameterGroupName: parameterGroup.name,
        // Storage: encrypted gp3 that grows on its own.
        storageType: "gp3",
        allocatedStorage: allocatedStorageGb,
        maxAllocatedStorage: maxAllocatedStorageGb,
        storageEncrypted: true,
        kmsKeyId: args.kmsKeyId,
        // Availability and protection.
        multiAz: highAvailability,
        deletionProtection,
        skipFinalSnapshot: !finalSnapshot,
        finalSnapshotIdentifier: finalSnapshot ? `${args.identifier}-final` : undefined,
        deleteAutomatedBackups: !finalSnapshot,
        copyTagsToSnapshot: true,
        // Backups and maintenance.
        backupRetentionPeriod: backupRetentionDays,
        backupWindow,
        maintenanceWindow,
        autoMinorVersionUpgrade: true,
        allowMajorVersionUpgrade: false,
        applyImmediately: false,
        // Observability.
        performanceInsightsEnabled: true,
        performanceInsightsRetentionPeriod: 7,
        performanceInsightsKmsKeyId: args.kmsKeyId,
        monitoringInterval,
        monitoringRoleArn: monitoring?.role.arn,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        tags,
      },
      {
        parent: this,
        protect: deletionProtection,
        // RDS checks the role's permissions when monitoring is turned on.
        dependsOn: monitoring ? [monitoring.attachment] : [],
      },
    );

    const events = rdsEventSubscriptions(this, name, {
      region: args.region,
      identifier: args.identifier,
      instanceIdentifier: this.instance.identifier,
      parameterGroupName: parameterGroup.name,
      topicArn: args.eventTopicArn,
      kmsKeyId: args.kmsKeyId,
      tags,
    });

    this.address = this.instance.address;
    this.port = this.instance.port;
    this.adminUser = this.instance.username;
    this.masterUserSecretArn = this.instance.masterUserSecrets.apply((secrets) => {
      const arn = secrets?.[0]?.secretArn;
      if (!arn) throw new Error(`RdsInstance ${name}: RDS reported no master user secret`);
      return arn;
    });
    // Read at each run, so a rotated password reaches the provider. While the
    // instance is being created (preview), the ARN is unknown and so is this.
    const secretVersion = aws.secretsmanager.getSecretVersionOutput(
      { secretId: this.masterUserSecretArn, region: args.region },
      { parent: this },
    );
    this.adminPassword = pulumi.secret(secretVersion.secretString.apply(parseMasterUserSecret));
    this.pgaudit = pgauditLoaded("aws", Object.fromEntries(parameters.map((p) => [p.name, p.value])));
    this.eventTopicArn = events.topicArn;

    this.registerOutputs({
      address: this.address,
      port: this.port,
      adminUser: this.adminUser,
      masterUserSecretArn: this.masterUserSecretArn,
      adminPassword: this.adminPassword,
      eventTopicArn: this.eventTopicArn,
    });
  }
}
