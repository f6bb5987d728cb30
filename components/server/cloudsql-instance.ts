import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import { GeneratedPassword } from "../generated-password";
import { baselineFlags, pgauditLoaded } from "../config/database-flags";

/**
 * Database flags every instance gets, overridable one by one:
 * - `cloudsql.iam_authentication`: IAM database users may log in (people and
 *   workloads without passwords);
 * - the logging baseline (config/database-flags.ts, CIS 6.2.x): connections,
 *   disconnections, lock waits, checkpoints, temporary files, warnings and
 *   errors in Cloud Logging, no statement text (log_min_duration_statement=-1,
 *   log_statement=none), and pgaudit (`cloudsql.enable_pgaudit`, which
 *   restarts the instance when it changes) auditing DDL and role changes.
 */
export const DEFAULT_CLOUDSQL_FLAGS: Readonly<Record<string, string>> = {
  "cloudsql.iam_authentication": "on",
  ...baselineFlags("gcp"),
};

/** Cloud SQL's maintenance day numbers: Monday is 1, Sunday 7. */
export const CLOUDSQL_WEEKDAY = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 } as const;

/** `17` → `POSTGRES_17`. */
export function cloudSqlDatabaseVersion(postgresVersion: number): string {
  if (!Number.isInteger(postgresVersion) || postgresVersion < 9) {
    throw new Error(
      `Cloud SQL: PostgreSQL version ${JSON.stringify(postgresVersion)} is not a major version`,
    );
  }
  return `POSTGRES_${postgresVersion}`;
}

/** The defaults with `overrides` applied, sorted by name (a stable diff). */
export function cloudSqlDatabaseFlags(
  overrides: Readonly<Record<string, string>> = {},
): { name: string; value: string }[] {
  const merged = { ...DEFAULT_CLOUDSQL_FLAGS, ...overrides };
  return Object.keys(merged)
    .sort()
    .map((name) => ({ name, value: merged[name] }));
}

export interface CloudSqlInstanceArgs {
  /** GCP project of the instance. */
  project: string;
  /** GCP region, e.g. `europe-west1`. */
  region: string;
  /** Instance name (part of the connection name `project:region:name`). */
  instanceName: string;
  /** PostgreSQL major version. */
  postgresVersion: number;
  /** Machine tier, e.g. `db-custom-2-7680`. */
  tier: string;
  /**
   * Cloud SQL edition.
   * @default "ENTERPRISE"
   */
  edition?: "ENTERPRISE" | "ENTERPRISE_PLUS";
  /** VPC network of the private IP: `projects/{project}/global/networks/{name}` (Private Service Access set up). */
  network: string;
  /** Private Service Access range to take the IP from; any of the network's when unset. */
  allocatedIpRange?: string;
  /**
   * Give the instance a public IPv4 address (only with `authorizedNetworks`).
   * @default false
   */
  publicIp?: boolean;
  /**
   * CIDRs admitted on the public IP. Required when `publicIp` is true.
   * @default []
   */
  authorizedNetworks?: string[];
  /**
   * REGIONAL availability (a standby in a second zone); false means ZONAL.
   * @default true
   */
  highAvailability?: boolean;
  /**
   * Deletion protection on every level: the API's `deletionProtectionEnabled`,
   * the provider's `deletionProtection`, and Pulumi `protect`.
   * @default true
   */
  deletionProtection?: boolean;
  /**
   * Keep the automated backups when the instance is deleted.
   * @default true
   */
  retainBackupsOnDelete?: boolean;
  /**
   * Daily automated backups kept.
   * @default 7
   */
  retainedBackups?: number;
  /**
   * Point-in-time recovery (write-ahead logs archived).
   * @default true
   */
  pointInTimeRecovery?: boolean;
  /**
   * Days of transaction logs kept for point-in-time recovery.
   * @default 7
   */
  transactionLogRetentionDays?: number;
  /**
   * Start of the daily backup, `HH:MM` UTC.
   * @default "02:00"
   */
  backupStartTime?: string;
  /**
   * Weekly maintenance window: day (1 = Monday … 7 = Sunday) and hour (UTC).
   * @default { day: 7, hour: 3 }
   */
  maintenanceWindow?: { day: number; hour: number };
  /**
   * Initial disk size in GB (SSD).
   * @default 20
   */
  diskSizeGb?: number;
  /**
   * Grow the disk automatically.
   * @default true
   */
  diskAutoresize?: boolean;
  /**
   * Upper bound of autoresize, GB.
   * @default 500
   */
  diskAutoresizeLimitGb?: number;
  /**
   * Flags that override or extend DEFAULT_CLOUDSQL_FLAGS.
   * @default {}
   */
  databaseFlags?: Record<string, string>;
  /** Customer-managed encryption key; Google-managed encryption when unset. */
  kmsKeyName?: string;
  /** The admin (a BUILT_IN user: member of cloudsqlsuperuser, CREATEDB and CREATEROLE). */
  adminUser: string;
  /**
   * Length of the admin's generated password.
   * @default 40
   */
  adminPasswordLength?: number;
  /**
   * Minimum password length the instance's password policy enforces on every
   * local user, the service roles included.
   * @default 32
   */
  passwordMinLength?: number;
  /**
   * Labels of the instance.
   * @default {}
   */
  labels?: Record<string, string>;
}

