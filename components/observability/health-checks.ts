/**
 * ADR-0060 "automated validation": the checks behind `make check` and the
 * metrics endpoint.
 *
 * Two halves:
 * - `collectSnapshot` reads the server's catalogs as the read-only monitoring
 *   role (member of pg_monitor, CONNECT on the service databases, SELECT on
 *   the GDPR version table; see monitoring-role.ts). It only reads.
 * - `evaluate` is pure: expectations (`HealthSpec`, from the stack's config
 *   and outputs) plus a snapshot give one `CheckResult` per row, each PASS,
 *   FAIL or PENDING with the reason. `formatTable` renders them.
 *
 * Rows, per service (`<check> <subject>`):
 *   database <db>        exists, under the ADR's name for the environment
 *   naming <db>          test: no `{service}` beside `{service}_test`;
 *                        staging/prod: no `{service}_test` (dev may share a
 *                        server with the test stack, see naming.ts: no row)
 *   tables <db>          the required tables (REQUIRED_TABLES); PENDING while
 *                        a self-migrating service has not migrated yet
 *   schema-version <db>  services with migrations (gdpr): the version table
 *                        agrees with migrations/ and is at the latest file
 *   privileges <login>   LOGIN, none of the forbidden attributes, CONNECT on
 *                        its database only, no memberships, does not own its
 *                        database, schema public as its profile says
 *   public-connect <db>  PUBLIC holds neither CONNECT nor TEMPORARY
 *   retention-role <role> services whose stack reports a retention role
 *                        (gdpr): LOGIN, none of the forbidden attributes, no
 *                        memberships, CONNECT on its database only, EXECUTE on
 *                        the purge function, no privilege on any table
 * and `monitoring-role <role>` (member of pg_monitor only, CONNECT on the
 * service databases only).
 *
 * Tables are read from pg_class, not information_schema.tables as the ADR's
 * query does: information_schema lists only tables the current role holds a
 * privilege on, and the monitoring role (rightly) holds none on the data.
 */
import type { Client } from "pg";
import type { Environment } from "../naming";
import { databaseName } from "../naming";
import type { Profile } from "../config/stack-config";
import { FORBIDDEN_PG_ROLE_COLUMNS } from "../database/grants";
import { AppliedMigration, MigrationFile, planMigrations, VERSION_TABLE } from "../schema/migration-runner";

