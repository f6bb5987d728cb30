/**
 * The GDPR schema's migration runner: pure planning (file names, checksums,
 * what is pending, what is refused) and its execution with node-postgres.
 *
 * Used by the Pulumi resource (gdpr-migrations.ts), `make migrate`
 * (scripts/migrate.ts) and the tests. migrations/000_init_databases.sh applies
 * the same files with psql and writes the same version table under the same
 * advisory lock (tests/init-script.test.ts checks that both agree).
 *
 * Rules (migrations/README.md):
 * - files `NNN_name.sql` (three digits, lowercase name) in version order; 000
 *   belongs to the init script; other files in the directory are ignored;
 * - each file in its own transaction, as the schema-owner role (`SET LOCAL
 *   ROLE`), with `search_path = public` and `platform.login_role` set to the
 *   application's login role (the SQL reads it for its grants, so no file
 *   names an environment's role and checksums are the same everywhere);
 * - `public.schema_migrations` records version, name, sha256 checksum,
 *   applied time and session user, in the same transaction as the file;
 * - a changed checksum of an applied file, an applied version without a file,
 *   or a new file numbered below an applied one: refused, nothing applied;
 * - a session advisory lock serialises concurrent runners.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client, ClientConfig } from "pg";

/** The version table (schema-qualified). */
export const VERSION_TABLE = "public.schema_migrations";

/** Its definition; 000_init_databases.sh creates the same table. */
export const VERSION_TABLE_DDL = `CREATE TABLE IF NOT EXISTS public.schema_migrations (
  version    integer PRIMARY KEY CHECK (version > 0),
  name       text NOT NULL UNIQUE,
  checksum   text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL DEFAULT session_user
)`;

/**
 * Key of the session advisory lock every runner (this one and the init
 * script) holds while it plans and applies. Per database.
 */
export const MIGRATION_LOCK_KEY = "6000600001";

/** The transaction-local setting that names the application's login role. */
export const LOGIN_ROLE_SETTING = "platform.login_role";

/** `001_gdpr_schema.sql` → version 1. */
export const MIGRATION_FILE_PATTERN = /^([0-9]{3})_([a-z0-9][a-z0-9_]*)\.sql$/;

/** How long a runner waits for another one to finish. */
export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;

export interface MigrationFile {
  version: number;
  /** The file name, e.g. `001_gdpr_schema.sql`. */
  name: string;
  /** sha256 of the file's bytes, lowercase hex. */
  checksum: string;
  sql: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  appliedAt?: Date;
}

