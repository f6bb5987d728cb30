/**
 * The cloud keys of the stack configuration (targets `gcp` and `aws`), their
 * defaults and the typed config the cloud parser (cloud-config.ts) returns.
 * Declarations only: no parsing here.
 */
import type { SslMode, Target } from "./types";
import type { Environment } from "../naming";

export const CLOUDS = ["gcp", "aws"] as const;
export type Cloud = (typeof CLOUDS)[number];

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const GCP_EDITIONS = ["ENTERPRISE", "ENTERPRISE_PLUS"] as const;
export type GcpEdition = (typeof GCP_EDITIONS)[number];

/**
 * How the postgresql provider reaches a Cloud SQL instance:
 * - `connector`: the provider's `gcppostgres` scheme (Cloud SQL connector:
 *   IAM-authorized, TLS with an ephemeral certificate) to the connection name;
 * - `private-ip`: plain libpq over TLS to the private IP, from inside the VPC.
 */
export const GCP_CONNECTIONS = ["connector", "private-ip"] as const;
export type GcpConnection = (typeof GCP_CONNECTIONS)[number];

/**
 * The cloud keys. CONFIG_KEYS (stack-config.ts) includes them; tests check that
 * Pulumi.yaml and docs/cloud.md declare the same keys.
 */
export const CLOUD_CONFIG_KEYS = [
  "instanceName",
  "diskSizeGb",
  "diskAutoresize",
  "diskAutoresizeLimitGb",
  "highAvailability",
  "deletionProtection",
  "finalBackup",
  "backupRetentionDays",
  "backupStartTime",
  "maintenanceDay",
  "maintenanceHour",
  "databaseFlags",
  "gcpProject",
  "gcpRegion",
  "gcpNetwork",
  "gcpAllocatedIpRange",
  "gcpTier",
  "gcpEdition",
  "gcpConnection",
  "gcpPublicIp",
  "gcpAuthorizedNetworks",
  "gcpPointInTimeRecovery",
  "gcpTransactionLogRetentionDays",
  "gcpKmsKey",
  "awsRegion",
  "awsVpcId",
  "awsSubnetIds",
  "awsInstanceClass",
  "awsAllowedSecurityGroupIds",
  "awsAllowedCidrs",
  "awsKmsKeyId",
  "awsMonitoringInterval",
  "awsEventTopicArn",
] as const;

/** Defaults of the shared instance keys (Pulumi.yaml declares the same). */
export const CLOUD_DEFAULTS = {
  diskSizeGb: 20,
  diskAutoresize: true,
  diskAutoresizeLimitGb: 500,
  highAvailability: true,
  deletionProtection: true,
  finalBackup: true,
  backupRetentionDays: 7,
  backupStartTime: "02:00",
  maintenanceDay: "sun" as Weekday,
  maintenanceHour: 3,
  gcpEdition: "ENTERPRISE" as GcpEdition,
  gcpConnection: "connector" as GcpConnection,
  gcpPublicIp: false,
  gcpPointInTimeRecovery: true,
  gcpTransactionLogRetentionDays: 7,
  awsMonitoringInterval: 60,
} as const;

/** RDS enhanced monitoring intervals in seconds (0 turns it off). */
export const AWS_MONITORING_INTERVALS = [0, 1, 5, 10, 15, 30, 60] as const;

/** The default instance name of an environment: `platform-databases-prod`. */
export function defaultInstanceName(environment: Environment): string {
  return `platform-databases-${environment}`;
}

/** Settings both clouds share. */
export interface InstanceConfig {
  /** Cloud SQL instance name / RDS identifier. */
  instanceName: string;
  diskSizeGb: number;
  diskAutoresize: boolean;
  /** Upper bound of storage autoresize (GB). */
  diskAutoresizeLimitGb: number;
  /** REGIONAL (Cloud SQL) / Multi-AZ (RDS). */
  highAvailability: boolean;
  /** API deletion protection and Pulumi `protect`. */
  deletionProtection: boolean;
  /** Keep backups when the instance is deleted (Cloud SQL) / final snapshot (RDS). */
  finalBackup: boolean;
  backupRetentionDays: number;
  /** Daily backup start, `HH:MM` UTC. */
  backupStartTime: string;
  maintenanceDay: Weekday;
  /** Maintenance start hour, UTC. */
  maintenanceHour: number;
  /** Database flags (Cloud SQL) / parameters (RDS) that override or extend the defaults. */
  databaseFlags: Record<string, string>;
}

export interface GcpConfig extends InstanceConfig {
  cloud: "gcp";
  project: string;
  region: string;
  /** VPC network of the private IP: `projects/{project}/global/networks/{name}`. */
  network: string;
  /** Name of the Private Service Access range to allocate the IP from. */
  allocatedIpRange?: string;
  tier: string;
  edition: GcpEdition;
  connection: GcpConnection;
  publicIp: boolean;
  authorizedNetworks: string[];
  pointInTimeRecovery: boolean;
  transactionLogRetentionDays: number;
  /** CMEK: `projects/…/locations/…/keyRings/…/cryptoKeys/…`. */
  kmsKeyName?: string;
}

export interface AwsConfig extends InstanceConfig {
  cloud: "aws";
  region: string;
  vpcId: string;
  subnetIds: string[];
  instanceClass: string;
  allowedSecurityGroupIds: string[];
  allowedCidrs: string[];
  /** KMS key for storage, Performance Insights, the master secret and the event topic it creates. */
  kmsKeyId?: string;
  /** Enhanced monitoring interval in seconds; 0 is off. */
  monitoringInterval: number;
  /** SNS topic the RDS event subscriptions publish to; unset: the program creates one. */
  eventTopicArn?: string;
}

export type CloudConfig = GcpConfig | AwsConfig;

/** What the rest of the stack config tells the cloud parser. */
export interface CloudContext {
  target: Target;
  environment: Environment;
  sslmode: SslMode;
  postgresVersion: number;
}