export const CHECK_KINDS = [
  "database",
  "naming",
  "tables",
  "schema-version",
  "privileges",
  "public-connect",
  "retention-role",
  "monitoring-role",
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

/**
 * Tables each service must have (consumers.md). `migratedMarker` is the table
 * a self-migrating service's own migration tool creates first (OpenFGA's goose,
 * Keycloak's Liquibase): while neither it nor any required table exists, the
 * service has not started yet and the row is PENDING rather than FAIL.
 */
export const REQUIRED_TABLES: Readonly<
  Record<string, { tables: readonly string[]; migratedMarker?: string }>
> = {
  gdpr: { tables: ["user_profiles", "user_preferences", "consent_records", "conversations", "audit_logs"] },
  openfga: { tables: ["tuple", "authorization_model"], migratedMarker: "goose_db_version" },
  keycloak: { tables: ["user_entity", "realm"], migratedMarker: "databasechangelog" },
};

/** What one service's database and role must look like. */
export interface ServiceSpec {
  service: string;
  /** The ADR's database name for the environment. */
  database: string;
  loginRole: string;
  /** The schema-owner role (managed-schema only). */
  ownerRole?: string;
  profile: Profile;
  /** The name the stack reports (output databaseNames), when known; must equal `database`. */
  declaredDatabase?: string;
  /** The migrations directory's files, for services whose schema this project migrates (gdpr). */
  migrations?: readonly MigrationFile[];
  /** The role that may only run the retention purge (retention-job.ts), when the stack has one. */
  retentionRole?: string;
}

/** The function a retention role may execute (migrations/001_gdpr_schema.sql). */
export const PURGE_FUNCTION_SIGNATURE = "public.purge_expired_data()";

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
  /** Databases that accept connections on which it holds CONNECT (directly, by membership or via PUBLIC), sorted. */
  connectOn: string[];
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

export interface Snapshot {
  /** The role the snapshot was read as. */
  currentUser: string;
  databases: DatabaseInfo[];
  /** The service login roles and the monitoring role (those that exist). */
  roles: RoleInfo[];
  /** Per service database that exists: its contents, or why they could not be read. */
  contents: Record<string, DatabaseContents | { error: string }>;
  /** Client backends per database and role (pg_stat_activity). */
  connections: { database: string; role: string; count: number }[];
}

const ATTRIBUTE_KEYWORDS: Record<(typeof FORBIDDEN_PG_ROLE_COLUMNS)[number], string> = {
  rolsuper: "SUPERUSER",
  rolcreatedb: "CREATEDB",
  rolcreaterole: "CREATEROLE",
  rolreplication: "REPLICATION",
  rolbypassrls: "BYPASSRLS",
};

/** The expectations for `services` (as config.ts resolves them) in `environment`. */
export function healthSpec(
  environment: Environment,
  services: readonly {
    name: string;
    database: string;
    loginRole: string;
    ownerRole?: string;
    profile: Profile;
  }[],
  opts: {
    monitoringRole?: string;
    /** The stack's databaseNames output, by service. */
    declaredDatabases?: Record<string, string>;
    /** Migration files by service (gdpr: readMigrationsDir("migrations")). */
    migrations?: Record<string, readonly MigrationFile[]>;
    /** Retention roles by service (the stack's retentionRole output, for gdpr). */
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
      ownerRole: svc.ownerRole,
      profile: svc.profile,
      declaredDatabase: opts.declaredDatabases?.[svc.name],
      migrations: opts.migrations?.[svc.name],
      retentionRole: opts.retentionRoles?.[svc.name],
    })),
  };
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

function result(check: CheckKind, subject: string, status: CheckStatus, reason: string): CheckResult {
  return { name: `${check} ${subject}`, check, subject, status, reason };
}

function list(names: readonly string[]): string {
  return names.join(", ");
}

function hasError(c: DatabaseContents | { error: string } | undefined): c is { error: string } {
  return c !== undefined && "error" in c;
}

