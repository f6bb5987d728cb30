/**
 * Reading the server for `make check` and the metrics: `collectSnapshot`
 * reads the catalogs as the read-only monitoring role (member of pg_monitor,
 * CONNECT on the service databases, SELECT on each managed-schema service's
 * version table; see monitoring-role.ts) into a `Snapshot` (health-spec.ts)
 * for health-evaluate.ts. Read-only queries; nothing here judges.
 *
 * Tables are read from pg_class, not information_schema.tables as the ADR's
 * query does: information_schema lists only tables the current role holds a
 * privilege on, and the monitoring role (rightly) holds none on the data.
 */
import type { Client } from "pg";
import { PURGE_FUNCTION_SIGNATURE } from "../schema/migration-paths";
import { VERSION_TABLE } from "../schema/migration-runner";
import type {
  DatabaseContents,
  DatabaseInfo,
  HealthSpec,
  RoleInfo,
  ServiceSpec,
  Snapshot,
} from "./health-spec";

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

/**
 * Whether each of `names` has a password, by name, when the reader may read
 * pg_authid (a superuser); undefined otherwise (pg_roles hides it).
 */
async function readPasswords(client: Client, names: string[]): Promise<Map<string, boolean> | undefined> {
  if (names.length === 0) return undefined;
  const can = await client.query(`SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS can`);
  if (!can.rows[0].can) return undefined;
  const { rows } = await client.query(
    `SELECT rolname, rolpassword IS NOT NULL AS has_password FROM pg_catalog.pg_authid WHERE rolname = ANY($1::text[])`,
    [names],
  );
  return new Map(rows.map((r) => [r.rolname as string, r.has_password as boolean]));
}

async function readRoles(client: Client, names: string[]): Promise<RoleInfo[]> {
  const { rows } = await client.query(
    `SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
            r.rolcanlogin, r.rolconnlimit, coalesce(r.rolconfig, '{}') AS settings,
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
    settings: r.settings,
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
  const users = [...(svc.loginUsers ?? []), ...(svc.iamLogin ? [svc.iamLogin.user] : [])];
  if (users.length > 0) {
    const { rows } = await client.query(
      `SELECT r.rolname AS user,
              ARRAY(SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relowner = r.oid ORDER BY 1) AS owns
         FROM pg_roles r WHERE r.rolname = ANY($1::text[])`,
      [users],
    );
    contents.usersOwn = Object.fromEntries(rows.map((r) => [r.user, r.owns]));
  }
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
    const iamUsers = spec.services.flatMap((s) => (s.iamLogin ? [s.iamLogin.user] : []));
    const roleNames = [
      ...spec.services.flatMap((s) => [s.loginRole, ...(s.loginUsers ?? [])]),
      ...iamUsers,
      ...spec.services.flatMap((s) => (s.retentionRole ? [s.retentionRole] : [])),
      ...(spec.monitoringRole ? [spec.monitoringRole] : []),
    ];
    const passwords = await readPasswords(entry.client, iamUsers);
    const roles = (await readRoles(entry.client, roleNames)).map((r) =>
      passwords?.has(r.name) ? { ...r, hasPassword: passwords.get(r.name) } : r,
    );
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
