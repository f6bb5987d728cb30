/**
 * Migration files and what applying them would do: reading and validating a
 * directory's `NNN_name.sql` files, and planning them against a database's
 * version table. No database connection here: the runner (migration-runner.ts)
 * executes the plan, the health checks compare a database with it.
 *
 * Rules (migrations/README.md):
 * - files `NNN_name.sql` (three digits, lowercase name) in version order; 000
 *   belongs to the init script; other files in the directory are ignored;
 * - `public.schema_migrations` records version, name, sha256 checksum,
 *   applied time and session user;
 * - a changed checksum of an applied file, an applied version without a file,
 *   or a new file numbered below an applied one: refused, nothing applied.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

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

/** `001_gdpr_schema.sql` → version 1. */
export const MIGRATION_FILE_PATTERN = /^([0-9]{3})_([a-z0-9][a-z0-9_]*)\.sql$/;

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

/** `001_gdpr_schema.sql sha256:…`: what preview shows, and what the migrations provider checks on disk. */
export function migrationFingerprints(files: readonly MigrationFile[]): string[] {
  return files.map((f) => `${f.name} sha256:${f.checksum}`);
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
        `applied version ${padVersion(row.version)} (${row.name}) has no file in the migrations directory: the database is ahead of this checkout, or a file was deleted`,
      );
    } else if (file.checksum !== row.checksum) {
      problems.push(
        `${file.name} was changed after it was applied (recorded sha256 ${row.checksum}, file ${file.checksum}): never edit an applied migration, add a new one`,
      );
    } else if (file.name !== row.name) {
      problems.push(
        `version ${padVersion(row.version)} was applied as ${row.name} and is now named ${file.name}: renaming is refused`,
      );
    }
  }
  const version = sortedApplied.length > 0 ? sortedApplied[sortedApplied.length - 1].version : 0;
  const pending = files.filter((f) => !appliedVersions.has(f.version));
  for (const file of pending) {
    if (file.version < version) {
      problems.push(
        `${file.name} is not applied but version ${padVersion(version)} already is: number new migrations above ${padVersion(version)}`,
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

/** `7` → `007`, as in file names. */
export function padVersion(version: number): string {
  return String(version).padStart(3, "0");
}
