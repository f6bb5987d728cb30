/**
 * Applies a managed-schema service's migrations (gdpr's by default) to its
 * database on a stack's server with the same runner the Pulumi program uses
 * (components/schema/migration-runner.ts), from the same directory
 * (components/schema/migration-paths.ts).
 *
 *   make migrate STACK=test                 apply what is pending (gdpr)
 *   make migrate STACK=test SERVICE=billing another managed-schema service
 *   make migrate STACK=test ARGS=--dry-run  list what would be applied
 *   tsx scripts/migrate.ts --stack <stack> [--service S] [--dry-run] [--host H] [--port N]
 *       [--user U] [--sslmode M] [--migrations-dir DIR] [--lock-timeout-ms N]
 *
 * Names (database, owner and login roles) come from the stack's config
 * (Pulumi.<stack>.yaml) and the naming rules; host, port, admin user and
 * sslmode too, unless given. The admin password comes from PGPASSWORD, or for
 * a local stack from .local/<stack>/admin-password; it is never printed.
 * Exit status: 0 done, 1 refused or failed (nothing of the failing file
 * remains), 2 usage.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  readMigrationsDir,
  runMigrations,
  sslOption,
} from "../components/schema/migration-runner";
import { migrationsDir } from "../components/schema/migration-paths";
import { stackConfig } from "./local-server";

const ROOT = resolve(__dirname, "..");

class UsageError extends Error {}

interface Options {
  stack: string;
  service: string;
  dryRun: boolean;
  host?: string;
  port?: number;
  user?: string;
  sslmode?: string;
  migrationsDir: string;
  lockTimeoutMs: number;
}

const VALUE_FLAGS = [
  "--stack",
  "--service",
  "--host",
  "--port",
  "--user",
  "--sslmode",
  "--migrations-dir",
  "--lock-timeout-ms",
];

export function parseArgs(argv: readonly string[]): Options {
  const values: Record<string, string> = {};
  let dryRun = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--dry-run") {
      dryRun = true;
      continue;
    }
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new UsageError(`${flag} needs a value`);
    values[flag] = value;
  }
  if (!values["--stack"])
    throw new UsageError("--stack is required (e.g. --stack test, or make migrate STACK=test)");
  const integer = (flag: string, min: number, max: number): number | undefined => {
    if (values[flag] === undefined) return undefined;
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${flag} ${JSON.stringify(values[flag])} is not an integer in ${min}..${max}`);
    }
    return n;
  };
  const service = values["--service"] ?? "gdpr";
  return {
    stack: values["--stack"],
    service,
    dryRun,
    host: values["--host"],
    port: integer("--port", 1, 65535),
    user: values["--user"],
    sslmode: values["--sslmode"],
    migrationsDir: values["--migrations-dir"]
      ? resolve(values["--migrations-dir"])
      : migrationsDir(ROOT, service),
    lockTimeoutMs: integer("--lock-timeout-ms", 1, 86_400_000) ?? DEFAULT_LOCK_TIMEOUT_MS,
  };
}

function adminPassword(stack: string): string | undefined {
  if (process.env.PGPASSWORD) return process.env.PGPASSWORD;
  const file = join(ROOT, ".local", stack, "admin-password");
  return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(
        `error: ${err.message}\nusage: tsx scripts/migrate.ts --stack <stack> [--service S] [--dry-run] [--host H] [--port N] [--user U] [--sslmode M] [--migrations-dir DIR] [--lock-timeout-ms N]`,
      );
      return 2;
    }
    throw err;
  }
  const cfg = stackConfig(options.stack);
  const svc = cfg.services.find((s) => s.name === options.service);
  if (!svc || !svc.ownerRole) {
    console.error(
      `error: stack "${options.stack}" has no managed-schema ${options.service} service (config services / managedSchemaServices): nothing to migrate`,
    );
    return 1;
  }
  if (cfg.target !== "local" && !options.host) {
    console.error(
      `error: stack "${options.stack}" has target "${cfg.target}": give the instance's address with --host`,
    );
    return 2;
  }
  const migrations = readMigrationsDir(options.migrationsDir);
  const result = await runMigrations({
    connection: {
      host: options.host ?? cfg.host,
      port: options.port ?? cfg.port,
      user: options.user ?? cfg.adminUser,
      password: adminPassword(options.stack),
      database: svc.database,
      ssl: sslOption(options.sslmode ?? cfg.sslmode),
    },
    ownerRole: svc.ownerRole,
    loginRole: svc.loginRole,
    migrations,
    dryRun: options.dryRun,
    lockTimeoutMs: options.lockTimeoutMs,
    log: (line) => console.error(`==> ${line}`),
  });
  const version = String(result.version).padStart(3, "0");
  if (options.dryRun) {
    console.log(
      result.pending.length > 0
        ? `${svc.database}: at version ${version}; would apply ${result.pending.join(", ")}`
        : `${svc.database}: at version ${version}; nothing to apply`,
    );
  } else {
    console.log(
      result.applied.length > 0
        ? `${svc.database}: applied ${result.applied.join(", ")}; now at version ${version}`
        : `${svc.database}: nothing to apply; at version ${version}`,
    );
  }
  return 0;
}

/** The error line, with what to do for the two usual cases. */
export function describeError(err: Error & { code?: string }, stack: string): string {
  if (err.code === "3D000") return `${err.message}: create it first with \`make up STACK=${stack}\``;
  if (err.code === "ECONNREFUSED") {
    return `${err.message}: is the stack's server running? (\`make up STACK=${stack}\` starts a local one)`;
  }
  // Messages only (MigrationError, pg's errors): no stack trace, and never a password.
  return err.message;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  main(argv).then(
    (code) => process.exit(code),
    (err: Error) => {
      const stack = argv[argv.indexOf("--stack") + 1] ?? "<stack>";
      console.error(`error: ${describeError(err, stack)}`);
      process.exit(1);
    },
  );
}
