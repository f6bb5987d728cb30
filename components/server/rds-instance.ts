import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/**
 * Parameters every instance's parameter group sets, overridable one by one:
 * TLS required for every connection, and connection, disconnection, lock-wait
 * and slow-statement (> 1 s) logging, exported to CloudWatch Logs.
 */
export const DEFAULT_RDS_PARAMETERS: Readonly<Record<string, string>> = {
  "rds.force_ssl": "1",
  log_connections: "1",
  log_disconnections: "1",
  log_lock_waits: "1",
  log_min_duration_statement: "1000",
};

/**
 * PostgreSQL parameters that take effect only at server start: RDS refuses
 * them with `applyMethod: immediate`, so they are applied at the next reboot.
 */
export const STATIC_RDS_PARAMETERS: readonly string[] = [
  "autovacuum_max_workers",
  "huge_pages",
  "max_connections",
  "max_locks_per_transaction",
  "max_logical_replication_workers",
  "max_pred_locks_per_transaction",
  "max_prepared_transactions",
  "max_replication_slots",
  "max_wal_senders",
  "max_worker_processes",
  "rds.logical_replication",
  "shared_buffers",
  "shared_preload_libraries",
  "track_activity_query_size",
  "track_commit_timestamp",
  "wal_buffers",
];

export interface RdsParameter {
  name: string;
  value: string;
  applyMethod: "immediate" | "pending-reboot";
}

/** `17` → `postgres17`, the parameter group family. */
export function rdsParameterFamily(postgresVersion: number): string {
  if (!Number.isInteger(postgresVersion) || postgresVersion < 10) {
    throw new Error(`RDS: PostgreSQL version ${JSON.stringify(postgresVersion)} is not a major version`);
  }
  return `postgres${postgresVersion}`;
}

/** The defaults with `overrides` applied, sorted by name; static ones `pending-reboot`. */
export function rdsParameters(overrides: Readonly<Record<string, string>> = {}): RdsParameter[] {
  const merged = { ...DEFAULT_RDS_PARAMETERS, ...overrides };
  return Object.keys(merged)
    .sort()
    .map((name) => ({
      name,
      value: merged[name],
      applyMethod: STATIC_RDS_PARAMETERS.includes(name) ? "pending-reboot" : "immediate",
    }));
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

function hhmm(minutes: number): string {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** `02:00` → `02:00-02:30`: RDS's daily backup window (30 minutes, the minimum). */
export function rdsBackupWindow(start: string): string {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(start);
  if (!match) throw new Error(`RDS: backup start ${JSON.stringify(start)} is not HH:MM`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return `${hhmm(minutes)}-${hhmm(minutes + 30)}`;
}

/** `sun`, `3` → `sun:03:00-sun:04:00` (an hour; wraps to the next day after 23:00). */
export function rdsMaintenanceWindow(day: (typeof DAYS)[number], hour: number): string {
  const index = DAYS.indexOf(day);
  if (index < 0)
    throw new Error(`RDS: maintenance day ${JSON.stringify(day)} is not one of ${DAYS.join(", ")}`);
  if (!Number.isInteger(hour) || hour < 0 || hour > 23) {
    throw new Error(`RDS: maintenance hour ${JSON.stringify(hour)} is not 0-23`);
  }
  const endDay = hour === 23 ? DAYS[(index + 1) % 7] : day;
  return `${day}:${hhmm(hour * 60)}-${endDay}:${hhmm(hour * 60 + 60)}`;
}

/** The password in the JSON secret RDS keeps in Secrets Manager (`{"username","password"}`). */
export function parseMasterUserSecret(secretString: string | undefined): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString ?? "");
  } catch {
    throw new Error('RDS master user secret: not JSON (expected {"username", "password"})');
  }
  const password = (parsed as { password?: unknown } | null)?.password;
  if (typeof password !== "string" || password === "") {
    throw new Error("RDS master user secret: no password field");
  }
  return password;
}

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
 * protection and a final snapshot, Performance Insights, logs in CloudWatch,
 * automatic minor upgrades and no automatic major ones.
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

    const parameterGroup = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        region: args.region,
        name: `${args.identifier}-${rdsParameterFamily(args.postgresVersion)}`,
        family: rdsParameterFamily(args.postgresVersion),
        description: `TLS required and connection/slow-query logging for ${args.identifier}`,
        parameters: rdsParameters(args.parameters),
        tags,
      },
      { parent: this },
    );

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
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        tags,
      },
      { parent: this, protect: deletionProtection },
    );

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

    this.registerOutputs({
      address: this.address,
      port: this.port,
      adminUser: this.adminUser,
      masterUserSecretArn: this.masterUserSecretArn,
      adminPassword: this.adminPassword,
    });
  }
}