/** Every check, in table order. Pure. */
export function evaluate(spec: HealthSpec, snap: Snapshot): CheckResult[] {
  const dbs = new Map(snap.databases.map((d) => [d.name, d]));
  const roles = new Map(snap.roles.map((r) => [r.name, r]));
  const out: CheckResult[] = [];

  for (const svc of spec.services) {
    const db = dbs.get(svc.database);
    const contents = snap.contents[svc.database];
    const missingDb = `database ${svc.database} does not exist`;
    const unreadable = hasError(contents)
      ? `cannot inspect ${svc.database} as ${snap.currentUser}: ${contents.error}`
      : undefined;

    // database
    if (svc.declaredDatabase !== undefined && svc.declaredDatabase !== svc.database) {
      out.push(
        result(
          "database",
          svc.database,
          "FAIL",
          `the stack reports databaseNames.${svc.service} = "${svc.declaredDatabase}"; ADR-0060 names it "${svc.database}" in ${spec.environment}`,
        ),
      );
    } else if (!db) {
      out.push(
        result(
          "database",
          svc.database,
          "FAIL",
          `${missingDb} (service ${svc.service}, environment ${spec.environment})`,
        ),
      );
    } else if (!db.allowConnections) {
      out.push(
        result(
          "database",
          svc.database,
          "FAIL",
          `exists but does not allow connections (datallowconn is false)`,
        ),
      );
    } else {
      out.push(
        result(
          "database",
          svc.database,
          "PASS",
          `exists (owner ${db.owner}), the ADR's name for ${spec.environment}`,
        ),
      );
    }

    // naming
    const leak = leakedName(svc.service, spec.environment);
    if (leak !== undefined) {
      const other = spec.environment === "test" ? "dev/staging/prod" : "test";
      out.push(
        dbs.has(leak)
          ? result(
              "naming",
              svc.database,
              "FAIL",
              `naming leak: database "${leak}" (the ${other} name) exists on this ${spec.environment} server beside "${svc.database}"`,
            )
          : result(
              "naming",
              svc.database,
              "PASS",
              `no database "${leak}" (the ${other} name) on this ${spec.environment} server`,
            ),
      );
    }

    // tables
    const required = REQUIRED_TABLES[svc.service];
    if (required) {
      if (!db) out.push(result("tables", svc.database, "FAIL", missingDb));
      else if (unreadable || !contents || hasError(contents)) {
        out.push(result("tables", svc.database, "FAIL", unreadable ?? `${svc.database} was not inspected`));
      } else {
        const present = new Set(contents.tables);
        const missing = required.tables.filter((t) => !present.has(t));
        const marker = required.migratedMarker;
        if (missing.length === 0) {
          out.push(
            result(
              "tables",
              svc.database,
              "PASS",
              `all ${required.tables.length} required tables: ${list(required.tables)}`,
            ),
          );
        } else if (marker && !present.has(marker) && missing.length === required.tables.length) {
          out.push(
            result(
              "tables",
              svc.database,
              "PENDING",
              `${svc.service} has not migrated yet (no ${marker} table); it creates ${list(required.tables)} at start`,
            ),
          );
        } else {
          out.push(
            result(
              "tables",
              svc.database,
              "FAIL",
              `missing required table${missing.length === 1 ? "" : "s"} ${list(missing)} in schema public (${required.tables.length - missing.length} of ${required.tables.length} present)`,
            ),
          );
        }
      }
    }

    // schema-version
    if (svc.migrations !== undefined) {
      out.push(schemaVersion(svc, db !== undefined, contents, snap.currentUser, missingDb, unreadable));
    }

    // privileges
    out.push(loginPrivileges(svc, roles.get(svc.loginRole), db, contents, dbs, unreadable));

    // retention-role
    if (svc.retentionRole !== undefined) {
      out.push(retentionRoleCheck(svc, roles.get(svc.retentionRole), contents, dbs, unreadable));
    }

    // public-connect
    if (!db) out.push(result("public-connect", svc.database, "FAIL", missingDb));
    else {
      const held = [db.publicConnect ? "CONNECT" : "", db.publicTemporary ? "TEMPORARY" : ""].filter(Boolean);
      out.push(
        held.length > 0
          ? result(
              "public-connect",
              svc.database,
              "FAIL",
              `PUBLIC holds ${held.join(" and ")} on ${svc.database}: every role on the server can connect to it`,
            )
          : result(
              "public-connect",
              svc.database,
              "PASS",
              `PUBLIC holds neither CONNECT nor TEMPORARY on ${svc.database}`,
            ),
      );
    }
  }

  if (spec.monitoringRole !== undefined) {
    out.push(monitoringRole(spec, roles.get(spec.monitoringRole), dbs));
  }
  return out;
}

