import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import type { SslMode, Target } from "../config/types";
import type { CloudConfig } from "../config/cloud-config";
import type { Environment } from "../naming";
// Types only: each cloud's module (and its SDK, @pulumi/gcp or @pulumi/aws) is
// required in connectManaged for its own target, so a local stack loads neither.
import type { CloudSqlInstance } from "./cloudsql-instance";
import type { RdsInstance } from "./rds-instance";

/* eslint-disable @typescript-eslint/no-require-imports */
const loadCloudSql = () => require("./cloudsql-instance") as typeof import("./cloudsql-instance");
const loadRds = () => require("./rds-instance") as typeof import("./rds-instance");
/* eslint-enable @typescript-eslint/no-require-imports */

export interface PostgresTargetArgs {
  /** Where the server runs: `local` (a server given by host/port), `gcp` (Cloud SQL) or `aws` (RDS). */
  target: Target;
  /** Server host (local target; the clouds take it from the instance). */
  host: string;
  /** Server port (local target; the clouds take it from the instance). */
  port: number;
  /** libpq sslmode for every connection. */
  sslmode: SslMode;
  /** The admin login the provider uses: CREATEDB and CREATEROLE, never a superuser. */
  adminUser: string;
  /**
   * The admin's password. When unset, the provider falls back to libpq's
   * PGPASSWORD environment variable (how the local stacks pass it).
   */
  adminPassword?: pulumi.Input<string>;
  /** PostgreSQL major version the server runs (lets preview plan without connecting). */
  postgresVersion: number;
  /** The managed instance's settings (cloud-config.ts); required for targets gcp and aws. */
  cloud?: CloudConfig;
  /**
   * The stack's environment, labelled/tagged on the cloud instance (the policy pack reads it).
   * @default "dev"
   */
  environment?: Environment;
}

/**
 * The PostgreSQL server a stack provisions into, and the postgresql provider
 * that connects to it as the stack's non-superuser admin.
 */
export class PostgresTarget extends pulumi.ComponentResource {
  /** Provider for ServiceDatabase and the migrations. */
  public readonly provider: postgresql.Provider;
  /** Host clients connect to. */
  public readonly host: pulumi.Output<string>;
  /** Port clients connect to. */
  public readonly port: pulumi.Output<number>;
  /** The admin login the provider uses. */
  public readonly adminUser: pulumi.Output<string>;
  /** Cloud SQL's `project:region:instance` (target gcp), for the Auth Proxy / connectors; else undefined. */
  public readonly cloudSqlConnectionName: pulumi.Output<string | undefined>;
  /** The managed instance component (targets gcp and aws). */
  public readonly instance?: CloudSqlInstance | RdsInstance;
  /**
   * Whether the server loads pgaudit, so each service database gets the
   * extension: the clouds, unless a stack's databaseFlags turned it off. The
   * local target's embedded server ships no pgaudit.
   */
  public readonly pgaudit: boolean;

  constructor(name: string, args: PostgresTargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:PostgresTarget", name, {}, opts);

    if (args.target === "gcp" || args.target === "aws") {
      const managed = connectManaged(this, name, args);
      this.provider = managed.provider;
      this.instance = managed.instance;
      this.host = managed.host;
      this.port = managed.port;
      this.adminUser = managed.adminUser;
      this.cloudSqlConnectionName = managed.cloudSqlConnectionName;
      this.pgaudit = managed.instance.pgaudit;
      this.registerOutputs({ host: this.host, port: this.port, adminUser: this.adminUser });
      return;
    }
    this.cloudSqlConnectionName = pulumi.output(undefined);
    this.pgaudit = false;

    this.provider = new postgresql.Provider(
      `${name}-provider`,
      {
        host: args.host,
        port: args.port,
        username: args.adminUser,
        password: args.adminPassword,
        database: "postgres",
        sslmode: args.sslmode,
        // The admin is CREATEDB CREATEROLE, like the managed clouds' admins.
        superuser: false,
        expectedVersion: `${args.postgresVersion}.0.0`,
        connectTimeout: 15,
      },
      { parent: this },
    );

    this.host = pulumi.output(args.host);
    this.port = pulumi.output(args.port);
    this.adminUser = pulumi.output(args.adminUser);
    this.registerOutputs({ host: this.host, port: this.port, adminUser: this.adminUser });
  }
}

/** What connectManaged returns for targets gcp and aws. */
interface Managed {
  provider: postgresql.Provider;
  instance: CloudSqlInstance | RdsInstance;
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  adminUser: pulumi.Output<string>;
  cloudSqlConnectionName: pulumi.Output<string | undefined>;
}

/**
 * Creates the managed instance as a child of `parent` and the postgresql
 * provider that connects to it as the instance's admin (superuser: false).
 *
 * The provider connects lazily (on the first create/read of a postgresql
 * resource), never while it is configured: `pulumi preview` plans
 * ServiceDatabase from its inputs. For a new instance, host and password are
 * unknown at preview, so the engine does not even configure the provider.
 */
