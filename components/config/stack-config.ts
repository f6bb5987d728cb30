/**
 * Typed stack configuration, validated in one place before any resource is
 * registered. Pure: it takes the raw values (as Pulumi hands them over: strings,
 * or JSON text for arrays) and returns a typed config, or throws a ConfigError
 * that lists every problem at once, each with its key.
 *
 * The keys, their types, descriptions and defaults are declared in Pulumi.yaml;
 * `CONFIG_KEYS` below must match it (a test checks that they agree).
 */
import {
  ENVIRONMENTS,
  Environment,
  isEnvironment,
  validateServiceList,
  databaseName,
  roleNames,
  monitoringRoleName,
  reservedReason,
  retentionRoleName,
  backupRoleName,
} from "../naming";
import {
  DEFAULT_APP_MAX_REPLICAS,
  DEFAULT_RESERVED_CONNECTIONS,
  connectionBudgetProblems,
} from "./connection-budget";
import type { BudgetInput } from "./connection-budget";
import { serverMaxConnections } from "./server-connections";
import { CLOUD_CONFIG_KEYS, parseCloudConfig } from "./cloud-config";
import { iamLoginOf, parseIamLogins } from "./iam-config";
import type { CloudConfig } from "./cloud-config";
import type { IamLoginConfig } from "./iam-config";
import { DEFAULT_RETENTION_SCHEDULE, parseClusterConfig } from "./cluster-config";
import { BACKUP_CONFIG_KEYS, parseBackupConfig } from "./backup-config";
import type { BackupPolicy } from "./backup-config";
import { BACKUP_JOB_CONFIG_KEYS, parseBackupJobConfig } from "./backup-job-config";
import type { BackupIdentity } from "./backup-job-config";
import type { ClusterConfig } from "./cluster-config";
import {
  Problems,
  parseBoolean,
  parseEnum,
  parseInteger,
  parseServiceIntegers,
  parseStringList,
} from "./parse";
import type { RawConfig } from "./parse";

import { TARGETS, SSL_MODES } from "./types";
import type { Target, SslMode, Profile } from "./types";
export { TARGETS, SSL_MODES, PROFILES } from "./types";
export type { Target, SslMode, Profile } from "./types";

export const DEFAULT_SERVICES = ["gdpr", "openfga", "keycloak"];
export const DEFAULT_MANAGED_SCHEMA_SERVICES = ["gdpr"];
export const DEFAULT_CONNECTION_LIMIT = 25;
export const DEFAULT_POSTGRES_VERSION = 17;
export const SUPPORTED_POSTGRES_VERSIONS = [15, 16, 17, 18];
export const DEFAULT_ADMIN_USER = "platform_admin";
/** The highest rotation counter `rotations` accepts (one rotation a day for some 2,700 years). */
export const MAX_ROTATION = 1_000_000;
export { DEFAULT_RETENTION_SCHEDULE };
export type { BackupPolicy, BackupDestination } from "./backup-config";
export type { BackupIdentity } from "./backup-job-config";

export interface ServiceConfig {
  /** Service name, e.g. `gdpr`. */
  name: string;
  profile: Profile;
  /** Database name for the stack's environment (`gdpr` or `gdpr_test`). */
  database: string;
  /** The service role (NOLOGIN): its privileges, inherited by the login users. */
  loginRole: string;
  /** The two LOGIN users (slots a and b; naming.ts roleNames). */
  loginUsers: [string, string];
  /** Rotations so far (config `rotations`, default 0): which user is active (naming.ts rotationSlots). */
  rotation: number;
  /** Only for managed-schema services. */
  ownerRole?: string;
  /**
   * The LOGIN role of the retention purge (naming.ts retentionRoleName): only
   * for gdpr as a managed-schema service, whose migrations define the purge.
   */
  retentionRole?: string;
  /** The LOGIN role that reads the database for its logical backups (naming.ts backupRoleName). */
  backupRole: string;
  /** Retention, schedule and destination of its logical backups (backup-config.ts). */
  backup: BackupPolicy;
  /** The workload identity of its backup CronJob's ServiceAccount (config `backupIdentities`). */
  backupIdentity?: BackupIdentity;
  connectionLimit: number;
  /** Its IAM login (config `iamLogins`, targets gcp and aws; docs/iam.md). */
  iamLogin?: IamLoginConfig;
}

export interface StackConfig extends ClusterConfig {
  environment: Environment;
  target: Target;
  postgresVersion: number;
  services: ServiceConfig[];
  /** Host and port of the server (local target; cloud targets take them from the instance). */
  host: string;
  port: number;
  sslmode: SslMode;
  /** The stack's admin login: a non-superuser with CREATEDB and CREATEROLE. */
  adminUser: string;
  /** Create the read-only monitoring role (member of pg_monitor). */
  monitoring: boolean;
  monitoringRole: string;
  /** The managed instance (targets gcp and aws; see cloud-config.ts); undefined for local. */
  cloud?: CloudConfig;
  /** The application's HPA maximum, written to the Helm values (`autoscaling.maxReplicas`). */
  appMaxReplicas: number;
  /**
   * The connection budget's inputs (connection-budget.ts). `maxConnections`
   * is unset for a local target without the key: read-config.ts reads it
   * from the server and checks the budget again.
   */
  connectionBudget: BudgetInput;
  /** Image of the backup CronJobs (config `backupImage`, with `kubernetes`); none without it. */
  backupImage?: string;
  /** Customer-managed key of the backup buckets the stack creates (config `backupKmsKey`). */
  backupKmsKey?: string;
}

