/**
 * The migration runner: applies a service's pending migrations with
 * node-postgres. Reading the files and planning them (names, checksums, what
 * is pending, what is refused) is migration-files.ts's job; this module
 * re-exports it, so its users import one module.
 *
 * Used by the Pulumi resource (schema-migrations.ts), `make migrate`
 * (scripts/migrate.ts) and the tests. migrations/000_init_databases.sh applies
 * the same files with psql and writes the same version table under the same
 * advisory lock (tests/init-script-*.test.ts check that both agree).
 *
 * Rules (migrations/README.md):
 * - files `NNN_name.sql` in version order (migration-files.ts);
 * - each file in its own transaction, as the schema-owner role (`SET LOCAL
 *   ROLE`), with `search_path = public` and `platform.login_role` set to the
 *   application's login role (the SQL reads it for its grants, so no file
 *   names an environment's role and checksums are the same everywhere);
 * - `public.schema_migrations` records version, name, sha256 checksum,
 *   applied time and session user, in the same transaction as the file;
 * - what planMigrations refuses (migration-files.ts) is refused before
 *   anything is applied;
 * - a session advisory lock serialises concurrent runners.
 */
import { Client, ClientConfig } from "pg";
import {
  AppliedMigration,
  MigrationError,
  MigrationFile,
  padVersion,
  planMigrations,
  VERSION_TABLE,
  VERSION_TABLE_DDL,
} from "./migration-files";

export { sslOption } from "../config/pg-ssl";
export {
  VERSION_TABLE,
  VERSION_TABLE_DDL,
  MIGRATION_FILE_PATTERN,
  MigrationError,
  migrationFingerprints,
  sha256,
  parseMigrationFiles,
  readMigrationsDir,
  planMigrations,
} from "./migration-files";
export type { MigrationFile, AppliedMigration, MigrationPlan } from "./migration-files";

/**
 * Key of the session advisory lock every runner (this one and the init
 * script) holds while it plans and applies. Per database.
 */
export const MIGRATION_LOCK_KEY = "6000600001";

/** The transaction-local setting that names the application's login role. */
export const LOGIN_ROLE_SETTING = "platform.login_role";

/** How long a runner waits for another one to finish. */
export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;

export interface RunOptions {
  /** Where to connect, as the admin (a member of ownerRole). */
  connection: ClientConfig;
  /** The schema-owner role the files run as (SET ROLE). */
  ownerRole: string;
  /** The application's login role, handed to the files as platform.login_role. */
  loginRole: string;
  /** From readMigrationsDir / parseMigrationFiles. */
  migrations: readonly MigrationFile[];
  /** List what would be applied; change nothing. */
  dryRun?: boolean;
  /** @default 300000 */
  lockTimeoutMs?: number;
  /** Progress lines (no secrets). */
  log?: (line: string) => void;
}

export interface RunResult {
  /** Highest applied version after the run (dry run: before it). */
  version: number;
  /** Files applied by this run (dry run: none). */
  applied: string[];
  /** Files still pending (dry run: what would be applied; else none). */
  pending: string[];
  /** Every row of the version table after the run. */
  history: AppliedMigration[];
  dryRun: boolean;
}

function lineOf(sql: string, position: number | undefined): string {
  if (!position) return "";
  return `, line ${sql.slice(0, position - 1).split("\n").length}`;
}

/**
 * Applies the pending migrations (or lists them, dryRun). Holds the advisory
 * lock from planning to the last commit; each file and its version row commit
 * together or not at all.
 */