function connectManaged(parent: PostgresTarget, name: string, args: PostgresTargetArgs): Managed {
  const cloud = args.cloud;
  if (!cloud || cloud.cloud !== args.target) {
    throw new Error(
      `PostgresTarget ${name}: target "${args.target}" needs its cloud settings (cloud-config.ts)`,
    );
  }
  const environment = args.environment ?? "dev";
  const common = {
    superuser: false,
    database: "postgres",
    expectedVersion: `${args.postgresVersion}.0.0`,
    connectTimeout: 15,
    // TLS for every connection. With the gcppostgres/awspostgres schemes the
    // Cloud SQL connector / RDS-CA-verifying dialer provides it (the provider
    // then ignores sslmode); on the private IP libpq does.
    sslmode: args.sslmode,
  };

  if (cloud.cloud === "gcp") {
    const { CloudSqlInstance, CLOUDSQL_WEEKDAY } = loadCloudSql();
    const instance = new CloudSqlInstance(
      `${name}-cloudsql`,
      {
        project: cloud.project,
        region: cloud.region,
        instanceName: cloud.instanceName,
        postgresVersion: args.postgresVersion,
        tier: cloud.tier,
        edition: cloud.edition,
        network: cloud.network,
        allocatedIpRange: cloud.allocatedIpRange,
        publicIp: cloud.publicIp,
        authorizedNetworks: cloud.authorizedNetworks,
        highAvailability: cloud.highAvailability,
        deletionProtection: cloud.deletionProtection,
        retainBackupsOnDelete: cloud.finalBackup,
        retainedBackups: cloud.backupRetentionDays,
        pointInTimeRecovery: cloud.pointInTimeRecovery,
        transactionLogRetentionDays: cloud.transactionLogRetentionDays,
        backupStartTime: cloud.backupStartTime,
        maintenanceWindow: { day: CLOUDSQL_WEEKDAY[cloud.maintenanceDay], hour: cloud.maintenanceHour },
        diskSizeGb: cloud.diskSizeGb,
        diskAutoresize: cloud.diskAutoresize,
        diskAutoresizeLimitGb: cloud.diskAutoresizeLimitGb,
        databaseFlags: cloud.databaseFlags,
        kmsKeyName: cloud.kmsKeyName,
        adminUser: args.adminUser,
        labels: { environment, "managed-by": "pulumi", project: pulumi.getProject() },
      },
      { parent },
    );
    const viaConnector = cloud.connection === "connector";
    const provider = new postgresql.Provider(
      `${name}-provider`,
      {
        ...common,
        // gcppostgres: the Cloud SQL connector dials the connection name with
        // the runner's Google credentials (roles/cloudsql.client); the admin
        // then logs in with its password. private-ip: libpq from the VPC.
        scheme: viaConnector ? "gcppostgres" : "postgres",
        host: viaConnector ? instance.connectionName : instance.privateIp,
        port: 5432,
        username: instance.adminUser,
        password: instance.adminPassword,
      },
      { parent },
    );
    return {
      provider,
      instance,
      host: instance.privateIp,
      port: pulumi.output(5432),
      adminUser: instance.adminUser,
      cloudSqlConnectionName: instance.connectionName,
    };
  }

  const { RdsInstance, rdsBackupWindow, rdsMaintenanceWindow } = loadRds();
  const instance = new RdsInstance(
    `${name}-rds`,
    {
      region: cloud.region,
      identifier: cloud.instanceName,
      postgresVersion: args.postgresVersion,
      instanceClass: cloud.instanceClass,
      vpcId: cloud.vpcId,
      subnetIds: cloud.subnetIds,
      allowedSecurityGroupIds: cloud.allowedSecurityGroupIds,
      allowedCidrs: cloud.allowedCidrs,
      kmsKeyId: cloud.kmsKeyId,
      highAvailability: cloud.highAvailability,
      deletionProtection: cloud.deletionProtection,
      finalSnapshot: cloud.finalBackup,
      backupRetentionDays: cloud.backupRetentionDays,
      backupWindow: rdsBackupWindow(cloud.backupStartTime),
      maintenanceWindow: rdsMaintenanceWindow(cloud.maintenanceDay, cloud.maintenanceHour),
      allocatedStorageGb: cloud.diskSizeGb,
      maxAllocatedStorageGb: cloud.diskAutoresize ? cloud.diskAutoresizeLimitGb : 0,
      parameters: cloud.databaseFlags,
      monitoringInterval: cloud.monitoringInterval,
      eventTopicArn: cloud.eventTopicArn,
      adminUser: args.adminUser,
      tags: { environment, "managed-by": "pulumi", project: pulumi.getProject() },
    },
    { parent },
  );
  const provider = new postgresql.Provider(
    `${name}-provider`,
    {
      ...common,
      // awspostgres: TLS verified against the RDS CA bundle (fetched by the
      // provider); the master password comes from Secrets Manager.
      scheme: "awspostgres",
      host: instance.address,
      port: instance.port,
      username: instance.adminUser,
      password: instance.adminPassword,
    },
    { parent },
  );
  return {
    provider,
    instance,
    host: instance.address,
    port: instance.port,
    adminUser: instance.adminUser,
    cloudSqlConnectionName: pulumi.output(undefined),
  };
}
