/**
 * ADR-0060 "automated validation", the vocabulary: what `make check` and the
 * metrics endpoint expect (`HealthSpec`, one `ServiceSpec` per service, built
 * by `healthSpec` from the stack's config and outputs), what they read from
 * the server (`Snapshot`, filled by health-collect.ts) and what they report
 * (`CheckResult`, one per row, from health-evaluate.ts). Types and pure
 * helpers only.
 *
 * The other files of the checker:
 *   required-tables.ts   which tables each service must have (the `tables` row)
 *   health-evaluate.ts   spec + snapshot → rows, per service (pure)
 *   role-checks.ts       the rows about roles: privileges, login-user,
 *                        retention-role, monitoring-role (pure)
 *   iam-login-check.ts   the `iam-login` row (pure)
 *   health-format.ts     the table `make check` prints (pure)
 *   health-collect.ts    reads the snapshot as the monitoring role (SQL)
 */
import type { Environment } from "../naming";
import { databaseName } from "../naming";
import type { Profile } from "../config/stack-config";
import type { AppliedMigration, MigrationFile } from "../schema/migration-runner";

export const CHECK_KINDS = [
  "database",
  "naming",
  "tables",
  "schema-version",
  "privileges",
  "login-user",
  "iam-login",
  "public-connect",
  "retention-role",
  "monitoring-role",
  "backup-age",
] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export const CHECK_STATUSES = ["PASS", "FAIL", "PENDING"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface CheckResult {
  /** `<check> <subject>`, e.g. `tables gdpr_test`. */
  name: string;
  check: CheckKind;
  /** The database or role the row is about. */
  subject: string;
  status: CheckStatus;
  reason: string;
}

/** One row. */
export function checkResult(
  check: CheckKind,
  subject: string,
  status: CheckStatus,
  reason: string,
): CheckResult {
  return { name: `${check} ${subject}`, check, subject, status, reason };
}

/** What one service's database and role must look like. */
export interface ServiceSpec {
  service: string;
  /** The ADR's database name for the environment. */
  database: string;
  /** The service role (NOLOGIN; the privileges its login users inherit). */
  loginRole: string;
  /** Its two login users (`login-user` rows); none: not checked. */
  loginUsers?: readonly string[];
  /**
   * The service's rotation counter; at 0 or unknown its service role may still
   * have the LOGIN it had before rotations (ServiceDatabase keeps it until the
   * first rotation).
   */
  rotation?: number;
  /** The schema-owner role (managed-schema only). */
  ownerRole?: string;
  profile: Profile;
  /** The name the stack reports (output databaseNames), when known; must equal `database`. */
  declaredDatabase?: string;
  /**
   * The service's migration files (schema/migration-paths.ts migrationsDir), for
   * managed-schema services: the `schema-version` row compares the version
   * table with them, and the `tables` row of a service without a
   * REQUIRED_TABLES entry expects the tables they create.
   */
  migrations?: readonly MigrationFile[];
  /** The role that may only run the retention purge (retention-role.ts), when the stack has one. */
  retentionRole?: string;
  /** Its IAM login (config iamLogins, docs/iam.md): the `iam-login` row. */
  iamLogin?: IamLoginSpec;
}

/** A service's IAM login: its database user and the cloud that logs it in. */
export interface IamLoginSpec {
  user: string;
  cloud: "gcp" | "aws";
}

export interface HealthSpec {
  environment: Environment;
  services: ServiceSpec[];
  /** The monitoring role to check (`monitoring-role` row); none when the stack has monitoring off. */
  monitoringRole?: string;
}

export interface DatabaseInfo {
  name: string;
  owner: string;
  allowConnections: boolean;
  publicConnect: boolean;
  publicTemporary: boolean;
  /** pg_database_size; undefined when it could not be read. */
  sizeBytes?: number;
}

export interface RoleInfo {
  name: string;
  rolsuper: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  canLogin: boolean;
  /** -1 = no limit. */
  connectionLimit: number;
  /** Roles it is a member of, sorted. */
  memberOf: string[];
  /** Its own settings (pg_roles.rolconfig), e.g. `role=gdpr_app`. */
  settings: string[];
  /** Databases that accept connections on which it holds CONNECT (directly, by membership or via PUBLIC), sorted. */
  connectOn: string[];
  /**
   * Whether it has a password (pg_authid.rolpassword); read for IAM logins
   * only, and only when the reader may read pg_authid (a superuser): else undefined.
   */
  hasPassword?: boolean;
}

/** What was read inside one service database. */
export interface DatabaseContents {
  /** Owner of schema public (undefined: no schema public). */
  schemaOwner?: string;
  /** Tables (and partitioned tables) in schema public, sorted. */
  tables: string[];
  /** The service's login role's rights on schema public. */
  loginHasUsage: boolean;
  loginHasCreate: boolean;
  /** Relations in schema public owned by the login role, sorted. */
  loginOwns: string[];
  /** Relations in schema public owned by each login user and the IAM login's user (that exist), sorted. */
  usersOwn?: Record<string, string[]>;
  /** Rows of public.schema_migrations (services with migrations, when the table exists). */
  versionRows?: AppliedMigration[];
  /** Why the version table could not be read. */
  versionError?: string;
  /** The retention role's rights here (services with a retention role that exists). */
  retention?: {
    /** EXECUTE on the purge function; undefined when the function does not exist. */
    canExecutePurge?: boolean;
    /** USAGE on schema public (needed to call the function). */
    hasUsage: boolean;
    /** Tables in schema public it holds any privilege on, sorted. */
    tablePrivileges: string[];
  };
}

/** A service database's contents, or why they could not be read. */
export type ContentsOrError = DatabaseContents | { error: string };

export interface Snapshot {
  /** The role the snapshot was read as. */
  currentUser: string;
  databases: DatabaseInfo[];
  /** The service login roles, retention roles and the monitoring role (those that exist). */
  roles: RoleInfo[];
  /** Per service database that exists: its contents, or why they could not be read. */
  contents: Record<string, ContentsOrError>;
  /** Client backends per database and role (pg_stat_activity). */
  connections: { database: string; role: string; count: number }[];
}

/** True when the contents could not be read. */
export function isUnreadable(c: ContentsOrError | undefined): c is { error: string } {
  return c !== undefined && "error" in c;
}

/** The expectations for `services` (as config/stack-config.ts resolves them) in `environment`. */
export function healthSpec(
  environment: Environment,
  services: readonly {
    name: string;
    database: string;
    loginRole: string;
    loginUsers?: readonly string[];
    rotation?: number;
    ownerRole?: string;
    profile: Profile;
    /** Its IAM login's database user (config iamLogins); needs `opts.cloud`. */
    iamLogin?: { user: string };
  }[],
  opts: {
    /** The cloud of the stack's IAM logins (its target), when a service has one. */
    cloud?: "gcp" | "aws";
    monitoringRole?: string;
    /** The stack's databaseNames output, by service. */
    declaredDatabases?: Record<string, string>;
    /** Migration files by managed-schema service (readMigrationsDir(migrationsDir(root, service))). */
    migrations?: Record<string, readonly MigrationFile[]>;
    /** Retention roles by service (the stack's retentionRoles output). */
    retentionRoles?: Record<string, string>;
  } = {},
): HealthSpec {
  return {
    environment,
    monitoringRole: opts.monitoringRole,
    services: services.map((svc) => ({
      service: svc.name,
      database: svc.database,
      loginRole: svc.loginRole,
      loginUsers: svc.loginUsers,
      rotation: svc.rotation,
      ownerRole: svc.ownerRole,
      profile: svc.profile,
      declaredDatabase: opts.declaredDatabases?.[svc.name],
      migrations: opts.migrations?.[svc.name],
      retentionRole: opts.retentionRoles?.[svc.name],
      ...iamLoginOf(svc, opts.cloud),
    })),
  };
}

/** `{ iamLogin }` of a service with an IAM login, else nothing; throws without the cloud. */
function iamLoginOf(
  svc: { name: string; iamLogin?: { user: string } },
  cloud: "gcp" | "aws" | undefined,
): { iamLogin?: IamLoginSpec } {
  if (svc.iamLogin === undefined) return {};
  if (cloud === undefined) {
    throw new Error(`healthSpec: service ${svc.name} has an IAM login but no cloud (gcp or aws) was given`);
  }
  return { iamLogin: { user: svc.iamLogin.user, cloud } };
}

/**
 * The name a service's database has under the other environments'
 * convention, which must not exist on this environment's server; undefined
 * in dev (a dev stack may share its server with the test stack).
 */
export function leakedName(service: string, environment: Environment): string | undefined {
  if (environment === "dev") return undefined;
  return databaseName(service, environment === "test" ? "prod" : "test");
}
