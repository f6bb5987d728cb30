/**
 * ADR-0060 naming convention, as pure functions.
 *
 * Every name the program, the init script, the Helm values and the lint check
 * write comes from here, so the rules live in exactly one place.
 *
 * | environment | database         | service role (NOLOGIN) | login users                          | schema-owner role      |
 * |-------------|------------------|------------------------|--------------------------------------|------------------------|
 * | dev         | `{service}`      | `{service}_app`        | `{service}_app_a`, `{service}_app_b` | `{service}_owner`      |
 * | test        | `{service}_test` | `{service}_test_app`   | `{service}_test_app_a`, `…_b`        | `{service}_test_owner` |
 * | staging     | `{service}`      | `{service}_app`        | `{service}_app_a`, `{service}_app_b` | `{service}_owner`      |
 * | prod        | `{service}`      | `{service}_app`        | `{service}_app_a`, `{service}_app_b` | `{service}_owner`      |
 *
 * The service role holds the service's privileges (and, self-migrating, owns
 * its schema); the two login users inherit it and alternate on each credential
 * rotation (docs/rotation.md).
 *
 * Role names are cluster-wide, so they are derived from the database name and
 * carry the `_test` suffix too: a dev and a test stack can share one server.
 */

export const ENVIRONMENTS = ["dev", "test", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The suffix the ADR gives the test environment's names. */
export const TEST_SUFFIX = "_test";

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated. */
export const MAX_IDENTIFIER_BYTES = 63;

/** A lowercase PostgreSQL identifier that needs no quoting. */
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

/**
 * Names that PostgreSQL or the managed clouds reserve. Any name starting with
 * `pg_` is refused as well (PostgreSQL reserves that prefix for roles).
 */
export const RESERVED_NAMES: readonly string[] = [
  "postgres",
  "template0",
  "template1",
  "public",
  "cloudsqladmin",
  "cloudsqlsuperuser",
  "cloudsqliamuser",
  "cloudsqliamserviceaccount",
  "cloudsqlreplica",
  "cloudsqlagent",
  "rdsadmin",
  "rds_superuser",
  "rds_iam",
  "rds_replication",
  "rds_password",
  "rdsrepladmin",
  "rdstopmgr",
  "azure_superuser",
  "azure_pg_admin",
  "alloydbadmin",
  "alloydbsuperuser",
  "current_user",
  "session_user",
  "current_role",
  "none",
];

/** Suffixes of the roles derived from a database name. */
export const LOGIN_ROLE_SUFFIX = "_app";
/**
 * The two login users of a service role (`{database}_app_a`, `{database}_app_b`),
 * appended to its name: the one a rotation makes active gets a new password,
 * the other keeps the previous one until the next rotation.
 */
export const LOGIN_USER_SLOTS = ["a", "b"] as const;
export type LoginUserSlot = (typeof LOGIN_USER_SLOTS)[number];
export const OWNER_ROLE_SUFFIX = "_owner";
/** The LOGIN role that may only run a managed schema's retention purge. */
export const RETENTION_ROLE_SUFFIX = "_retention";
/** The LOGIN role that may only read its own database, for logical backups. */
export const BACKUP_ROLE_SUFFIX = "_backup";

export class NamingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NamingError";
  }
}

export function isEnvironment(value: unknown): value is Environment {
  return typeof value === "string" && (ENVIRONMENTS as readonly string[]).includes(value);
}

/** Throws unless `value` is one of dev, test, staging, prod. */
export function validateEnvironment(value: unknown): Environment {
  if (!isEnvironment(value)) {
    throw new NamingError(`environment ${JSON.stringify(value)} is not one of ${ENVIRONMENTS.join(", ")}`);
  }
  return value;
}

function byteLength(name: string): number {
  return Buffer.byteLength(name, "utf8");
}

/** Returns the reason `name` may not be used as a database or role name, or undefined. */
export function reservedReason(name: string): string | undefined {
  if (name.startsWith("pg_")) {
    return `names starting with "pg_" are reserved by PostgreSQL`;
  }
  if (RESERVED_NAMES.includes(name)) {
    return `"${name}" is reserved by PostgreSQL or a managed cloud`;
  }
  return undefined;
}

/**
 * Throws unless `service` is a lowercase PostgreSQL identifier that does not
 * end in `_test` and is not reserved.
 */
export function validateServiceName(service: unknown): string {
  if (typeof service !== "string" || !SERVICE_NAME_PATTERN.test(service)) {
    throw new NamingError(
      `service name ${JSON.stringify(service)} is not a lowercase PostgreSQL identifier ([a-z][a-z0-9_]*)`,
    );
  }
  if (service.endsWith(TEST_SUFFIX)) {
    throw new NamingError(
      `service name "${service}" must not end in "${TEST_SUFFIX}": the suffix is added for the test environment`,
    );
  }
  const reserved = reservedReason(service);
  if (reserved) {
    throw new NamingError(`service name "${service}" is refused: ${reserved}`);
  }
  return service;
}

function checkLength(kind: string, name: string): string {
  if (byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new NamingError(
      `${kind} "${name}" is ${byteLength(name)} bytes; PostgreSQL identifiers are at most ${MAX_IDENTIFIER_BYTES} bytes`,
    );
  }
  const reserved = reservedReason(name);
  if (reserved) {
    throw new NamingError(`${kind} "${name}" is refused: ${reserved}`);
  }
  return name;
}

/** The ADR's convention: `{service}` in dev/staging/prod, `{service}_test` in test. */
export function databaseName(service: string, environment: string): string {
  const env = validateEnvironment(environment);
  const svc = validateServiceName(service);
  return checkLength("database name", env === "test" ? `${svc}${TEST_SUFFIX}` : svc);
}