export interface MigrationPlan {
  /** Rows of the version table, in version order. */
  applied: AppliedMigration[];
  /** Files not applied yet, in version order. */
  pending: MigrationFile[];
  /** Highest applied version (0 when none). */
  version: number;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

export function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/**
 * Validates a directory's entries and returns its migrations in version order.
 * Pure. Non-`.sql` entries are ignored (README.md, 000_init_databases.sh);
 * a `.sql` whose name breaks the pattern is an error, as is a duplicate
 * version, version 000, an empty file or a psql meta-command.
 */
export function parseMigrationFiles(
  entries: readonly { name: string; content: Buffer | string }[],
  dir = "migrations",
): MigrationFile[] {
  const problems: string[] = [];
  const byVersion = new Map<number, string>();
  const files: MigrationFile[] = [];
  for (const entry of entries) {
    if (!entry.name.endsWith(".sql")) continue;
    const m = MIGRATION_FILE_PATTERN.exec(entry.name);
    if (!m) {
      problems.push(
        `${dir}/${entry.name}: file name does not match NNN_name.sql (three digits, then [a-z0-9_], e.g. 002_add_index.sql)`,
      );
      continue;
    }
    const version = Number(m[1]);
    if (version === 0) {
      problems.push(
        `${dir}/${entry.name}: version 000 belongs to 000_init_databases.sh; number SQL files from 001`,
      );
      continue;
    }
    const other = byVersion.get(version);
    if (other) {
      problems.push(`${dir}/${entry.name}: version ${m[1]} is also used by ${other}`);
      continue;
    }
    byVersion.set(version, entry.name);
    const bytes = typeof entry.content === "string" ? Buffer.from(entry.content, "utf8") : entry.content;
    const sql = bytes.toString("utf8");
    if (sql.trim() === "") {
      problems.push(`${dir}/${entry.name}: file is empty`);
      continue;
    }
    const meta = sql.split("\n").findIndex((line) => /^\s*\\/.test(line));
    if (meta >= 0) {
      problems.push(
        `${dir}/${entry.name}:${meta + 1}: psql meta-command; migration files are plain SQL (the runner does not use psql)`,
      );
      continue;
    }
    files.push({ version, name: entry.name, checksum: sha256(bytes), sql });
  }
  if (problems.length > 0) {
    throw new MigrationError(`invalid migration files:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  return files.sort((a, b) => a.version - b.version);
}

/** Reads and validates every migration in `dir`. */
export function readMigrationsDir(dir: string): MigrationFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new MigrationError(`migrations directory ${dir}: ${(err as Error).message}`);
  }
  return parseMigrationFiles(
    names.map((name) => ({ name, content: name.endsWith(".sql") ? readFileSync(join(dir, name)) : "" })),
    dir,
  );
}

/**
 * What applying `files` to a database whose version table holds `applied`
 * would do. Pure. Throws a MigrationError listing every problem (and nothing
 * is applied then) when an applied migration has no file or a different
 * checksum, or a pending file is numbered below an applied one.
 */
export function planMigrations(
  files: readonly MigrationFile[],
  applied: readonly AppliedMigration[],
): MigrationPlan {
  const problems: string[] = [];
  const fileByVersion = new Map(files.map((f) => [f.version, f]));
  const appliedVersions = new Set(applied.map((a) => a.version));
  const sortedApplied = [...applied].sort((a, b) => a.version - b.version);
  for (const row of sortedApplied) {
    const file = fileByVersion.get(row.version);
    if (!file) {
      problems.push(
        `applied version ${pad(row.version)} (${row.name}) has no file in the migrations directory: the database is ahead of this checkout, or a file was deleted`,
      );
    } else if (file.checksum !== row.checksum) {
      problems.push(
        `${file.name} was changed after it was applied (recorded sha256 ${row.checksum}, file ${file.checksum}): never edit an applied migration, add a new one`,
      );
    } else if (file.name !== row.name) {
      problems.push(
        `version ${pad(row.version)} was applied as ${row.name} and is now named ${file.name}: renaming is refused`,
      );
    }
  }
  const version = sortedApplied.length > 0 ? sortedApplied[sortedApplied.length - 1].version : 0;
  const pending = files.filter((f) => !appliedVersions.has(f.version));
  for (const file of pending) {
    if (file.version < version) {
      problems.push(
        `${file.name} is not applied but version ${pad(version)} already is: number new migrations above ${pad(version)}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new MigrationError(
      `migrations refused, nothing was applied:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return { applied: sortedApplied, pending, version };
}

function pad(version: number): string {
  return String(version).padStart(3, "0");
}

/** node-postgres's `ssl` option for a libpq sslmode. */
export function sslOption(mode: string | undefined): ClientConfig["ssl"] {
  switch (mode ?? "disable") {
    case "disable":
      return false;
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case "verify-full":
      return { rejectUnauthorized: true };
    default:
      throw new MigrationError(
        `sslmode ${JSON.stringify(mode)} is not one of disable, require, verify-ca, verify-full`,
      );
  }
}

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
        if (plan.pending.length === 0) log(`${database}: up to date at version ${pad(plan.version)}`);
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
          ? `${database}: applied ${applied.join(", ")}; now at version ${pad(version)}`
          : `${database}: up to date at version ${pad(version)}`,
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