function schemaVersion(
  svc: ServiceSpec,
  exists: boolean,
  contents: DatabaseContents | { error: string } | undefined,
  currentUser: string,
  missingDb: string,
  unreadable: string | undefined,
): CheckResult {
  const files = svc.migrations ?? [];
  const latest = files.length > 0 ? files[files.length - 1] : undefined;
  const latestText = latest ? `${latest.version} (${latest.name})` : "0 (no migration files)";
  const fail = (reason: string) => result("schema-version", svc.database, "FAIL", reason);
  if (!exists) return fail(missingDb);
  if (unreadable || !contents || hasError(contents))
    return fail(unreadable ?? `${svc.database} was not inspected`);
  if (contents.versionError !== undefined) {
    return fail(
      `cannot read ${VERSION_TABLE} as ${currentUser}: ${contents.versionError} (the monitoring role needs USAGE on schema public and SELECT on the version table)`,
    );
  }
  if (contents.versionRows === undefined) {
    return fail(`no ${VERSION_TABLE} table: no migration applied; the latest migration is ${latestText}`);
  }
  let plan;
  try {
    plan = planMigrations(files, contents.versionRows);
  } catch (err) {
    const detail = (err as Error).message
      .split("\n")
      .slice(1)
      .map((l) => l.replace(/^\s*-\s*/, ""))
      .join("; ");
    return fail(`${VERSION_TABLE} disagrees with migrations/: ${detail}`);
  }
  if (plan.pending.length > 0) {
    return fail(
      `version ${plan.version}, latest migration ${latestText}: pending ${list(plan.pending.map((f) => f.name))}`,
    );
  }
  return result("schema-version", svc.database, "PASS", `version ${latestText} = latest migration`);
}

function attributeProblems(role: RoleInfo): string[] {
  return FORBIDDEN_PG_ROLE_COLUMNS.filter((col) => role[col]).map((col) => `has ${ATTRIBUTE_KEYWORDS[col]}`);
}

function connectProblems(
  role: RoleInfo,
  allowed: readonly string[],
  dbs: Map<string, DatabaseInfo>,
): string[] {
  const problems: string[] = [];
  const extra = role.connectOn.filter((d) => !allowed.includes(d));
  if (extra.length > 0) {
    const how = extra.map((d) => (dbs.get(d)?.publicConnect ? `${d} (via PUBLIC)` : d));
    problems.push(`CONNECT also on ${list(how)}`);
  }
  const lacking = allowed.filter((d) => dbs.has(d) && !role.connectOn.includes(d));
  if (lacking.length > 0) problems.push(`no CONNECT on ${list(lacking)}`);
  return problems;
}

function loginPrivileges(
  svc: ServiceSpec,
  role: RoleInfo | undefined,
  db: DatabaseInfo | undefined,
  contents: DatabaseContents | { error: string } | undefined,
  dbs: Map<string, DatabaseInfo>,
  unreadable: string | undefined,
): CheckResult {
  if (!role) return result("privileges", svc.loginRole, "FAIL", `login role ${svc.loginRole} does not exist`);
  const problems = attributeProblems(role);
  if (!role.canLogin) problems.push("cannot log in (NOLOGIN)");
  problems.push(...connectProblems(role, [svc.database], dbs));
  if (role.memberOf.length > 0) problems.push(`member of ${list(role.memberOf)}`);
  if (db && db.owner === role.name)
    problems.push(`owns database ${svc.database} (it could grant CONNECT to anyone)`);

  let schemaText = "";
  if (db) {
    if (unreadable || !contents || hasError(contents)) {
      problems.push(unreadable ?? `${svc.database} was not inspected`);
    } else if (svc.profile === "self-migrating") {
      if (contents.schemaOwner !== svc.loginRole) {
        problems.push(
          `schema public of ${svc.database} is owned by ${contents.schemaOwner ?? "nobody (no schema public)"}, not by ${svc.loginRole} (self-migrating: the service creates its own tables)`,
        );
      }
      schemaText = `; owns schema public (self-migrating)`;
    } else {
      if (contents.schemaOwner !== svc.ownerRole) {
        problems.push(
          `schema public of ${svc.database} is owned by ${contents.schemaOwner ?? "nobody (no schema public)"}, not by ${svc.ownerRole ?? "its owner role"} (managed-schema)`,
        );
      }
      if (contents.loginHasCreate)
        problems.push(`has CREATE on schema public of ${svc.database} (managed-schema: DML only)`);
      if (!contents.loginHasUsage) problems.push(`has no USAGE on schema public of ${svc.database}`);
      if (contents.loginOwns.length > 0)
        problems.push(`owns ${list(contents.loginOwns)} in ${svc.database} (the owner role must)`);
      schemaText = `; schema public owned by ${svc.ownerRole}, USAGE without CREATE (managed-schema)`;
    }
  }
  if (problems.length > 0) return result("privileges", svc.loginRole, "FAIL", problems.join("; "));
  return result(
    "privileges",
    svc.loginRole,
    "PASS",
    `LOGIN without ${Object.values(ATTRIBUTE_KEYWORDS).join("/")}; CONNECT on ${svc.database} only; no memberships${schemaText}`,
  );
}