export interface RoleNames {
  /**
   * The service role (NOLOGIN since credentials rotate): it holds the
   * service's privileges, and its two login users inherit them.
   */
  login: string;
  /** The two LOGIN users, slot a then slot b (`{login}_a`, `{login}_b`). */
  users: [string, string];
  /** The NOLOGIN role that owns a managed schema and that migrations run as. */
  owner: string;
}

/** Role names derived from the database name (so they carry `_test` in test). */
export function roleNames(service: string, environment: string): RoleNames {
  const db = databaseName(service, environment);
  const login = checkLength("login role name", `${db}${LOGIN_ROLE_SUFFIX}`);
  const [a, b] = LOGIN_USER_SLOTS.map((slot) => checkLength("login user name", `${login}_${slot}`));
  return { login, users: [a, b], owner: checkLength("owner role name", `${db}${OWNER_ROLE_SUFFIX}`) };
}

/** A service's login users after its rotations (the stack output `loginUsers`). */
export interface LoginUsersState {
  /** The rotation counter (config `rotations`). */
  rotation: number;
  /** The user the Secret, `connectionUris` and `make env` give. */
  active: string;
  /** The other user: the previous credentials, valid until the next rotation. */
  standby: string;
}

/** Which of `users` (slot a, slot b) is active after `rotation` rotations. */
export function loginUsersAfter(users: readonly [string, string], rotation: number): LoginUsersState {
  const slots = rotationSlots(rotation);
  return { rotation, active: users[slots.active], standby: users[slots.standby] };
}

/**
 * Which login user is active after `rotation` rotations (slot a at 0, b at 1,
 * a at 2, …), and each slot's password generation: a slot gets a new password
 * each time it becomes active, so the other keeps the previous one.
 */
export function rotationSlots(rotation: number): {
  active: 0 | 1;
  standby: 0 | 1;
  generations: [number, number];
} {
  if (!Number.isInteger(rotation) || rotation < 0) {
    throw new NamingError(`rotation ${rotation} is not a non-negative integer`);
  }
  const active = (rotation % 2) as 0 | 1;
  return {
    active,
    standby: (1 - active) as 0 | 1,
    generations: [Math.floor(rotation / 2), Math.floor((rotation + 1) / 2)],
  };
}

/**
 * The LOGIN role of a managed schema's scheduled retention purge
 * (`gdpr_retention`, `gdpr_test_retention`): EXECUTE on the purge function,
 * nothing else (components/schema/retention-role.ts).
 */
export function retentionRoleName(service: string, environment: string): string {
  return checkLength("retention role name", `${databaseName(service, environment)}${RETENTION_ROLE_SUFFIX}`);
}

/**
 * The LOGIN role of a database's logical backups (`gdpr_backup`,
 * `gdpr_test_backup`): CONNECT on its own database and read-only access to
 * everything in it (components/database/backup-role.ts).
 */
export function backupRoleName(service: string, environment: string): string {
  return checkLength("backup role name", `${databaseName(service, environment)}${BACKUP_ROLE_SUFFIX}`);
}

/** The Kubernetes CronJob (and its Secret) that runs a service's retention purge. */
export function retentionJobName(service: string, environment: string): string {
  return `${databaseName(service, environment).replace(/_/g, "-")}-retention`;
}

/** The Kubernetes CronJob (and its Secret and ServiceAccount) that backs up a service's database. */
export function backupJobName(service: string, environment: string): string {
  return `${databaseName(service, environment).replace(/_/g, "-")}-backup`;
}

/** The read-only monitoring role of an environment (member of pg_monitor). */
export function monitoringRoleName(environment: string): string {
  const env = validateEnvironment(environment);
  return env === "test" ? `db_monitor${TEST_SUFFIX}` : "db_monitor";
}

/** The Kubernetes Secret that holds a service's database credentials. */
export function secretName(service: string, environment: string): string {
  const db = databaseName(service, environment);
  return `${db.replace(/_/g, "-")}-database`;
}

/**
 * The keys of each service's Secret, as its consumer in the chart reads them:
 * the application's password key (its chart's default name) and the URL it
 * reads as an environment variable; OpenFGA's `datastore.uriSecret` (key
 * `uri`); Bitnami Keycloak's `externalDatabase` user and password keys. The
 * Helm values and the Secrets (components/cluster/) both name them from here.
 * With an IAM login (docs/iam.md) the application's Secret holds its user
 * (`iamUser`) and a URL without a password, and no password key.
 */
export const SECRET_KEYS = {
  gdpr: { password: "postgres-password", url: "GDPR_POSTGRES_URL", iamUser: "postgres-username" },
  openfga: { uri: "uri" },
  keycloak: { user: "db-user", password: "db-password" },
} as const;

/**
 * Throws if the list has a duplicate or an invalid name; returns the names.
 * `key` names the config key in the error, e.g. `services`.
 */
export function validateServiceList(services: readonly unknown[], key = "services"): string[] {
  const seen = new Map<string, number>();
  return services.map((service, index) => {
    let name: string;
    try {
      name = validateServiceName(service);
    } catch (err) {
      throw new NamingError(`${key}[${index}]: ${(err as Error).message}`);
    }
    const first = seen.get(name);
    if (first !== undefined) {
      throw new NamingError(
        `${key}[${index}]: service "${name}" is listed twice (first at ${key}[${first}]); each service gets one database`,
      );
    }
    seen.set(name, index);
    return name;
  });
}

/**
 * The environment whose convention a database name follows, and the service
 * it names: `gdpr_test` → test/gdpr, `gdpr` → non-test/gdpr.
 */
export function parseDatabaseName(name: string): { service: string; test: boolean } {
  return name.endsWith(TEST_SUFFIX)
    ? { service: name.slice(0, -TEST_SUFFIX.length), test: true }
    : { service: name, test: false };
}