/** Every key the program reads, as declared in Pulumi.yaml. */
export const CONFIG_KEYS = [
  "environment",
  "target",
  "postgresVersion",
  "services",
  "managedSchemaServices",
  "connectionLimit",
  "connectionLimits",
  "maxConnections",
  "reservedConnections",
  "appMaxReplicas",
  "rotations",
  "iamLogins",
  "host",
  "port",
  "sslmode",
  "adminUser",
  "monitoring",
  "kubernetes",
  "kubeContext",
  "namespace",
  "clusterHost",
  "exporterImage",
  "retentionSchedule",
  ...BACKUP_CONFIG_KEYS,
  ...BACKUP_JOB_CONFIG_KEYS,
  ...CLOUD_CONFIG_KEYS,
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/**
 * Secret keys the program reads (with getSecret) that Pulumi.yaml cannot
 * declare: a declared key without a default is required, and a secret key may
 * not have a plain-text default. Documented in the README instead.
 * - `adminPassword`: the admin's password for a `local` target (else PGPASSWORD).
 * - `kubeconfig`: kubeconfig contents for the Kubernetes Secrets (else KUBECONFIG).
 */
export const SECRET_CONFIG_KEYS = ["adminPassword", "kubeconfig"] as const;

// The shared parsers live in config-parse.ts (cloud-config.ts uses them too,
// and must not import this module at runtime); re-exported for callers.
export { Problems, parseBoolean, parseEnum, parseInteger, parseStringList } from "./parse";
export type { RawConfig } from "./parse";

export class ConfigError extends Error {
  constructor(
    readonly project: string,
    readonly problems: string[],
  ) {
    super(
      `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${project}:${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/**
 * Validates the raw stack config. Throws a ConfigError listing every problem
 * (with its key) when there is at least one.
 */
export function parseStackConfig(raw: RawConfig, project = "platform-databases"): StackConfig {
  const problems = new Problems();

  const environmentRaw = raw.environment;
  let environment: Environment = "dev";
  if (environmentRaw === undefined || environmentRaw === "") {
    problems.add("environment", `is required (one of ${ENVIRONMENTS.join(", ")})`);
  } else if (!isEnvironment(environmentRaw)) {
    problems.add("environment", `${JSON.stringify(environmentRaw)} is not one of ${ENVIRONMENTS.join(", ")}`);
  } else {
    environment = environmentRaw;
  }

  const target = parseEnum(problems, "target", raw.target, TARGETS, "local") ?? "local";
  if (target === "local" && (environment === "staging" || environment === "prod")) {
    problems.add(
      "target",
      `"local" is for dev and test; environment "${environment}" runs on a managed server (gcp or aws)`,
    );
  }

  const postgresVersion = parseInteger(
    problems,
    "postgresVersion",
    raw.postgresVersion,
    DEFAULT_POSTGRES_VERSION,
    Math.min(...SUPPORTED_POSTGRES_VERSIONS),
    Math.max(...SUPPORTED_POSTGRES_VERSIONS),
  );

  const connectionLimit = parseInteger(
    problems,
    "connectionLimit",
    raw.connectionLimit,
    DEFAULT_CONNECTION_LIMIT,
    1,
    10000,
  );

  let serviceNames: string[] = [];
  const servicesRaw = parseStringList(problems, "services", raw.services, DEFAULT_SERVICES);
  if (servicesRaw.length === 0) {
    problems.add("services", "is empty: list at least one service");
  }
  try {
    serviceNames = validateServiceList(servicesRaw);
  } catch (err) {
    problems.list.push((err as Error).message);
  }

  const managedRaw = parseStringList(
    problems,
    "managedSchemaServices",
    raw.managedSchemaServices,
    DEFAULT_MANAGED_SCHEMA_SERVICES.filter((s) => raw.services === undefined || serviceNames.includes(s)),
  );
  const managed = new Set<string>();
  managedRaw.forEach((name, index) => {
    if (typeof name !== "string" || !serviceNames.includes(name)) {
      if (serviceNames.length > 0) {
        problems.add(
          `managedSchemaServices[${index}]`,
          `${JSON.stringify(name)} is not one of the configured services (${serviceNames.join(", ")})`,
        );
      }
      return;
    }
    managed.add(name);
  });

  const host = raw.host === undefined || raw.host === "" ? "127.0.0.1" : raw.host;
  if (/\s/.test(host)) problems.add("host", `${JSON.stringify(host)} is not a host name`);
  const port = parseInteger(problems, "port", raw.port, 5432, 1, 65535);
  const sslmode =
    parseEnum(problems, "sslmode", raw.sslmode, SSL_MODES, target === "local" ? "disable" : "require") ??
    "require";
  if (target !== "local" && sslmode === "disable") {
    problems.add("sslmode", `"disable" is refused for target "${target}": managed servers require TLS`);
  }

  const adminUser = raw.adminUser === undefined || raw.adminUser === "" ? DEFAULT_ADMIN_USER : raw.adminUser;
  if (!/^[a-z_][a-z0-9_]*$/.test(adminUser)) {
    problems.add("adminUser", `${JSON.stringify(adminUser)} is not a lowercase PostgreSQL identifier`);
  } else if (adminUser.startsWith("pg_")) {
    problems.add("adminUser", `${JSON.stringify(adminUser)}: ${reservedReason(adminUser)}`);
  }

  const monitoring = parseBoolean(problems, "monitoring", raw.monitoring, true);

  const { kubernetes, namespace, kubeContext, clusterHost, exporterImage, retentionSchedule } =
    parseClusterConfig(problems, raw);
  if (exporterImage !== undefined && !monitoring) {
    problems.add(
      "exporterImage",
      `${JSON.stringify(exporterImage)} is set but monitoring is false: the exporter reads the server as the monitoring role`,
    );
  }
  const limits = parseServiceIntegers(problems, "connectionLimits", raw.connectionLimits, serviceNames, {
    min: 1,
    max: 10000,
    example: "gdpr=60",
  });
  const rotations = parseServiceIntegers(problems, "rotations", raw.rotations, serviceNames, {
    min: 0,
    max: MAX_ROTATION,
    example: "gdpr=3",
  });
  const iamLogins = parseIamLogins(problems, raw.iamLogins, serviceNames, target);
  const maxConnectionsKey = parseInteger(problems, "maxConnections", raw.maxConnections, 0, 0, 262143);
  const reservedConnections = parseInteger(
    problems,
    "reservedConnections",
    raw.reservedConnections,
    DEFAULT_RESERVED_CONNECTIONS,
    0,
    10000,
  );
  const appMaxReplicas = parseInteger(
    problems,
    "appMaxReplicas",
    raw.appMaxReplicas,
    DEFAULT_APP_MAX_REPLICAS,
    1,
    1000,
  );

  const backups = parseBackupConfig(problems, raw, { services: serviceNames, target, environment });
  const backupJob = parseBackupJobConfig(problems, raw, {
    services: serviceNames,
    target,
    environment,
    kubernetes,
    policies: backups,
    region: target === "gcp" ? raw.gcpRegion : target === "aws" ? raw.awsRegion : undefined,
  });
  const services: ServiceConfig[] = [];
  for (const name of serviceNames) {
    try {
      const roles = roleNames(name, environment);
      const profile: Profile = managed.has(name) ? "managed-schema" : "self-migrating";
      services.push({
        name,
        profile,
        database: databaseName(name, environment),
        loginRole: roles.login,
        loginUsers: roles.users,
        rotation: rotations.get(name) ?? 0,
        ownerRole: profile === "managed-schema" ? roles.owner : undefined,
        retentionRole: profile === "managed-schema" ? retentionRoleName(name, environment) : undefined,
        backupRole: backupRoleName(name, environment),
        backup: backups[name],
        backupIdentity: backupJob.identities.get(name),
        connectionLimit: limits.get(name) ?? connectionLimit,
        iamLogin: iamLoginOf(iamLogins.get(name), target, roles.login),
      });
    } catch (err) {
      problems.add(`services`, (err as Error).message);
    }
  }
  const cloud = parseCloudConfig(problems, raw, { target, environment, sslmode, postgresVersion });
  const connectionBudget: BudgetInput = {
    services: services.map((s) => ({
      name: s.name,
      connectionLimit: s.connectionLimit,
      key: limits.has(s.name) ? "connectionLimits" : "connectionLimit",
    })),
    retentionRoles: services.filter((s) => s.retentionRole !== undefined).length,
    backupRoles: services.filter((s) => s.backupRole !== undefined).length,
    monitoring,
    reservedConnections,
    appMaxReplicas,
    maxConnections: serverMaxConnections(problems, maxConnectionsKey, target, cloud),
  };
  for (const p of connectionBudgetProblems(connectionBudget)) problems.add(p.key, p.message);
  if (problems.list.length > 0) throw new ConfigError(project, problems.list);

  return {
    environment,
    target,
    postgresVersion,
    services,
    host,
    port,
    sslmode,
    adminUser,
    monitoring,
    monitoringRole: monitoringRoleName(environment),
    cloud,
    kubernetes,
    namespace,
    kubeContext,
    clusterHost,
    exporterImage,
    retentionSchedule,
    appMaxReplicas,
    connectionBudget,
    backupImage: backupJob.image,
    backupKmsKey: backupJob.kmsKey,
  };
}