function retentionRoleCheck(
  svc: ServiceSpec,
  role: RoleInfo | undefined,
  contents: DatabaseContents | { error: string } | undefined,
  dbs: Map<string, DatabaseInfo>,
  unreadable: string | undefined,
): CheckResult {
  const name = svc.retentionRole as string;
  if (!role) return result("retention-role", name, "FAIL", `retention role ${name} does not exist`);
  const problems = attributeProblems(role);
  if (!role.canLogin) problems.push("cannot log in (NOLOGIN)");
  if (role.memberOf.length > 0) problems.push(`member of ${list(role.memberOf)}`);
  problems.push(...connectProblems(role, [svc.database], dbs));
  if (dbs.has(svc.database)) {
    if (unreadable || !contents || hasError(contents) || !contents.retention) {
      problems.push(unreadable ?? `${svc.database} was not inspected`);
    } else {
      const r = contents.retention;
      if (r.canExecutePurge === undefined)
        problems.push(`${PURGE_FUNCTION_SIGNATURE} does not exist in ${svc.database}`);
      else if (!r.canExecutePurge) problems.push(`no EXECUTE on ${PURGE_FUNCTION_SIGNATURE}`);
      if (!r.hasUsage) problems.push(`no USAGE on schema public of ${svc.database}`);
      if (r.tablePrivileges.length > 0) {
        problems.push(
          `holds privileges on ${list(r.tablePrivileges)} (it needs none: the purge is SECURITY DEFINER)`,
        );
      }
    }
  }
  if (problems.length > 0) return result("retention-role", name, "FAIL", problems.join("; "));
  return result(
    "retention-role",
    name,
    "PASS",
    `LOGIN without ${Object.values(ATTRIBUTE_KEYWORDS).join("/")}; CONNECT on ${svc.database} only; EXECUTE on ${PURGE_FUNCTION_SIGNATURE}; no table privileges`,
  );
}

function monitoringRole(
  spec: HealthSpec,
  role: RoleInfo | undefined,
  dbs: Map<string, DatabaseInfo>,
): CheckResult {
  const name = spec.monitoringRole as string;
  if (!role) return result("monitoring-role", name, "FAIL", `monitoring role ${name} does not exist`);
  const problems = attributeProblems(role);
  if (!role.canLogin) problems.push("cannot log in (NOLOGIN)");
  if (!role.memberOf.includes("pg_monitor")) problems.push("is not a member of pg_monitor");
  const extra = role.memberOf.filter((r) => r !== "pg_monitor");
  if (extra.length > 0) problems.push(`also member of ${list(extra)}`);
  problems.push(
    ...connectProblems(
      role,
      spec.services.map((s) => s.database),
      dbs,
    ),
  );
  if (problems.length > 0) return result("monitoring-role", name, "FAIL", problems.join("; "));
  return result(
    "monitoring-role",
    name,
    "PASS",
    `member of pg_monitor only; CONNECT on the ${spec.services.length} service databases only`,
  );
}

/** True when no check failed (PENDING does not fail). */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== "FAIL");
}

