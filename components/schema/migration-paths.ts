/**
 * Where each managed-schema service's migrations live, and what they define.
 * Pure (paths and text only; reading the files is migration-runner.ts's job).
 *
 * The convention: `migrations/<service>/NNN_<name>.sql`, one directory per
 * service. gdpr is the exception ADR-0060 fixes: its files sit directly in
 * `migrations/` (`migrations/001_gdpr_schema.sql`, beside the init script
 * `migrations/000_init_databases.sh`), and the other services' directories do
 * not match `NNN_*.sql`, so the runner never mistakes them for gdpr's files.
 */
import { join } from "node:path";
import type { MigrationFile } from "./migration-files";

/** The folder, under the project root, that holds every service's migrations. */
export const MIGRATIONS_FOLDER = "migrations";

/** The service whose migrations keep ADR-0060's paths (directly in migrations/). */
export const ADR_MIGRATIONS_SERVICE = "gdpr";

/** The directory of `service`'s migrations under the project `root`. */
export function migrationsDir(root: string, service: string): string {
  return service === ADR_MIGRATIONS_SERVICE
    ? join(root, MIGRATIONS_FOLDER)
    : join(root, MIGRATIONS_FOLDER, service);
}

/** The name of the retention purge function a service's migrations may define. */
export const PURGE_FUNCTION = "purge_expired_data";

/** Its signature, as the health checks and grants name it. */
export const PURGE_FUNCTION_SIGNATURE = `public.${PURGE_FUNCTION}()`;

const DEFINES_PURGE = new RegExp(
  String.raw`\bcreate\s+(or\s+replace\s+)?function\s+(public\s*\.\s*)?"?${PURGE_FUNCTION}"?\s*\(\s*\)`,
  "i",
);

/**
 * Whether the migrations define `public.purge_expired_data()`: a service gets
 * a retention role (EXECUTE on that function only) exactly when they do.
 * Comments are ignored, so a commented-out definition does not count.
 */
export function definesPurgeFunction(files: readonly Pick<MigrationFile, "sql">[]): boolean {
  return files.some((f) => DEFINES_PURGE.test(stripComments(f.sql)));
}

function stripComments(sql: string): string {
  return sql.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/--[^\n]*/g, " ");
}
