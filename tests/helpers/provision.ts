/**
 * What the program creates on a server, as SQL, for tests of the health
 * checks and metrics on a throwaway server (tests/helpers/pg-server.ts):
 *
 * - the server baseline of scripts/local-server.ts (admin LOGIN CREATEDB
 *   CREATEROLE, not a superuser; PUBLIC's CONNECT/TEMPORARY on postgres and
 *   template1 revoked) plus ADMIN OPTION on pg_monitor, which the admin needs
 *   to create the monitoring role;
 * - per service, as the admin, what ServiceDatabase does: login role,
 *   NOLOGIN owner role (managed-schema), database owned by the admin (which
 *   holds membership in the schema owner only for the statements that need it), PUBLIC revoked, CONNECT/TEMPORARY to the login role, schema
 *   public owned by the login role (self-migrating) or the owner role
 *   (managed-schema, login role USAGE), PUBLIC holding nothing on it;
 * - the gdpr migrations, with the migration runner, as the owner role;
 * - what MonitoringRole does: LOGIN role in pg_monitor, CONNECT on each
 *   service database, USAGE on schema public and SELECT on the version table;
 * - what RetentionJob does for gdpr: LOGIN role, CONNECT on gdpr's database,
 *   USAGE on its schema public and EXECUTE on purge_expired_data().
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { Client } from "pg";
import { parseStackConfig, ServiceConfig } from "../../components/config/stack-config";
import { readMigrationsDir, runMigrations } from "../../components/schema/migration-runner";
import { Environment, monitoringRoleName } from "../../components/naming";
import type { TestServer } from "./pg-server";

export const ADMIN = "platform_admin";
export const MIGRATIONS = readMigrationsDir(join(__dirname, "..", "..", "migrations"));

export interface ProvisionedStack {
  environment: Environment;
  services: ServiceConfig[];
  monitoringRole: string;
  monitoringPassword: string;
  adminPassword: string;
  /** `postgresql://db_monitor…@…/<first service database>?sslmode=disable` */
  monitoringUri: string;
  /** A client as the admin (default) or the superuser, to `database`. */
  admin(database?: string): Promise<Client>;
  superuser(database?: string): Promise<Client>;
  /** (Re)creates one service's database and roles' grants as the program does, migrations included. */
  provisionService(svc: ServiceConfig): Promise<void>;
}

function password(): string {
  return randomBytes(18).toString("base64url");
}

export async function provisionStack(
  server: TestServer,
  environment: Environment,
): Promise<ProvisionedStack> {
  const cfg = parseStackConfig({ environment, target: "local" });
  const adminPassword = password();
  const monitoringPassword = password();
  const monitoringRole = monitoringRoleName(environment);
  const su = await server.client();
  try {
    await su.query(
      `CREATE ROLE ${ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD ${su.escapeLiteral(adminPassword)}`,
    );
    await su.query(`GRANT pg_signal_backend TO ${ADMIN}`);
    await su.query(`GRANT pg_monitor TO ${ADMIN} WITH ADMIN OPTION`);
    for (const db of ["postgres", "template1"])
      await su.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC`);
    await su.query(`GRANT CONNECT ON DATABASE postgres TO ${ADMIN}`);
  } finally {
    await su.end();
  }
  const admin = (database = "postgres") => server.client(database, ADMIN, adminPassword);
  const superuser = (database = "postgres") => server.client(database);

  // MonitoringRole: the role first (ServiceDatabase's grants to it come later).
  {
    const a = await admin();
    try {
      await a.query(
        `CREATE ROLE ${monitoringRole} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 5 PASSWORD ${a.escapeLiteral(monitoringPassword)}`,
      );
      await a.query(`GRANT pg_monitor TO ${monitoringRole}`);
    } finally {
      await a.end();
    }
  }

  const loginPasswords = new Map<string, string>();
  async function provisionService(svc: ServiceConfig): Promise<void> {
    const a = await admin();
    try {
      const exists = await a.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [svc.loginRole]);
      if (exists.rowCount === 0) {
        const pw = password();
        loginPasswords.set(svc.name, pw);
        await a.query(
          `CREATE ROLE ${svc.loginRole} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT ${svc.connectionLimit} PASSWORD ${a.escapeLiteral(pw)}`,
        );
        if (svc.ownerRole) {
          await a.query(
            `CREATE ROLE ${svc.ownerRole} NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
          );
        }
      }
      await a.query(
        `CREATE DATABASE ${svc.database} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
      );
    } finally {
      await a.end();
    }
    const d = await admin(svc.database);
    try {
      await d.query(`REVOKE ALL ON DATABASE ${svc.database} FROM PUBLIC`);
      await d.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${svc.database} TO ${svc.loginRole}`);
      // Like the provider: membership in the new owner only for the statement (no standing membership).
      await d.query(`GRANT ${svc.ownerRole ?? svc.loginRole} TO ${ADMIN}`);
      await d.query(`ALTER SCHEMA public OWNER TO ${svc.ownerRole ?? svc.loginRole}`);
      await d.query(`REVOKE ${svc.ownerRole ?? svc.loginRole} FROM ${ADMIN}`);
      await d.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
      if (svc.ownerRole) await d.query(`GRANT USAGE ON SCHEMA public TO ${svc.loginRole}`);
      await d.query(`GRANT CONNECT ON DATABASE ${svc.database} TO ${monitoringRole}`);
    } finally {
      await d.end();
    }
    if (svc.name === "gdpr" && svc.ownerRole) {
      await runMigrations({
        connection: {
          host: server.host,
          port: server.port,
          database: svc.database,
          user: ADMIN,
          password: adminPassword,
        },
        ownerRole: svc.ownerRole,
        loginRole: svc.loginRole,
        migrations: MIGRATIONS,
      });
      const g = await admin(svc.database);
      try {
        await g.query(`GRANT ${svc.ownerRole} TO ${ADMIN}`);
        await g.query(`GRANT USAGE ON SCHEMA public TO ${monitoringRole}`);
        await g.query(`GRANT SELECT ON TABLE public.schema_migrations TO ${monitoringRole}`);
        if (svc.retentionRole) {
          const exists = await g.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [svc.retentionRole]);
          if (exists.rowCount === 0) {
            await g.query(
              `CREATE ROLE ${svc.retentionRole} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 2 PASSWORD ${g.escapeLiteral(password())}`,
            );
          }
          await g.query(`GRANT CONNECT ON DATABASE ${svc.database} TO ${svc.retentionRole}`);
          await g.query(`GRANT USAGE ON SCHEMA public TO ${svc.retentionRole}`);
          await g.query(`GRANT EXECUTE ON FUNCTION public.purge_expired_data() TO ${svc.retentionRole}`);
        }
        await g.query(`REVOKE ${svc.ownerRole} FROM ${ADMIN}`);
      } finally {
        await g.end();
      }
    }
  }

  for (const svc of cfg.services) await provisionService(svc);

  return {
    environment,
    services: cfg.services,
    monitoringRole,
    monitoringPassword,
    adminPassword,
    monitoringUri:
      server.url(cfg.services[0].database, monitoringRole, monitoringPassword) + "?sslmode=disable",
    admin,
    superuser,
    provisionService,
  };
}

/** Runs statements on one connection and closes it. */
export async function sql(client: Promise<Client>, ...statements: string[]): Promise<void> {
  const c = await client;
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}
