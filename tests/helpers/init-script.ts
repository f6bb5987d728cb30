/**
 * Running migrations/000_init_databases.sh from the tests: the script with
 * only the variables given, its libpq connection to a throwaway server, and
 * the repository's migrations to run it on (or a temp copy to edit and add to).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestServer } from "./pg-server";
import { MIGRATIONS } from "./program-stack";

const ROOT = join(__dirname, "..", "..");
export const SCRIPT = join(ROOT, "migrations", "000_init_databases.sh");
export const SCHEMA_FILE = "001_gdpr_schema.sql";
/** The latest of gdpr's migrations in the repository. */
export const LATEST = MIGRATIONS[MIGRATIONS.length - 1];
/** A migration numbered after the repository's last one. */
export const LATER = (label: string) => `${String(LATEST.version + 1).padStart(3, "0")}_${label}.sql`;

/** A temp copy of the repository's migrations (to edit or add to). */
export function copyOfMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), "migrations-"));
  for (const m of MIGRATIONS) copyFileSync(join(ROOT, "migrations", m.name), join(dir, m.name));
  return dir;
}

export interface ScriptResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the script with only the given variables (plus PATH and HOME). */
export function runScript(env: Record<string, string>, args: string[] = []): ScriptResult {
  const res = spawnSync("bash", [SCRIPT, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    encoding: "utf8",
    timeout: 300_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** The PG* variables that connect the script to the server as the given user. */
export function pgEnv(
  server: TestServer,
  user = "postgres",
  password = server.superuserPassword,
): Record<string, string> {
  return { PGHOST: server.host, PGPORT: String(server.port), PGUSER: user, PGPASSWORD: password };
}

/** The rows of one query, as the server's superuser. */
export async function rows(
  server: TestServer,
  database: string,
  sql: string,
): Promise<Record<string, unknown>[]> {
  const c = await server.client(database);
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}
