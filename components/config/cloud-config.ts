/**
 * The cloud half of the stack configuration (targets `gcp` and `aws`), as a
 * pure parser. parseStackConfig (config.ts) calls parseCloudConfig with the
 * same Problems collector, so one ConfigError lists every problem of the
 * stack, cloud keys included, each with its key.
 *
 * Keys are flat (Pulumi.yaml project config has no object type): shared
 * instance settings have plain names (`highAvailability`), cloud-specific ones
 * carry the cloud's prefix (`gcpNetwork`, `awsSubnetIds`), so one stack file
 * can hold both clouds' settings and `target` picks which one is used.
 *
 * Defaults are the hardened ones (HA, deletion protection, final backup,
 * private IP only, PITR); a stack loosens one only by setting its key, and the
 * policy pack (policy/) reports it.
 */
import { Problems, parseBoolean, parseEnum, parseInteger, parseStringList } from "./parse";
import type { SslMode, Target } from "./stack-config";
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
 * The cloud keys. CONFIG_KEYS (config.ts) includes them; tests check that
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
} as const;

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
  /** KMS key for storage, Performance Insights and the master secret. */
  kmsKeyId?: string;
}

export type CloudConfig = GcpConfig | AwsConfig;

/** What the rest of the stack config tells the cloud parser. */
export interface CloudContext {
  target: Target;
  environment: Environment;
  sslmode: SslMode;
  postgresVersion: number;
}

type Raw = Partial<Record<string, string | undefined>>;

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const INSTANCE_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,61}[a-z0-9]$/;
const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const GCP_REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const GCP_NETWORK =
  /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/global\/networks\/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const GCP_TIER = /^db-[a-z0-9-]+$/;
const GCP_KMS_KEY = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const GCP_RANGE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const AWS_REGION = /^[a-z]{2}(?:-gov)?-[a-z]+-[0-9]$/;
const AWS_VPC = /^vpc-[0-9a-f]{8,17}$/;
const AWS_SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const AWS_SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
const AWS_INSTANCE_CLASS = /^db\.[a-z0-9]+\.[a-z0-9]+$/;
const AWS_KMS_KEY =
  /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)\/[A-Za-z0-9/_-]+|[0-9a-f-]{36}|alias\/[A-Za-z0-9/_-]+)$/;
const FLAG_NAME = /^[a-z][a-z0-9_.]*$/;
const IPV4_CIDR =
  /^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\/([0-9]|[12][0-9]|3[0-2])$/;

/** CIDRs that admit the whole internet; refused everywhere. */
const WORLD = ["0.0.0.0/0", "::/0"];

function str(raw: string | undefined): string | undefined {
  return raw === undefined || raw === "" ? undefined : raw;
}

/** Unset, or the empty list a Pulumi.yaml default of `[]` hands over. */
function unsetList(raw: string | undefined): boolean {
  return str(raw) === undefined || /^\s*\[\s*\]\s*$/.test(raw as string);
}

function required(
  problems: Problems,
  key: string,
  raw: string | undefined,
  cloud: Cloud,
  what: string,
): string | undefined {
  const value = str(raw);
  if (value === undefined) problems.add(key, `is required for target ${cloud} (${what})`);
  return value;
}

function matches(
  problems: Problems,
  key: string,
  value: string | undefined,
  pattern: RegExp,
  rule: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (!pattern.test(value)) {
    problems.add(key, `${JSON.stringify(value)} is not ${rule}`);
    return undefined;
  }
  return value;
}

function stringList(
  problems: Problems,
  key: string,
  raw: string | undefined,
  pattern: RegExp,
  rule: string,
): string[] {
  const list = parseStringList(problems, key, raw, []);
  const out: string[] = [];
  list.forEach((item, index) => {
    if (typeof item !== "string" || !pattern.test(item)) {
      problems.add(`${key}[${index}]`, `${JSON.stringify(item)} is not ${rule}`);
    } else if (out.includes(item)) {
      problems.add(`${key}[${index}]`, `${JSON.stringify(item)} is listed twice`);
    } else {
      out.push(item);
    }
  });
  return out;
}

function cidrList(problems: Problems, key: string, raw: string | undefined): string[] {
  const list = stringList(problems, key, raw, IPV4_CIDR, "an IPv4 CIDR (a.b.c.d/n)");
  list.forEach((cidr) => {
    if (WORLD.includes(cidr)) {
      problems.add(
        key,
        `${JSON.stringify(cidr)} admits the whole internet; list the networks that need access`,
      );
    }
  });
  return list.filter((cidr) => !WORLD.includes(cidr));
}