/** The table `make check` prints: CHECK, STATUS, REASON, then a summary line. Pure. */
export function formatTable(results: readonly CheckResult[]): string {
  const header = ["CHECK", "STATUS", "REASON"];
  const width = Math.max(header[0].length, ...results.map((r) => r.name.length));
  const statusWidth = Math.max(...CHECK_STATUSES.map((s) => s.length));
  const line = (a: string, b: string, c: string) =>
    `${a.padEnd(width)}  ${b.padEnd(statusWidth)}  ${c}`.trimEnd();
  const counts = CHECK_STATUSES.map((s) => `${results.filter((r) => r.status === s).length} ${s}`).join(", ");
  return (
    [
      line(header[0], header[1], header[2]),
      ...results.map((r) => line(r.name, r.status, r.reason)),
      "",
      `${results.length} checks: ${counts}`,
    ].join("\n") + "\n"
  );
}

// ---------------------------------------------------------------------------
// Reading the server (as the monitoring role). Read-only queries.
// ---------------------------------------------------------------------------

/** Opens a connection to `database` (the caller's credentials); the collector ends it. */
export type Connect = (database: string) => Promise<Client>;

export class CheckConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckConnectionError";
  }
}

async function readDatabases(client: Client): Promise<DatabaseInfo[]> {
  const { rows } = await client.query(
    `SELECT datname, pg_get_userbyid(datdba) AS owner, datallowconn,
            has_database_privilege('public', oid, 'CONNECT') AS public_connect,
            has_database_privilege('public', oid, 'TEMPORARY') AS public_temporary,
            CASE WHEN datallowconn THEN pg_database_size(oid) END AS size
       FROM pg_database ORDER BY datname`,
  );
  return rows.map((r) => ({
    name: r.datname,
    owner: r.owner,
    allowConnections: r.datallowconn,
    publicConnect: r.public_connect,
    publicTemporary: r.public_temporary,
    sizeBytes: r.size === null ? undefined : Number(r.size),
  }));
}

async function readRoles(client: Client, names: string[]): Promise<RoleInfo[]> {
  const { rows } = await client.query(
    `SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
            r.rolcanlogin, r.rolconnlimit,
            ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1) AS member_of,
            ARRAY(SELECT d.datname::text FROM pg_database d
                   WHERE d.datallowconn AND has_database_privilege(r.oid, d.oid, 'CONNECT') ORDER BY 1) AS connect_on
       FROM pg_roles r WHERE r.rolname = ANY($1::text[]) ORDER BY r.rolname`,
    [names],
  );
  return rows.map((r) => ({
    name: r.rolname,
    rolsuper: r.rolsuper,
    rolcreatedb: r.rolcreatedb,
    rolcreaterole: r.rolcreaterole,
    rolreplication: r.rolreplication,
    rolbypassrls: r.rolbypassrls,
    canLogin: r.rolcanlogin,
    connectionLimit: r.rolconnlimit,
    memberOf: r.member_of,
    connectOn: r.connect_on,
  }));
}