export async function runMigrations(opts: RunOptions): Promise<RunResult> {
  const log = opts.log ?? (() => undefined);
  const dryRun = opts.dryRun ?? false;
  const lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (opts.ownerRole === opts.loginRole) {
    throw new MigrationError(
      `ownerRole and loginRole are both "${opts.ownerRole}": the login role must not own the schema`,
    );
  }
  for (const [key, value] of [
    ["ownerRole", opts.ownerRole],
    ["loginRole", opts.loginRole],
  ] as const) {
    if (!value) throw new MigrationError(`${key} is required`);
  }

  const client = new Client(opts.connection);
  client.on("notice", () => undefined);
  await client.connect();
  const database = opts.connection.database ?? "(default database)";
  try {
    const owner = await ownerActor(client, opts.ownerRole);
    if (!dryRun) {
      await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
      log(`${database}: taking the migration lock`);
      try {
        await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
      } catch (err) {
        throw new MigrationError(
          `${database}: another migration runner held the lock for more than ${lockTimeoutMs} ms: ${(err as Error).message}`,
        );
      }
      await client.query("RESET lock_timeout");
    }
    try {
      const history = await readHistory(client, owner);
      const plan = planMigrations(opts.migrations, history);
      if (dryRun) {
        for (const f of plan.pending) log(`${database}: would apply ${f.name}`);
        if (plan.pending.length === 0) log(`${database}: up to date at version ${padVersion(plan.version)}`);
        return {
          version: plan.version,
          applied: [],
          pending: plan.pending.map((f) => f.name),
          history: plan.applied,
          dryRun,
        };
      }
      const applied: string[] = [];
      for (const file of plan.pending) {
        log(`${database}: applying ${file.name} as ${opts.ownerRole}`);
        await client.query("BEGIN");
        try {
          await actAs(client, owner);
          await client.query("SET LOCAL search_path = public");
          await client.query("SELECT set_config($1, $2, true)", [LOGIN_ROLE_SETTING, opts.loginRole]);
          await client.query(VERSION_TABLE_DDL);
          try {
            await client.query(file.sql);
          } catch (err) {
            const e = err as Error & { position?: string };
            throw new MigrationError(
              `${file.name} failed and was rolled back (nothing of it remains): ${e.message}${lineOf(file.sql, Number(e.position) || undefined)}`,
            );
          }
          await client.query(`INSERT INTO ${VERSION_TABLE} (version, name, checksum) VALUES ($1, $2, $3)`, [
            file.version,
            file.name,
            file.checksum,
          ]);
          await stopActing(client, owner);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
        applied.push(file.name);
      }
      const after = applied.length > 0 ? await readHistory(client, owner) : plan.applied;
      const version = after.length > 0 ? after[after.length - 1].version : 0;
      log(
        applied.length > 0
          ? `${database}: applied ${applied.join(", ")}; now at version ${padVersion(version)}`
          : `${database}: up to date at version ${padVersion(version)}`,
      );
      return { version, applied, pending: [], history: after, dryRun };
    } finally {
      if (!dryRun)
        await client
          .query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY])
          .catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/**
 * The schema-owner role the files run as, and whether the connected admin
 * must grant itself membership to SET ROLE to it. A non-superuser admin holds
 * ADMIN on the roles it created but, since PostgreSQL 16, not SET; it keeps no
 * standing membership (see service-database.ts), so each transaction that
 * acts as the owner grants it first and revokes it before it commits: no other
 * session ever sees the membership, and concurrent runners cannot take it away
 * from each other.
 */
interface OwnerActor {
  name: string;
  quoted: string;
  grantSelf: boolean;
}

async function ownerActor(client: Client, role: string): Promise<OwnerActor> {
  const { rows } = await client.query(
    `SELECT r.rolsuper AS superuser,
            pg_has_role(current_user, o.oid, CASE WHEN current_setting('server_version_num')::int >= 160000
                                                  THEN 'SET' ELSE 'MEMBER' END) AS can_set
       FROM pg_roles r LEFT JOIN pg_roles o ON o.rolname = $1
      WHERE r.rolname = current_user`,
    [role],
  );
  if (rows[0]?.can_set === null) {
    throw new MigrationError(`the schema-owner role "${role}" does not exist`);
  }
  return {
    name: role,
    quoted: client.escapeIdentifier(role),
    grantSelf: !(rows[0]?.superuser || rows[0]?.can_set),
  };
}

/** In an open transaction: become the owner role (granting the membership for this transaction only). */
async function actAs(client: Client, owner: OwnerActor): Promise<void> {
  try {
    if (owner.grantSelf) await client.query(`GRANT ${owner.quoted} TO CURRENT_USER`);
    await client.query(`SET LOCAL ROLE ${owner.quoted}`);
  } catch (err) {
    throw new MigrationError(
      `cannot act as the schema-owner role "${owner.name}" (SET ROLE): ${(err as Error).message}; the connecting role must be a member of it or hold ADMIN OPTION on it`,
    );
  }
}

/** Before COMMIT: back to the session user, and the membership granted by actAs taken back. */
async function stopActing(client: Client, owner: OwnerActor): Promise<void> {
  await client.query("RESET ROLE");
  if (owner.grantSelf) await client.query(`REVOKE ${owner.quoted} FROM CURRENT_USER`);
}

/** The version table's rows, read as the owner role; [] when it does not exist yet. Writes nothing. */
async function readHistory(client: Client, owner: OwnerActor): Promise<AppliedMigration[]> {
  await client.query("BEGIN");
  try {
    await actAs(client, owner);
    const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS exists", [VERSION_TABLE]);
    const res = exists.rows[0].exists
      ? await client.query(
          `SELECT version, name, checksum, applied_at FROM ${VERSION_TABLE} ORDER BY version`,
        )
      : { rows: [] };
    return res.rows.map((r) => ({
      version: r.version,
      name: r.name,
      checksum: r.checksum,
      appliedAt: r.applied_at,
    }));
  } finally {
    // Read only: rolling back also drops a membership actAs granted.
    await client.query("ROLLBACK").catch(() => undefined);
  }
}