/** Parses `["name=value", …]` into flags; names are lowercase GUC/flag names. */
export function parseDatabaseFlags(
  problems: Problems,
  key: string,
  raw: string | undefined,
): Record<string, string> {
  const flags: Record<string, string> = {};
  parseStringList(problems, key, raw, []).forEach((item, index) => {
    const at = `${key}[${index}]`;
    if (typeof item !== "string" || !item.includes("=")) {
      problems.add(at, `${JSON.stringify(item)} is not of the form name=value`);
      return;
    }
    const name = item.slice(0, item.indexOf("=")).trim();
    const value = item.slice(item.indexOf("=") + 1).trim();
    if (!FLAG_NAME.test(name)) {
      problems.add(at, `${JSON.stringify(name)} is not a flag name ([a-z][a-z0-9_.]*)`);
    } else if (value === "") {
      problems.add(at, `flag "${name}" has an empty value`);
    } else if (name in flags) {
      problems.add(at, `flag "${name}" is set twice`);
    } else {
      flags[name] = value;
    }
  });
  return flags;
}

/** Minutes since midnight of `HH:MM`. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number);
  return h * 60 + m;
}

function parseShared(problems: Problems, raw: Raw, ctx: CloudContext, cloud: Cloud): InstanceConfig {
  const instanceName =
    matches(
      problems,
      "instanceName",
      str(raw.instanceName),
      INSTANCE_NAME,
      "an instance name (lowercase letters, digits and single hyphens; starts with a letter; at most 63 characters)",
    ) ?? defaultInstanceName(ctx.environment);

  const minDisk = cloud === "aws" ? 20 : 10;
  const diskSizeGb = parseInteger(
    problems,
    "diskSizeGb",
    raw.diskSizeGb,
    CLOUD_DEFAULTS.diskSizeGb,
    minDisk,
    65536,
  );
  const diskAutoresize = parseBoolean(
    problems,
    "diskAutoresize",
    raw.diskAutoresize,
    CLOUD_DEFAULTS.diskAutoresize,
  );
  const diskAutoresizeLimitGb = parseInteger(
    problems,
    "diskAutoresizeLimitGb",
    raw.diskAutoresizeLimitGb,
    CLOUD_DEFAULTS.diskAutoresizeLimitGb,
    minDisk,
    65536,
  );
  if (diskAutoresize && diskAutoresizeLimitGb <= diskSizeGb) {
    problems.add(
      "diskAutoresizeLimitGb",
      `${diskAutoresizeLimitGb} must be larger than diskSizeGb (${diskSizeGb}) while diskAutoresize is true`,
    );
  }

  const highAvailability = parseBoolean(
    problems,
    "highAvailability",
    raw.highAvailability,
    CLOUD_DEFAULTS.highAvailability,
  );
  const deletionProtection = parseBoolean(
    problems,
    "deletionProtection",
    raw.deletionProtection,
    CLOUD_DEFAULTS.deletionProtection,
  );
  const finalBackup = parseBoolean(problems, "finalBackup", raw.finalBackup, CLOUD_DEFAULTS.finalBackup);

  // RDS keeps at most 35 days of automated backups; Cloud SQL up to 365 retained backups.
  const maxRetention = cloud === "aws" ? 35 : 365;
  const backupRetentionDays = parseInteger(
    problems,
    "backupRetentionDays",
    raw.backupRetentionDays,
    CLOUD_DEFAULTS.backupRetentionDays,
    1,
    maxRetention,
  );

  let backupStartTime: string = CLOUD_DEFAULTS.backupStartTime;
  const startRaw = str(raw.backupStartTime);
  if (startRaw !== undefined) {
    if (HH_MM.test(startRaw)) backupStartTime = startRaw;
    else
      problems.add("backupStartTime", `${JSON.stringify(startRaw)} is not a UTC time HH:MM (00:00..23:59)`);
  }

  const maintenanceDay =
    parseEnum(problems, "maintenanceDay", raw.maintenanceDay, WEEKDAYS, CLOUD_DEFAULTS.maintenanceDay) ??
    CLOUD_DEFAULTS.maintenanceDay;
  const maintenanceHour = parseInteger(
    problems,
    "maintenanceHour",
    raw.maintenanceHour,
    CLOUD_DEFAULTS.maintenanceHour,
    0,
    23,
  );
  // The backup runs for up to an hour from its start; the maintenance window
  // is an hour. They must not overlap (RDS refuses it; on Cloud SQL a backup
  // during maintenance is delayed).
  const backupStart = minutesOf(backupStartTime);
  const maintenanceStart = maintenanceHour * 60;
  const gap = Math.abs(backupStart - maintenanceStart);
  if (Math.min(gap, 1440 - gap) < 60) {
    problems.add(
      "backupStartTime",
      `${backupStartTime} overlaps the maintenance window (${String(maintenanceHour).padStart(2, "0")}:00 UTC, maintenanceHour): keep an hour between them`,
    );
  }

  const databaseFlags = parseDatabaseFlags(problems, "databaseFlags", raw.databaseFlags);

  return {
    instanceName,
    diskSizeGb,
    diskAutoresize,
    diskAutoresizeLimitGb,
    highAvailability,
    deletionProtection,
    finalBackup,
    backupRetentionDays,
    backupStartTime,
    maintenanceDay,
    maintenanceHour,
    databaseFlags,
  };
}

function parseGcp(problems: Problems, raw: Raw, ctx: CloudContext, shared: InstanceConfig): GcpConfig {
  const project = matches(
    problems,
    "gcpProject",
    required(problems, "gcpProject", raw.gcpProject, "gcp", "the project the instance is created in"),
    GCP_PROJECT,
    "a GCP project id",
  );
  const region = matches(
    problems,
    "gcpRegion",
    required(problems, "gcpRegion", raw.gcpRegion, "gcp", "e.g. europe-west1"),
    GCP_REGION,
    "a GCP region (e.g. europe-west1)",
  );
  const network = matches(
    problems,
    "gcpNetwork",
    required(
      problems,
      "gcpNetwork",
      raw.gcpNetwork,
      "gcp",
      "the VPC network the instance gets its private IP on: projects/{project}/global/networks/{name}",
    ),
    GCP_NETWORK,
    "a VPC network id (projects/{project}/global/networks/{name})",
  );
  const allocatedIpRange = matches(
    problems,
    "gcpAllocatedIpRange",
    str(raw.gcpAllocatedIpRange),
    GCP_RANGE_NAME,
    "the name of an allocated IP range",
  );
  const tier = matches(
    problems,
    "gcpTier",
    required(problems, "gcpTier", raw.gcpTier, "gcp", "the machine tier, e.g. db-custom-2-7680"),
    GCP_TIER,
    "a Cloud SQL tier (db-…)",
  );
  const edition =
    parseEnum(problems, "gcpEdition", raw.gcpEdition, GCP_EDITIONS, CLOUD_DEFAULTS.gcpEdition) ??
    "ENTERPRISE";
  if (tier !== undefined) {
    const perfOptimized = tier.startsWith("db-perf-optimized-");
    if (edition === "ENTERPRISE_PLUS" && !perfOptimized) {
      problems.add(
        "gcpTier",
        `${JSON.stringify(tier)} is not an Enterprise Plus tier (db-perf-optimized-N-…) for gcpEdition ENTERPRISE_PLUS`,
      );
    } else if (edition === "ENTERPRISE" && perfOptimized) {
      problems.add("gcpTier", `${JSON.stringify(tier)} needs gcpEdition ENTERPRISE_PLUS`);
    }
  }

  const connection =
    parseEnum(problems, "gcpConnection", raw.gcpConnection, GCP_CONNECTIONS, CLOUD_DEFAULTS.gcpConnection) ??
    "connector";
  if (connection === "private-ip" && (ctx.sslmode === "verify-ca" || ctx.sslmode === "verify-full")) {
    problems.add(
      "sslmode",
      `"${ctx.sslmode}" needs the instance's CA file, which the provider is not given; use require (the instance accepts only TLS: ENCRYPTED_ONLY)`,
    );
  }

  const publicIp = parseBoolean(problems, "gcpPublicIp", raw.gcpPublicIp, CLOUD_DEFAULTS.gcpPublicIp);
  const authorizedNetworks = cidrList(problems, "gcpAuthorizedNetworks", raw.gcpAuthorizedNetworks);
  if (publicIp && authorizedNetworks.length === 0) {
    problems.add(
      "gcpAuthorizedNetworks",
      "is required when gcpPublicIp is true: a public IP admits only the networks listed here",
    );
  }
  if (!publicIp && authorizedNetworks.length > 0) {
    problems.add(
      "gcpAuthorizedNetworks",
      "is set but gcpPublicIp is false: authorized networks apply to the public IP only",
    );
  }

  const pointInTimeRecovery = parseBoolean(
    problems,
    "gcpPointInTimeRecovery",
    raw.gcpPointInTimeRecovery,
    CLOUD_DEFAULTS.gcpPointInTimeRecovery,
  );
  // Cloud SQL keeps 1-7 days of transaction logs (Enterprise), 1-35 (Enterprise Plus).
  const transactionLogRetentionDays = parseInteger(
    problems,
    "gcpTransactionLogRetentionDays",
    raw.gcpTransactionLogRetentionDays,
    CLOUD_DEFAULTS.gcpTransactionLogRetentionDays,
    1,
    edition === "ENTERPRISE_PLUS" ? 35 : 7,
  );
  if (transactionLogRetentionDays > shared.backupRetentionDays) {
    problems.add(
      "gcpTransactionLogRetentionDays",
      `${transactionLogRetentionDays} is longer than backupRetentionDays (${shared.backupRetentionDays}): point-in-time recovery needs a backup to start from`,
    );
  }
  const kmsKeyName = matches(
    problems,
    "gcpKmsKey",
    str(raw.gcpKmsKey),
    GCP_KMS_KEY,
    "a Cloud KMS key (projects/…/locations/…/keyRings/…/cryptoKeys/…)",
  );

  return {
    cloud: "gcp",
    ...shared,
    project: project ?? "",
    region: region ?? "",
    network: network ?? "",
    allocatedIpRange,
    tier: tier ?? "",
    edition,
    connection,
    publicIp,
    authorizedNetworks,
    pointInTimeRecovery,
    transactionLogRetentionDays,
    kmsKeyName,
  };
}

function parseAws(problems: Problems, raw: Raw, shared: InstanceConfig): AwsConfig {
  const region = matches(
    problems,
    "awsRegion",
    required(problems, "awsRegion", raw.awsRegion, "aws", "e.g. eu-central-1"),
    AWS_REGION,
    "an AWS region (e.g. eu-central-1)",
  );
  const vpcId = matches(
    problems,
    "awsVpcId",
    required(problems, "awsVpcId", raw.awsVpcId, "aws", "the VPC of the instance's security group"),
    AWS_VPC,
    "a VPC id (vpc-…)",
  );
  if (unsetList(raw.awsSubnetIds)) {
    problems.add(
      "awsSubnetIds",
      "is required for target aws (private subnets in at least two availability zones)",
    );
  }
  const subnetIds = stringList(
    problems,
    "awsSubnetIds",
    raw.awsSubnetIds,
    AWS_SUBNET,
    "a subnet id (subnet-…)",
  );
  if (!unsetList(raw.awsSubnetIds) && subnetIds.length < 2) {
    problems.add(
      "awsSubnetIds",
      `lists ${subnetIds.length} subnet${subnetIds.length === 1 ? "" : "s"}; a DB subnet group needs subnets in at least two availability zones`,
    );
  }
  const instanceClass = matches(
    problems,
    "awsInstanceClass",
    required(problems, "awsInstanceClass", raw.awsInstanceClass, "aws", "e.g. db.m7g.large"),
    AWS_INSTANCE_CLASS,
    "an RDS instance class (db.<family>.<size>)",
  );
  const allowedSecurityGroupIds = stringList(
    problems,
    "awsAllowedSecurityGroupIds",
    raw.awsAllowedSecurityGroupIds,
    AWS_SECURITY_GROUP,
    "a security group id (sg-…)",
  );
  const allowedCidrs = cidrList(problems, "awsAllowedCidrs", raw.awsAllowedCidrs);
  if (
    allowedSecurityGroupIds.length === 0 &&
    allowedCidrs.length === 0 &&
    unsetList(raw.awsAllowedSecurityGroupIds) &&
    unsetList(raw.awsAllowedCidrs)
  ) {
    problems.add(
      "awsAllowedSecurityGroupIds",
      "is required for target aws unless awsAllowedCidrs is set: the security group admits only these (the services' and the Pulumi runner's)",
    );
  }
  const kmsKeyId = matches(
    problems,
    "awsKmsKeyId",
    str(raw.awsKmsKeyId),
    AWS_KMS_KEY,
    "a KMS key id, alias or ARN",
  );

  return {
    cloud: "aws",
    ...shared,
    region: region ?? "",
    vpcId: vpcId ?? "",
    subnetIds,
    instanceClass: instanceClass ?? "",
    allowedSecurityGroupIds,
    allowedCidrs,
    kmsKeyId,
  };
}

/**
 * Parses the cloud keys for target gcp or aws (undefined for local: the cloud
 * keys are ignored there). Problems are added to `problems`, each with its
 * key; the caller throws one ConfigError for all of them.
 */
export function parseCloudConfig(problems: Problems, raw: Raw, ctx: CloudContext): CloudConfig | undefined {
  if (ctx.target !== "gcp" && ctx.target !== "aws") return undefined;
  if (raw.adminPassword !== undefined) {
    problems.add(
      "adminPassword",
      ctx.target === "gcp"
        ? "is set but target gcp generates the admin's password (a secret of the stack); remove it"
        : "is set but target aws keeps the admin's password in Secrets Manager (manageMasterUserPassword); remove it",
    );
  }
  const shared = parseShared(problems, raw, ctx, ctx.target);
  return ctx.target === "gcp" ? parseGcp(problems, raw, ctx, shared) : parseAws(problems, raw, shared);
}