async function readContents(client: Client, svc: ServiceSpec): Promise<DatabaseContents> {
  const schema = await client.query(
    `SELECT pg_get_userbyid(n.nspowner) AS owner,
            (SELECT oid FROM pg_roles WHERE rolname = $1) IS NOT NULL AS login_exists
       FROM pg_namespace n WHERE n.nspname = 'public'`,
    [svc.loginRole],
  );
  const tables = await client.query(
    `SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  let loginHasUsage = false;
  let loginHasCreate = false;
  let loginOwns: string[] = [];
  if (schema.rows.length > 0 && schema.rows[0].login_exists) {
    const rights = await client.query(
      `SELECT has_schema_privilege($1, 'public', 'USAGE') AS usage, has_schema_privilege($1, 'public', 'CREATE') AS create`,
      [svc.loginRole],
    );
    loginHasUsage = rights.rows[0].usage;
    loginHasCreate = rights.rows[0].create;
    const owned = await client.query(
      `SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1) ORDER BY 1`,
      [svc.loginRole],
    );
    loginOwns = owned.rows.map((r) => r.name);
  }
  const contents: DatabaseContents = {
    schemaOwner: schema.rows[0]?.owner,
    tables: tables.rows.map((r) => r.name),
    loginHasUsage,
    loginHasCreate,
    loginOwns,
  };
  if (svc.retentionRole !== undefined) {
    const { rows } = await client.query(
      `SELECT r.oid IS NOT NULL AS exists,
              CASE WHEN r.oid IS NOT NULL AND to_regprocedure($2) IS NOT NULL
                   THEN has_function_privilege(r.oid, to_regprocedure($2), 'EXECUTE') END AS execute,
              r.oid IS NOT NULL AND has_schema_privilege(r.oid, 'public', 'USAGE') AS usage,
              ARRAY(SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE r.oid IS NOT NULL AND n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                       AND has_table_privilege(r.oid, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
                     ORDER BY 1) AS tables
         FROM (SELECT (SELECT oid FROM pg_roles WHERE rolname = $1) AS oid) r`,
      [svc.retentionRole, PURGE_FUNCTION_SIGNATURE],
    );
    if (rows[0].exists) {
      contents.retention = {
        canExecutePurge: rows[0].execute ?? undefined,
        hasUsage: rows[0].usage,
        tablePrivileges: rows[0].tables,
      };
    }
  }
  if (svc.migrations !== undefined && contents.tables.includes(VERSION_TABLE.replace(/^public\./, ""))) {
    try {
      const { rows } = await client.query(
        `SELECT version, name, checksum FROM ${VERSION_TABLE} ORDER BY version`,
      );
      contents.versionRows = rows.map((r) => ({ version: r.version, name: r.name, checksum: r.checksum }));
    } catch (err) {
      contents.versionError = (err as Error).message;
    }
  }
  return contents;
}

/**
 * Reads everything `evaluate` and the metrics need. Connects to the service
 * databases in order (the monitoring role may connect nowhere else) until one
 * accepts, reads the shared catalogs there, then each existing service
 * database's schema. Throws CheckConnectionError when no service database
 * accepts the connection.
 */
export async function collectSnapshot(spec: HealthSpec, connect: Connect): Promise<Snapshot> {
  const attempts: string[] = [];
  let entry: { client: Client; database: string } | undefined;
  for (const svc of spec.services) {
    try {
      entry = { client: await connect(svc.database), database: svc.database };
      break;
    } catch (err) {
      attempts.push(`${svc.database}: ${(err as Error).message}`);
    }
  }
  if (!entry) {
    throw new CheckConnectionError(
      `could not connect to any service database:\n${attempts.map((a) => `  - ${a}`).join("\n")}`,
    );
  }
  try {
    const who = await entry.client.query("SELECT current_user AS u");
    const databases = await readDatabases(entry.client);
    const roleNames = [
      ...spec.services.map((s) => s.loginRole),
      ...spec.services.flatMap((s) => (s.retentionRole ? [s.retentionRole] : [])),
      ...(spec.monitoringRole ? [spec.monitoringRole] : []),
    ];
    const roles = await readRoles(entry.client, roleNames);
    const activity = await entry.client.query(
      `SELECT datname, usename, count(*)::int AS n FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND datname IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const existing = new Set(databases.map((d) => d.name));
    const contents: Snapshot["contents"] = {};
    for (const svc of spec.services) {
      if (!existing.has(svc.database)) continue;
      let client: Client | undefined;
      try {
        client = svc.database === entry.database ? entry.client : await connect(svc.database);
        contents[svc.database] = await readContents(client, svc);
      } catch (err) {
        contents[svc.database] = { error: (err as Error).message };
      } finally {
        if (client && client !== entry.client) await client.end().catch(() => undefined);
      }
    }
    return {
      currentUser: who.rows[0].u,
      databases,
      roles,
      contents,
      connections: activity.rows.map((r) => ({ database: r.datname, role: r.usename ?? "", count: r.n })),
    };
  } finally {
    await entry.client.end().catch(() => undefined);
  }
}