/**
 * A Cloud SQL for PostgreSQL instance with hardened defaults (private IP only,
 * TLS only, backups with PITR, HA, deletion protection, IAM authentication,
 * the logging baseline with pgaudit, Query Insights, a password policy) and
 * its admin user with a generated password.
 *
 * Only the admin is a Cloud SQL user: users created through the Cloud SQL API
 * join cloudsqlsuperuser, so the services' roles are created in SQL by
 * ServiceDatabase, through the postgresql provider, never as `gcp.sql.User`s.
 */
export class CloudSqlInstance extends pulumi.ComponentResource {
  /** The instance. */
  public readonly instance: gcp.sql.DatabaseInstance;
  /** `project:region:instance`, what the Cloud SQL connectors and Auth Proxy dial. */
  public readonly connectionName: pulumi.Output<string>;
  /** The private IP address in the VPC. */
  public readonly privateIp: pulumi.Output<string>;
  /** The admin user's name. */
  public readonly adminUser: pulumi.Output<string>;
  /** The admin user's password, a secret. */
  public readonly adminPassword: pulumi.Output<string>;
  /** Whether the instance loads pgaudit (`cloudsql.enable_pgaudit`), so each database can create the extension. */
  public readonly pgaudit: boolean;

  constructor(name: string, args: CloudSqlInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("platform-databases:index:CloudSqlInstance", name, {}, opts);

    const edition = args.edition ?? "ENTERPRISE";
    const publicIp = args.publicIp ?? false;
    const authorizedNetworks = args.authorizedNetworks ?? [];
    const highAvailability = args.highAvailability ?? true;
    const deletionProtection = args.deletionProtection ?? true;
    const retainBackupsOnDelete = args.retainBackupsOnDelete ?? true;
    const retainedBackups = args.retainedBackups ?? 7;
    const pointInTimeRecovery = args.pointInTimeRecovery ?? true;
    const transactionLogRetentionDays = args.transactionLogRetentionDays ?? 7;
    const backupStartTime = args.backupStartTime ?? "02:00";
    const maintenanceWindow = args.maintenanceWindow ?? { day: CLOUDSQL_WEEKDAY.sun, hour: 3 };
    const diskSizeGb = args.diskSizeGb ?? 20;
    const diskAutoresize = args.diskAutoresize ?? true;
    const diskAutoresizeLimitGb = args.diskAutoresizeLimitGb ?? 500;
    const adminPasswordLength = args.adminPasswordLength ?? 40;
    const passwordMinLength = args.passwordMinLength ?? 32;

    if (publicIp && authorizedNetworks.length === 0) {
      throw new Error(
        `CloudSqlInstance ${name}: publicIp needs authorizedNetworks (a public IP admits only the networks listed)`,
      );
    }
    for (const cidr of authorizedNetworks) {
      if (cidr === "0.0.0.0/0" || cidr === "::/0") {
        throw new Error(`CloudSqlInstance ${name}: authorizedNetworks "${cidr}" admits the whole internet`);
      }
    }
    if (adminPasswordLength < passwordMinLength) {
      throw new Error(
        `CloudSqlInstance ${name}: adminPasswordLength ${adminPasswordLength} is below the password policy's minimum (${passwordMinLength})`,
      );
    }

    const flags = cloudSqlDatabaseFlags(args.databaseFlags);
    this.instance = new gcp.sql.DatabaseInstance(
      `${name}-instance`,
      {
        project: args.project,
        region: args.region,
        name: args.instanceName,
        databaseVersion: cloudSqlDatabaseVersion(args.postgresVersion),
        // The provider refuses to delete while this is set (Terraform level) …
        deletionProtection,
        encryptionKeyName: args.kmsKeyName,
        settings: {
          tier: args.tier,
          edition,
          availabilityType: highAvailability ? "REGIONAL" : "ZONAL",
          // … and so does the Cloud SQL API (console, gcloud).
          deletionProtectionEnabled: deletionProtection,
          retainBackupsOnDelete,
          diskType: "PD_SSD",
          diskSize: diskSizeGb,
          diskAutoresize,
          diskAutoresizeLimit: diskAutoresize ? diskAutoresizeLimitGb : 0,
          ipConfiguration: {
            ipv4Enabled: publicIp,
            privateNetwork: args.network,
            allocatedIpRange: args.allocatedIpRange,
            // Only TLS connections (the Cloud SQL connectors' included).
            sslMode: "ENCRYPTED_ONLY",
            authorizedNetworks: authorizedNetworks.map((value) => ({ name: value, value })),
          },
          backupConfiguration: {
            enabled: true,
            pointInTimeRecoveryEnabled: pointInTimeRecovery,
            startTime: backupStartTime,
            transactionLogRetentionDays,
            backupRetentionSettings: { retainedBackups, retentionUnit: "COUNT" },
          },
          maintenanceWindow: {
            day: maintenanceWindow.day,
            hour: maintenanceWindow.hour,
            updateTrack: "stable",
          },
          databaseFlags: flags,
          insightsConfig: {
            queryInsightsEnabled: true,
            queryStringLength: 1024,
            recordApplicationTags: true,
            // Client IPs are personal data (GDPR): not recorded.
            recordClientAddress: false,
          },
          // Applies to every local user, the roles ServiceDatabase creates in
          // SQL included: their generated passwords are 40 letters and digits.
          // Complexity (special characters) is not required: 40 random
          // alphanumerics carry ~238 bits, and special characters break URIs.
          passwordValidationPolicy: {
            enablePasswordPolicy: true,
            minLength: passwordMinLength,
            disallowUsernameSubstring: true,
            reuseInterval: 5,
          },
          userLabels: args.labels ?? {},
        },
      },
      // … and so does Pulumi.
      { parent: this, protect: deletionProtection },
    );

    // Letters and digits (generated-password.ts): the same generator as the services'.
    const password = new GeneratedPassword(
      `${name}-admin-password`,
      { length: adminPasswordLength },
      { parent: this },
    );

    // The stack's admin: CREATEDB and CREATEROLE through cloudsqlsuperuser,
    // never SUPERUSER (Cloud SQL has none).
    const admin = new gcp.sql.User(
      `${name}-admin`,
      {
        project: args.project,
        instance: this.instance.name,
        name: args.adminUser,
        type: "BUILT_IN",
        password: password.result,
        // PostgreSQL refuses to drop a role that holds grants (the admin is a
        // member of the service roles): the user goes with its instance.
        deletionPolicy: "ABANDON",
      },
      { parent: this },
    );

    this.connectionName = this.instance.connectionName;
    this.privateIp = this.instance.privateIpAddress;
    this.adminUser = admin.name;
    this.adminPassword = pulumi.secret(password.result);
    this.pgaudit = pgauditLoaded("gcp", Object.fromEntries(flags.map((f) => [f.name, f.value])));

    this.registerOutputs({
      connectionName: this.connectionName,
      privateIp: this.privateIp,
      adminUser: this.adminUser,
      adminPassword: this.adminPassword,
    });
  }
}
